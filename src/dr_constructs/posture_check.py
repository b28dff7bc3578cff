"""DrPostureCheck: the recovery-posture check for any CDK app, in one line.

::

    import aws_cdk as cdk
    from dr_constructs import DrPostureCheck, RecoveryObjectives

    app = cdk.App()
    ...  # your stacks, written by hand, with L2s, L1s, other libraries or dr-constructs
    cdk.Validations.of(app).add_plugins(DrPostureCheck(objectives=RecoveryObjectives()))
    app.synth()

A CDK policy validation plugin (``IPolicyValidationPlugin``, as the cdk-nag 3 packs and the
Control Tower controls are): CDK calls it during ``app.synth()`` with the synthesized templates
of every stack of the stage. It computes, for every data store in them, the RPO and RTO each
failure mode can achieve (:mod:`dr_constructs.objectives`: the same computation DrPlatform's
own check runs), reports each store and failure mode that misses its target as an error in
CDK's validation report (``validation-report.json``; synthesis fails), and writes the posture
report ``{stack}.dr-posture.json``/``.md`` beside each template (a stack whose DrPlatform
wrote one keeps it: CDK forbids a plugin to change files of the cloud assembly).

An assurance module: the core layers never import it.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any, cast

import jsii
from aws_cdk import (
    IPolicyValidationContext,
    IPolicyValidationPlugin,
    PolicyValidationPluginReport,
    PolicyViolatingResource,
    PolicyViolation,
    Stack,
)
from constructs import IConstruct

from ._version import __version__
from .errors import DrConfigurationError
from .objectives import RecoveryObjectives
from .posture import FailureMode, Posture, _human, assess_templates
from .posture_report import write_posture_report
from .templates import StackTemplate, construct_paths

#: Where each failure mode's finding points in the resource, for CDK's report.
_LOCATIONS = {
    FailureMode.AZ_LOSS: "Properties",
    FailureMode.CORRUPTION: "Properties",
    FailureMode.STACK_DELETION: "DeletionPolicy",
    FailureMode.REGION_LOSS: "Properties",
}


@jsii.implements(IPolicyValidationPlugin)
class DrPostureCheck:
    """Checks the recovery posture of every data store of a CDK app against objectives.

    Register it on the App (or on each Stage) as any CDK policy validation plugin:
    ``Validations.of(app).add_plugins(DrPostureCheck(objectives=...))``. The stores it assesses:
    ``AWS::RDS::DBCluster`` (Aurora and Multi-AZ DB clusters), standalone
    ``AWS::RDS::DBInstance``, ``AWS::DynamoDB::Table`` and ``AWS::S3::Bucket``, whatever
    built them. A finding is acknowledged per store and failure mode like any other plugin's:
    ``Validations.of(store).acknowledge(Acknowledgment(id=DrPostureCheck.rule_id(
    FailureMode.STACK_DELETION), reason=...))``.

    Args:
        objectives: the objectives every store must meet. Default - the spec's RPO 1 hour /
            RTO 4 hours for every failure mode.
    """

    #: The plugin's name in CDK's validation report and the prefix of its acknowledgement ids.
    NAME = "DrPostureCheck"

    def __init__(self, *, objectives: RecoveryObjectives | None = None) -> None:
        if objectives is not None and not isinstance(objectives, RecoveryObjectives):
            raise DrConfigurationError(
                "DrPostureCheck", "objectives", type(objectives).__name__,
                "a RecoveryObjectives, or None for the spec's RPO 1 hour / RTO 4 hours",
            )  # fmt: skip
        #: The objectives every store is held to.
        self.objectives = objectives or RecoveryObjectives()
        #: The postures of the last validation, by the stack's construct path.
        self.postures: dict[str, list[Posture]] = {}

    @property
    def name(self) -> str:
        return self.NAME

    @property
    def version(self) -> str:
        """The package's ``__version__`` (from ``_version``, which imports nothing)."""
        return __version__

    @property
    def rule_ids(self) -> list[str]:
        return [mode.value for mode in self.objectives.targets]

    @classmethod
    def rule_id(cls, failure: FailureMode) -> str:
        """The id that acknowledges ``failure``'s finding: ``DrPostureCheck::stack-deletion``."""
        return f"{cls.NAME}::{FailureMode(failure).value}"

    def validate(self, context: IPolicyValidationContext) -> PolicyValidationPluginReport:
        """Called by CDK during synthesis with the stage's templates (not by you)."""
        templates = _templates(context)
        stacks = list(templates)
        found = assess_templates(self.objectives, stacks)
        self.postures = {stack.path: [] for stack in stacks}
        violations: list[PolicyViolation] = []
        for store, postures in found:
            self.postures[store.stack.path] += postures
            violations += [
                _violation(posture, store.logical_id, templates[store.stack])
                for posture in postures
                if not posture.meets
            ]
        for stack, template_path in templates.items():
            report = {
                "stack": stack.name,
                "objectives": [self.objectives.to_dict()],
                "postures": [p.to_dict() for p in self.postures[stack.path]],
            }
            path = Path(template_path)
            stem = path.name.removesuffix(".template.json")
            # a report DrPlatform (or bind) wrote stays: plugins must not change the assembly
            if not (path.parent / f"{stem}.dr-posture.json").exists():
                write_posture_report(path.parent, stem, report)
        return PolicyValidationPluginReport(success=not violations, violations=violations)


def _templates(context: IPolicyValidationContext) -> dict[StackTemplate, str]:
    """The stage's templates, each with its file, read with its stack's name and tags."""
    root = context.app_construct.node.root
    found: dict[StackTemplate, str] = {}
    for entry in context.stack_templates:
        stack: Any = _stack_at(root, entry.stack_construct_path)
        name = (
            stack.stack_name
            if stack is not None
            else Path(entry.template_path).name.removesuffix(".template.json")
        )
        template = StackTemplate.from_file(
            entry.template_path,
            path=entry.stack_construct_path,
            name=name,
            account=entry.account_id,
            region=entry.region,
            tags=stack.tags.tag_values() if stack is not None else None,
        )
        paths = _assembly_paths(Path(entry.template_path), template)
        if paths is None and stack is not None:
            paths = construct_paths(stack)
        found[replace(template, paths=paths or {})] = entry.template_path
    return found


def _stack_at(root: IConstruct, path: str) -> Stack | None:
    """The stack at construct ``path`` (from the app's root), found child by child."""
    node: IConstruct | None = root
    for id in path.split("/") if path else []:
        node = node.node.try_find_child(id) if node is not None else None
    return cast(Stack, node) if node is not None and Stack.is_stack(node) else None


def _assembly_paths(template_path: Path, template: StackTemplate) -> dict[str, str] | None:
    """The construct path of each resource of ``template``, by logical id, from the cloud
    assembly beside it (its manifest's ``aws:cdk:logicalId`` metadata, which synthesis writes
    before the plugins run), without walking the construct tree; None unless it names each
    resource once (the metadata turned off, or a nested stack's resource with the same id)."""
    manifest_file = template_path.parent / "manifest.json"
    if not manifest_file.exists():
        return None
    manifest = json.loads(manifest_file.read_text())
    metadata: list[dict[str, Any]] = []
    for artifact in manifest.get("artifacts", {}).values():
        properties = artifact.get("properties") or {}
        if properties.get("templateFile") == template_path.name:
            metadata.append(artifact.get("metadata") or {})
            if "additionalMetadataFile" in artifact:
                extra = template_path.parent / artifact["additionalMetadataFile"]
                metadata.append(json.loads(extra.read_text()))
    by_id: dict[str, list[str]] = {}
    for entries in metadata:
        for path, items in entries.items():
            for item in items:
                if item.get("type") == "aws:cdk:logicalId" and isinstance(item.get("data"), str):
                    by_id.setdefault(item["data"], []).append(path.removeprefix("/"))
    if not template.resources or any(len(by_id.get(i, [])) != 1 for i in template.resources):
        return None
    return {logical_id: by_id[logical_id][0] for logical_id in template.resources}


def _violation(posture: Posture, logical_id: str, template_path: str) -> PolicyViolation:
    return PolicyViolation(
        rule_name=posture.failure.value,
        description=str(posture.breach()),
        fix=posture.remedy or None,
        severity="error",
        rule_metadata={
            "store": posture.resource,
            "failure": posture.failure.label,
            "target": f"RPO {_human(posture.target_rpo_seconds)}, "
            f"RTO {_human(posture.target_rto_seconds)}",
            "achieved": f"RPO {_human(posture.rpo_seconds)}, RTO {_human(posture.rto_seconds)}",
        },
        violating_resources=[
            PolicyViolatingResource(
                resource_logical_id=logical_id,
                template_path=template_path,
                locations=[_LOCATIONS[posture.failure]],
            )
        ],
    )


__all__ = ["DrPostureCheck"]

"""The compliance gates the library is clean under, and its one way to acknowledge a finding.

dr-constructs is tested against four cdk-nag 3.x rule packs (AWS Solutions, HIPAA Security,
NIST 800-53 rev 5 and PCI DSS 3.2.1) and the AWS Control Tower proactive controls (the
``cdklabs-cdk-validator-cfnguard`` plugin: the cfn-guard rules that Control Tower landing
zones enforce as CloudFormation hooks). Run the same gates on your own app with one line::

    from dr_constructs.compliance import apply_rule_packs

    app = App()
    ...  # your stacks, with DrPlatform or the layers
    apply_rule_packs(app)
    app.synth()  # fails on any unacknowledged error; warnings are in validation-report.json

Findings that cannot apply to the library's design are acknowledged *inside* the library,
on the construct that owns the resource, with :func:`acknowledge` (CDK's native
``Validations.of(construct).acknowledge``). The acknowledgements are construct metadata, so
they travel with the constructs into your app: your run of the packs reports them as
suppressed, with the reason, in ``validation-report.json`` - never silently dropped.

``cdk-nag`` and the cfn-guard plugin are needed only to *run* the gates
(:func:`apply_rule_packs`); acknowledging uses ``aws_cdk`` alone, so the library depends on
neither at run time.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import TYPE_CHECKING, Any, cast

import jsii
from aws_cdk import (
    Acknowledgment,
    CfnResource,
    IPolicyValidationPlugin,
    IStableAnyProducer,
    Lazy,
    Stack,
    Validations,
)
from constructs import IConstruct

if TYPE_CHECKING:
    from cdk_nag import NagPack

#: cdk-nag pack names (the prefix of their rule ids), in the order they are applied.
AWS_SOLUTIONS = "AwsSolutions"
HIPAA_SECURITY = "HIPAA.Security"
NIST_800_53_R5 = "NIST.800.53.R5"
PCI_DSS_321 = "PCI.DSS.321"
RULE_PACKS = (AWS_SOLUTIONS, HIPAA_SECURITY, NIST_800_53_R5, PCI_DSS_321)
#: The three compliance-framework packs, which share most rule names.
FRAMEWORK_PACKS = (HIPAA_SECURITY, NIST_800_53_R5, PCI_DSS_321)
#: The AWS Control Tower proactive controls plugin, as validation reports name it.
CONTROL_TOWER = "cdk-validator-cfnguard"
#: Control Tower controls the library acknowledges somewhere, by control id, with the cfn-guard
#: rule that implements each: reports name a finding by the rule ("ruleName") and print the
#: control id at the start of its description ("[CT.S3.PR.9]: ...").
CONTROL_TOWER_RULES = {
    "CT.LAMBDA.PR.3": "lambda_inside_vpc_check",
    "CT.RDS.PR.3": "rds_cluster_deletion_protection_enabled_check",
    "CT.S3.PR.2": "s3_bucket_logging_enabled_check",
    "CT.S3.PR.9": "s3_bucket_object_lock_enabled_check",
    "CT.S3.PR.10": "s3_bucket_default_encryption_kms_check",
}


def apply_rule_packs(
    scope: IConstruct,
    *,
    control_tower: bool = True,
    verbose: bool = False,
    write_suppressions_to_cloud_formation: bool = False,
) -> list[IPolicyValidationPlugin]:
    """Register the gates dr-constructs is clean under on ``scope`` (an App or Stage) and return
    them: the four cdk-nag packs, then the AWS Control Tower proactive controls.

    On ``app.synth()`` CDK runs them over the whole construct tree, writes
    ``validation-report.json`` (violations *and* acknowledged findings with their reasons) to
    the cloud assembly, and fails synthesis if an unacknowledged error remains.

    Args:
        scope: the App or Stage to check.
        control_tower: also run the Control Tower proactive controls (``CfnGuardValidator``,
            every bundled rule). Default - on.
        verbose: longer explanations in the cdk-nag part of the report.
        write_suppressions_to_cloud_formation: also copy every cdk-nag acknowledgement into
            the template's resource Metadata (``cdk_nag.rules_to_suppress``), for audit tooling.

    Raises:
        ImportError: cdk-nag 3 or the cfn-guard plugin is not installed
            (``pip install 'dr-constructs[compliance]'``).
    """
    hint = "pip install 'dr-constructs[compliance]'"
    try:
        from cdk_nag import (
            AwsSolutionsChecks,
            HIPAASecurityChecks,
            NIST80053R5Checks,
            PCIDSS321Checks,
        )
    except ImportError as error:  # pragma: no cover - cdk-nag is a dev dependency here
        raise ImportError(f"apply_rule_packs needs cdk-nag 3: {hint}") from error
    options: dict[str, Any] = {
        "verbose": verbose,
        "write_suppressions_to_cloud_formation": write_suppressions_to_cloud_formation,
    }
    packs: list[NagPack] = [
        AwsSolutionsChecks(scope, **options),
        HIPAASecurityChecks(scope, **options),
        NIST80053R5Checks(scope, **options),
        PCIDSS321Checks(scope, **options),
    ]
    plugins: list[IPolicyValidationPlugin] = list(packs)
    if control_tower:
        try:
            from cdklabs.cdk_validator_cfnguard import CfnGuardValidator
        except ImportError as error:  # pragma: no cover - a dev dependency here
            raise ImportError(
                f"apply_rule_packs needs cdklabs-cdk-validator-cfnguard: {hint}, "
                "or pass control_tower=False"
            ) from error
        # It implements CDK's IPolicyValidationPluginBeta1, the same jsii shape.
        plugins.append(cast(IPolicyValidationPlugin, CfnGuardValidator()))
    Validations.of(scope).add_plugins(*plugins)
    return plugins


def rule_id(rule: str) -> str:
    """The id CDK's ``Validations.acknowledge`` needs for a finding, as the report's "Acknowledge
    with" prints it: the plugin's name, ``::``, the rule.

    A cdk-nag finding is given as the report prints it (``AwsSolutions-IAM5[Resource::*]`` gives
    ``AwsSolutions::AwsSolutions-IAM5[Resource::*]``); a Control Tower control by its id
    (``CT.S3.PR.9`` gives ``cdk-validator-cfnguard::s3_bucket_object_lock_enabled_check``, see
    :data:`CONTROL_TOWER_RULES`).
    """
    if rule in CONTROL_TOWER_RULES:
        return f"{CONTROL_TOWER}::{CONTROL_TOWER_RULES[rule]}"
    for pack in RULE_PACKS:
        if rule.startswith(f"{pack}-"):
            return f"{pack}::{rule}"
    raise ValueError(
        f"{rule!r} is not a finding of one of {', '.join(RULE_PACKS)}, nor a Control Tower "
        f"control of {', '.join(CONTROL_TOWER_RULES)}"
    )


def acknowledge(construct: IConstruct, reason: str, *rules: str) -> None:
    """Acknowledge findings on ``construct`` (and everything below it) with ``reason``.

    ``rules`` are cdk-nag findings as the report prints them, e.g.
    ``"AwsSolutions-IAM5[Resource::*]"`` or ``"HIPAA.Security-RDSInBackupPlan"`` (see
    :func:`in_packs` for a rule shared by packs), or Control Tower controls by id, e.g.
    ``"CT.S3.PR.9"``.
    """
    if not reason.strip():
        raise ValueError("an acknowledgement needs a reason")
    Validations.of(construct).acknowledge(
        *(Acknowledgment(id=rule_id(rule), reason=reason) for rule in rules)
    )


def nag_resource(scope: IConstruct, value: str) -> str:
    """``value`` (e.g. an IAM statement's resource) as cdk-nag prints it in a finding's id:
    pseudo parameters as ``<AWS::Region>``, literal parts as they are."""
    resolved = Stack.of(scope).resolve(value)
    if isinstance(resolved, str):
        return resolved
    separator, parts = resolved["Fn::Join"]
    return str(separator).join(
        part if isinstance(part, str) else f"<{part['Ref']}>" for part in parts
    )


def in_packs(rule: str, packs: Iterable[str] = FRAMEWORK_PACKS) -> list[str]:
    """The finding ``rule`` (e.g. ``"RDSInBackupPlan"``) as each of ``packs`` names it."""
    return [f"{pack}-{rule}" for pack in packs]


def skip_checkov(resource: CfnResource, checks: Sequence[tuple[str, str]]) -> None:
    """Declare checkov skips, each ``(check id, reason)``, in ``resource``'s template Metadata
    (``checkov.skip``), merged with skips already declared there."""
    existing = resource.get_metadata("checkov") or {}
    skips = {s["id"]: s["comment"] for s in existing.get("skip", [])}
    skips.update(dict(checks))
    resource.add_metadata(
        "checkov", {"skip": [{"id": id, "comment": comment} for id, comment in skips.items()]}
    )


def ignore_cfn_lint(resource: CfnResource, *checks: str) -> None:
    """Ignore cfn-lint ``checks`` on one resource (template Metadata ``cfn-lint``); the caller
    documents the reason beside the call."""
    existing = resource.get_metadata("cfn-lint") or {}
    ignored = list(existing.get("config", {}).get("ignore_checks", []))
    ignored += [c for c in checks if c not in ignored]
    resource.add_metadata("cfn-lint", {"config": {"ignore_checks": ignored}})


#: checkov's Lambda hardening checks, and why they do not fit a CDK-managed provider Lambda:
#: CloudFormation invokes it synchronously during deployments only.
_PROVIDER_LAMBDA_SKIPS = (
    (
        "CKV_AWS_115",
        "CDK-managed custom-resource provider: invoked by CloudFormation only while the stack "
        "deploys; reserving concurrency for it would take capacity from the account's functions",
    ),
    (
        "CKV_AWS_116",
        "CDK-managed custom-resource provider: invoked synchronously by CloudFormation, which "
        "sees and reports every failure; a dead-letter queue would never receive anything",
    ),
    (
        "CKV_AWS_117",
        "CDK-managed custom-resource provider: calls AWS APIs and answers CloudFormation's "
        "pre-signed S3 URL; the DR VPC's isolated subnets have no route to either, by design",
    ),
)


def tidy_cdk_provider(stack: Stack, provider_id: str, purpose: str) -> None:
    """Review a CDK-managed custom-resource provider (a stack-level singleton such as
    ``Custom::VpcRestrictDefaultSGCustomResourceProvider``): declare the checkov skips and
    acknowledge the Control Tower control (CT.LAMBDA.PR.3, in a VPC) that cannot apply to it,
    and drop its handler's ``DependsOn`` on its role, which the handler's ``Role: Fn::GetAtt``
    already enforces (cfn-lint W3005). ``purpose`` completes "it ...".
    """
    provider = stack.node.try_find_child(provider_id)
    if provider is None:
        return
    handler = provider.node.try_find_child("Handler")
    role = provider.node.try_find_child("Role")
    if not isinstance(handler, CfnResource):
        return
    if isinstance(role, CfnResource):
        handler.remove_resource_dependency(role)
    skips = [(id, f"{reason} (it {purpose})") for id, reason in _PROVIDER_LAMBDA_SKIPS]
    skip_checkov(handler, skips)
    acknowledge(provider, f"{dict(skips)['CKV_AWS_117']}.", "CT.LAMBDA.PR.3")


@jsii.implements(IStableAnyProducer)
class _DependsOnWithout:
    """``resource``'s final ``DependsOn`` (known only once CDK has prepared the app), minus
    ``redundant``."""

    def __init__(self, resource: CfnResource, redundant: CfnResource) -> None:
        self._resource = resource
        self._redundant = redundant

    def produce(self) -> Any:
        stack = Stack.of(self._resource)
        redundant = self._redundant.node.path
        ids = {
            stack.resolve(dependency.logical_id)
            for dependency in self._resource.obtain_dependencies()
            if isinstance(dependency, CfnResource) and dependency.node.path != redundant
        }
        return sorted(ids) or None


def drop_redundant_dependency(resource: CfnResource, redundant: CfnResource) -> None:
    """Leave ``redundant`` out of ``resource``'s ``DependsOn`` (cfn-lint W3005) when a property
    of ``resource`` already references it (``Ref``/``Fn::GetAtt``), which orders them anyway.

    For dependencies CDK adds at synthesis from construct-level ``node.add_dependency`` calls,
    which cannot be removed when the construct is built.
    """
    resource.add_override("DependsOn", Lazy.any(_DependsOnWithout(resource, redundant)))

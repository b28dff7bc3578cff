"""Find a dr-constructs stack's resources and recovery objectives from CloudFormation.

Works for any app built on the library, not only the example: resources are found by their
CloudFormation resource type and logical-id pattern (``list_stack_resources``), the
recovery objectives in the template's ``Metadata["dr-constructs"]["objectives"]``.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from ..contract import (
    ACCESS_LOGS_ID,
    BACKUP_ROLE_FRAGMENT,
    CANARY_PREFIX,
    DATA_BUCKET_FRAGMENT,
    DRILL_TAG,
    FAILURE_MODES,
    FUNCTION_PREFIX,
    METADATA_KEY,
    OBJECTIVES,
    RECOVERY_REGION,
    RECOVERY_REGION_NAME,
    RECOVERY_STACK,
    RECOVERY_VAULT,
    RESTORED_CLUSTER_SECURITY_GROUP_ID,
    RPO_SECONDS,
    RTO_SECONDS,
    SPEC_RPO_SECONDS,
    SPEC_RTO_SECONDS,
    recovery_key_alias,
)
from .aws import AWS_ERRORS, Aws, OperatorError, aws_error_message

__all__ = [
    "DRILL_TAG",
    "FAILURE_MODES",
    "FUNCTION_PREFIX",
    "METADATA_KEY",
    "SPEC_RPO_SECONDS",
    "SPEC_RTO_SECONDS",
    "DrStack",
    "Objective",
    "RecoveryRegion",
    "RecoveryTarget",
    "discover",
    "discover_recovery",
    "human",
]


@dataclass(frozen=True)
class Objective:
    """Recovery point and recovery time objectives of one failure mode, in seconds."""

    rpo_seconds: int
    rto_seconds: int


@dataclass(frozen=True)
class RecoveryRegion:
    """The recovery region a stack copies every backup to, as its metadata states it."""

    region: str
    vault: str
    stack: str


@dataclass(frozen=True)
class RecoveryTarget:
    """What a restore in the recovery region uses, read from the recovery stack there."""

    region: str
    vault: str
    stack: str
    subnet_group: str
    security_group: str
    key_arn: str


@dataclass
class DrStack:
    """What the operator command needs of a deployed stack (physical names and ids)."""

    name: str
    cluster_id: str | None = None
    subnet_group: str | None = None
    table_name: str | None = None
    bucket_name: str | None = None
    vault_name: str | None = None
    backup_role: str | None = None
    function_name: str | None = None
    #: The packaged health check beside a function of the team's own code, when there is one.
    canary_function: str | None = None
    alarms: list[str] = field(default_factory=list)
    experiment_templates: list[str] = field(default_factory=list)
    objectives: dict[str, Objective] = field(default_factory=dict)
    objectives_from_stack: bool = False
    #: The recovery region the stack copies its backups to; None for a single-region stack.
    recovery: RecoveryRegion | None = None

    def objective(self, mode: str) -> Objective:
        return self.objectives[mode]

    @property
    def objectives_note(self) -> str:
        if self.objectives_from_stack:
            return "recovery objectives from the stack's metadata"
        return (
            f"the stack states no recovery objectives (template Metadata '{METADATA_KEY}'): "
            "using the spec's RPO 1 h / RTO 4 h"
        )

    def require(self, attribute: str, what: str) -> str:
        value = getattr(self, attribute)
        if not value:
            raise OperatorError(f"stack {self.name} has no {what}")
        return str(value)


def discover(aws: Aws, stack_name: str) -> DrStack:
    """Read the stack's resources and objectives.

    Raises:
        OperatorError: unknown stack, or a stack with none of the library's resources.
    """
    cloudformation = aws.client("cloudformation")
    try:
        pages = cloudformation.get_paginator("list_stack_resources").paginate(StackName=stack_name)
        resources = [r for page in pages for r in page["StackResourceSummaries"]]
    except AWS_ERRORS as exc:
        raise OperatorError(f"stack {stack_name}: {aws_error_message(exc)}") from None
    stack = DrStack(name=stack_name)
    for resource in resources:
        _classify(stack, resource)
    if not any((stack.cluster_id, stack.table_name, stack.bucket_name, stack.vault_name)):
        raise OperatorError(
            f"stack {stack_name} was not built with dr-constructs (no Aurora cluster, "
            "DynamoDB table, data bucket or backup vault of the library in it)"
        )
    metadata = _metadata(cloudformation, stack_name)
    stack.objectives, stack.objectives_from_stack = _objectives(metadata, stack_name)
    stack.recovery = _recovery_region(metadata, stack_name)
    return stack


def discover_recovery(aws: Aws, stack: DrStack) -> RecoveryTarget:
    """The recovery stack's DB subnet group, restored clusters' security group and key, read
    in the recovery region (``aws`` is a client factory for that region).

    Raises:
        OperatorError: the stack has no recovery region, or the recovery stack lacks them.
    """
    recovery = stack.recovery
    if recovery is None:
        raise OperatorError(f"stack {stack.name} has no recovery region (single-region)")
    try:
        pages = (
            aws.client("cloudformation")
            .get_paginator("list_stack_resources")
            .paginate(StackName=recovery.stack)
        )
        resources = [r for page in pages for r in page["StackResourceSummaries"]]
        found: dict[str, str] = {}
        for resource in resources:
            kind, physical = resource["ResourceType"], resource.get("PhysicalResourceId")
            if not physical or str(resource.get("ResourceStatus", "")).startswith("DELETE"):
                continue
            if kind == "AWS::RDS::DBSubnetGroup":
                found.setdefault("subnet_group", physical)
            elif (
                kind == "AWS::EC2::SecurityGroup"
                and RESTORED_CLUSTER_SECURITY_GROUP_ID in resource["LogicalResourceId"]
            ):
                found.setdefault("security_group", physical)
            elif kind == "AWS::KMS::Alias" and physical.startswith(recovery_key_alias("")):
                found.setdefault("alias", physical)
        missing = {"subnet_group", "security_group", "alias"} - found.keys()
        if missing:
            raise OperatorError(
                f"recovery stack {recovery.stack} ({recovery.region}) has no "
                + ", ".join(sorted(missing)) + " of DrRecoveryRegion"
            )  # fmt: skip
        key = aws.client("kms").describe_key(KeyId=found["alias"])["KeyMetadata"]["Arn"]
    except AWS_ERRORS as exc:
        raise OperatorError(
            f"recovery stack {recovery.stack} ({recovery.region}): {aws_error_message(exc)}"
        ) from None
    return RecoveryTarget(
        region=recovery.region, vault=recovery.vault, stack=recovery.stack,
        subnet_group=found["subnet_group"], security_group=found["security_group"],
        key_arn=str(key),
    )  # fmt: skip


def _classify(stack: DrStack, resource: Mapping[str, Any]) -> None:
    kind = resource["ResourceType"]
    logical = resource["LogicalResourceId"]
    physical = resource.get("PhysicalResourceId")
    if not physical or str(resource.get("ResourceStatus", "")).startswith("DELETE"):
        return
    if kind == "AWS::RDS::DBCluster":
        stack.cluster_id = stack.cluster_id or physical
    elif kind == "AWS::RDS::DBSubnetGroup":
        stack.subnet_group = stack.subnet_group or physical
    elif kind == "AWS::DynamoDB::Table":
        stack.table_name = stack.table_name or physical
    elif (
        kind == "AWS::S3::Bucket"
        and DATA_BUCKET_FRAGMENT in logical
        and ACCESS_LOGS_ID not in logical
    ):
        stack.bucket_name = stack.bucket_name or physical
    elif kind == "AWS::Backup::BackupVault":
        stack.vault_name = stack.vault_name or physical
    elif kind == "AWS::IAM::Role" and BACKUP_ROLE_FRAGMENT in logical:
        stack.backup_role = stack.backup_role or physical
    elif kind == "AWS::Lambda::Function" and physical.startswith(FUNCTION_PREFIX):
        stack.function_name = stack.function_name or physical
    elif kind == "AWS::Lambda::Function" and physical.startswith(CANARY_PREFIX):
        stack.canary_function = stack.canary_function or physical
    elif kind == "AWS::CloudWatch::Alarm":
        stack.alarms.append(physical)
    elif kind == "AWS::FIS::ExperimentTemplate":
        stack.experiment_templates.append(physical)


def _metadata(cloudformation: Any, stack_name: str) -> Mapping[str, Any]:
    """The template's ``Metadata["dr-constructs"]`` ({} when it has none)."""
    try:
        body = cloudformation.get_template(StackName=stack_name)["TemplateBody"]
    except AWS_ERRORS as exc:
        raise OperatorError(f"stack {stack_name}: {aws_error_message(exc)}") from None
    if isinstance(body, str):
        try:
            body = json.loads(body)
        except ValueError:
            return {}  # a YAML template: the library writes JSON
    found = (body.get("Metadata") or {}).get(METADATA_KEY)
    return found if isinstance(found, Mapping) else {}


def _recovery_region(metadata: Mapping[str, Any], stack_name: str) -> RecoveryRegion | None:
    stated = metadata.get(RECOVERY_REGION)
    if stated is None:
        return None
    keys = (RECOVERY_REGION_NAME, RECOVERY_VAULT, RECOVERY_STACK)
    if not isinstance(stated, Mapping) or not all(
        isinstance(stated.get(k), str) and stated.get(k) for k in keys
    ):
        raise OperatorError(
            f"stack {stack_name}: Metadata {METADATA_KEY}.{RECOVERY_REGION} needs strings "
            f"{', '.join(keys)}, got {stated!r}"
        )
    return RecoveryRegion(*(str(stated[k]) for k in keys))


def _objectives(metadata: Mapping[str, Any], stack_name: str) -> tuple[dict[str, Objective], bool]:
    spec = Objective(SPEC_RPO_SECONDS, SPEC_RTO_SECONDS)
    defaults = dict.fromkeys(FAILURE_MODES, spec)
    declared = metadata.get(OBJECTIVES)
    if not isinstance(declared, Mapping):
        return defaults, False
    objectives = dict(defaults)
    for mode, values in declared.items():
        try:
            objectives[mode] = Objective(int(values[RPO_SECONDS]), int(values[RTO_SECONDS]))
        except (TypeError, KeyError, ValueError):
            raise OperatorError(
                f"stack {stack_name}: Metadata {METADATA_KEY}.{OBJECTIVES}.{mode} needs integer "
                f"{RPO_SECONDS} and {RTO_SECONDS}, got {values!r}"
            ) from None
    return objectives, True


def human(seconds: float) -> str:
    """``3h 05m``, ``4m 10s``, ``42s``."""
    whole = round(seconds)
    sign, whole = ("-", -whole) if whole < 0 else ("", whole)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{sign}{hours}h {minutes:02d}m"
    if minutes:
        return f"{sign}{minutes}m {secs:02d}s"
    return f"{sign}{secs}s"

"""``restore``: build the complete restore request from the deployed stack, then run it.

Aurora and the S3 bucket restore through AWS Backup (``start_restore_job`` with the recovery
point's restore metadata); the DynamoDB table through its own point-in-time recovery
(``restore_table_to_point_in_time``). With ``--from-region`` every store restores through
AWS Backup from its newest copy in the recovery vault, into the recovery stack's network and
key, in the recovery region. Every restore creates a new resource: the originals are never
touched.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from botocore.validate import ParamValidator  # type: ignore[import-untyped]

from ..contract import (
    BACKUP_ROLE_FRAGMENT,
    CORRUPTION,
    DATA_BUCKET_FRAGMENT,
    REGION_LOSS,
    VERIFY_RESTORED_CLUSTER,
)
from .aws import AWS_ERRORS, EXIT_BREACHED, Aws, OperatorError, Poll, aws_error_message
from .commands import aws_cli_command, iso
from .discovery import DrStack, RecoveryTarget, discover_recovery

KINDS = ("aurora", "table", "bucket")
#: A restore from backup is the recovery from corruption (and, the vault surviving, from
#: the deletion of the stack): its duration is measured against the corruption RTO.
RESTORE_FAILURE_MODE = CORRUPTION
#: Restore-metadata key AWS Backup takes for a point in time of a continuous recovery point.
POINT_IN_TIME_KEY = {"Aurora": "RestoreToTime", "S3": "RestoreTime"}
#: "Amazon S3 allows restores up until the most recent 15 minutes of activity" (AWS Backup
#: guide, "Continuous backups and point-in-time recovery", considerations): the latest time a
#: continuous S3 point restores to. AWS Backup's API reports no restorable window for it.
S3_RESTORE_LAG = timedelta(minutes=15)
_SUFFIX = "-restored-"
_AURORA_OPTIONAL = (
    "BacktrackWindow", "CopyTagsToSnapshot", "DBClusterParameterGroupName", "DBSubnetGroupName",
    "EnableCloudwatchLogsExports", "EnableIAMDatabaseAuthentication", "EngineMode",
    "EngineVersion", "KmsKeyId", "OptionGroupName", "Port", "ScalingConfiguration",
    "VpcSecurityGroupIds",
)  # fmt: skip
_S3_OPTIONAL = (
    "RestoreACLs", "EncryptionType", "ItemsToRestore", "KMSKey", "RestoreLatestVersionsUpTo",
    "NewBucket", "Encrypted",
)  # fmt: skip
#: The StartRestoreJob metadata keys AWS documents, per (resource type, continuous point):
#: AWS Backup guide, "Restoring an Amazon Aurora cluster" (snapshot and PITR lists; PITR has
#: no AvailabilityZones or DatabaseName), "Continuous backups and PITR" (UseLatestRestorableTime),
#: "Restore S3 data using AWS Backup" (RestoreTime only for continuous points) and "Restore
#: testing inferred metadata" (S3: NewBucket, Encrypted). Nothing else is sent.
RESTORE_METADATA_KEYS: dict[tuple[str, bool], tuple[str, ...]] = {
    ("Aurora", False): (
        "DBClusterIdentifier", "Engine", "AvailabilityZones", "DatabaseName", *_AURORA_OPTIONAL
    ),
    ("Aurora", True): (
        "DBClusterIdentifier", "Engine", "RestoreToTime", "UseLatestRestorableTime",
        *_AURORA_OPTIONAL,
    ),
    ("S3", False): ("DestinationBucketName", *_S3_OPTIONAL),
    ("S3", True): ("DestinationBucketName", "RestoreTime", *_S3_OPTIONAL),
    # AWS Backup guide, "Restore testing inferred metadata", DynamoDB: inferred
    # deletionProtection, encryptionType, targetTableName; overridable encryptionType,
    # kmsMasterKeyArn (a copy in another region restores through AWS Backup, not PITR)
    ("DynamoDB", False): (
        "targetTableName", "encryptionType", "kmsMasterKeyArn", "deletionProtection",
    ),
}  # fmt: skip
#: A copy's restore metadata names the source region's Aurora settings; these do not exist
#: in the recovery region (its AZs, parameter and option groups) and are left out, so the
#: restored cluster takes the region's defaults.
_SOURCE_REGION_ONLY = ("AvailabilityZones", "DBClusterParameterGroupName", "OptionGroupName")
#: AWS Backup's resource type of each store.
RESOURCE_TYPES = {"aurora": "Aurora", "table": "DynamoDB", "bucket": "S3"}
_DONE_BACKUP = {"COMPLETED"}
_FAILED_BACKUP = {"ABORTED", "FAILED"}


@dataclass
class RestorePlan:
    """The request a restore sends, and what it restores from and to."""

    kind: str
    service: str
    operation: str  # the botocore operation name, e.g. StartRestoreJob
    request: dict[str, Any]
    source: str
    target: str
    recovery_point: dict[str, Any]
    cli: str = ""
    #: The same command, one parameter a line, for people.
    cli_display: str = ""
    #: Keys of the recovery point's restore metadata that AWS does not document for this
    #: restore, and that the request therefore leaves out.
    left_out: list[str] = field(default_factory=list)
    #: The point in time the restored copy holds (the ``to``, a continuous point's latest
    #: restorable time, or the snapshot's creation), when known.
    as_of: datetime | None = None
    #: The recovery region it restores in (``--from-region``); None in the stack's region.
    region: str | None = None
    #: The failure mode whose RTO the restore is measured against.
    failure_mode: str = RESTORE_FAILURE_MODE

    @property
    def method(self) -> str:
        from botocore import xform_name  # type: ignore[import-untyped]

        return str(xform_name(self.operation))

    def to_dict(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "service": self.service,
            "operation": self.operation,
            "source": self.source,
            "target": self.target,
            "recovery_point": self.recovery_point,
            "request": _jsonable(self.request),
            "aws_cli": self.cli,
            "left_out_metadata": self.left_out,
            **({"region": self.region} if self.region else {}),
        }


def plan_restore(
    aws: Aws, stack: DrStack, kind: str, to: datetime | None, from_region: str | None = None
) -> RestorePlan:
    """The complete, validated request for ``kind`` (``aurora``, ``table`` or ``bucket``);
    with ``from_region``, from the newest copy (at or before ``to``) in the recovery region.

    Raises:
        OperatorError: no recovery point yet, ``to`` outside the window, a missing resource,
            ``from_region`` other than the recovery region the stack states.
    """
    builders: Mapping[str, Callable[[Aws, DrStack, datetime | None], RestorePlan]] = {
        "aurora": _plan_aurora,
        "table": _plan_table,
        "bucket": _plan_bucket,
    }
    if from_region is not None:
        check_from_region(stack, from_region)
        target = discover_recovery(aws.in_region(from_region), stack)
    try:
        if from_region is None:
            plan = builders[kind](aws, stack, to)
        else:
            plan = _plan_copy(aws, stack, kind, to, target)
            aws = aws.in_region(from_region)  # the request goes to the recovery region
    except AWS_ERRORS as exc:
        raise OperatorError(aws_error_message(exc)) from None
    client = aws.client(plan.service)
    shape = client.meta.service_model.operation_model(plan.operation).input_shape
    report = ParamValidator().validate(plan.request, shape)
    if report.has_errors():  # a bug of ours, but say it plainly
        raise OperatorError(
            f"the {plan.operation} request is not valid: {report.generate_report()}"
        )
    plan.cli = aws_cli_command(aws, plan.service, plan.operation, plan.request)
    plan.cli_display = aws_cli_command(
        aws, plan.service, plan.operation, plan.request, multiline=True
    )
    return plan


def run_restore(
    aws: Aws,
    stack: DrStack,
    plan: RestorePlan,
    *,
    poll: Poll,
    on_progress: Callable[[float | None, str], None] | None = None,
    instance: bool = True,
) -> dict[str, Any]:
    """Start the restore, follow it to the end, and measure it against the RTO objective.

    A restored Aurora cluster has no instance ("you must create the primary instance", AWS
    Backup guide, "Restoring an Amazon Aurora cluster"): with ``instance`` (the default) the
    writer is added in the same class as the source's and followed until it is available, and
    the time to a usable cluster is measured; without it, the ``create-db-instance`` command is
    printed instead.

    Raises:
        OperatorError: (exit 1) the job or the instance failed, or did not finish within the
            poll's timeout.
    """
    rto = stack.objective(plan.failure_mode).rto_seconds
    source_aws, aws = aws, (aws.in_region(plan.region) if plan.region else aws)
    client = aws.client(plan.service)
    try:
        response = getattr(client, plan.method)(**plan.request)
        if plan.service == "backup":
            job_id = response["RestoreJobId"]
            check = _backup_job(client, job_id, on_progress)
        else:
            job_id = plan.target
            check = _table_status(client, plan.target, on_progress)
        job, seconds = poll.until(check)
    except AWS_ERRORS as exc:
        raise OperatorError(aws_error_message(exc), exit_code=EXIT_BREACHED) from None
    created = job.get("CreatedResourceArn") or job.get("TableArn") or plan.target
    result = {
        "job_id": job_id,
        "status": job.get("Status") or job.get("TableStatus"),
        "created": created,
        "duration_seconds": round(seconds, 1),
        "rto_seconds": rto,
        "rto_met": seconds <= rto,
        "failure_mode": plan.failure_mode,
    }
    if plan.kind == "aurora" and instance:
        writer = _add_writer(aws, plan, poll, on_progress, source_aws)
        started = aws.clock()
        canary = (
            _read_canary(aws, stack, plan, writer["endpoint"], writer["port"])
            if plan.region is None
            else {
                "verified": False,
                "reason": "the stack's health check runs in its own region's VPC and cannot "
                f"reach a cluster restored in {plan.region}",
            }
        )
        usable = seconds + writer.pop("instance_seconds") + (aws.clock() - started)
        result.update(writer)
        result["canary"] = canary
        result["time_to_usable_seconds"] = round(usable, 1)
        result["rto_met"] = usable <= rto
    elif plan.kind == "aurora":
        result["next_step"] = (
            f"aws rds create-db-instance {aws.cli_flags()} --db-cluster-identifier "
            f"{plan.target} --db-instance-identifier {_instance_name(plan.target)} --engine "
            f"{_engine(plan)} --db-instance-class "
            f"{_source_class(source_aws, plan.source) or '<the source writer class>'}  "
            "(a restored cluster has no instances)"
        )
    return result


# --- Aurora -------------------------------------------------------------------------------


def _plan_aurora(aws: Aws, stack: DrStack, to: datetime | None) -> RestorePlan:
    cluster_id = stack.require("cluster_id", "Aurora cluster (AWS::RDS::DBCluster)")
    vault = stack.require("vault_name", "backup vault (AWS::Backup::BackupVault)")
    cluster = aws.client("rds").describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][
        0
    ]
    window = None
    if cluster.get("EarliestRestorableTime") and cluster.get("LatestRestorableTime"):
        window = (cluster["EarliestRestorableTime"], cluster["LatestRestorableTime"])
    point = _recovery_point(
        aws, vault, cluster["DBClusterArn"], to, window,
        continuous_arn=cluster.get("AwsBackupRecoveryPointArn"),
    )  # fmt: skip
    metadata = _restore_metadata(aws, vault, point.arn)
    target = _new_name(cluster_id, aws.now(), 63).lower()
    metadata.update(
        {
            "DBClusterIdentifier": target,
            "DBSubnetGroupName": stack.subnet_group or cluster["DBSubnetGroup"],
            "VpcSecurityGroupIds": json.dumps(
                [group["VpcSecurityGroupId"] for group in cluster.get("VpcSecurityGroups", [])]
            ),
            "KmsKeyId": cluster["KmsKeyId"],
        }
    )
    if cluster.get("DBClusterParameterGroup"):
        metadata["DBClusterParameterGroupName"] = cluster["DBClusterParameterGroup"]
    _point_in_time(metadata, "Aurora", point, to)
    metadata, left_out = documented_metadata(metadata, "Aurora", point.continuous)
    return RestorePlan(
        kind="aurora",
        service="backup",
        operation="StartRestoreJob",
        request=_backup_request(aws, stack, point, metadata, "Aurora", target),
        source=cluster_id,
        target=target,
        recovery_point=point.describe(to),
        left_out=left_out,
        as_of=to or point.latest or point.created,
    )


#: DB instance statuses that end a new instance's creation in failure (RDS User Guide,
#: "Viewing Amazon RDS DB instance status").
_FAILED_INSTANCE = frozenset(
    {
        "failed", "inaccessible-encryption-credentials", "incompatible-network",
        "incompatible-option-group", "incompatible-parameters", "incompatible-restore",
        "insufficient-capacity", "storage-full",
    }
)  # fmt: skip


def _add_writer(
    aws: Aws,
    plan: RestorePlan,
    poll: Poll,
    on_progress: Callable[[float | None, str], None] | None,
    source_aws: Aws,
) -> dict[str, Any]:
    """Add the restored cluster's writer, in the source writer's class (read with
    ``source_aws``, in the source's region), and wait until it is available: the restored
    cluster's endpoint then answers."""
    rds = aws.client("rds")
    name = _instance_name(plan.target)
    try:
        instance_class = _source_class(source_aws, plan.source)
        if instance_class is None:
            raise OperatorError(
                f"the source cluster {plan.source} has no writer to take the instance class "
                "from: run again with --no-instance and add the instance yourself",
                exit_code=EXIT_BREACHED,
            )
        rds.create_db_instance(
            DBInstanceIdentifier=name,
            DBClusterIdentifier=plan.target,
            Engine=_engine(plan),
            DBInstanceClass=instance_class,
            PubliclyAccessible=False,
        )

        def check() -> dict[str, Any] | None:
            found = rds.describe_db_instances(DBInstanceIdentifier=name)["DBInstances"][0]
            status = found.get("DBInstanceStatus", "")
            if on_progress is not None:
                on_progress(None, f"instance {name} {status}")
            if status in _FAILED_INSTANCE:
                raise OperatorError(
                    f"the restored cluster's instance {name} is {status} (the restored "
                    f"cluster {plan.target} stays: add an instance or delete it)",
                    exit_code=EXIT_BREACHED,
                )
            return found if status == "available" else None

        _, seconds = poll.until(check)
        cluster = rds.describe_db_clusters(DBClusterIdentifier=plan.target)["DBClusters"][0]
    except AWS_ERRORS as exc:
        raise OperatorError(aws_error_message(exc), exit_code=EXIT_BREACHED) from None
    return {
        "instance": name,
        "instance_class": instance_class,
        "endpoint": cluster.get("Endpoint"),
        "port": cluster.get("Port"),
        "instance_seconds": seconds,
    }


def _read_canary(
    aws: Aws, stack: DrStack, plan: RestorePlan, endpoint: str, port: int
) -> dict[str, Any]:
    """Ask the stack's health check (inside the VPC, which the operator's machine cannot
    reach) to read the restored copy's newest heartbeat row; how old it was at the point in
    time restored is the copy's data age.

    Raises:
        OperatorError: (exit 1) the copy answered without the row, or could not be read.
    """
    function = stack.canary_function or stack.function_name
    if not function:
        return {"verified": False, "reason": "the stack has no health-check function to read it"}
    payload = json.dumps({VERIFY_RESTORED_CLUSTER: {"endpoint": endpoint, "port": port}})
    try:
        response = aws.client("lambda").invoke(FunctionName=function, Payload=payload.encode())
        report = json.loads(response["Payload"].read())
    except AWS_ERRORS as exc:
        raise OperatorError(
            f"could not ask {function} to read the restored copy: {aws_error_message(exc)}",
            exit_code=EXIT_BREACHED,
        ) from None
    except ValueError:
        report = None
    canary = report.get("canary") if isinstance(report, dict) else None
    if response.get("FunctionError") or not isinstance(canary, dict):
        return {
            "verified": False,
            "reason": f"{function} did not read it (its code is not the library's "
            "health check, or is older than this command)",
        }
    if report.get("status") != "ok":
        raise OperatorError(
            f"the restored cluster {plan.target} answers, but its canary row could not be read: "
            f"{canary.get('error')}",
            exit_code=EXIT_BREACHED,
        )
    written = datetime.fromisoformat(str(canary["checked_at"]).replace("Z", "+00:00"))
    age = None if plan.as_of is None else max(0.0, (plan.as_of - written).total_seconds())
    return {
        "verified": True,
        "writer": canary.get("writer"),
        "checked_at": canary["checked_at"],
        "data_age_seconds": None if age is None else round(age, 1),
        "tls_version": canary.get("tls_version"),
    }


def _instance_name(cluster: str) -> str:
    """The restored writer's identifier: the cluster's, cut to fit 63 characters, and ``-1``."""
    return cluster[:61].rstrip("-") + "-1"


def _engine(plan: RestorePlan) -> str:
    return str(plan.request["Metadata"].get("Engine", "aurora-postgresql"))


def _source_class(aws: Aws, cluster_id: str) -> str | None:
    """The source cluster writer's instance class (the restored copy serves the same load), or
    None when the source has no writer."""
    rds = aws.client("rds")
    cluster = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
    for member in cluster.get("DBClusterMembers", []):
        if member.get("IsClusterWriter"):
            found = rds.describe_db_instances(DBInstanceIdentifier=member["DBInstanceIdentifier"])
            return str(found["DBInstances"][0]["DBInstanceClass"])
    return None


# --- S3 -----------------------------------------------------------------------------------


def _plan_bucket(aws: Aws, stack: DrStack, to: datetime | None) -> RestorePlan:
    bucket = stack.require(
        "bucket_name", f"data bucket (AWS::S3::Bucket '*{DATA_BUCKET_FRAGMENT}*')"
    )
    vault = stack.require("vault_name", "backup vault (AWS::Backup::BackupVault)")
    point = _recovery_point(aws, vault, f"arn:{aws.partition}:s3:::{bucket}", to, None)
    metadata = _restore_metadata(aws, vault, point.arn)
    target = _new_name(bucket, aws.now(), 63).lower()
    rules = aws.client("s3").get_bucket_encryption(Bucket=bucket)[
        "ServerSideEncryptionConfiguration"
    ]["Rules"]
    default = rules[0]["ApplyServerSideEncryptionByDefault"]
    metadata.update(
        {
            "DestinationBucketName": target,
            "NewBucket": "true",
            "Encrypted": "true",
        }
    )
    if default.get("KMSMasterKeyID"):
        metadata.update({"EncryptionType": "SSE-KMS", "KMSKey": default["KMSMasterKeyID"]})
    else:
        metadata["EncryptionType"] = "SSE-S3"
    _point_in_time(metadata, "S3", point, to)
    metadata, left_out = documented_metadata(metadata, "S3", point.continuous)
    return RestorePlan(
        kind="bucket",
        service="backup",
        operation="StartRestoreJob",
        request=_backup_request(aws, stack, point, metadata, "S3", target),
        source=bucket,
        target=target,
        recovery_point=point.describe(to),
        left_out=left_out,
    )


# --- DynamoDB -----------------------------------------------------------------------------


def _plan_table(aws: Aws, stack: DrStack, to: datetime | None) -> RestorePlan:
    table = stack.require("table_name", "DynamoDB table (AWS::DynamoDB::Table)")
    dynamodb = aws.client("dynamodb")
    pitr = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    recovery = pitr.get("PointInTimeRecoveryDescription", {})
    if recovery.get("PointInTimeRecoveryStatus") != "ENABLED":
        raise OperatorError(f"table {table} has point-in-time recovery off: nothing to restore")
    earliest = recovery.get("EarliestRestorableDateTime")
    latest = recovery.get("LatestRestorableDateTime")
    if earliest is None or latest is None:
        raise OperatorError(f"table {table} has no recovery point yet (PITR has no window)")
    description = dynamodb.describe_table(TableName=table)["Table"]
    target = _new_name(table, aws.now(), 255)
    request: dict[str, Any] = {"SourceTableName": table, "TargetTableName": target}
    if to is None:
        request["UseLatestRestorableTime"] = True
    else:
        _check_window(to, (earliest, latest), f"table {table}'s point-in-time recovery")
        request["RestoreDateTime"] = to
    key = (description.get("SSEDescription") or {}).get("KMSMasterKeyArn")
    if key:
        request["SSESpecificationOverride"] = {
            "Enabled": True,
            "SSEType": "KMS",
            "KMSMasterKeyId": key,
        }
    return RestorePlan(
        kind="table",
        service="dynamodb",
        operation="RestoreTableToPointInTime",
        request=request,
        source=table,
        target=target,
        recovery_point={
            "type": "point-in-time recovery",
            "restore_to": iso(to) if to else f"latest restorable time ({iso(latest)})",
            "window": [iso(earliest), iso(latest)],
        },
    )


# --- from the copies in the recovery region -------------------------------------------------


def check_from_region(stack: DrStack, from_region: str) -> None:
    """``--from-region`` must name the recovery region the stack states.

    Raises:
        OperatorError: (exit 2) a single-region stack, or another region.
    """
    recovery = stack.recovery
    if recovery is None:
        raise OperatorError(
            f"--from-region {from_region}: stack {stack.name} has no recovery region (its "
            "template states none: every backup stays in its own region); run without "
            "--from-region"
        )
    if from_region != recovery.region:
        raise OperatorError(
            f"--from-region {from_region}: stack {stack.name} copies its backups to "
            f"{recovery.region} (vault {recovery.vault}), not {from_region}: pass "
            f"--from-region {recovery.region}"
        )


def _plan_copy(
    aws: Aws, stack: DrStack, kind: str, to: datetime | None, target: RecoveryTarget
) -> RestorePlan:
    """A restore of the newest copy (at or before ``to``) in the recovery vault, into the
    recovery stack's DB subnet group and security group (Aurora) and its key (every store).
    Nothing is read in the stack's own region but its names (the region may be lost)."""
    there = aws.in_region(target.region)
    source = {
        "aurora": lambda: stack.require("cluster_id", "Aurora cluster (AWS::RDS::DBCluster)"),
        "table": lambda: stack.require("table_name", "DynamoDB table (AWS::DynamoDB::Table)"),
        "bucket": lambda: stack.require(
            "bucket_name", f"data bucket (AWS::S3::Bucket '*{DATA_BUCKET_FRAGMENT}*')"
        ),
    }[kind]()
    point = _newest_copy(there, target, kind, source, to)
    metadata = _restore_metadata(there, target.vault, point.arn)
    resource_type = RESOURCE_TYPES[kind]
    new = _new_name(source, aws.now(), 255 if kind == "table" else 63)
    if kind == "aurora":
        new = new.lower()
        metadata = {k: v for k, v in metadata.items()
                    if k.lower() not in {r.lower() for r in _SOURCE_REGION_ONLY}}  # fmt: skip
        metadata.update({
            "DBClusterIdentifier": new, "DBSubnetGroupName": target.subnet_group,
            "VpcSecurityGroupIds": json.dumps([target.security_group]),
            "KmsKeyId": target.key_arn,
        })  # fmt: skip
    elif kind == "table":
        metadata.update(
            {"targetTableName": new, "encryptionType": "KMS", "kmsMasterKeyArn": target.key_arn}
        )
    else:
        new = new.lower()
        metadata.update({
            "DestinationBucketName": new, "NewBucket": "true", "Encrypted": "true",
            "EncryptionType": "SSE-KMS", "KMSKey": target.key_arn,
        })  # fmt: skip
    metadata, left_out = documented_metadata(metadata, resource_type, False)
    described = {**point.describe(None), "region": target.region, "vault": target.vault}
    if to is not None:
        described["at_or_before"] = iso(to)
    return RestorePlan(
        kind=kind,
        service="backup",
        operation="StartRestoreJob",
        request=_backup_request(aws, stack, point, metadata, resource_type, new),
        source=source,
        target=new,
        recovery_point=described,
        left_out=left_out,
        as_of=point.created,
        region=target.region,
        failure_mode=REGION_LOSS if REGION_LOSS in stack.objectives else RESTORE_FAILURE_MODE,
    )


def _newest_copy(
    aws: Aws, target: RecoveryTarget, kind: str, name: str, to: datetime | None
) -> _Point:
    """The newest COMPLETED copy of the store in the recovery vault, at or before ``to``.
    Copies are snapshots (a continuous point is copied as a snapshot), so there is no point in
    time to choose inside a window; a copy's ``ResourceArn`` is its source resource's."""
    pages = (
        aws.client("backup")
        .get_paginator("list_recovery_points_by_backup_vault")
        .paginate(BackupVaultName=target.vault)
    )
    copies = [
        p
        for page in pages
        for p in page["RecoveryPoints"]
        if p.get("Status") == "COMPLETED"
        and is_resource(str(p.get("ResourceArn", "")), kind, name)
        and (to is None or p["CreationDate"] <= to)
    ]
    if not copies:
        raise OperatorError(
            f"no completed copy of {kind} {name} in vault {target.vault} ({target.region})"
            + (f" at or before --to {iso(to)}" if to is not None else "")
        )
    newest = max(copies, key=lambda p: p["CreationDate"])
    return _Point(newest["RecoveryPointArn"], newest["CreationDate"], False)


def is_resource(arn: str, kind: str, name: str) -> bool:
    """Whether ``arn`` is the store's, in the forms of the Service Authorization Reference:
    ``arn:${Partition}:rds:${Region}:${Account}:cluster:${DbClusterInstanceName}``,
    ``...:dynamodb:${Region}:${Account}:table/${TableName}``,
    ``arn:${Partition}:s3:::${BucketName}``."""
    parts = arn.split(":", 5)
    if len(parts) != 6:
        return False
    service, resource = parts[2], parts[5]
    return {
        "aurora": service == "rds" and resource == f"cluster:{name}",
        "table": service == "dynamodb" and resource == f"table/{name}",
        "bucket": service == "s3" and resource == name,
    }[kind]


# --- shared -------------------------------------------------------------------------------


@dataclass(frozen=True)
class _Point:
    """The recovery point a restore uses and, for a continuous one, its restorable window."""

    arn: str
    created: datetime
    continuous: bool
    #: Continuous points: the latest time they restore to.
    latest: datetime | None = None

    def describe(self, to: datetime | None) -> dict[str, Any]:
        if to is not None:
            restore_to = iso(to)
        elif self.latest is not None:
            restore_to = f"latest restorable time ({iso(self.latest)})"
        else:
            restore_to = iso(self.created)
        return {
            "arn": self.arn,
            "type": "continuous" if self.continuous else "snapshot",
            "created": iso(self.created),
            "restore_to": restore_to,
        }


def _recovery_point(
    aws: Aws,
    vault: str,
    resource_arn: str,
    to: datetime | None,
    window: tuple[datetime, datetime] | None,
    *,
    continuous_arn: str | None = None,
) -> _Point:
    """The completed continuous recovery point (at ``to``, else at its latest restorable
    time), or without one and without ``to`` the newest completed snapshot.

    A continuous rule makes one continuous point of Aurora and S3 and no snapshot ("The
    continuous backup plan creates one continuous recovery point and updates that recovery
    point whenever the job runs"): it is the newest data there is, usable "as long as it has a
    status of COMPLETED". ``window`` is its restorable window when the service reports one
    (Aurora: the cluster's earliest and latest restorable times); else from its creation to
    15 minutes ago (S3)."""
    pages = (
        aws.client("backup")
        .get_paginator("list_recovery_points_by_backup_vault")
        .paginate(BackupVaultName=vault, ByResourceArn=resource_arn)
    )
    points: list[dict[str, Any]] = [p for page in pages for p in page["RecoveryPoints"]]
    continuous = [p for p in points if is_continuous(p, continuous_arn)]
    usable = [p for p in continuous if p.get("Status") == "COMPLETED"]
    if usable:
        point = max(usable, key=lambda p: p["CreationDate"])
        earliest, latest = window or (point["CreationDate"], aws.now() - S3_RESTORE_LAG)
        if to is not None:
            _check_window(to, (earliest, latest), "continuous backup")
        if to is not None or latest >= earliest:
            return _Point(point["RecoveryPointArn"], point["CreationDate"], True, latest)
    if to is not None:
        raise OperatorError(
            f"no completed continuous recovery point for {resource_arn} in vault {vault}: "
            "--to needs one" + _statuses(continuous)
        )
    snapshots = [p for p in points if p.get("Status") == "COMPLETED" and p not in continuous]
    if not snapshots:
        raise OperatorError(
            f"no recovery point yet for {resource_arn} in vault {vault} (the plan's first "
            "backup runs on the hour)" + _statuses(continuous)
        )
    point = max(snapshots, key=lambda p: p["CreationDate"])
    return _Point(point["RecoveryPointArn"], point["CreationDate"], False)


def _statuses(continuous: list[dict[str, Any]]) -> str:
    if not continuous:
        return ""
    found = ", ".join(sorted({str(p.get("Status")) for p in continuous}))
    return f"; its continuous recovery point is {found}"


def is_continuous(point: Mapping[str, Any], continuous_arn: str | None = None) -> bool:
    """A continuous recovery point: the one RDS names as the cluster's
    ``AwsBackupRecoveryPointArn``, or an ARN ``...:recovery-point:continuous:...`` (the form
    public code shows; AWS documents no example)."""
    arn = str(point.get("RecoveryPointArn", ""))
    return ":recovery-point:continuous:" in arn or (
        continuous_arn is not None and arn == continuous_arn
    )


def _check_window(to: datetime, window: tuple[datetime, datetime], what: str) -> None:
    earliest, latest = window
    if not earliest <= to <= latest:
        raise OperatorError(
            f"--to {iso(to)} is outside the {what} window {iso(earliest)} .. {iso(latest)}"
        )


def _restore_metadata(aws: Aws, vault: str, point_arn: str) -> dict[str, str]:
    response = aws.client("backup").get_recovery_point_restore_metadata(
        BackupVaultName=vault, RecoveryPointArn=point_arn
    )
    return dict(response.get("RestoreMetadata") or {})


def _point_in_time(
    metadata: dict[str, str], resource_type: str, point: _Point, to: datetime | None
) -> None:
    """The time a continuous point restores to: ``to``, else its latest restorable time
    (Aurora: ``UseLatestRestorableTime`` "true", AWS's own example; S3: ``RestoreTime``, which
    AWS requires for continuous points)."""
    if not point.continuous:
        return
    for key in ("UseLatestRestorableTime", *POINT_IN_TIME_KEY.values()):
        metadata.pop(key, None)
    if to is not None:
        metadata[POINT_IN_TIME_KEY[resource_type]] = iso(to)
    elif resource_type == "Aurora":
        metadata["UseLatestRestorableTime"] = "true"
    else:
        assert point.latest is not None
        metadata["RestoreTime"] = iso(point.latest)


def documented_metadata(
    metadata: Mapping[str, str], resource_type: str, continuous: bool
) -> tuple[dict[str, str], list[str]]:
    """The keys of ``metadata`` AWS documents for this restore (in AWS's spelling: keys are
    compared case-insensitively), and the sorted keys left out."""
    allowed = {key.lower(): key for key in RESTORE_METADATA_KEYS[resource_type, continuous]}
    kept: dict[str, str] = {}
    left_out: list[str] = []
    for key, value in metadata.items():
        name = allowed.get(key.lower())
        if name is None:
            left_out.append(key)
        else:
            kept[name] = value
    return kept, sorted(left_out)


def _backup_request(
    aws: Aws,
    stack: DrStack,
    point: _Point,
    metadata: dict[str, str],
    resource_type: str,
    target: str,
) -> dict[str, Any]:
    role = stack.require("backup_role", f"backup role (AWS::IAM::Role '*{BACKUP_ROLE_FRAGMENT}*')")
    role_arn = (
        role
        if role.startswith("arn:")
        else aws.client("iam").get_role(RoleName=role)["Role"]["Arn"]
    )
    return {
        "RecoveryPointArn": point.arn,
        "Metadata": metadata,
        "IamRoleArn": role_arn,
        "IdempotencyToken": target,
        "ResourceType": resource_type,
    }


def _new_name(name: str, now: datetime, limit: int) -> str:
    suffix = f"{_SUFFIX}{now.strftime('%Y%m%d%H%M%S')}"
    return name[: limit - len(suffix)].rstrip("-") + suffix


def _backup_job(
    client: Any, job_id: str, on_progress: Callable[[float | None, str], None] | None
) -> Callable[[], dict[str, Any] | None]:
    def check() -> dict[str, Any] | None:
        job: dict[str, Any] = client.describe_restore_job(RestoreJobId=job_id)
        status = job.get("Status", "")
        if on_progress is not None:
            on_progress(_percent(job.get("PercentDone")), status)
        if status in _FAILED_BACKUP:
            raise OperatorError(
                f"restore job {job_id} {status}: {job.get('StatusMessage', 'no message')}",
                exit_code=EXIT_BREACHED,
            )
        return job if status in _DONE_BACKUP else None

    return check


def _table_status(
    client: Any, table: str, on_progress: Callable[[float | None, str], None] | None
) -> Callable[[], dict[str, Any] | None]:
    def check() -> dict[str, Any] | None:
        description: dict[str, Any] = dict(client.describe_table(TableName=table)["Table"])
        status = description.get("TableStatus", "")
        if on_progress is not None:
            on_progress(100.0 if status == "ACTIVE" else None, status)
        return description if status == "ACTIVE" else None

    return check


def _percent(value: Any) -> float | None:
    try:
        return float(str(value).rstrip("%"))
    except ValueError:
        return None


def _jsonable(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, dict):
        return {k: _jsonable(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_jsonable(v) for v in value]
    return value

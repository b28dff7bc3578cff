"""``status``: recovery points, PITR, the cluster's instances, restore tests and alarms."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta
from typing import Any

from .aws import AWS_ERRORS, Aws, OperatorError, aws_error_message
from .commands import iso
from .discovery import DrStack
from .restore import RESTORE_FAILURE_MODE

#: Recovery points serve the recovery from corruption: their age is held against its RPO.
STATUS_FAILURE_MODE = RESTORE_FAILURE_MODE
#: How far back to look for restore tests (AWS Backup keeps restore jobs about 30 days).
RESTORE_TEST_LOOKBACK = timedelta(days=30)
_BACKUP_TYPE = {"aurora": "Aurora", "table": "DynamoDB", "bucket": "S3"}


def collect_status(aws: Aws, stack: DrStack) -> dict[str, Any]:
    """Everything ``status`` shows, as data (``--json`` prints it as it is)."""
    try:
        return _collect(aws, stack)
    except AWS_ERRORS as exc:
        raise OperatorError(aws_error_message(exc)) from None


def _collect(aws: Aws, stack: DrStack) -> dict[str, Any]:
    now = aws.now()
    objective = stack.objective(STATUS_FAILURE_MODE)
    restore_tests = _restore_tests(aws, now) if stack.vault_name else []
    resources: list[dict[str, Any]] = []
    if stack.cluster_id:
        resources.append(_aurora(aws, stack, stack.cluster_id))
    if stack.table_name:
        resources.append(_table(aws, stack, stack.table_name))
    if stack.bucket_name:
        resources.append(
            {"kind": "bucket", "name": stack.bucket_name,
             "arn": f"arn:{aws.partition}:s3:::{stack.bucket_name}"}
        )  # fmt: skip
    breaches: list[str] = []
    for resource in resources:
        arn = resource.pop("arn")
        point = _latest_point(aws, stack, arn)
        resource["latest_recovery_point"] = point
        newest = [t for t in (point and point["created"], resource.get("latest_restorable")) if t]
        if newest:
            age = max(0.0, (now - max(newest)).total_seconds())  # clocks may disagree
            resource["age_seconds"] = round(age)
            resource["rpo_met"] = age <= objective.rpo_seconds
        else:
            resource["age_seconds"] = None
            resource["rpo_met"] = False
        if not resource["rpo_met"]:
            breaches.append(f"{resource['kind']} {resource['name']}: RPO {objective.rpo_seconds}s")
        test = _last_test(restore_tests, _BACKUP_TYPE[resource["kind"]], arn)
        if test is not None:
            test["rto_met"] = (
                test["duration_seconds"] is not None
                and test["duration_seconds"] <= objective.rto_seconds
            )
            if not test["rto_met"] or test["validation"] == "FAILED":
                breaches.append(
                    f"{resource['kind']} {resource['name']}: restore test vs RTO "
                    f"{objective.rto_seconds}s"
                )
        resource["last_restore_test"] = test
        if point is not None:
            point["created"] = iso(point["created"])
        if resource.get("latest_restorable") is not None:
            resource["latest_restorable"] = iso(resource["latest_restorable"])
    return {
        "stack": stack.name,
        "region": aws.region_name,
        "checked_at": iso(now),
        "objectives": {
            mode: {"rpo_seconds": o.rpo_seconds, "rto_seconds": o.rto_seconds}
            for mode, o in stack.objectives.items()
        },
        "objectives_from_stack": stack.objectives_from_stack,
        "objectives_note": stack.objectives_note,
        "measured_against": STATUS_FAILURE_MODE,
        "resources": resources,
        "alarms_in_alarm": _alarms_in_alarm(aws, stack.alarms),
        "breaches": breaches,
    }


def _aurora(aws: Aws, stack: DrStack, cluster_id: str) -> dict[str, Any]:
    rds = aws.client("rds")
    cluster = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
    writer, readers = None, []
    for member in cluster.get("DBClusterMembers", []):
        instance_id = member["DBInstanceIdentifier"]
        instance = rds.describe_db_instances(DBInstanceIdentifier=instance_id)["DBInstances"][0]
        entry = {"id": instance_id, "az": instance.get("AvailabilityZone")}
        if member.get("IsClusterWriter"):
            writer = entry
        else:
            readers.append(entry)
    return {
        "kind": "aurora",
        "name": cluster_id,
        "arn": cluster["DBClusterArn"],
        "state": cluster.get("Status"),
        "writer": writer,
        "readers": readers,
        "latest_restorable": cluster.get("LatestRestorableTime"),
    }


def _table(aws: Aws, stack: DrStack, table: str) -> dict[str, Any]:
    dynamodb = aws.client("dynamodb")
    description = dynamodb.describe_table(TableName=table)["Table"]
    backups = dynamodb.describe_continuous_backups(TableName=table)["ContinuousBackupsDescription"]
    pitr = backups.get("PointInTimeRecoveryDescription", {})
    enabled = pitr.get("PointInTimeRecoveryStatus") == "ENABLED"
    return {
        "kind": "table",
        "name": table,
        "arn": description["TableArn"],
        "state": description.get("TableStatus"),
        "pitr": pitr.get("PointInTimeRecoveryStatus", "DISABLED"),
        "latest_restorable": pitr.get("LatestRestorableDateTime") if enabled else None,
    }


def _latest_point(aws: Aws, stack: DrStack, arn: str) -> dict[str, Any] | None:
    if not stack.vault_name:
        return None
    pages = (
        aws.client("backup")
        .get_paginator("list_recovery_points_by_backup_vault")
        .paginate(BackupVaultName=stack.vault_name, ByResourceArn=arn)
    )
    points = [p for page in pages for p in page["RecoveryPoints"] if p.get("Status") == "COMPLETED"]
    if not points:
        return None
    point = max(points, key=lambda p: p["CreationDate"])
    return {"arn": point["RecoveryPointArn"], "created": point["CreationDate"]}


def _restore_tests(aws: Aws, now: datetime) -> list[Mapping[str, Any]]:
    pages = (
        aws.client("backup")
        .get_paginator("list_restore_jobs")
        .paginate(ByCreatedAfter=now - RESTORE_TEST_LOOKBACK)
    )
    return [
        job
        for page in pages
        for job in page["RestoreJobs"]
        if (job.get("CreatedBy") or {}).get("RestoreTestingPlanArn")
    ]


def _last_test(
    jobs: list[Mapping[str, Any]], resource_type: str, arn: str
) -> dict[str, Any] | None:
    mine = [
        job
        for job in jobs
        if job.get("ResourceType") == resource_type and job.get("SourceResourceArn", arn) == arn
    ]
    if not mine:
        return None
    job = max(mine, key=lambda j: j["CreationDate"])
    done = job.get("CompletionDate")
    return {
        "job_id": job["RestoreJobId"],
        "status": job.get("Status"),
        "started": iso(job["CreationDate"]),
        "duration_seconds": round((done - job["CreationDate"]).total_seconds()) if done else None,
        "validation": job.get("ValidationStatus"),
    }


def _alarms_in_alarm(aws: Aws, names: list[str]) -> list[str]:
    cloudwatch = aws.client("cloudwatch")
    firing: list[str] = []
    for start in range(0, len(names), 100):
        response = cloudwatch.describe_alarms(
            AlarmNames=names[start : start + 100], StateValue="ALARM"
        )
        alarms = [*response.get("MetricAlarms", []), *response.get("CompositeAlarms", [])]
        firing += [a["AlarmName"] for a in alarms if a.get("StateValue") == "ALARM"]
    return sorted(firing)

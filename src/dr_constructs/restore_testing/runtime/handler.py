"""Validate what an AWS Backup restore test restored, report it, and measure RTO and RPO.

Triggered by EventBridge on each "Restore Job State Change" of AWS Backup with a final status.
For a job started by this stack's restore testing plan (``CreatedBy.RestoreTestingPlanArn``
equal to the plan's own ARN, ``RESTORE_TESTING_PLAN_ARN``) it:

1. measures the restore time (``CompletionDate - CreationDate``, the RTO a real restore of
   that recovery point would take) and publishes it as ``RestoreTime`` (seconds);
2. checks the restored copy at the data level: the DynamoDB table and the S3 bucket must hold
   the health check's canary item and object. A restored Aurora cluster has no instance to
   query: for a completed Aurora job it starts the state machine ``AURORA_STATE_MACHINE_ARN``
   instead (named after the job; input: the job's id, the cluster and the instance to add,
   the point in time restored, the job's start and its restore time), which adds an instance,
   reads the canary row, reports and publishes the measurements itself;
3. measures how old the newest data in the copy was at the point in time restored, the RPO
   actually achieved, and publishes it as ``DataAge`` (seconds): that point in time minus
   the canary's ``checked_at`` in the copy. The point in time is the snapshot's time
   (``RecoveryPointCreationDate``) for a snapshot, and the restore job's ``CreationDate`` for
   a continuous recovery point, which AWS Backup restores to its latest restorable time (the
   recovery point's ``RecoveryPointCreationDate`` is when continuous backup began). Whether a
   point is continuous is read from the backup rule that made it (``EnableContinuousBackup``);
4. reports the outcome to AWS Backup with ``PutRestoreValidationResult`` (SUCCESSFUL or
   FAILED with the reason) and publishes ``ValidationFailed`` (0 or 1).

Metrics go to ``METRIC_NAMESPACE`` with the dimension ``ResourceType`` (Aurora, DynamoDB, S3).
The handler never raises for a job it validated: every failure ends up in the report.

It depends on the standard library at import time; boto3 comes with the Lambda runtime.
Environment: ``RESTORE_TESTING_PLAN_ARN``, ``METRIC_NAMESPACE``, ``CANARY_ITEM_KEY`` (the
canary item's key, DynamoDB JSON), ``CANARY_OBJECT_KEY`` (the canary object's key),
``AURORA_STATE_MACHINE_ARN`` (Aurora's restore test).
"""

from __future__ import annotations

import importlib
import json
import logging
import os
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any

LOGGER = logging.getLogger(__name__)
LOGGER.setLevel(logging.INFO)

#: Restore job statuses that end a job (the others are CREATED, PENDING, RUNNING).
FINAL_STATUSES = ("COMPLETED", "FAILED", "ABORTED")
#: AWS Backup allows this much text in a validation message.
MESSAGE_LIMIT = 1000
#: The names this code shares with the stack, as ``dr_constructs.contract`` has them (it runs
#: without the package; ``tests/test_contract.py`` holds the copies to the contract): the
#: metrics it publishes, and how AWS Backup names the copies a restore test makes, per
#: resource type (AWS Backup Developer Guide, "Restore testing inferred metadata").
RESTORE_TIME, DATA_AGE, VALIDATION_FAILED = "RestoreTime", "DataAge", "ValidationFailed"
RESTORED_NAME_PREFIXES = {
    "Aurora": "awsbackup-restore-test",
    "DynamoDB": "awsbackup-restore-test-",
    "S3": "awsbackup-restore-test-",
}


class ValidationError(Exception):
    """The restored copy is not what a good restore holds."""


def handler(event: dict[str, Any], context: object = None, clients: Any = None) -> dict[str, Any]:
    """Entry point. ``clients`` (a ``name -> boto3 client`` callable) is for tests."""
    client: Callable[[str], Any] = clients or _client
    job_id = event["detail"]["restoreJobId"]
    job = client("backup").describe_restore_job(RestoreJobId=job_id)
    # AWS's ARN ends with the plan's name and an id (restore-testing-plan:{Name}-{Id}): only
    # the whole ARN tells this plan from one of the same name created before or elsewhere.
    plan = (job.get("CreatedBy") or {}).get("RestoreTestingPlanArn")
    if plan != os.environ["RESTORE_TESTING_PLAN_ARN"]:
        return {"restore_job_id": job_id, "skipped": "not started by this stack's restore tests"}
    if job["Status"] not in FINAL_STATUSES:
        return {"restore_job_id": job_id, "skipped": f"status {job['Status']}"}

    resource_type = job["ResourceType"]
    result: dict[str, Any] = {
        "restore_job_id": job_id,
        "resource_type": resource_type,
        "status": job["Status"],
        "created_resource_arn": job.get("CreatedResourceArn"),
    }
    metrics: dict[str, float] = {}
    if job.get("CompletionDate") and job.get("CreationDate"):
        metrics[RESTORE_TIME] = (job["CompletionDate"] - job["CreationDate"]).total_seconds()
    try:
        if job["Status"] != "COMPLETED":
            raise ValidationError(
                f"the restore job ended {job['Status']}: {job.get('StatusMessage', '')}".strip()
            )
        created = job["CreatedResourceArn"]
        _check_restored_name(resource_type, _NAMES[resource_type](created))
        if resource_type == "Aurora":
            # the state machine adds an instance, reads the data, reports and measures
            return {**result, **_start_aurora_proof(client, job, metrics.get(RESTORE_TIME))}
        checked_at, detail = _VALIDATORS[resource_type](client, created)
        result["detail"] = detail
        restored_at, clock = _restored_point_in_time(client, job)
        metrics[DATA_AGE] = max((restored_at - checked_at).total_seconds(), 0.0)
        result.update(
            canary_checked_at=checked_at.isoformat(),
            restored_point_in_time=restored_at.isoformat(),
            data_age_clock=clock,
        )
        validation, message = "SUCCESSFUL", detail
    except Exception as error:  # every failure is reported, never raised
        validation, message = "FAILED", f"{type(error).__name__}: {error}"
    metrics[VALIDATION_FAILED] = 0.0 if validation == "SUCCESSFUL" else 1.0
    result.update(validation=validation, message=message, metrics=metrics)

    if job["Status"] == "COMPLETED":  # AWS Backup takes a result for completed jobs only
        client("backup").put_restore_validation_result(
            RestoreJobId=job_id,
            ValidationStatus=validation,
            ValidationStatusMessage=message[:MESSAGE_LIMIT],
        )
    client("cloudwatch").put_metric_data(
        Namespace=os.environ["METRIC_NAMESPACE"],
        MetricData=[
            {
                "MetricName": name,
                "Dimensions": [{"Name": "ResourceType", "Value": resource_type}],
                "Value": value,
                "Unit": "Count" if name == VALIDATION_FAILED else "Seconds",
            }
            for name, value in metrics.items()
        ],
    )
    level = logging.INFO if validation == "SUCCESSFUL" else logging.WARNING
    LOGGER.log(level, "restore validation: %s", json.dumps(result, default=str))
    return result


def _start_aurora_proof(
    client: Callable[[str], Any], job: dict[str, Any], restore_time: float | None
) -> dict[str, Any]:
    """Start the Aurora restore test's state machine for this job (named after the job, so a
    redelivered event starts nothing new) with what it cannot compute itself: the instance's
    name, the point in time restored and the job's start (ASL has no date arithmetic)."""
    cluster = _cluster_name(job["CreatedResourceArn"])
    restored_at, clock = _restored_point_in_time(client, job)
    request = {
        "restore_job_id": job["RestoreJobId"],
        "cluster_identifier": cluster,
        "instance_identifier": instance_name(cluster),
        "restored_at": restored_at.isoformat(),
        "job_created_at": job["CreationDate"].isoformat(),
        "restore_time_seconds": restore_time or 0.0,
    }
    execution = client("stepfunctions").start_execution(
        stateMachineArn=os.environ["AURORA_STATE_MACHINE_ARN"],
        name=job["RestoreJobId"][:80],
        input=json.dumps(request),
    )
    return {"execution": execution["executionArn"], "input": request, "data_age_clock": clock}


def instance_name(cluster: str) -> str:
    """The instance a restore test adds to a restored cluster: the cluster's identifier, cut
    to fit RDS's 63 characters, and ``-1`` (as ``dr-constructs restore aurora`` names it)."""
    return cluster[:61].rstrip("-") + "-1"


def _restored_point_in_time(
    client: Callable[[str], Any], job: dict[str, Any]
) -> tuple[datetime, str]:
    """The point in time the restored copy holds data up to, and which clock gave it.

    A continuous point is restored to its latest restorable time, which is at most the
    restore job's ``CreationDate``; a snapshot holds the data of ``RecoveryPointCreationDate``.
    When the type cannot be read, the job's ``CreationDate`` is used: it is never earlier than
    the point restored, so the data age is never understated."""
    try:
        continuous = _is_continuous(client, job)
    except Exception as error:  # the age is still measured, on the conservative clock
        return job["CreationDate"], (
            f"CreationDate of the restore job (recovery point type unknown: "
            f"{type(error).__name__}: {error})"
        )
    if continuous:
        return job["CreationDate"], (
            "CreationDate of the restore job: a continuous recovery point, restored to its "
            "latest restorable time"
        )
    return job["RecoveryPointCreationDate"], "RecoveryPointCreationDate: a snapshot"


def _is_continuous(client: Callable[[str], Any], job: dict[str, Any]) -> bool:
    """Whether the backup rule that made the recovery point creates continuous backups."""
    vault = job["BackupVaultArn"].rsplit(":", 1)[1]  # arn:...:backup-vault:{name}
    point = client("backup").describe_recovery_point(
        BackupVaultName=vault, RecoveryPointArn=job["RecoveryPointArn"]
    )
    creator = point.get("CreatedBy") or {}
    if not creator.get("BackupRuleId"):
        return False  # an on-demand backup: AWS makes those as snapshots only
    version = (
        {"VersionId": creator["BackupPlanVersion"]} if creator.get("BackupPlanVersion") else {}
    )
    plan = client("backup").get_backup_plan(BackupPlanId=creator["BackupPlanId"], **version)
    (rule,) = [r for r in plan["BackupPlan"]["Rules"] if r.get("RuleId") == creator["BackupRuleId"]]
    return bool(rule.get("EnableContinuousBackup"))


def _check_restored_name(resource_type: str, name: str) -> None:
    prefix = RESTORED_NAME_PREFIXES[resource_type]
    if not name.startswith(prefix):
        raise ValidationError(
            f"the restored {resource_type} copy {name!r} does not start with {prefix!r}, "
            "the prefix AWS Backup gives restore-test copies (the only ones this function "
            "may read)"
        )


def _table_name(arn: str) -> str:
    return arn.split(":table/", 1)[1]  # arn:{partition}:dynamodb:{region}:{account}:table/{name}


def _bucket_name(arn: str) -> str:
    return arn.rsplit(":", 1)[1]  # arn:{partition}:s3:::{name}


def _cluster_name(arn: str) -> str:
    return arn.rsplit(":", 1)[1]  # arn:{partition}:rds:{region}:{account}:cluster:{name}


def _validate_table(client: Callable[[str], Any], arn: str) -> tuple[datetime, str]:
    table = _table_name(arn)
    key = json.loads(os.environ["CANARY_ITEM_KEY"])
    item = client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    if not item:
        raise ValidationError(f"the restored table {table} has no canary item {key}")
    checked_at = _timestamp(item.get("checked_at", {}).get("S"), f"table {table}")
    return checked_at, f"table {table} holds the canary item of {checked_at.isoformat()}"


def _validate_bucket(client: Callable[[str], Any], arn: str) -> tuple[datetime, str]:
    bucket = _bucket_name(arn)
    key = os.environ["CANARY_OBJECT_KEY"]
    try:
        body = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as error:
        raise ValidationError(f"the restored bucket {bucket} has no canary object {key}: "
                              f"{error}") from None  # fmt: skip
    checked_at = _timestamp(json.loads(body).get("checked_at"), f"bucket {bucket}")
    return checked_at, f"bucket {bucket} holds the canary object of {checked_at.isoformat()}"


_Validator = Callable[[Callable[[str], Any], str], tuple[datetime, str]]
#: Per resource type: the restored copy's name in the created ARN.
_NAMES: dict[str, Callable[[str], str]] = {
    "DynamoDB": _table_name, "S3": _bucket_name, "Aurora": _cluster_name,
}  # fmt: skip
#: The check of a restored table or bucket (Aurora's is the state machine's).
_VALIDATORS: dict[str, _Validator] = {"DynamoDB": _validate_table, "S3": _validate_bucket}


def _timestamp(value: Any, where: str) -> datetime:
    try:
        parsed = datetime.fromisoformat(str(value))
    except ValueError:
        raise ValidationError(f"the canary in {where} has no valid checked_at: {value!r}") from None
    return parsed if parsed.tzinfo else parsed.replace(tzinfo=UTC)


_CLIENTS: dict[str, Any] = {}


def _client(name: str) -> Any:
    if name not in _CLIENTS:
        _CLIENTS[name] = importlib.import_module("boto3").client(name)
    return _CLIENTS[name]

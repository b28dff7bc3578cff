"""Validate what an AWS Backup restore test restored, report it, and measure RTO and RPO.

Triggered by EventBridge on each "Restore Job State Change" of AWS Backup with a final status.
For a job started by this stack's restore testing plan it:

1. measures the restore time (``CompletionDate - CreationDate``, the RTO a real restore of
   that recovery point would take) and publishes it as ``RestoreTime`` (seconds);
2. checks the restored copy at the data level: the DynamoDB table and the S3 bucket must hold
   the health check's canary item and object; the Aurora cluster must be ``available``;
3. takes the canary's ``checked_at`` in the restored copy: how old the data was at the
   recovery point, i.e. the RPO actually achieved, published as ``DataAge`` (seconds);
4. reports the outcome to AWS Backup with ``PutRestoreValidationResult`` (SUCCESSFUL or
   FAILED with the reason) and publishes ``ValidationFailed`` (0 or 1).

Metrics go to ``METRIC_NAMESPACE`` with the dimension ``ResourceType`` (Aurora, DynamoDB, S3).
The handler never raises for a job it validated: every failure ends up in the report.

It depends on the standard library at import time; boto3 comes with the Lambda runtime.
Environment: ``RESTORE_TESTING_PLAN_NAME``, ``METRIC_NAMESPACE``, ``CANARY_ITEM_KEY`` (the
canary item's key, DynamoDB JSON), ``CANARY_OBJECT_KEY`` (the canary object's key).
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


class ValidationError(Exception):
    """The restored copy is not what a good restore holds."""


def handler(event: dict[str, Any], context: object = None, clients: Any = None) -> dict[str, Any]:
    """Entry point. ``clients`` (a ``name -> boto3 client`` callable) is for tests."""
    client: Callable[[str], Any] = clients or _client
    job_id = event["detail"]["restoreJobId"]
    job = client("backup").describe_restore_job(RestoreJobId=job_id)
    plan = (job.get("CreatedBy") or {}).get("RestoreTestingPlanArn", "")
    if not plan.endswith(f":restore-testing-plan:{os.environ['RESTORE_TESTING_PLAN_NAME']}"):
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
        metrics["RestoreTime"] = (job["CompletionDate"] - job["CreationDate"]).total_seconds()
    try:
        if job["Status"] != "COMPLETED":
            raise ValidationError(
                f"the restore job ended {job['Status']}: {job.get('StatusMessage', '')}".strip()
            )
        checked_at, detail = _VALIDATORS[resource_type](client, job["CreatedResourceArn"])
        result["detail"] = detail
        if checked_at is not None:
            age = (job["RecoveryPointCreationDate"] - checked_at).total_seconds()
            metrics["DataAge"] = max(age, 0.0)
            result["canary_checked_at"] = checked_at.isoformat()
        validation, message = "SUCCESSFUL", detail
    except Exception as error:  # every failure is reported, never raised
        validation, message = "FAILED", f"{type(error).__name__}: {error}"
    metrics["ValidationFailed"] = 0.0 if validation == "SUCCESSFUL" else 1.0
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
                "Unit": "Count" if name == "ValidationFailed" else "Seconds",
            }
            for name, value in metrics.items()
        ],
    )
    level = logging.INFO if validation == "SUCCESSFUL" else logging.WARNING
    LOGGER.log(level, "restore validation: %s", json.dumps(result, default=str))
    return result


def _validate_table(client: Callable[[str], Any], arn: str) -> tuple[datetime, str]:
    table = arn.split(":table/", 1)[1]
    key = json.loads(os.environ["CANARY_ITEM_KEY"])
    item = client("dynamodb").get_item(TableName=table, Key=key, ConsistentRead=True).get("Item")
    if not item:
        raise ValidationError(f"the restored table {table} has no canary item {key}")
    checked_at = _timestamp(item.get("checked_at", {}).get("S"), f"table {table}")
    return checked_at, f"table {table} holds the canary item of {checked_at.isoformat()}"


def _validate_bucket(client: Callable[[str], Any], arn: str) -> tuple[datetime, str]:
    bucket = arn.rsplit(":", 1)[1]
    key = os.environ["CANARY_OBJECT_KEY"]
    try:
        body = client("s3").get_object(Bucket=bucket, Key=key)["Body"].read()
    except Exception as error:
        raise ValidationError(f"the restored bucket {bucket} has no canary object {key}: "
                              f"{error}") from None  # fmt: skip
    checked_at = _timestamp(json.loads(body).get("checked_at"), f"bucket {bucket}")
    return checked_at, f"bucket {bucket} holds the canary object of {checked_at.isoformat()}"


def _validate_cluster(client: Callable[[str], Any], arn: str) -> tuple[None, str]:
    (cluster,) = client("rds").describe_db_clusters(DBClusterIdentifier=arn)["DBClusters"]
    if cluster["Status"] != "available":
        raise ValidationError(f"the restored cluster is {cluster['Status']}, not available")
    # The restored cluster has the admin password of the recovery point, which rotation may
    # have changed since: the data is not queried, so Aurora reports no DataAge.
    return None, f"cluster {cluster['DBClusterIdentifier']} is available"


_VALIDATORS: dict[str, Callable[[Callable[[str], Any], str], tuple[datetime | None, str]]] = {
    "DynamoDB": _validate_table,
    "S3": _validate_bucket,
    "Aurora": _validate_cluster,
}


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

"""``status``: recovery points, PITR, the cluster's instances, restore tests and alarms, and
for a stack with a recovery region the newest copy of each store there.

The last restore test of each store shows AWS Backup's validation status and message, and
the newest measurements the restore tests published (namespace ``DrConstructs/RestoreTesting``,
dimension ``ResourceType``): the data age against the RPO and, for Aurora, the time to usable
(the restore job's start to the first query of the copy) against the RTO.

Each section is read on its own: a call that is not allowed or not available (AccessDenied,
an endpoint without the API, throttling that outlasts botocore's retries) marks only its
section as not read, with the call and the error code, and the others are still shown.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from datetime import datetime, timedelta
from typing import Any, TypeVar

from ..contract import DATA_AGE, REGION_LOSS, RESTORE_TESTING_NAMESPACE, TIME_TO_USABLE
from .aws import AWS_ERRORS, Aws, error_code
from .commands import iso
from .discovery import DrStack, Objective
from .restore import RESTORE_FAILURE_MODE, S3_RESTORE_LAG, is_continuous, is_resource

#: Recovery points serve the recovery from corruption: their age is held against its RPO.
STATUS_FAILURE_MODE = RESTORE_FAILURE_MODE
#: How far back to look for restore tests (AWS Backup keeps restore jobs about 30 days).
RESTORE_TEST_LOOKBACK = timedelta(days=30)
#: The sections of the report, each read independently.
SECTIONS = (
    "recovery points", "PITR", "cluster topology", "last restore test",
    "restore test measurements", "alarms", "recovery copies",
)  # fmt: skip
_BACKUP_TYPE = {"aurora": "Aurora", "table": "DynamoDB", "bucket": "S3"}
#: What the restore tests measure per store: (metric, key in the report).
_MEASURED = {
    "aurora": ((DATA_AGE, "data_age_seconds"), (TIME_TO_USABLE, "time_to_usable_seconds")),
    "table": ((DATA_AGE, "data_age_seconds"),),
    "bucket": ((DATA_AGE, "data_age_seconds"),),
}
T = TypeVar("T")


class Unreadable(Exception):
    """A section could not be read: the call (``service:Operation``) and the error code."""

    def __init__(self, call: str, code: str) -> None:
        super().__init__(f"{call}: {code}")
        self.call, self.code = call, code


class _Reader:
    """AWS calls for one report: each answer (or failure) once, failures named."""

    def __init__(self, aws: Aws) -> None:
        self.aws = aws
        self._seen: dict[str, Any] = {}
        self.unreadable: list[dict[str, str]] = []

    def call(self, service: str, method: str, **kwargs: Any) -> Any:
        return self._once(service, method, kwargs, lambda c: getattr(c, method)(**kwargs))

    def pages(self, service: str, method: str, key: str, **kwargs: Any) -> list[Any]:
        def every(client: Any) -> list[Any]:
            pages = client.get_paginator(method).paginate(**kwargs)
            return [item for page in pages for item in page[key]]

        result: list[Any] = self._once(service, method, kwargs, every)
        return result

    def section(self, name: str, read: Callable[[], T]) -> T | None:
        """``read()``, or None (and the section marked not read) when a call failed."""
        try:
            return read()
        except Unreadable as failure:
            self.unreadable.append({"section": name, "call": failure.call, "error": failure.code})
            return None

    def _once(
        self, service: str, method: str, kwargs: Mapping[str, Any], do: Callable[[Any], Any]
    ) -> Any:
        key = f"{service}.{method}({sorted(kwargs.items())!r})"
        if key not in self._seen:
            client = self.aws.client(service)
            operation = client.meta.method_to_api_mapping.get(method, method)
            try:
                self._seen[key] = do(client)
            except AWS_ERRORS as exc:
                self._seen[key] = Unreadable(f"{service}:{operation}", error_code(exc))
        found = self._seen[key]
        if isinstance(found, Unreadable):
            raise found
        return found


def collect_status(aws: Aws, stack: DrStack) -> dict[str, Any]:
    """Everything ``status`` shows, as data (``--json`` prints it as it is)."""
    reader = _Reader(aws)
    now = aws.now()
    objective = stack.objective(STATUS_FAILURE_MODE)
    resources = _resources(reader, stack)
    points = reader.section("recovery points", lambda: _vault_points(reader, stack))
    tests = reader.section("last restore test", lambda: _restore_tests(reader, stack, now))
    measured = reader.section("restore test measurements", lambda: _measurements(reader, now))
    breaches: list[str] = []
    for resource in resources:
        _recovery(resource, points, now)
        _judge_rpo(resource, objective.rpo_seconds, now, breaches)
        test = None if tests is None else _last_test(tests, resource)
        if test is not None:
            _judge_test(resource, test, measured, objective, breaches)
        resource["last_restore_test"] = test if tests is not None else "not read"
    alarms = reader.section("alarms", lambda: _alarms_in_alarm(reader, stack.alarms))
    recovery = _recovery_copies(aws, reader, stack, resources, now, breaches)
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
        "resources": [_public(r) for r in resources],
        "alarms_in_alarm": alarms,
        "recovery_region": recovery,
        "breaches": breaches,
        "unreadable": reader.unreadable,
    }


# --- sections -----------------------------------------------------------------------------


def _resources(reader: _Reader, stack: DrStack) -> list[dict[str, Any]]:
    """The stack's stores with what the topology and PITR sections read of them."""
    resources: list[dict[str, Any]] = []
    if stack.cluster_id:
        cluster_id = stack.cluster_id
        aurora: dict[str, Any] = {"kind": "aurora", "name": cluster_id, "_read": set()}
        topology = reader.section("cluster topology", lambda: _topology(reader, cluster_id))
        if topology is not None:
            aurora.update(topology)
        cluster = reader.section("PITR", lambda: _cluster(reader, cluster_id))
        if cluster is not None:
            aurora["_read"].add("PITR")
            aurora["latest_restorable"] = cluster.get("LatestRestorableTime")
            aurora["_continuous_arn"] = cluster.get("AwsBackupRecoveryPointArn")
        resources.append(aurora)
    if stack.table_name:
        table_name = stack.table_name
        table: dict[str, Any] = {"kind": "table", "name": table_name, "_read": set()}
        pitr = reader.section("PITR", lambda: _table_pitr(reader, table_name))
        if pitr is not None:
            table["_read"].add("PITR")
            table.update(pitr)
        resources.append(table)
    if stack.bucket_name:
        resources.append({"kind": "bucket", "name": stack.bucket_name, "_read": {"PITR"}})
    return resources


def _cluster(reader: _Reader, cluster_id: str) -> dict[str, Any]:
    clusters = reader.call("rds", "describe_db_clusters", DBClusterIdentifier=cluster_id)
    return dict(clusters["DBClusters"][0])


def _topology(reader: _Reader, cluster_id: str) -> dict[str, Any]:
    cluster = _cluster(reader, cluster_id)
    writer, readers = None, []
    for member in cluster.get("DBClusterMembers", []):
        instance_id = member["DBInstanceIdentifier"]
        instance = reader.call("rds", "describe_db_instances", DBInstanceIdentifier=instance_id)
        entry = {"id": instance_id, "az": instance["DBInstances"][0].get("AvailabilityZone")}
        if member.get("IsClusterWriter"):
            writer = entry
        else:
            readers.append(entry)
    return {"state": cluster.get("Status"), "writer": writer, "readers": readers}


def _table_pitr(reader: _Reader, table: str) -> dict[str, Any]:
    description = reader.call("dynamodb", "describe_table", TableName=table)["Table"]
    backups = reader.call("dynamodb", "describe_continuous_backups", TableName=table)
    pitr = backups["ContinuousBackupsDescription"].get("PointInTimeRecoveryDescription", {})
    enabled = pitr.get("PointInTimeRecoveryStatus") == "ENABLED"
    return {
        "state": description.get("TableStatus"),
        "pitr": pitr.get("PointInTimeRecoveryStatus", "DISABLED"),
        "latest_restorable": pitr.get("LatestRestorableDateTime") if enabled else None,
    }


def _vault_points(reader: _Reader, stack: DrStack) -> list[dict[str, Any]]:
    if not stack.vault_name:
        return []
    return reader.pages(
        "backup", "list_recovery_points_by_backup_vault", "RecoveryPoints",
        BackupVaultName=stack.vault_name,
    )  # fmt: skip


def _restore_tests(reader: _Reader, stack: DrStack, now: datetime) -> list[Mapping[str, Any]]:
    if not stack.vault_name:
        return []
    jobs = reader.pages(
        "backup", "list_restore_jobs", "RestoreJobs", ByCreatedAfter=now - RESTORE_TEST_LOOKBACK
    )
    return [job for job in jobs if (job.get("CreatedBy") or {}).get("RestoreTestingPlanArn")]


def _measurements(reader: _Reader, now: datetime) -> dict[tuple[str, str], float]:
    """The newest value of each restore-test measurement of the lookback, by (store kind,
    metric): hourly maxima, newest first (GetMetricData ``ScanBy``)."""
    wanted = [(kind, metric) for kind, pairs in _MEASURED.items() for metric, _ in pairs]
    response = reader.call(
        "cloudwatch", "get_metric_data", StartTime=now - RESTORE_TEST_LOOKBACK, EndTime=now,
        ScanBy="TimestampDescending",
        MetricDataQueries=[
            {"Id": f"m{index}", "ReturnData": True, "MetricStat": {
                "Metric": {"Namespace": RESTORE_TESTING_NAMESPACE, "MetricName": metric,
                           "Dimensions": [{"Name": "ResourceType",
                                           "Value": _BACKUP_TYPE[kind]}]},
                "Period": 3600, "Stat": "Maximum",
            }}
            for index, (kind, metric) in enumerate(wanted)
        ],
    )  # fmt: skip
    found: dict[tuple[str, str], float] = {}
    for result in response.get("MetricDataResults", []):
        points = sorted(zip(result.get("Timestamps", []), result.get("Values", []), strict=False))
        if points:
            found[wanted[int(result["Id"][1:])]] = float(points[-1][1])
    return found


def _judge_test(
    resource: Mapping[str, Any], test: dict[str, Any],
    measured: dict[tuple[str, str], float] | None, objective: Objective, breaches: list[str],
) -> None:  # fmt: skip
    """The test's measurements against the objectives: the data age against the RPO, and the
    time to usable (Aurora, when measured) or else the restore job's duration against the
    RTO; a breach for each missed, and for a FAILED validation."""
    kind, name = resource["kind"], resource["name"]
    for metric, key in _MEASURED[kind]:
        test[key] = "not read" if measured is None else measured.get((kind, metric))
    age = test["data_age_seconds"]
    test["data_age_met"] = age <= objective.rpo_seconds if isinstance(age, float) else None
    usable = test.get("time_to_usable_seconds")
    took = usable if isinstance(usable, float) else test["duration_seconds"]
    test["rto_met"] = took is not None and took <= objective.rto_seconds
    if not test["rto_met"] or test["validation"] == "FAILED":
        breaches.append(f"{kind} {name}: restore test vs RTO {objective.rto_seconds}s")
    if test["data_age_met"] is False:
        breaches.append(f"{kind} {name}: restored data age vs RPO {objective.rpo_seconds}s")


def _alarms_in_alarm(reader: _Reader, names: list[str]) -> list[str]:
    firing: list[str] = []
    for start in range(0, len(names), 100):
        response = reader.call(
            "cloudwatch", "describe_alarms", AlarmNames=names[start : start + 100],
            StateValue="ALARM",
        )  # fmt: skip
        alarms = [*response.get("MetricAlarms", []), *response.get("CompositeAlarms", [])]
        firing += [a["AlarmName"] for a in alarms if a.get("StateValue") == "ALARM"]
    return sorted(firing)


def _recovery_copies(
    aws: Aws,
    reader: _Reader,
    stack: DrStack,
    resources: list[dict[str, Any]],
    now: datetime,
    breaches: list[str],
) -> dict[str, Any] | None:
    """Each store's newest completed copy in the recovery vault (read in the recovery region),
    its age held against the region-loss RPO when the stack states one; None for a
    single-region stack (and no ``recovery_copy`` key on its stores)."""
    recovery = stack.recovery
    if recovery is None:
        return None
    regional = _Reader(aws.in_region(recovery.region))
    regional.unreadable = reader.unreadable  # one list of what could not be read
    points = regional.section(
        f"recovery copies ({recovery.region})",
        lambda: regional.pages(
            "backup", "list_recovery_points_by_backup_vault", "RecoveryPoints",
            BackupVaultName=recovery.vault,
        ),
    )  # fmt: skip
    objective = stack.objectives.get(REGION_LOSS)
    for resource in resources:
        resource["recovery_copy"] = _newest_copy(
            resource, points, now, objective, recovery.region, breaches
        )
    return {
        "region": recovery.region,
        "vault": recovery.vault,
        "stack": recovery.stack,
        "rpo_seconds": objective.rpo_seconds if objective else None,
    }


# --- per resource -------------------------------------------------------------------------


def _newest_copy(
    resource: Mapping[str, Any],
    points: list[dict[str, Any]] | None,
    now: datetime,
    objective: Objective | None,
    region: str,
    breaches: list[str],
) -> dict[str, Any] | str | None:
    """The store's newest COMPLETED copy: a copy's ``ResourceArn`` is its source resource's
    (copies of continuous points are snapshots, so every copy is one)."""
    if points is None:
        return "not read"
    kind, name = resource["kind"], resource["name"]
    mine = [p for p in points if p.get("Status") == "COMPLETED"
            and is_resource(str(p.get("ResourceArn", "")), kind, name)]  # fmt: skip
    newest = max(mine, key=lambda p: p["CreationDate"], default=None)
    rpo = objective.rpo_seconds if objective else None
    if newest is None:
        if rpo is not None:
            breaches.append(f"{kind} {name}: no copy in {region} (region-loss RPO {rpo}s)")
        return None
    age = round(max(0.0, (now - newest["CreationDate"]).total_seconds()))
    met = None if rpo is None else age <= rpo
    if met is False:
        breaches.append(f"{kind} {name}: region-loss RPO {rpo}s (newest copy in {region})")
    return {
        "arn": newest["RecoveryPointArn"],
        "created": iso(newest["CreationDate"]),
        "age_seconds": age,
        "rpo_met": met,
    }


def _recovery(resource: dict[str, Any], points: list[dict[str, Any]] | None, now: datetime) -> None:
    """The newest completed snapshot and the continuous point of the store, from the vault."""
    if points is None:
        resource["latest_recovery_point"] = resource["continuous_recovery_point"] = "not read"
        return
    resource["_read"].add("recovery points")
    mine = [p for p in points if is_resource(str(p.get("ResourceArn", "")), resource["kind"],
                                             resource["name"])]  # fmt: skip
    arn = resource.get("_continuous_arn")
    continuous = [p for p in mine if is_continuous(p, arn)]
    snapshots = [p for p in mine if p not in continuous and p.get("Status") == "COMPLETED"]
    newest = max(snapshots, key=lambda p: p["CreationDate"], default=None)
    resource["latest_recovery_point"] = (
        {"arn": newest["RecoveryPointArn"], "created": newest["CreationDate"]} if newest else None
    )
    point = max(continuous, key=lambda p: p["CreationDate"], default=None)
    resource["continuous_recovery_point"] = (
        {"arn": point["RecoveryPointArn"], "status": point.get("Status"),
         "since": point["CreationDate"]}
        if point else None
    )  # fmt: skip
    if point is not None and point.get("Status") == "COMPLETED" and resource["kind"] == "bucket":
        # "Amazon S3 allows restores up until the most recent 15 minutes of activity"
        resource["latest_restorable"] = max(point["CreationDate"], now - S3_RESTORE_LAG)


def _judge_rpo(
    resource: dict[str, Any], rpo_seconds: int, now: datetime, breaches: list[str]
) -> None:
    point = resource.get("latest_recovery_point")
    newest = [
        t
        for t in (
            point["created"] if isinstance(point, dict) else None,
            resource.get("latest_restorable"),
        )
        if t
    ]
    if newest:
        age = max(0.0, (now - max(newest)).total_seconds())  # clocks may disagree
        resource["age_seconds"] = round(age)
        resource["rpo_met"] = age <= rpo_seconds
    else:
        resource["age_seconds"] = None
        # nothing found in what was read: a breach only if every source was read
        read_all = {"recovery points", "PITR"} <= resource["_read"]
        resource["rpo_met"] = False if read_all else None
    if resource["rpo_met"] is False:
        breaches.append(f"{resource['kind']} {resource['name']}: RPO {rpo_seconds}s")


def _last_test(jobs: list[Mapping[str, Any]], resource: Mapping[str, Any]) -> dict[str, Any] | None:
    mine = [
        job
        for job in jobs
        if job.get("ResourceType") == _BACKUP_TYPE[resource["kind"]]
        and is_resource(str(job.get("SourceResourceArn", "")), resource["kind"], resource["name"])
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
        "validation_message": job.get("ValidationStatusMessage"),
    }


def _public(resource: dict[str, Any]) -> dict[str, Any]:
    """The resource as reported: private keys dropped, times in ISO 8601."""
    public = {k: v for k, v in resource.items() if not k.startswith("_")}
    for key in ("latest_recovery_point", "continuous_recovery_point"):
        value = public.get(key)
        if isinstance(value, dict):
            public[key] = {k: iso(v) if isinstance(v, datetime) else v for k, v in value.items()}
    if isinstance(public.get("latest_restorable"), datetime):
        public["latest_restorable"] = iso(public["latest_restorable"])
    return public

"""``dr-constructs restore``: the complete request, a dry run by default, the job followed.

AWS Backup's recovery points, restore metadata and restore jobs are answered by botocore's
Stubber (moto has none of them), which checks each request against the service model and
asserts it in full; RDS, S3, IAM and DynamoDB (point-in-time restore included) are moto's.
"""

from __future__ import annotations

import io
import json
import shlex
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from click.testing import CliRunner, Result

from dr_constructs.cli import cli

from .cli_world import (
    CLUSTER,
    FUNCTION,
    STACK,
    TABLE,
    VAULT,
    FakeTime,
    World,
    aws_env,  # noqa: F401  (fixture)
    build_world,
    moto_endpoint,  # noqa: F401  (fixture)
)
from .test_health_check_runtime import PG_ROW, FakeConnect, hc

FIXED = datetime(2026, 11, 29, 22, 0, 0, tzinfo=UTC)
STAMP = "20261129220000"
ACCOUNT = "123456789012"
#: An Aurora snapshot recovery point, in the form of AWS Backup guide, "Monitoring AWS Backup
#: events using Amazon EventBridge", the Recovery Point State Change example's resources.
RP_ARN = (
    f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster-snapshot:awsbackup:job-4ece7121-d60e-00c2-5c3b-"
    "49960142d03b"
)
#: An S3 snapshot recovery point: the same page, Backup Job State Change COMPLETED's resources.
S3_RP_ARN = (
    f"arn:aws:backup:us-east-1:{ACCOUNT}:recovery-point:f1d966fe-a3bd-410b-b292-99f442d13b56"
)
#: Continuous recovery points: AWS documents no ARN example; RDS names the cluster's in
#: DescribeDBClusters ``AwsBackupRecoveryPointArn`` (botocore rds, shape DBCluster), and public
#: code shows it as ``arn:aws:backup:<region>:<account>:recovery-point:continuous:cluster-...``
#: (S3: ``...:recovery-point:continuous:<bucket>-<hash>``).
CONTINUOUS_ARN = (
    f"arn:aws:backup:us-east-1:{ACCOUNT}:recovery-point:continuous:cluster-random-string-hash"
)
S3_CONTINUOUS_ARN = f"arn:aws:backup:us-east-1:{ACCOUNT}:recovery-point:continuous:bucket-0f51c39b"
#: The restore metadata keys AWS documents, per restore (the file names its sources).
DOCUMENTED = json.loads((Path(__file__).parent / "data" / "aws_restore_metadata.json").read_text())
#: Cluster identifiers have at most 63 characters: the source's name is cut to fit.
RESTORED_CLUSTER = "drstack-test-drdatabaseclustere30ed098-restored-20261129220000"


@pytest.fixture(scope="module")
def deployed(moto_endpoint: str) -> World:  # noqa: F811
    """One stack for the module: restores create new resources and never change it."""
    return build_world(moto_endpoint)


@pytest.fixture
def world(deployed: World, aws_env: str) -> World:  # noqa: F811
    return deployed


def invoke(args: list[str], **settings: Any) -> Result:
    settings.setdefault("now", lambda: FIXED)
    return CliRunner().invoke(cli, args, obj=settings)


def _points(
    world: World,
    arn: str,
    *,
    snapshot: str = RP_ARN,
    continuous: str = CONTINUOUS_ARN,
    continuous_from: datetime | None = None,
) -> list[Any]:
    common = {"BackupVaultName": VAULT, "BackupVaultArn": world.vault_arn, "ResourceArn": arn}
    points = [
        {**common, "RecoveryPointArn": snapshot, "Status": "COMPLETED",
         "CreationDate": FIXED - timedelta(minutes=10)},
        {**common, "RecoveryPointArn": snapshot[:-12] + "00000000001a", "Status": "COMPLETED",
         "CreationDate": FIXED - timedelta(minutes=70)},
        {**common, "RecoveryPointArn": snapshot[:-12] + "00000000002b", "Status": "PARTIAL",
         "CreationDate": FIXED - timedelta(minutes=5)},
    ]  # fmt: skip
    if continuous_from is not None:
        points.append(
            {**common, "RecoveryPointArn": continuous, "Status": "COMPLETED",
             "CreationDate": continuous_from}
        )  # fmt: skip
    return points


#: What AWS Backup answers for an Aurora recovery point (the cluster as it was backed up).
AURORA_METADATA = {
    "DBClusterIdentifier": CLUSTER,
    "Engine": "aurora-postgresql",
    "EngineVersion": "17.4",
    "Port": "5432",
    "DBSubnetGroupName": "old-subnet-group",
    "VpcSecurityGroupIds": '["sg-old"]',
    "AvailabilityZones": '["us-east-1a","us-east-1b","us-east-1c"]',
    "EnableIAMDatabaseAuthentication": "true",
    "CopyTagsToSnapshot": "true",
    "KmsKeyId": "arn:aws:kms:us-east-1:123456789012:key/old",
}


def _aurora_backup(
    world: World,
    points: list[Any],
    *,
    metadata: dict[str, str] | None = AURORA_METADATA,
    point_arn: str | None = None,
) -> tuple[Any, Stubber]:
    """AWS Backup's answers for an Aurora restore: the cluster's recovery points, then the
    restore metadata of ``point_arn`` (default: the first point); no metadata with None."""
    backup = world.client("backup")
    stubber = Stubber(backup)
    stubber.add_response(
        "list_recovery_points_by_backup_vault",
        {"RecoveryPoints": points},
        {"BackupVaultName": VAULT, "ByResourceArn": world.cluster_arn},
    )
    if metadata is not None:
        arn = point_arn or points[0]["RecoveryPointArn"]
        stubber.add_response(
            "get_recovery_point_restore_metadata",
            {"BackupVaultArn": world.vault_arn, "RecoveryPointArn": arn,
             "RestoreMetadata": metadata},
            {"BackupVaultName": VAULT, "RecoveryPointArn": arn},
        )  # fmt: skip
    stubber.activate()
    return backup, stubber


def _aurora_request(world: World, **metadata: str) -> dict[str, Any]:
    return {
        "RecoveryPointArn": RP_ARN,
        "Metadata": {
            **AURORA_METADATA,
            "DBClusterIdentifier": RESTORED_CLUSTER,
            "DBSubnetGroupName": world.subnet_group,
            "VpcSecurityGroupIds": json.dumps([world.security_group]),
            "KmsKeyId": world.key_arn,
            "DBClusterParameterGroupName": "default.aurora-postgresql17",
            **metadata,
        },
        "IamRoleArn": world.role_arn,
        "IdempotencyToken": RESTORED_CLUSTER,
        "ResourceType": "Aurora",
    }


def test_aurora_dry_run_builds_the_complete_request(world: World) -> None:
    cloudformation, _ = world.cloudformation()
    backup, stubber = _aurora_backup(world, _points(world, world.cluster_arn))
    result = invoke(
        ["restore", "aurora", "--stack", STACK, "--region", "us-east-1", "--json"],
        overrides={"cloudformation": cloudformation, "backup": backup},
    )
    assert result.exit_code == 0, result.output
    stubber.assert_no_pending_responses()  # and no start_restore_job: nothing was stubbed
    document = json.loads(result.stdout)
    request = _aurora_request(world)
    # moto reports its default parameter group; AWS reports the cluster's own
    request["Metadata"]["DBClusterParameterGroupName"] = document["request"]["Metadata"][
        "DBClusterParameterGroupName"
    ]
    assert document == {
        "stack": STACK,
        "executed": False,
        "kind": "aurora",
        "service": "backup",
        "operation": "StartRestoreJob",
        "source": CLUSTER,
        "target": RESTORED_CLUSTER,
        "recovery_point": {
            "arn": RP_ARN, "type": "snapshot", "created": "2026-11-29T21:50:00Z",
            "restore_to": "2026-11-29T21:50:00Z",
        },
        "request": request,
        "aws_cli": (
            "aws backup start-restore-job --region us-east-1 "
            f"--recovery-point-arn {RP_ARN} "
            f"--metadata '{json.dumps(request['Metadata'], separators=(',', ':'))}' "
            f"--iam-role-arn {world.role_arn} --idempotency-token {RESTORED_CLUSTER} "
            "--resource-type Aurora"
        ),
        "left_out_metadata": [],
    }  # fmt: skip


#: The restored writer's identifier: DB instance identifiers have at most 63 characters
#: (botocore rds model, CreateDBInstance ``DBInstanceIdentifier`` documentation).
RESTORED_WRITER = RESTORED_CLUSTER[:61] + "-1"
#: A cluster endpoint in the form of the Aurora User Guide, "Types of Aurora endpoints"
#: (cluster endpoint example ``mydbcluster.cluster-c7tj4example.us-east-1.rds.amazonaws.com``).
RESTORED_ENDPOINT = f"{RESTORED_CLUSTER}.cluster-c7tj4example.us-east-1.rds.amazonaws.com"
#: The newest heartbeat row in the restored copy: a minute before the snapshot (FIXED - 10 min).
WRITTEN = FIXED - timedelta(minutes=11)


class _Secret:
    """The health check's secret, in the form aws-cdk-lib's generated cluster secret has."""

    def __init__(self, host: str) -> None:
        self.host = host

    def get_secret_value(self, SecretId: str) -> dict[str, Any]:
        return {"SecretString": json.dumps({
            "engine": "postgres", "host": self.host, "port": 5432,
            "username": "dradmin", "password": "not-a-secret-1", "dbname": "postgres",
        })}  # fmt: skip


def _health_check(
    world: World, rows: list[list[Any]] | None, endpoint: str = RESTORED_ENDPOINT
) -> Any:
    """The Lambda client: its one invocation asks the health check to read the copy, and the
    answer is what the packaged handler returns (run here, with the copy's database answered
    by a stand-in holding ``rows``; None: a function that is not the library's health check)."""
    if rows is None:
        report: dict[str, Any] = {"status": "ok", "checks": {}}
    else:
        connect = FakeConnect(rows=[list(PG_ROW)])
        connect.heartbeats["canary"] = rows
        report = hc.verify_restored_cluster(
            hc.Settings(db_secret_arn="dr-db-secret", function_name=FUNCTION),
            {"endpoint": endpoint, "port": 5432},
            clients={
                "secretsmanager": _Secret(f"{CLUSTER}.{endpoint.split('.', 1)[1]}"),
                "rds": world.client("rds"),
            },
            connect=connect,
        )
    body = json.dumps(report).encode()
    client = world.client("lambda")
    stubber = Stubber(client)
    request = {hc.VERIFY_EVENT_KEY: {"endpoint": endpoint, "port": 5432}}
    stubber.add_response(
        "invoke",
        {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(body), len(body))},
        {"FunctionName": FUNCTION, "Payload": json.dumps(request).encode()},
    )
    stubber.activate()
    return client


def _aurora_job(stubber: Stubber, job_id: str = "job-1") -> str:
    """AWS Backup's answers for the restore job: started, then PENDING, RUNNING, COMPLETED."""
    created = f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster:{RESTORED_CLUSTER}"
    for status, extra in (
        ("PENDING", {}),
        ("RUNNING", {"PercentDone": "40.00%"}),
        ("COMPLETED", {"PercentDone": "100.00%", "CreatedResourceArn": created}),
    ):
        stubber.add_response(
            "describe_restore_job",
            {"RestoreJobId": job_id, "Status": status, **extra},
            {"RestoreJobId": job_id},
        )
    return created


def _rds_with_writer_added(world: World, statuses: list[str]) -> tuple[Any, Stubber]:
    """RDS for a restore that adds the writer: the source cluster and its writer as the moto
    world answers them, then the new instance going through ``statuses`` (RDS User Guide,
    "Viewing Amazon RDS DB instance status"), then the restored cluster's endpoint. Every
    request is checked against botocore's rds model by the Stubber."""
    moto_rds = world.client("rds")
    source = moto_rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)
    writer = next(m for m in source["DBClusters"][0]["DBClusterMembers"] if m["IsClusterWriter"])
    writer_id = writer["DBInstanceIdentifier"]
    writer_instance = moto_rds.describe_db_instances(DBInstanceIdentifier=writer_id)
    for response in (source, writer_instance):
        response.pop("ResponseMetadata", None)
    rds = world.client("rds")
    stubber = Stubber(rds)
    stubber.add_response("describe_db_clusters", source, {"DBClusterIdentifier": CLUSTER})
    stubber.add_response("describe_db_clusters", source, {"DBClusterIdentifier": CLUSTER})
    stubber.add_response(
        "describe_db_instances", writer_instance, {"DBInstanceIdentifier": writer_id}
    )
    stubber.add_response(
        "create_db_instance",
        {"DBInstance": {"DBInstanceIdentifier": RESTORED_WRITER, "DBInstanceStatus": "creating"}},
        {"DBInstanceIdentifier": RESTORED_WRITER, "DBClusterIdentifier": RESTORED_CLUSTER,
         "Engine": "aurora-postgresql", "DBInstanceClass": "db.t4g.medium",
         "PubliclyAccessible": False},
    )  # fmt: skip
    for status in statuses:
        stubber.add_response(
            "describe_db_instances",
            {"DBInstances": [{"DBInstanceIdentifier": RESTORED_WRITER,
                              "DBInstanceStatus": status}]},
            {"DBInstanceIdentifier": RESTORED_WRITER},
        )  # fmt: skip
    stubber.add_response(
        "describe_db_clusters",
        {"DBClusters": [{"DBClusterIdentifier": RESTORED_CLUSTER, "Endpoint": RESTORED_ENDPOINT,
                         "Port": 5432, "Status": "available"}]},
        {"DBClusterIdentifier": RESTORED_CLUSTER},
    )  # fmt: skip
    stubber.activate()
    return rds, stubber


def test_aurora_restore_with_yes_adds_the_writer_and_measures_the_time_to_usable(
    world: World,
) -> None:
    cloudformation, _ = world.cloudformation()
    backup, stubber = _aurora_backup(world, _points(world, world.cluster_arn))
    parameter_group = world.client("rds").describe_db_clusters(DBClusterIdentifier=CLUSTER)[
        "DBClusters"
    ][0]["DBClusterParameterGroup"]
    request = _aurora_request(world, DBClusterParameterGroupName=parameter_group)
    stubber.add_response("start_restore_job", {"RestoreJobId": "job-1"}, request)
    created = _aurora_job(stubber)
    rds, rds_stubber = _rds_with_writer_added(world, ["creating", "creating", "available"])
    health = _health_check(world, [[FUNCTION, WRITTEN]])
    time = FakeTime()
    result = invoke(
        ["restore", "aurora", "--stack", STACK, "--yes", "--json", "--interval", "60"],
        overrides={"cloudformation": cloudformation, "backup": backup, "rds": rds,
                   "lambda": health},
        sleep=time.sleep, clock=time.clock,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    stubber.assert_no_pending_responses()
    rds_stubber.assert_no_pending_responses()  # the instance was created and followed
    document = json.loads(result.stdout)
    assert document["executed"] is True
    assert document["result"] == {
        "job_id": "job-1",
        "status": "COMPLETED",
        "created": created,
        "duration_seconds": 120.0,
        "instance": RESTORED_WRITER,
        "instance_class": "db.t4g.medium",
        "endpoint": RESTORED_ENDPOINT,
        "port": 5432,
        "canary": {
            "verified": True,
            "writer": FUNCTION,
            "checked_at": "2026-11-29T21:49:00Z",
            "data_age_seconds": 60.0,  # the snapshot's time (21:50) less the row's
            "tls_version": "TLSv1.3",
        },
        "time_to_usable_seconds": 240.0,
        "rto_seconds": 14400,
        "rto_met": True,
        "failure_mode": "corruption",
    }
    assert len(RESTORED_WRITER) == 63
    assert time.sleeps == [60.0] * 4  # two for the job, two for the instance


def test_aurora_restore_ends_with_a_writer_in_the_restored_cluster(world: World) -> None:
    """Against moto's RDS: the instance exists in the restored cluster, not in the source."""
    cloudformation, _ = world.cloudformation()
    backup, stubber = _aurora_backup(world, _points(world, world.cluster_arn))
    stubber.add_response("start_restore_job", {"RestoreJobId": "job-7"})
    _aurora_job(stubber, "job-7")
    moto_rds = world.client("rds")
    # what AWS Backup's restore job creates: the cluster, without an instance
    endpoint = moto_rds.create_db_cluster(
        DBClusterIdentifier=RESTORED_CLUSTER, Engine="aurora-postgresql", EngineVersion="17.4",
        MasterUsername="dradmin", MasterUserPassword="not-a-secret-1",
        DBSubnetGroupName=world.subnet_group, VpcSecurityGroupIds=[world.security_group],
        StorageEncrypted=True, KmsKeyId=world.key_arn,
    )["DBCluster"]["Endpoint"]  # fmt: skip
    try:
        result = invoke(
            ["restore", "aurora", "--stack", STACK, "--yes"],
            overrides={"cloudformation": cloudformation, "backup": backup,
                       "lambda": _health_check(world, [[FUNCTION, WRITTEN]], endpoint)},
            sleep=FakeTime().sleep,
        )  # fmt: skip
        assert result.exit_code == 0, result.output
        restored = moto_rds.describe_db_clusters(DBClusterIdentifier=RESTORED_CLUSTER)[
            "DBClusters"
        ][0]
        members = [m["DBInstanceIdentifier"] for m in restored["DBClusterMembers"]]
        assert members == [RESTORED_WRITER]
        source = moto_rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0]
        assert len(source["DBClusterMembers"]) == 2  # the original cluster is untouched
        out = " ".join(result.stdout.split())
        assert f"point clients at {restored['Endpoint']}:{restored['Port']}" in out
        assert (
            f"Canary row: written by {FUNCTION} at 2026-11-29T21:49:00Z, 1m 00s before the "
            "point in time restored"
        ) in out
        assert "within the corruption RTO of 4h 00m" in out
    finally:
        moto_rds.delete_db_instance(DBInstanceIdentifier=RESTORED_WRITER, SkipFinalSnapshot=True)
        moto_rds.delete_db_cluster(DBClusterIdentifier=RESTORED_CLUSTER, SkipFinalSnapshot=True)


def test_no_instance_stops_at_the_cluster_and_prints_the_command(world: World) -> None:
    cloudformation, _ = world.cloudformation()
    backup, stubber = _aurora_backup(world, _points(world, world.cluster_arn))
    stubber.add_response("start_restore_job", {"RestoreJobId": "job-8"})
    _aurora_job(stubber, "job-8")
    result = invoke(
        ["restore", "aurora", "--stack", STACK, "--yes", "--no-instance", "--json"],
        overrides={"cloudformation": cloudformation, "backup": backup},
        sleep=FakeTime().sleep,
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)["result"]
    assert "instance" not in document and "time_to_usable_seconds" not in document
    assert document["next_step"] == (
        f"aws rds create-db-instance --region us-east-1 --db-cluster-identifier "
        f"{RESTORED_CLUSTER} --db-instance-identifier {RESTORED_WRITER} --engine "
        "aurora-postgresql --db-instance-class db.t4g.medium  (a restored cluster has no "
        "instances)"
    )
    # nothing was added to any cluster
    instances = world.client("rds").describe_db_instances()["DBInstances"]
    assert RESTORED_WRITER not in {i["DBInstanceIdentifier"] for i in instances}


def test_an_instance_that_fails_to_start_exits_1_naming_it(world: World) -> None:
    cloudformation, _ = world.cloudformation()
    backup, stubber = _aurora_backup(world, _points(world, world.cluster_arn))
    stubber.add_response("start_restore_job", {"RestoreJobId": "job-1"})
    _aurora_job(stubber)
    rds, _ = _rds_with_writer_added(world, ["creating", "incompatible-network"])
    result = invoke(
        ["restore", "aurora", "--stack", STACK, "--yes"],
        overrides={"cloudformation": cloudformation, "backup": backup, "rds": rds},
        sleep=FakeTime().sleep,
    )
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: the restored cluster's instance {RESTORED_WRITER} is incompatible-network "
        f"(the restored cluster {RESTORED_CLUSTER} stays: add an instance or delete it)"
    )
    assert "Traceback" not in result.output


def test_a_writer_that_makes_the_restore_slower_than_the_rto_exits_1(world: World) -> None:
    """The job alone is within the RTO (1 h of 4 h); the time to a usable cluster is not."""
    cloudformation, _ = world.cloudformation()
    backup, stubber = _aurora_backup(world, _points(world, world.cluster_arn))
    stubber.add_response("start_restore_job", {"RestoreJobId": "job-1"})
    for status in ("RUNNING", "COMPLETED"):
        stubber.add_response("describe_restore_job", {"RestoreJobId": "job-1", "Status": status})
    rds, _ = _rds_with_writer_added(world, ["creating"] * 4 + ["available"])
    time = FakeTime()
    result = invoke(
        ["restore", "aurora", "--stack", STACK, "--yes", "--interval", "3600"],
        overrides={"cloudformation": cloudformation, "backup": backup, "rds": rds,
                   "lambda": _health_check(world, [[FUNCTION, WRITTEN]])},
        sleep=time.sleep, clock=time.clock,
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    out = " ".join(result.stdout.split())
    assert (
        "Usable in 5h 00m (restore job 1h 00m, then the writer and the first query): BEYOND "
        "the corruption RTO of 4h 00m"
    ) in out


def _restore_read_by(world: World, health: Any, *options: str) -> Result:
    """``restore aurora --yes``: the job completes, the writer is available at once, and
    ``health`` answers the request to read the copy."""
    cloudformation, _ = world.cloudformation()
    backup, stubber = _aurora_backup(world, _points(world, world.cluster_arn))
    stubber.add_response("start_restore_job", {"RestoreJobId": "job-1"})
    _aurora_job(stubber)
    rds, _ = _rds_with_writer_added(world, ["available"])
    return invoke(
        ["restore", "aurora", "--stack", STACK, "--yes", *options],
        overrides={"cloudformation": cloudformation, "backup": backup, "rds": rds,
                   "lambda": health},
        sleep=FakeTime().sleep,
    )  # fmt: skip


def test_a_restored_copy_without_the_canary_row_exits_1(world: World) -> None:
    result = _restore_read_by(world, _health_check(world, []))
    assert result.exit_code == 1, result.output
    assert result.stderr.strip().splitlines()[-1] == (
        f"error: the restored cluster {RESTORED_CLUSTER} answers, but its canary row could not "
        "be read: HealthCheckError: dr_constructs.heartbeat has no row in the restored copy"
    )


def test_a_function_that_is_not_the_health_check_says_the_canary_was_not_read(
    world: World,
) -> None:
    result = _restore_read_by(world, _health_check(world, None), "--json")
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["result"]["canary"] == {
        "verified": False,
        "reason": f"{FUNCTION} did not read it (its code is not the library's health check, "
        "or is older than this command)",
    }


def test_a_restore_slower_than_the_rto_exits_1(world: World) -> None:
    cloudformation, _ = world.cloudformation()
    backup, stubber = _aurora_backup(world, _points(world, world.cluster_arn))
    stubber.add_response("start_restore_job", {"RestoreJobId": "job-2"})
    for status in ("RUNNING", "COMPLETED"):
        stubber.add_response("describe_restore_job", {"RestoreJobId": "job-2", "Status": status})
    time = FakeTime()
    result = invoke(
        ["restore", "aurora", "--stack", STACK, "--yes", "--no-instance", "--interval", "18000"],
        overrides={"cloudformation": cloudformation, "backup": backup},
        sleep=time.sleep, clock=time.clock,
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "Restored in 5h 00m: BEYOND the corruption RTO of 4h 00m" in result.stdout


def test_a_failed_job_exits_1_with_its_message(world: World) -> None:
    cloudformation, _ = world.cloudformation()
    backup, stubber = _aurora_backup(world, _points(world, world.cluster_arn))
    stubber.add_response("start_restore_job", {"RestoreJobId": "job-3"})
    stubber.add_response(
        "describe_restore_job",
        {"RestoreJobId": "job-3", "Status": "FAILED", "StatusMessage": "KMS key disabled"},
    )
    result = invoke(
        ["restore", "aurora", "--stack", STACK, "--yes"],
        overrides={"cloudformation": cloudformation, "backup": backup},
        sleep=FakeTime().sleep,
    )
    assert result.exit_code == 1
    # stderr: the progress bar, then one line
    assert result.stderr.strip().splitlines()[-1] == (
        "error: restore job job-3 FAILED: KMS key disabled"
    )
    assert "Traceback" not in result.output


def test_aurora_to_a_point_in_time_uses_the_continuous_recovery_point(world: World) -> None:
    cluster = world.client("rds").describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0]
    earliest, latest = cluster["EarliestRestorableTime"], cluster["LatestRestorableTime"]
    to = earliest + (latest - earliest) / 2
    cloudformation, _ = world.cloudformation()
    points = _points(world, world.cluster_arn, continuous_from=earliest)
    backup, _ = _aurora_backup(
        world,
        points,
        metadata={**AURORA_METADATA, "UseLatestRestorableTime": "true"},
        point_arn=CONTINUOUS_ARN,
    )
    result = invoke(
        ["restore", "aurora", "--stack", STACK, "--to", to.isoformat(), "--json"],
        overrides={"cloudformation": cloudformation, "backup": backup},
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    metadata = document["request"]["Metadata"]
    assert document["request"]["RecoveryPointArn"] == CONTINUOUS_ARN
    assert metadata["RestoreToTime"] == to.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert "UseLatestRestorableTime" not in metadata
    assert document["recovery_point"]["type"] == "continuous"


def test_to_outside_the_window_is_one_line_exit_2(world: World) -> None:
    cloudformation, _ = world.cloudformation()
    backup, _ = _aurora_backup(
        world, _points(world, world.cluster_arn, continuous_from=FIXED), metadata=None
    )
    result = invoke(
        ["restore", "aurora", "--stack", STACK, "--to", "2020-01-01T00:00:00Z", "--yes"],
        overrides={"cloudformation": cloudformation, "backup": backup},
    )
    assert result.exit_code == 2
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and "Traceback" not in result.output
    assert lines[0].startswith(
        "error: --to 2020-01-01T00:00:00Z is outside the continuous backup window "
    )


def test_no_recovery_point_yet_is_one_line_exit_2(world: World) -> None:
    cloudformation, _ = world.cloudformation()
    backup, _ = _aurora_backup(world, [], metadata=None)
    result = invoke(
        ["restore", "aurora", "--stack", STACK, "--yes"],
        overrides={"cloudformation": cloudformation, "backup": backup},
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: no recovery point yet for {world.cluster_arn} in vault {VAULT} (the plan's "
        "first backup runs on the hour)"
    )


def test_a_time_that_is_not_iso_8601_is_a_usage_error(world: World) -> None:
    result = invoke(["restore", "table", "--stack", STACK, "--to", "yesterday"])
    assert result.exit_code == 2
    assert "'yesterday' is not an ISO 8601 time" in result.stderr


def test_table_restore_end_to_end_on_moto(world: World) -> None:
    """Point-in-time restore to a new table under the stack's key; the source untouched."""
    cloudformation, _ = world.cloudformation()
    dynamodb = world.client("dynamodb")
    dynamodb.put_item(TableName=TABLE, Item={"pk": {"S": "order-1"}})
    sent: list[dict[str, Any]] = []
    dynamodb.meta.events.register(
        "provide-client-params.dynamodb.RestoreTableToPointInTime",
        lambda params, **_: sent.append(dict(params)),
    )
    time = FakeTime()
    result = invoke(
        ["restore", "table", "--stack", STACK, "--yes", "--json"],
        overrides={"cloudformation": cloudformation, "dynamodb": dynamodb},
        sleep=time.sleep, clock=time.clock,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    target = f"{TABLE}-restored-{STAMP}"
    request = {
        "SourceTableName": TABLE,
        "TargetTableName": target,
        "UseLatestRestorableTime": True,
        "SSESpecificationOverride": {"Enabled": True, "SSEType": "KMS",
                                     "KMSMasterKeyId": world.key_arn},
    }  # fmt: skip
    assert sent == [request]
    document = json.loads(result.stdout)
    assert document["request"] == request
    assert document["aws_cli"] == (
        "aws dynamodb restore-table-to-point-in-time --region us-east-1 "
        f"--source-table-name {TABLE} --target-table-name {target} "
        "--use-latest-restorable-time --sse-specification-override "
        f"""'{{"Enabled":true,"SSEType":"KMS","KMSMasterKeyId":"{world.key_arn}"}}'"""
    )
    assert document["result"]["status"] == "ACTIVE"
    assert document["result"]["created"] == (f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{target}")
    assert document["result"]["rto_met"] is True
    restored = dynamodb.scan(TableName=target)["Items"]
    assert restored == [{"pk": {"S": "order-1"}}]
    assert dynamodb.describe_table(TableName=TABLE)["Table"]["TableStatus"] == "ACTIVE"


def test_table_to_outside_the_pitr_window_exit_2(world: World) -> None:
    cloudformation, _ = world.cloudformation()
    result = invoke(
        ["restore", "table", "--stack", STACK, "--to", "2020-01-01T00:00:00+02:00"],
        overrides={"cloudformation": cloudformation},
    )
    assert result.exit_code == 2
    assert result.stderr.startswith(
        f"error: --to 2019-12-31T22:00:00Z is outside the table {TABLE}'s point-in-time "
        "recovery window "
    )


def _bucket_backup(
    world: World, points: list[Any], point_arn: str, metadata: dict[str, str] | None = None
) -> tuple[Any, Stubber]:
    bucket_arn = f"arn:aws:s3:::{world.bucket}"
    backup = world.client("backup")
    stubber = Stubber(backup)
    stubber.add_response(
        "list_recovery_points_by_backup_vault", {"RecoveryPoints": points},
        {"BackupVaultName": VAULT, "ByResourceArn": bucket_arn},
    )  # fmt: skip
    stubber.add_response(
        "get_recovery_point_restore_metadata",
        {"RestoreMetadata": metadata
         or {"DestinationBucketName": world.bucket, "NewBucket": "false"}},
        {"BackupVaultName": VAULT, "RecoveryPointArn": point_arn},
    )  # fmt: skip
    stubber.activate()
    return backup, stubber


def test_bucket_dry_run_restores_to_a_new_encrypted_bucket(world: World) -> None:
    cloudformation, _ = world.cloudformation()
    points = _points(world, f"arn:aws:s3:::{world.bucket}", snapshot=S3_RP_ARN)
    backup, _ = _bucket_backup(world, points, S3_RP_ARN)
    result = invoke(
        ["restore", "bucket", "--stack", STACK, "--json"],
        overrides={"cloudformation": cloudformation, "backup": backup},
    )
    assert result.exit_code == 0, result.output
    target = f"{world.bucket[:39].rstrip('-')}-restored-{STAMP}"  # bucket names: 63 at most
    assert len(target) <= 63
    assert json.loads(result.stdout)["request"] == {
        "RecoveryPointArn": S3_RP_ARN,
        "Metadata": {
            "DestinationBucketName": target,
            "NewBucket": "true",
            "Encrypted": "true",
            "EncryptionType": "SSE-KMS",
            "KMSKey": world.key_arn,
        },
        "IamRoleArn": world.role_arn,
        "IdempotencyToken": target,
        "ResourceType": "S3",
    }


# --- only the restore metadata AWS documents --------------------------------------------------


def _allowed(restore: str) -> dict[str, str]:
    keys = DOCUMENTED["keys"][restore]
    names = [*keys["required"], *keys.get("one_of", []), *keys["optional"]]
    return {name.lower(): name for name in names}


def _assert_documented(request: dict[str, Any], restore: str) -> None:
    """Every key is one AWS documents for this restore, spelled as AWS spells it; the required
    ones are there (and, for a point in time, one of RestoreToTime/UseLatestRestorableTime)."""
    allowed = _allowed(restore)
    metadata = request["Metadata"]
    assert [k for k in metadata if allowed.get(k.lower()) != k] == []
    assert set(DOCUMENTED["keys"][restore]["required"]) <= set(metadata)
    one_of = DOCUMENTED["keys"][restore].get("one_of")
    if one_of:
        assert len(set(one_of) & set(metadata)) == 1, metadata


def test_the_command_knows_exactly_the_documented_keys() -> None:
    from dr_constructs.cli.restore import RESTORE_METADATA_KEYS

    for (resource_type, continuous), keys in RESTORE_METADATA_KEYS.items():
        restore = f"{resource_type} {'continuous' if continuous else 'snapshot'}"
        assert sorted(k.lower() for k in keys) == sorted(_allowed(restore)), restore


def test_aurora_snapshot_restore_sends_documented_keys_only(world: World) -> None:
    """AWS's own example restore metadata (Aurora page) as the recovery point's answer, plus a
    key AWS does not document for StartRestoreJob: it is left out, and the plan says so."""
    answered = {**DOCUMENTED["aurora_example_restore_metadata"]["metadata"],
                "DBClusterArn": "arn:aws:rds:us-east-1:123456789012:cluster:old"}  # fmt: skip
    cloudformation, _ = world.cloudformation()
    backup, _ = _aurora_backup(
        world, _points(world, world.cluster_arn), metadata=answered, point_arn=RP_ARN
    )
    result = invoke(
        ["restore", "aurora", "--stack", STACK, "--json"],
        overrides={"cloudformation": cloudformation, "backup": backup},
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    _assert_documented(document["request"], "Aurora snapshot")
    assert document["left_out_metadata"] == ["DBClusterArn"]
    assert document["request"]["Metadata"]["AvailabilityZones"] == answered["AvailabilityZones"]


def test_aurora_point_in_time_restore_leaves_out_snapshot_only_keys(world: World) -> None:
    """The PITR list has no AvailabilityZones or DatabaseName (RestoreDBClusterToPointInTime
    takes neither): a continuous point's metadata carrying them does not reach the request."""
    cluster = world.client("rds").describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0]
    earliest, latest = cluster["EarliestRestorableTime"], cluster["LatestRestorableTime"]
    cloudformation, _ = world.cloudformation()
    backup, _ = _aurora_backup(
        world,
        _points(world, world.cluster_arn, continuous_from=earliest),
        metadata=DOCUMENTED["aurora_example_restore_metadata"]["metadata"],
        point_arn=CONTINUOUS_ARN,
    )
    to = earliest + (latest - earliest) / 2
    result = invoke(
        ["restore", "aurora", "--stack", STACK, "--to", to.isoformat(), "--json"],
        overrides={"cloudformation": cloudformation, "backup": backup},
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    _assert_documented(document["request"], "Aurora continuous")
    assert document["left_out_metadata"] == ["AvailabilityZones", "DatabaseName"]


@pytest.mark.parametrize("continuous", [False, True])
def test_bucket_restore_sends_documented_keys_only(world: World, continuous: bool) -> None:
    """No EFS key (CreationToken) in an S3 restore; RestoreTime only for a continuous point."""
    cloudformation, _ = world.cloudformation()
    point = S3_CONTINUOUS_ARN if continuous else S3_RP_ARN
    points = _points(world, f"arn:aws:s3:::{world.bucket}", snapshot=S3_RP_ARN,
                     continuous=S3_CONTINUOUS_ARN,
                     continuous_from=FIXED - timedelta(days=2) if continuous else None)  # fmt: skip
    backup, _ = _bucket_backup(world, points, point)
    args = ["restore", "bucket", "--stack", STACK, "--json"]
    if continuous:
        args += ["--to", (FIXED - timedelta(hours=1)).isoformat()]
    result = invoke(args, overrides={"cloudformation": cloudformation, "backup": backup})
    assert result.exit_code == 0, result.output
    request = json.loads(result.stdout)["request"]
    _assert_documented(request, f"S3 {'continuous' if continuous else 'snapshot'}")
    assert "CreationToken" not in request["Metadata"]


def test_table_restore_sends_only_the_service_model_parameters(world: World) -> None:
    """DynamoDB restores through its own RestoreTableToPointInTime: every key of the request
    is a member of the botocore shape."""
    cloudformation, _ = world.cloudformation()
    result = invoke(
        ["restore", "table", "--stack", STACK, "--json"],
        overrides={"cloudformation": cloudformation},
    )
    assert result.exit_code == 0, result.output
    shape = (
        world.client("dynamodb")
        .meta.service_model.operation_model("RestoreTableToPointInTime")
        .input_shape
    )
    assert set(json.loads(result.stdout)["request"]) <= set(shape.members)


def test_restore_dry_run_screen(world: World) -> None:
    cloudformation, _ = world.cloudformation()
    backup, _ = _aurora_backup(world, _points(world, world.cluster_arn))
    result = invoke(
        ["restore", "aurora", "--stack", STACK],
        overrides={"cloudformation": cloudformation, "backup": backup},
    )
    assert result.exit_code == 0, result.output
    out = result.stdout
    assert f"to a new cluster {RESTORED_CLUSTER} (the original is not touched)" in out
    # the command is printed one parameter a line; the shell reads the same words as the JSON's
    shown = out[out.index("aws backup start-restore-job") : out.index("Dry run:")]
    cloudformation, _ = world.cloudformation()
    backup, _ = _aurora_backup(world, _points(world, world.cluster_arn))
    as_json = invoke(
        ["restore", "aurora", "--stack", STACK, "--json"],
        overrides={"cloudformation": cloudformation, "backup": backup},
    )
    continued = shown.replace("\\\n", "")  # what bash does with backslash-newline
    assert shlex.split(continued) == shlex.split(json.loads(as_json.stdout)["aws_cli"])
    assert shown.startswith("aws backup start-restore-job --region us-east-1 \\\n  --recovery")
    assert out.rstrip().endswith("Dry run: nothing was started. Run again with --yes to start it.")


# --- continuous points: what a continuous rule makes of Aurora and S3 ------------------------


def _continuous_only(world: World, arn: str, continuous: str, status: str = "COMPLETED") -> Any:
    """The one recovery point a continuous rule makes (and no snapshot: AWS Backup guide,
    "Continuous backups and point-in-time recovery")."""
    return [{"BackupVaultName": VAULT, "BackupVaultArn": world.vault_arn, "ResourceArn": arn,
             "RecoveryPointArn": continuous, "Status": status,
             "CreationDate": FIXED - timedelta(days=3)}]  # fmt: skip


def test_aurora_without_to_restores_the_continuous_point_to_its_latest_time(world: World) -> None:
    cloudformation, _ = world.cloudformation()
    backup, _ = _aurora_backup(
        world,
        _continuous_only(world, world.cluster_arn, CONTINUOUS_ARN),
        metadata=AURORA_METADATA,
        point_arn=CONTINUOUS_ARN,
    )
    result = invoke(
        ["restore", "aurora", "--stack", STACK, "--json"],
        overrides={"cloudformation": cloudformation, "backup": backup},
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    metadata = document["request"]["Metadata"]
    assert document["request"]["RecoveryPointArn"] == CONTINUOUS_ARN
    # AWS's own Aurora PITR example: "UseLatestRestorableTime":"true"
    assert metadata["UseLatestRestorableTime"] == "true" and "RestoreToTime" not in metadata
    _assert_documented(document["request"], "Aurora continuous")
    assert document["recovery_point"]["type"] == "continuous"
    assert document["recovery_point"]["restore_to"].startswith("latest restorable time (")


def test_bucket_without_to_restores_the_continuous_point_15_minutes_back(world: World) -> None:
    """S3 requires RestoreTime for a continuous point; "Amazon S3 allows restores up until the
    most recent 15 minutes of activity"."""
    cloudformation, _ = world.cloudformation()
    points = _continuous_only(world, f"arn:aws:s3:::{world.bucket}", S3_CONTINUOUS_ARN)
    backup, _ = _bucket_backup(world, points, S3_CONTINUOUS_ARN)
    result = invoke(
        ["restore", "bucket", "--stack", STACK, "--json"],
        overrides={"cloudformation": cloudformation, "backup": backup},
    )
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["request"]["RecoveryPointArn"] == S3_CONTINUOUS_ARN
    assert document["request"]["Metadata"]["RestoreTime"] == "2026-11-29T21:45:00Z"
    _assert_documented(document["request"], "S3 continuous")
    assert document["recovery_point"]["restore_to"] == (
        "latest restorable time (2026-11-29T21:45:00Z)"
    )


def test_the_continuous_point_wins_over_an_older_snapshot(world: World) -> None:
    cloudformation, _ = world.cloudformation()
    points = _points(
        world, f"arn:aws:s3:::{world.bucket}", snapshot=S3_RP_ARN, continuous=S3_CONTINUOUS_ARN,
        continuous_from=FIXED - timedelta(days=3),
    )  # fmt: skip
    backup, _ = _bucket_backup(world, points, S3_CONTINUOUS_ARN)
    result = invoke(
        ["restore", "bucket", "--stack", STACK, "--json"],
        overrides={"cloudformation": cloudformation, "backup": backup},
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["request"]["RecoveryPointArn"] == S3_CONTINUOUS_ARN


def test_a_stopped_continuous_point_is_named_when_nothing_can_be_restored(world: World) -> None:
    """STOPPED: "a user has taken some action that causes the continuous backup to be disabled"
    (AWS Backup guide, restoring S3, recovery point status)."""
    cloudformation, _ = world.cloudformation()
    backup = world.client("backup")
    stubber = Stubber(backup)
    bucket_arn = f"arn:aws:s3:::{world.bucket}"
    stubber.add_response(
        "list_recovery_points_by_backup_vault",
        {"RecoveryPoints": _continuous_only(world, bucket_arn, S3_CONTINUOUS_ARN, "STOPPED")},
        {"BackupVaultName": VAULT, "ByResourceArn": bucket_arn},
    )
    stubber.activate()
    result = invoke(
        ["restore", "bucket", "--stack", STACK],
        overrides={"cloudformation": cloudformation, "backup": backup},
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: no recovery point yet for {bucket_arn} in vault {VAULT} (the plan's first "
        "backup runs on the hour); its continuous recovery point is STOPPED"
    )

"""The operator command: discovery, status, bad input (moto server + Stubber).

Restore and drill: tests/test_cli_restore.py, tests/test_cli_drill.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from botocore.stub import Stubber
from click.testing import CliRunner, Result

from dr_constructs.cli import cli

from .cli_world import (
    CLUSTER,
    FUNCTION,
    OBJECTIVES,
    READER,
    STACK,
    TABLE,
    VAULT,
    WRITER,
    BackupEndpoint,
    World,
    _template,
    aws_env,  # noqa: F401  (fixture)
    aws_json_answer,
    aws_json_error,
    build_world,
    moto_endpoint,  # noqa: F401  (fixture)
)

NOW = datetime.now(UTC).replace(microsecond=0)
ACCOUNT = "123456789012"  # moto's default account
#: A restore testing plan's ARN: arn:${Partition}:backup:${Region}:${Account}:restore-testing-plan:
#: ${RestoreTestingPlanName}-${RestoreTestingPlanId} (Service Authorization Reference, AWS Backup).
PLAN_ARN = (
    f"arn:aws:backup:us-east-1:{ACCOUNT}:restore-testing-plan:dr_restore_tests_test-"
    "867cbaf4-a45d-464e-ba8b-6035bc96770b"
)
#: Recovery point ARNs per store, in AWS's documented forms: an Aurora snapshot (AWS Backup
#: guide, EventBridge, Recovery Point State Change example), a DynamoDB backup (DynamoDB API
#: reference, CreateBackup example BackupArn), an S3 recovery point (AWS Backup guide,
#: EventBridge, Backup Job State Change COMPLETED example).
SNAPSHOT_ARNS = {
    "aurora": f"arn:aws:rds:us-east-1:{ACCOUNT}:cluster-snapshot:awsbackup:job-4ece7121-d60e-"
    "00c2-5c3b-{age:012d}",
    "table": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{TABLE}/backup/0148917357536{{age:04d}}"
    "-b308cd7d",
    "bucket": f"arn:aws:backup:us-east-1:{ACCOUNT}:recovery-point:f1d966fe-a3bd-410b-b292-"
    "{age:012d}",
}
#: A continuous point: the form public code shows (AWS documents no example; RDS names it in
#: DescribeDBClusters AwsBackupRecoveryPointArn).
S3_CONTINUOUS_ARN = f"arn:aws:backup:us-east-1:{ACCOUNT}:recovery-point:continuous:bucket-0f51c39b"


def invoke(args: list[str], **settings: Any) -> Result:
    return CliRunner().invoke(cli, args, obj=settings)


@pytest.fixture(scope="module")
def deployed(moto_endpoint: str) -> World:  # noqa: F811
    """The stack, deployed on the moto server once for the module: the tests read it, add
    stacks of other names, and put back what they change (an alarm's state)."""
    return build_world(moto_endpoint)


@pytest.fixture
def world(aws_env: str, deployed: World) -> World:  # noqa: F811
    return deployed


@pytest.fixture
def measured_world(world: World, moto_endpoint: str) -> Iterator[World]:  # noqa: F811
    """The module's world, for a test that publishes metrics: CloudWatch deletes no metric
    data, so the world is deployed again afterwards and later tests read none of them."""
    yield world
    vars(world).update(vars(build_world(moto_endpoint)))


def _point(world: World, kind: str, arn: str, age: timedelta) -> dict[str, Any]:
    return {
        "RecoveryPointArn": SNAPSHOT_ARNS[kind].format(age=int(age.total_seconds())),
        "BackupVaultName": VAULT,
        "BackupVaultArn": world.vault_arn,
        "ResourceArn": arn,
        "Status": "COMPLETED",
        "CreationDate": NOW - age,
    }


# --- discovery, against moto's own CloudFormation -------------------------------------------


def test_unknown_stack_is_one_line_exit_2(aws_env: str) -> None:  # noqa: F811
    result = invoke(["status", "--stack", "NoSuchStack"])
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        "error: stack NoSuchStack: ListStackResources: ValidationError: "
        "Stack with id NoSuchStack does not exist"
    ]
    assert "Traceback" not in result.output


def test_stack_not_built_with_the_library_exit_2(world: World) -> None:
    world.client("cloudformation").create_stack(
        StackName="Other",
        TemplateBody=json.dumps({"Resources": {"Queue": {"Type": "AWS::SQS::Queue"}}}),
    )
    result = invoke(["status", "--stack", "Other", "--json"])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr.strip().splitlines() == [
        "error: stack Other was not built with dr-constructs (no Aurora cluster, DynamoDB "
        "table, data bucket or backup vault of the library in it)"
    ]


def test_discovery_reads_moto_cloudformation(world: World) -> None:
    """Types and logical ids as moto's CloudFormation reports them; objectives from Metadata."""
    from dr_constructs.cli.aws import Aws
    from dr_constructs.cli.discovery import Objective, discover

    stack = discover(Aws(), STACK)
    assert stack.bucket_name == world.bucket  # the StorageBucket, not the AccessLogs one
    assert stack.bucket_name != world.access_logs_bucket
    assert stack.backup_role == world.role_name  # *BackupRole*, not the function's role
    assert stack.function_name == FUNCTION
    assert stack.objectives_from_stack
    assert stack.objectives == {mode: Objective(**values) for mode, values in OBJECTIVES.items()}


def test_objectives_fall_back_to_the_spec_and_say_so(world: World) -> None:
    from dr_constructs.cli.aws import Aws
    from dr_constructs.cli.discovery import Objective, discover

    body = _template(with_metadata=False)
    world.client("cloudformation").create_stack(StackName="Bare", TemplateBody=json.dumps(body))
    stack = discover(Aws(), "Bare")
    assert not stack.objectives_from_stack
    assert set(stack.objectives.values()) == {Objective(3600, 14400)}
    assert "using the spec's RPO 1 h / RTO 4 h" in stack.objectives_note


def test_every_command_has_help() -> None:
    runner = CliRunner()
    for command in ([], ["status"], ["restore"], ["drill"]):
        result = runner.invoke(cli, [*command, "--help"])
        assert result.exit_code == 0, result.output
        for option in ("--stack", "--region", "--profile", "--json") if command else ():
            assert option in result.output


def test_console_script_starts_without_the_cdk() -> None:
    """The command imports neither aws-cdk-lib nor jsii (no node start-up, no banner)."""
    code = (
        "import sys; import dr_constructs.cli; "
        "print(sorted(m for m in ('aws_cdk', 'jsii') if m in sys.modules))"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True
    ).stdout
    assert out.strip() == "[]"


# --- status ---------------------------------------------------------------------------------


def _resource_arns(world: World) -> dict[str, str]:
    return {
        "aurora": world.cluster_arn,
        "table": f"arn:aws:dynamodb:us-east-1:{ACCOUNT}:table/{TABLE}",
        "bucket": f"arn:aws:s3:::{world.bucket}",
    }


def _vault_points(world: World, bucket_age: timedelta) -> list[dict[str, Any]]:
    """The vault's recovery points: two snapshots of each store, the bucket's ``bucket_age``
    old, and a STOPPED continuous point of the bucket (AWS Backup guide, restoring S3: "STOPPED
    status occurs on a continuous backup where a user has taken some action that causes the
    continuous backup to be disabled")."""
    ages = {"aurora": timedelta(minutes=20), "table": timedelta(minutes=30), "bucket": bucket_age}
    arns = _resource_arns(world)
    points = [_point(world, kind, arns[kind], age * n) for kind, age in ages.items()
              for n in (1, 2)]  # fmt: skip
    stopped = {**_point(world, "bucket", arns["bucket"], timedelta(days=3)),
               "RecoveryPointArn": S3_CONTINUOUS_ARN, "Status": "STOPPED"}  # fmt: skip
    return [*points, stopped]


def _restore_test_jobs(world: World) -> list[dict[str, Any]]:
    test_job = {
        "RestoreJobId": "test-1",
        "RecoveryPointArn": SNAPSHOT_ARNS["aurora"].format(age=1),
        "SourceResourceArn": world.cluster_arn,
        "ResourceType": "Aurora",
        "Status": "COMPLETED",
        "CreationDate": NOW - timedelta(hours=5),
        "CompletionDate": NOW - timedelta(hours=5) + timedelta(minutes=42),
        "CreatedBy": {"RestoreTestingPlanArn": PLAN_ARN},
        "ValidationStatus": "SUCCESSFUL",
    }  # fmt: skip
    return [test_job, {**test_job, "RestoreJobId": "manual", "CreatedBy": {}}]


def _status_backup(world: World, bucket_age: timedelta = timedelta(hours=2)) -> tuple[Any, Stubber]:
    backup = world.client("backup")
    stubber = Stubber(backup)
    stubber.add_response(
        "list_recovery_points_by_backup_vault",
        {"RecoveryPoints": _vault_points(world, bucket_age)},
        {"BackupVaultName": VAULT},
    )
    stubber.add_response(
        "list_restore_jobs",
        {"RestoreJobs": _restore_test_jobs(world)},
        {"ByCreatedAfter": NOW - timedelta(days=30)},
    )
    stubber.activate()
    return backup, stubber


@pytest.fixture
def cpu_alarm_in_alarm(world: World) -> Iterator[str]:
    """The cluster's CPU alarm in ALARM for one test, then back in the state it was in."""
    cloudwatch, name = world.client("cloudwatch"), "dr-test-AuroraHighCpu"
    (alarm,) = cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"]
    cloudwatch.set_alarm_state(AlarmName=name, StateValue="ALARM", StateReason="test")
    yield name
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=alarm["StateValue"], StateReason="test")


def test_status_json_end_to_end(world: World, cpu_alarm_in_alarm: str) -> None:
    cloudformation, cfn_stub = world.cloudformation()
    backup, backup_stub = _status_backup(world)
    result = invoke(
        ["status", "--stack", STACK, "--region", "us-east-1", "--json"],
        overrides={"cloudformation": cloudformation, "backup": backup},
        now=lambda: NOW,
    )
    cfn_stub.assert_no_pending_responses()
    backup_stub.assert_no_pending_responses()
    assert result.exit_code == 1, result.output  # the bucket's recovery point is 2 h old
    report = json.loads(result.stdout)
    aurora, table, bucket = report["resources"]
    # moto's cluster and table have a latest restorable time of "now": age ~0
    assert aurora["age_seconds"] <= 0 and aurora["rpo_met"]
    assert table["age_seconds"] <= 0 and table["rpo_met"]
    for resource in (aurora, table):
        del resource["age_seconds"], resource["latest_restorable"]
    assert aurora == {
        "kind": "aurora",
        "name": CLUSTER,
        "state": "available",
        "writer": {"id": WRITER, "az": "us-east-1a"},
        "readers": [{"id": READER, "az": "us-east-1b"}],
        "latest_recovery_point": {
            "arn": SNAPSHOT_ARNS["aurora"].format(age=1200),
            "created": (NOW - timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "continuous_recovery_point": None,
        "rpo_met": True,
        "last_restore_test": {
            "job_id": "test-1",
            "status": "COMPLETED",
            "started": (NOW - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "duration_seconds": 42 * 60,
            "validation": "SUCCESSFUL",
            "validation_message": None,
            "data_age_seconds": None,  # no measurement published in the lookback
            "time_to_usable_seconds": None,
            "data_age_met": None,
            "rto_met": True,
        },
    }
    assert table["pitr"] == "ENABLED" and table["last_restore_test"] is None
    assert table["latest_recovery_point"]["arn"] == SNAPSHOT_ARNS["table"].format(age=1800)
    assert bucket == {
        "kind": "bucket",
        "name": world.bucket,
        "latest_recovery_point": {
            "arn": SNAPSHOT_ARNS["bucket"].format(age=7200),
            "created": (NOW - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "continuous_recovery_point": {
            "arn": S3_CONTINUOUS_ARN, "status": "STOPPED",
            "since": (NOW - timedelta(days=3)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "age_seconds": 7200,
        "rpo_met": False,
        "last_restore_test": None,
    }  # fmt: skip
    assert report["alarms_in_alarm"] == [cpu_alarm_in_alarm]
    assert report["breaches"] == [f"bucket {world.bucket}: RPO 3600s"]
    assert report["unreadable"] == []
    assert report["objectives"] == OBJECTIVES and report["objectives_from_stack"] is True
    assert report["stack"] == STACK and report["region"] == "us-east-1"


def _publish(world: World, resource_type: str, **values: float) -> None:
    """What the restore tests publish (contract.py's names), four hours ago."""
    world.client("cloudwatch").put_metric_data(
        Namespace="DrConstructs/RestoreTesting",
        MetricData=[
            {"MetricName": name, "Value": value, "Unit": "Seconds",
             "Timestamp": NOW - timedelta(hours=4),
             "Dimensions": [{"Name": "ResourceType", "Value": resource_type}]}
            for name, value in values.items()
        ],
    )  # fmt: skip


def test_status_holds_aurora_s_time_to_usable_and_data_age_against_the_objectives(
    measured_world: World, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The last Aurora restore test took 42 minutes as a restore job, but the copy answered
    its first query 5 hours after the job started: the RTO (4 hours) is missed. Its data age
    (95 s) meets the RPO. AWS Backup's validation message is shown as the state machine
    wrote it."""
    world = measured_world
    _publish(world, "Aurora", DataAge=95.0, TimeToUsable=5 * 3600.0)
    _publish(world, "DynamoDB", DataAge=7200.0)  # a table test older than the RPO: no job
    cloudformation, _ = world.cloudformation()
    backup = world.client("backup")
    stubber = Stubber(backup)
    stubber.add_response(
        "list_recovery_points_by_backup_vault", {"RecoveryPoints": _vault_points(
            world, timedelta(minutes=10))}, {"BackupVaultName": VAULT},
    )  # fmt: skip
    message = "the restored cluster awsbackup-restore-test5c1d9e72 holds the heartbeat row of x"
    jobs = [{**job, "ValidationStatusMessage": message} for job in _restore_test_jobs(world)]
    stubber.add_response("list_restore_jobs", {"RestoreJobs": jobs})
    stubber.activate()
    result = invoke(
        ["status", "--stack", STACK, "--json"],
        overrides={"cloudformation": cloudformation, "backup": backup}, now=lambda: NOW,
    )  # fmt: skip
    report = json.loads(result.stdout)
    test = report["resources"][0]["last_restore_test"]
    assert test == {
        "job_id": "test-1", "status": "COMPLETED",
        "started": (NOW - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        "duration_seconds": 42 * 60, "validation": "SUCCESSFUL", "validation_message": message,
        "data_age_seconds": 95.0, "time_to_usable_seconds": 5 * 3600.0, "data_age_met": True,
        "rto_met": False,
    }  # fmt: skip
    assert report["breaches"] == [f"aurora {CLUSTER}: restore test vs RTO 14400s"]
    assert result.exit_code == 1

    # the table: shown for people too, the RTO column judged on what was measured
    monkeypatch.setenv("COLUMNS", "200")  # a wide terminal: no cell wraps
    text = invoke(
        ["status", "--stack", STACK],
        overrides={"cloudformation": world.cloudformation()[0], "backup": _status_backup(
            world, timedelta(minutes=10))[0]}, now=lambda: NOW,
    ).output  # fmt: skip
    assert "usable 5h 00m (job 42m 00s)" in text and "1m 35s" in text


def test_status_reads_the_jobs_when_the_measurements_cannot_be_read(world: World) -> None:
    cloudformation, _ = world.cloudformation()
    backup, _ = _status_backup(world)
    cloudwatch = world.client("cloudwatch")
    stubber = Stubber(cloudwatch)
    stubber.add_client_error("get_metric_data", "AccessDenied", http_status_code=403)
    stubber.add_response("describe_alarms", {"MetricAlarms": [], "CompositeAlarms": []})
    stubber.activate()
    result = invoke(
        ["status", "--stack", STACK, "--json"],
        overrides={"cloudformation": cloudformation, "backup": backup, "cloudwatch": cloudwatch},
        now=lambda: NOW,
    )  # fmt: skip
    report = json.loads(result.stdout)
    test = report["resources"][0]["last_restore_test"]
    assert test["validation"] == "SUCCESSFUL" and test["data_age_seconds"] == "not read"
    assert test["rto_met"] is True  # judged on the job's duration, what could be read
    assert {"section": "restore test measurements", "call": "cloudwatch:GetMetricData",
            "error": "AccessDenied"} in report["unreadable"]  # fmt: skip


def test_a_completed_continuous_bucket_point_is_restorable_15_minutes_back(world: World) -> None:
    """No snapshot yet, but a COMPLETED continuous point: the bucket restores to 15 minutes
    ago ("Amazon S3 allows restores up until the most recent 15 minutes of activity")."""
    cloudformation, _ = world.cloudformation()
    backup = world.client("backup")
    stubber = Stubber(backup)
    arn = _resource_arns(world)["bucket"]
    continuous = {**_point(world, "bucket", arn, timedelta(days=3)),
                  "RecoveryPointArn": S3_CONTINUOUS_ARN}  # fmt: skip
    stubber.add_response(
        "list_recovery_points_by_backup_vault", {"RecoveryPoints": [continuous]},
        {"BackupVaultName": VAULT},
    )  # fmt: skip
    stubber.add_response("list_restore_jobs", {"RestoreJobs": []})
    stubber.activate()
    result = invoke(
        ["status", "--stack", STACK, "--json"],
        overrides={"cloudformation": cloudformation, "backup": backup}, now=lambda: NOW,
    )  # fmt: skip
    bucket = json.loads(result.stdout)["resources"][2]
    assert bucket["latest_recovery_point"] is None
    assert bucket["continuous_recovery_point"]["status"] == "COMPLETED"
    assert (bucket["age_seconds"], bucket["rpo_met"]) == (900, True)


def test_status_screen(world: World) -> None:
    cloudformation, _ = world.cloudformation()
    backup, _ = _status_backup(world)
    result = invoke(
        ["status", "--stack", STACK],
        overrides={"cloudformation": cloudformation, "backup": backup},
        now=lambda: NOW,
    )
    assert result.exit_code == 1
    out = result.stdout
    assert f"writer {WRITER} (us-east-1a); readers {READER} (us-east-1b)" in out
    assert "2h 00m (beyond RPO)" in out
    assert "time (RTO 4h 00m)" in out and "42m 00s" in out
    assert "Alarms in ALARM: none" in out
    assert "STOPPED since" in out
    assert f"Objective breached: bucket {world.bucket}: RPO 3600s" in out


def test_status_exit_0_when_every_objective_holds(world: World) -> None:
    cloudformation, _ = world.cloudformation()
    backup, _ = _status_backup(world, bucket_age=timedelta(minutes=59))
    result = invoke(
        ["status", "--stack", STACK, "--json"],
        overrides={"cloudformation": cloudformation, "backup": backup},
        now=lambda: NOW,
    )
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["breaches"] == [] and report["alarms_in_alarm"] == []
    assert [r["rpo_met"] for r in report["resources"]] == [True, True, True]


# --- a partial status: each section read on its own -----------------------------------------

#: The page moto's server answers an AWS Backup call it does not implement with (HTTP 404),
#: as an endpoint without the API would: botocore passes the page on as the error message.
NOT_FOUND_PAGE = (
    "<!doctype html>\n<html lang=en>\n<title>404 Not Found</title>\n<h1>Not Found</h1>\n"
    "<p>The requested URL was not found on the server. If you entered the URL manually please "
    "check your spelling and try again.</p>\n"
)
#: (error code, message, HTTP status) as AWS sends them (AWS Backup API reference, Common
#: Errors: AccessDeniedException and ThrottlingException, HTTP 400; IAM's denial message).
FAILURES = {
    "AccessDeniedException": (
        "AccessDeniedException",
        "User: arn:aws:sts::123456789012:assumed-role/operator/incident is not authorized to "
        "perform: backup:ListRestoreJobs because no identity-based policy allows the "
        "backup:ListRestoreJobs action",
        400,
    ),
    "404": ("404", NOT_FOUND_PAGE, 404),
    "ThrottlingException": ("ThrottlingException", "Rate exceeded", 400),
}


def _backup_failing(world: World, call: str, failure: str, bucket_age: timedelta) -> Any:
    """The vault's points, and ``call`` failing as AWS would (botocore's Stubber)."""
    backup = world.client("backup")
    stubber = Stubber(backup)
    code, message, status = FAILURES[failure]
    if call == "list_recovery_points_by_backup_vault":
        stubber.add_client_error(call, code, message, status)
    else:
        stubber.add_response(
            "list_recovery_points_by_backup_vault",
            {"RecoveryPoints": _vault_points(world, bucket_age)}, {"BackupVaultName": VAULT},
        )  # fmt: skip
    if call == "list_restore_jobs":
        stubber.add_client_error(call, code, message, status)
    else:
        stubber.add_response("list_restore_jobs", {"RestoreJobs": _restore_test_jobs(world)})
    stubber.activate()
    return backup


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_a_section_it_cannot_read_is_named_and_the_rest_is_shown(
    world: World, failure: str
) -> None:
    """AccessDenied, an endpoint without the API (404 with a web page) or throttling on
    ListRestoreJobs: every other section is read, the missing one is one line naming the call
    and the error code, no HTML is printed, and the exit code is 3 (partial)."""
    for as_json in (True, False):
        cloudformation, _ = world.cloudformation()
        backup = _backup_failing(world, "list_restore_jobs", failure, timedelta(minutes=59))
        result = invoke(
            ["status", "--stack", STACK, *(["--json"] if as_json else [])],
            overrides={"cloudformation": cloudformation, "backup": backup}, now=lambda: NOW,
        )  # fmt: skip
        assert result.exit_code == 3, result.output
        assert "<" not in result.output and result.stderr == ""
        if as_json:
            report = json.loads(result.stdout)
            assert report["unreadable"] == [
                {"section": "last restore test", "call": "backup:ListRestoreJobs",
                 "error": failure}
            ]  # fmt: skip
            assert [r["last_restore_test"] for r in report["resources"]] == ["not read"] * 3
            assert [r["rpo_met"] for r in report["resources"]] == [True, True, True]
            assert report["resources"][0]["writer"] == {"id": WRITER, "az": "us-east-1a"}
            assert report["alarms_in_alarm"] == [] and report["breaches"] == []
        else:
            lines = [line for line in result.stdout.splitlines() if "Not read" in line]
            assert lines == [f"Not read: last restore test (backup:ListRestoreJobs: {failure})"]


def test_without_recovery_points_the_bucket_rpo_is_unknown_not_breached(world: World) -> None:
    """The bucket's age comes from the vault only: unread, its RPO is unknown (None); Aurora and
    DynamoDB still have their latest restorable time (PITR section)."""
    cloudformation, _ = world.cloudformation()
    backup = _backup_failing(
        world, "list_recovery_points_by_backup_vault", "AccessDeniedException", timedelta(0)
    )
    result = invoke(
        ["status", "--stack", STACK, "--json"],
        overrides={"cloudformation": cloudformation, "backup": backup}, now=lambda: NOW,
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    report = json.loads(result.stdout)
    assert [r["rpo_met"] for r in report["resources"]] == [True, True, None]
    assert report["resources"][2]["latest_recovery_point"] == "not read"
    assert report["unreadable"] == [{
        "section": "recovery points", "call": "backup:ListRecoveryPointsByBackupVault",
        "error": "AccessDeniedException",
    }]  # fmt: skip


def test_a_breach_wins_over_a_partial_read(world: World) -> None:
    cloudformation, _ = world.cloudformation()
    backup = _backup_failing(world, "list_restore_jobs", "404", timedelta(hours=2))
    result = invoke(
        ["status", "--stack", STACK],
        overrides={"cloudformation": cloudformation, "backup": backup}, now=lambda: NOW,
    )  # fmt: skip
    assert result.exit_code == 1
    assert "Not read: last restore test (backup:ListRestoreJobs: 404)" in result.stdout


@pytest.fixture
def backup_endpoint(aws_env: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[BackupEndpoint]:  # noqa: F811
    """AWS Backup on the wire: the moto server behind an endpoint that answers what moto lacks
    and injects errors (the command's own boto3 session reaches it)."""
    endpoint = BackupEndpoint(aws_env)
    monkeypatch.setenv("AWS_ENDPOINT_URL_BACKUP", endpoint.url)
    # botocore retries throttling (with back-off): one attempt shows what the operator sees
    # once the retries are spent, without the wait
    monkeypatch.setenv("AWS_MAX_ATTEMPTS", "1")
    yield endpoint
    endpoint.close()


@pytest.mark.parametrize("failure", sorted(FAILURES))
def test_partial_status_against_the_moto_server(
    world: World, backup_endpoint: BackupEndpoint, failure: str
) -> None:
    """The same over HTTP: RDS, DynamoDB and CloudWatch are moto's; ListRecoveryPoints answered
    in AWS's wire form; ListRestoreJobs refused (AccessDenied, throttling, in AWS's wire form)
    or, for 404, left to moto's server, which does not implement it and answers a web page."""
    backup_endpoint.answers[f"/backup-vaults/{VAULT}/recovery-points/"] = aws_json_answer(
        {"RecoveryPoints": _vault_points(world, timedelta(minutes=59))}
    )
    if failure != "404":
        code, message, status = FAILURES[failure]
        backup_endpoint.answers["/restore-jobs/"] = aws_json_error(code, message, status)
    cloudformation, _ = world.cloudformation()
    result = invoke(
        ["status", "--stack", STACK],
        overrides={"cloudformation": cloudformation}, now=lambda: NOW,
    )  # fmt: skip
    assert result.exit_code == 3, result.output
    assert "<" not in result.output and result.stderr == ""
    assert [line for line in result.stdout.splitlines() if "Not read" in line] == [
        f"Not read: last restore test (backup:ListRestoreJobs: {failure})"
    ]
    assert f"writer {WRITER} (us-east-1a)" in result.stdout
    assert "Alarms in ALARM: none" in result.stdout
    assert backup_endpoint.requests.count("GET /restore-jobs/") == 1


def test_errors_never_print_a_web_page(world: World) -> None:
    """The one-line error of the other commands: the HTTP status instead of the page."""
    from botocore.exceptions import ClientError

    from dr_constructs.cli.aws import aws_error_message

    error = ClientError(
        {"Error": {"Code": "404", "Message": NOT_FOUND_PAGE},
         "ResponseMetadata": {"HTTPStatusCode": 404}}, "ListRestoreJobs",
    )  # fmt: skip
    assert aws_error_message(error) == "ListRestoreJobs: 404: HTTP 404"


def test_an_unknown_profile_is_one_line_exit_2(aws_env: str) -> None:  # noqa: F811
    result = invoke(["status", "--stack", STACK, "--profile", "no-such-profile"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: The config profile (no-such-profile) could not be found"

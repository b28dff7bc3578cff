"""The operator command: discovery, status, bad input (moto server + Stubber).

Restore and drill: tests/test_cli_restore.py, tests/test_cli_drill.py.
"""

from __future__ import annotations

import json
import subprocess
import sys
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
    World,
    _template,
    aws_env,  # noqa: F401  (fixture)
    build_world,
    moto_endpoint,  # noqa: F401  (fixture)
)

NOW = datetime.now(UTC).replace(microsecond=0)
ACCOUNT = "123456789012"  # moto's default account
PLAN_ARN = f"arn:aws:backup:us-east-1:{ACCOUNT}:restore-testing-plan:dr_restore_tests_test"


def invoke(args: list[str], **settings: Any) -> Result:
    return CliRunner().invoke(cli, args, obj=settings)


@pytest.fixture
def world(aws_env: str) -> World:  # noqa: F811
    return build_world(aws_env)


def _point(world: World, arn: str, age: timedelta, kind: str = "snapshot") -> dict[str, Any]:
    rp = "continuous:cluster-x" if kind == "continuous" else f"{int(age.total_seconds())}"
    return {
        "RecoveryPointArn": f"arn:aws:backup:us-east-1:123456789012:recovery-point:{rp}",
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


def _status_backup(world: World, bucket_age: timedelta = timedelta(hours=2)) -> tuple[Any, Stubber]:
    backup = world.client("backup")
    stubber = Stubber(backup)
    test_job = {
        "RestoreJobId": "test-1",
        "RecoveryPointArn": "arn:aws:backup:us-east-1:123456789012:recovery-point:t1",
        "SourceResourceArn": world.cluster_arn,
        "ResourceType": "Aurora",
        "Status": "COMPLETED",
        "CreationDate": NOW - timedelta(hours=5),
        "CompletionDate": NOW - timedelta(hours=5) + timedelta(minutes=42),
        "CreatedBy": {"RestoreTestingPlanArn": PLAN_ARN},
        "ValidationStatus": "SUCCESSFUL",
    }  # fmt: skip
    stubber.add_response(
        "list_restore_jobs",
        {"RestoreJobs": [test_job, {**test_job, "RestoreJobId": "manual", "CreatedBy": {}}]},
        {"ByCreatedAfter": NOW - timedelta(days=30)},
    )
    table_arn = f"arn:aws:dynamodb:us-east-1:123456789012:table/{TABLE}"
    for arn, age in (
        (world.cluster_arn, timedelta(minutes=20)),
        (table_arn, timedelta(minutes=30)),
        (f"arn:aws:s3:::{world.bucket}", bucket_age),
    ):
        stubber.add_response(
            "list_recovery_points_by_backup_vault",
            {"RecoveryPoints": [_point(world, arn, age), _point(world, arn, age * 2)]},
            {"BackupVaultName": VAULT, "ByResourceArn": arn},
        )
    stubber.activate()
    return backup, stubber


def test_status_json_end_to_end(world: World) -> None:
    world.client("cloudwatch").set_alarm_state(
        AlarmName="dr-test-AuroraHighCpu", StateValue="ALARM", StateReason="test"
    )
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
            "arn": "arn:aws:backup:us-east-1:123456789012:recovery-point:1200",
            "created": (NOW - timedelta(minutes=20)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "rpo_met": True,
        "last_restore_test": {
            "job_id": "test-1",
            "status": "COMPLETED",
            "started": (NOW - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "duration_seconds": 42 * 60,
            "validation": "SUCCESSFUL",
            "rto_met": True,
        },
    }
    assert table["pitr"] == "ENABLED" and table["last_restore_test"] is None
    assert bucket == {
        "kind": "bucket",
        "name": world.bucket,
        "latest_recovery_point": {
            "arn": "arn:aws:backup:us-east-1:123456789012:recovery-point:7200",
            "created": (NOW - timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M:%SZ"),
        },
        "age_seconds": 7200,
        "rpo_met": False,
        "last_restore_test": None,
    }
    assert report["alarms_in_alarm"] == ["dr-test-AuroraHighCpu"]
    assert report["breaches"] == [f"bucket {world.bucket}: RPO 3600s"]
    assert report["objectives"] == OBJECTIVES and report["objectives_from_stack"] is True
    assert report["stack"] == STACK and report["region"] == "us-east-1"


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
    assert "42m 00s (RTO 4h 00m)" in out
    assert "Alarms in ALARM: none" in out
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


def test_an_unknown_profile_is_one_line_exit_2(aws_env: str) -> None:  # noqa: F811
    result = invoke(["status", "--stack", STACK, "--profile", "no-such-profile"])
    assert result.exit_code == 2
    assert result.stderr.strip() == "error: The config profile (no-such-profile) could not be found"

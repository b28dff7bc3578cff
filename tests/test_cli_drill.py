"""``dr-constructs drill``: the FIS template found by its tag, started, followed, measured.

FIS (experiment templates and experiments) and RDS (the cluster, its writer, the failover)
are moto's; the health-check function's invocations are answered by botocore's Stubber
(moto runs Lambda code only in Docker), with the report the packaged handler returns.
"""

from __future__ import annotations

import io
import json
from datetime import UTC, datetime
from typing import Any

import pytest
from botocore.response import StreamingBody
from botocore.stub import Stubber
from click.testing import CliRunner, Result

from dr_constructs.cli import cli

from .cli_world import (
    CLUSTER,
    DRILL_TAG,
    FUNCTION,
    READER,
    REGION,
    STACK,
    WRITER,
    FakeTime,
    World,
    aws_env,  # noqa: F401  (fixture)
    build_world,
    deploy_experiment_templates,
    moto_endpoint,  # noqa: F401  (fixture)
)

#: A slow gate: the drills change the moto world (failovers), so each test deploys its own.
pytestmark = pytest.mark.slow

FIXED = datetime(2026, 11, 29, 22, 0, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def synthesized() -> dict[str, dict[str, Any]]:
    """DrPlatform with drills, as ``cdk synth`` writes it: in the world's region (AZs pinned
    a, b, c) and environment-agnostic (AZs picked by Fn::GetAZs at deploy)."""
    from aws_cdk.assertions import Template

    from dr_constructs import DrPlatform

    from .conftest import new_stack

    templates = {}
    for name, region in (("regional", REGION), ("agnostic", None)):
        stack = new_stack(region=region)
        DrPlatform(stack, "Dr", drills=True)
        templates[name] = Template.from_stack(stack).to_json()
    return templates


@pytest.fixture
def world(aws_env: str) -> World:  # noqa: F811
    return build_world(aws_env)


def invoke(args: list[str], **settings: Any) -> Result:
    settings.setdefault("now", lambda: FIXED)
    return CliRunner().invoke(cli, args, obj=settings)


def _health(world: World, statuses: list[str]) -> Any:
    """A Lambda client answering each invocation with the next report status."""
    client = world.client("lambda")
    stubber = Stubber(client)
    for status in statuses:
        body = json.dumps({"status": status, "checks": {}}).encode()
        stubber.add_response(
            "invoke",
            {"StatusCode": 200, "Payload": StreamingBody(io.BytesIO(body), len(body))},
            {"FunctionName": FUNCTION, "Payload": b"{}"},
        )
    stubber.activate()
    return client


def _fail_over_on_first_sleep(world: World, time: FakeTime) -> None:
    rds = world.client("rds")

    def on_sleep(count: int) -> None:
        if count == 1:
            rds.failover_db_cluster(DBClusterIdentifier=CLUSTER, TargetDBInstanceIdentifier=READER)

    time.on_sleep = on_sleep


def test_drill_dry_run_finds_the_template_by_tag(world: World) -> None:
    cloudformation, _ = world.cloudformation()
    result = invoke(
        ["drill", "aurora-failover", "--stack", STACK, "--json"],
        overrides={"cloudformation": cloudformation},
    )
    assert result.exit_code == 0, result.output
    template = world.templates["aurora-failover"]
    request = {
        "experimentTemplateId": template,
        "clientToken": "aurora-failover-20261129220000",
        "tags": {DRILL_TAG: "aurora-failover", "started-by": "dr-constructs"},
    }
    assert json.loads(result.stdout) == {
        "stack": STACK,
        "executed": False,
        "drill": "aurora-failover",
        "experiment_template_id": template,
        "description": "DR drill: aurora-failover",
        "stop_conditions": ["arn:aws:cloudwatch:us-east-1:123456789012:alarm:dr-test-DrillGuard"],
        "request": request,
        "aws_cli": (
            f"aws fis start-experiment --region us-east-1 --experiment-template-id {template} "
            "--client-token aurora-failover-20261129220000 "
            """--tags '{"dr-constructs:drill":"aurora-failover","started-by":"dr-constructs"}'"""
        ),
    }
    assert world.client("fis").list_experiments()["experiments"] == []


def test_drill_az_defaults_to_the_writers_az(world: World) -> None:
    cloudformation, _ = world.cloudformation()
    result = invoke(
        ["drill", "az", "--stack", STACK, "--json"], overrides={"cloudformation": cloudformation}
    )
    assert result.exit_code == 0, result.output
    assert json.loads(result.stdout)["drill"] == "az-us-east-1a"  # the writer's AZ


def test_drill_for_an_az_without_a_template_exit_2(world: World) -> None:
    cloudformation, _ = world.cloudformation()
    result = invoke(
        ["drill", "az", "--az", "us-east-1c", "--stack", STACK, "--yes"],
        overrides={"cloudformation": cloudformation},
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: stack {STACK} has no drill 'az-us-east-1c'; its drills: aurora-failover, "
        "az-us-east-1a; DrDrills builds an AZ drill for every AZ the stack uses: a stack "
        "deployed with an older dr-constructs, or with DrDrills(availability_zones=...), has fewer"
    )
    assert world.client("fis").list_experiments()["experiments"] == []


def test_az_goes_with_the_az_drill_only(world: World) -> None:
    result = invoke(["drill", "aurora-failover", "--az", "us-east-1a", "--stack", STACK])
    assert result.exit_code == 2
    assert "--az goes with the drill az only" in result.stderr


def test_drill_runs_and_measures_the_failover(world: World) -> None:
    cloudformation, _ = world.cloudformation()
    time = FakeTime()
    _fail_over_on_first_sleep(world, time)
    health = _health(world, ["ok", "failed", "ok", "ok", "ok", "ok"])
    result = invoke(
        ["drill", "aurora-failover", "--stack", STACK, "--yes", "--json", "--interval", "10"],
        overrides={"cloudformation": cloudformation, "lambda": health},
        sleep=time.sleep, clock=time.clock,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    outcome = json.loads(result.stdout)["result"]
    experiments = world.client("fis").list_experiments()["experiments"]
    assert [e["id"] for e in experiments] == [outcome["experiment_id"]]
    assert experiments[0]["tags"][DRILL_TAG] == "aurora-failover"
    del outcome["experiment_id"]
    assert outcome == {
        "state": "completed",
        "writer_before": WRITER,
        "writer_after": READER,
        "writer_moved_after_seconds": 10.0,
        "health_check_failed_after_seconds": 10.0,
        "health_check_recovered_after_seconds": 20.0,
        "failover_seconds": 20.0,
        "rto_seconds": 900,  # the stack's az_loss objective
        "rto_met": True,
        "problems": [],
    }


def test_a_failover_slower_than_the_az_loss_rto_exits_1(world: World) -> None:
    cloudformation, _ = world.cloudformation()
    time = FakeTime()
    _fail_over_on_first_sleep(world, time)
    health = _health(world, ["ok", "failed", "failed", "ok", "ok", "ok", "ok"])
    result = invoke(
        ["drill", "aurora-failover", "--stack", STACK, "--yes", "--interval", "600"],
        overrides={"cloudformation": cloudformation, "lambda": health},
        sleep=time.sleep, clock=time.clock,
    )  # fmt: skip
    assert result.exit_code == 1, result.output
    assert "Health check failed, recovered after 30m 00s" in result.stdout
    assert "Failover 30m 00s: BEYOND the az_loss RTO of 15m 00s" in result.stdout


def test_a_drill_that_does_not_move_the_writer_exits_1(world: World) -> None:
    cloudformation, _ = world.cloudformation()
    time = FakeTime()
    health = _health(world, ["ok"] * 6)
    result = invoke(
        ["drill", "aurora-failover", "--stack", STACK, "--yes", "--json"],
        overrides={"cloudformation": cloudformation, "lambda": health},
        sleep=time.sleep, clock=time.clock,
    )  # fmt: skip
    assert result.exit_code == 1
    assert json.loads(result.stdout)["result"]["problems"] == ["the writer did not move"]


@pytest.mark.parametrize("variant", ["regional", "agnostic"])
def test_drill_az_after_a_failover_finds_the_template_of_the_writers_new_az(
    world: World, synthesized: dict[str, dict[str, Any]], variant: str
) -> None:
    """Issue 18: after any failover the writer is in another AZ; ``drill az`` (the writer's AZ
    now) must find that AZ's template, in a stack deployed from DrPlatform's template."""
    created = deploy_experiment_templates(world, synthesized[variant])
    assert {"az-us-east-1a", "az-us-east-1b", "az-us-east-1c"} <= set(created)
    rds = world.client("rds")
    rds.failover_db_cluster(DBClusterIdentifier=CLUSTER, TargetDBInstanceIdentifier=READER)
    members = rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0]
    (writer,) = [m["DBInstanceIdentifier"] for m in members["DBClusterMembers"]
                 if m["IsClusterWriter"]]  # fmt: skip
    assert writer == READER  # the reader in us-east-1b is the writer now

    cloudformation, _ = world.cloudformation()
    result = invoke(
        ["drill", "az", "--stack", STACK, "--json"], overrides={"cloudformation": cloudformation}
    )

    assert result.exit_code == 0, result.output
    plan = json.loads(result.stdout)
    assert plan["executed"] is False
    assert plan["drill"] == "az-us-east-1b"
    assert plan["experiment_template_id"] == created["az-us-east-1b"]
    assert "lose AZ us-east-1b" in plan["description"]
    assert world.client("fis").list_experiments()["experiments"] == []


def test_a_stack_without_the_writers_az_drill_says_where_the_writer_is(world: World) -> None:
    """A stack deployed before every AZ had a drill (only az-us-east-1a, as build_world has)."""
    rds = world.client("rds")
    rds.failover_db_cluster(DBClusterIdentifier=CLUSTER, TargetDBInstanceIdentifier=READER)
    cloudformation, _ = world.cloudformation()
    result = invoke(
        ["drill", "az", "--stack", STACK, "--yes"], overrides={"cloudformation": cloudformation}
    )
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: stack {STACK} has no drill 'az-us-east-1b' (the writer is in us-east-1b now); "
        "its drills: aurora-failover, az-us-east-1a; DrDrills builds an AZ drill for every AZ "
        "the stack uses: a stack deployed with an older dr-constructs, or with "
        "DrDrills(availability_zones=...), has fewer"
    )

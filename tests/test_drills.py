"""DrDrills: FIS experiment templates, their role, stop conditions, measurement and validation."""

from __future__ import annotations

import itertools
import json
import logging
from typing import Any

import pytest
from aws_cdk import Duration
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk.assertions import Template
from moto.events.models import EventPattern

from dr_constructs import DrConfigurationError, DrDrills, DrPlatform
from dr_constructs.drills import DRILL_TAG, MAX_GUARD_MINUTES

from .conftest import new_stack, normalised, ref_of, resources_of

#: The AZs of the stack (us-east-1's pinned letters): one AZ drill each.
ZONES = ("us-east-1a", "us-east-1b", "us-east-1c")


@pytest.fixture(scope="module")
def built() -> tuple[DrPlatform, Template]:
    stack = new_stack()
    platform = DrPlatform(stack, "Dr", environment_suffix="prod", drills=True)
    return platform, Template.from_stack(stack)


@pytest.fixture(scope="module")
def template(built: tuple[DrPlatform, Template]) -> Template:
    return built[1]


def _drill_resources(template: Template) -> dict[str, Any]:
    body = normalised(template)
    return {
        k: v for k, v in body["Resources"].items() if k.startswith("DrDrills") or "DrillGuard" in k
    }


def _experiments(template: Template) -> dict[str, dict[str, Any]]:
    found = resources_of(template, "AWS::FIS::ExperimentTemplate").values()
    return {e["Properties"]["Tags"][DRILL_TAG]: e["Properties"] for e in found}


def test_snapshot(template: Template, snapshot_json: Any) -> None:
    assert _drill_resources(template) == snapshot_json


def test_drills_take_the_writer_az_the_database_publishes(
    built: tuple[DrPlatform, Template],
) -> None:
    """DrDatabase publishes the AZ its writer is pinned to; DrDrills takes it (issue 19)."""
    platform, template = built
    instances = resources_of(template, "AWS::RDS::DBInstance")
    (writer,) = [v for k, v in instances.items() if "Writer" in k]
    zone = writer["Properties"]["AvailabilityZone"]
    assert platform.database.writer_availability_zone == zone == ZONES[0]
    assert platform.drills is not None
    assert platform.drills.writer_availability_zone == zone


def test_off_by_default() -> None:
    stack = new_stack()
    platform = DrPlatform(stack, "Dr")
    assert platform.drills is None
    Template.from_stack(stack).resource_count_is("AWS::FIS::ExperimentTemplate", 0)


def test_one_template_per_drill_and_per_az(template: Template) -> None:
    """An AZ drill for every AZ the stack uses, not only the writer's AZ at synth: after any
    failover the writer is elsewhere, and its AZ's loss must still be rehearsable (issue 18)."""
    assert sorted(_experiments(template)) == [
        "aurora-failover", *(f"az-{z}" for z in ZONES), "dynamodb-unreachable", "s3-unreachable",
    ]  # fmt: skip


def test_aurora_failover_targets_the_stack_cluster(template: Template) -> None:
    drill = _experiments(template)["aurora-failover"]
    (action,) = drill["Actions"].values()
    assert action["ActionId"] == "aws:rds:failover-db-cluster"
    target = drill["Targets"][action["Targets"]["Clusters"]]
    assert target["ResourceType"] == "aws:rds:cluster" and target["SelectionMode"] == "ALL"
    (arn,) = target["ResourceArns"]
    (cluster_id,) = resources_of(template, "AWS::RDS::DBCluster")
    assert ref_of(arn) == cluster_id and ":cluster:" in json.dumps(arn)


@pytest.mark.parametrize("zone", ZONES)
def test_az_drill_cuts_its_az_subnets_and_fails_over_while_the_writer_is_there(
    template: Template, zone: str
) -> None:
    drill = _experiments(template)[f"az-{zone}"]
    actions = {a["ActionId"]: a for a in drill["Actions"].values()}
    assert set(actions) == {"aws:network:disrupt-connectivity", "aws:rds:failover-db-cluster"}
    disrupt = actions["aws:network:disrupt-connectivity"]
    assert disrupt["Parameters"] == {"duration": "PT10M", "scope": "all"}
    failover = actions["aws:rds:failover-db-cluster"]
    cluster = drill["Targets"][failover["Targets"]["Clusters"]]
    assert cluster["Parameters"] == {"writerAvailabilityZoneIdentifiers": zone}
    # the failover is skipped, not the drill failed, when the writer has moved elsewhere
    assert drill["ExperimentOptions"]["EmptyTargetResolutionMode"] == "skip"
    target = drill["Targets"][disrupt["Targets"]["Subnets"]]
    assert target["ResourceType"] == "aws:ec2:subnet"
    subnets = resources_of(template, "AWS::EC2::Subnet")
    targeted = {ref_of(arn) for arn in target["ResourceArns"]}
    # exactly the isolated (data and Lambda tier) subnets in the drilled AZ
    expected = {
        k for k, s in subnets.items()
        if s["Properties"]["AvailabilityZone"] == zone and "Isolated" in json.dumps(s)
    }  # fmt: skip
    assert targeted == expected and len(expected) == 1


@pytest.mark.parametrize("service", ["dynamodb", "s3"])
def test_dependency_drills_scope_the_service_on_every_tier_subnet(
    template: Template, service: str
) -> None:
    drill = _experiments(template)[f"{service}-unreachable"]
    (action,) = drill["Actions"].values()
    assert action["ActionId"] == "aws:network:disrupt-connectivity"
    assert action["Parameters"] == {"duration": "PT10M", "scope": service}
    target = drill["Targets"][action["Targets"]["Subnets"]]
    isolated = {
        k for k, s in resources_of(template, "AWS::EC2::Subnet").items()
        if "Isolated" in json.dumps(s)
    }  # fmt: skip
    assert {ref_of(a) for a in target["ResourceArns"]} == isolated and len(isolated) == 3


def test_only_the_az_drill_skips_empty_targets(template: Template) -> None:
    modes = {n: d["ExperimentOptions"]["EmptyTargetResolutionMode"]
             for n, d in _experiments(template).items()}  # fmt: skip
    assert modes == {"aurora-failover": "fail", **{f"az-{z}": "skip" for z in ZONES},
                     "dynamodb-unreachable": "fail", "s3-unreachable": "fail"}  # fmt: skip


def test_every_drill_is_safe(template: Template) -> None:
    alarms = resources_of(template, "AWS::CloudWatch::Alarm")
    log_groups = resources_of(template, "AWS::Logs::LogGroup")
    roles = resources_of(template, "AWS::IAM::Role")
    for drill in _experiments(template).values():
        stops = drill["StopConditions"]
        assert stops and all(s["Source"] == "aws:cloudwatch:alarm" for s in stops)
        assert {ref_of(s["Value"]) for s in stops} <= set(alarms)
        assert any("DrillGuard" in ref_of(s["Value"]) for s in stops)
        assert drill["ExperimentOptions"]["AccountTargeting"] == "single-account"
        log = drill["LogConfiguration"]
        assert log["LogSchemaVersion"] == 2
        group = ref_of(log["CloudWatchLogsConfiguration"]["LogGroupArn"])
        assert "KmsKeyId" in log_groups[group]["Properties"]
        assert ref_of(drill["RoleArn"]) in roles
        assert drill["Description"].startswith("DR drill: ")


def test_nothing_runs_on_deploy(template: Template) -> None:
    body = json.dumps(template.to_json())
    assert "StartExperiment" not in body and "fis:Start" not in body
    assert not [t for t in (r["Type"] for r in template.to_json()["Resources"].values())
                if t.startswith("Custom::") and "Fis" in t]  # fmt: skip


def test_role_may_touch_only_this_stacks_cluster_and_subnets(template: Template) -> None:
    (role_id,) = [k for k in resources_of(template, "AWS::IAM::Role") if k.startswith("DrDrills")]
    role = resources_of(template, "AWS::IAM::Role")[role_id]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "fis.amazonaws.com"}
    assert trust["Condition"] == {"StringEquals": {"aws:SourceAccount": "123456789012"}}
    assert "ManagedPolicyArns" not in role
    (policy,) = [
        p["Properties"] for k, p in resources_of(template, "AWS::IAM::ManagedPolicy").items()
        if k.startswith("DrDrills")
    ]  # fmt: skip
    statements = {s["Sid"]: s for s in policy["PolicyDocument"]["Statement"]}
    (cluster_id,) = resources_of(template, "AWS::RDS::DBCluster")
    assert ref_of(statements["FailOverCluster"]["Resource"]) == cluster_id
    swap = statements["SwapSubnetNetworkAcl"]
    subnet_refs = {ref_of(r) for r in swap["Resource"] if ":subnet/" in json.dumps(r)}
    isolated = {
        k for k, s in resources_of(template, "AWS::EC2::Subnet").items()
        if "Isolated" in json.dumps(s)
    }  # fmt: skip
    assert subnet_refs == isolated
    for sid in ("CreateFisNetworkAcl", "TagFisNetworkAcl"):
        assert statements[sid]["Condition"]["StringEquals"]["aws:RequestTag/managedByFIS"] == "true"
    changes = statements["ChangeFisNetworkAcl"]["Condition"]["StringEquals"]
    assert changes == {"ec2:ResourceTag/managedByFIS": "true"}
    wildcard = [s for s in statements.values() if s["Resource"] == "*"]
    assert [s["Sid"] for s in wildcard] == ["DescribeTargetsAndLog"]
    assert all(
        a.split(":")[1].startswith(("Describe", "Get")) or a.startswith("logs:")
        for a in wildcard[0]["Action"]
    )
    actions = {a for s in statements.values() for a in _as_list(s["Action"])}
    assert not any(a.endswith("*") for a in actions)


def test_guard_alarm_is_derived_from_the_az_loss_rto(template: Template) -> None:
    (guard,) = [
        a["Properties"] for k, a in resources_of(template, "AWS::CloudWatch::Alarm").items()
        if "DrillGuard" in k
    ]  # fmt: skip
    # default AZ-loss RTO 4 hours: 240 minutes, capped at the factory's 100 periods
    assert guard["EvaluationPeriods"] == MAX_GUARD_MINUTES
    assert guard["Threshold"] == 0
    assert guard["ComparisonOperator"] == "GreaterThanThreshold"
    expression = next(m for m in guard["Metrics"] if "Expression" in m)
    assert expression["Expression"] == "FILL(reports, 0) + FILL(errors, 0)"
    periods = {m["MetricStat"]["Period"] for m in guard["Metrics"] if "MetricStat" in m}
    assert periods == {60}
    assert guard["AlarmActions"]  # to the topic


def test_tighter_objective_tightens_the_guard() -> None:
    stack = new_stack()
    platform = DrPlatform(stack, "Dr")
    drills = DrDrills(
        stack, "Drills", network=platform.network, cluster=platform.cluster,
        function=platform.function, observability=platform.observability,
        az_loss_rto=Duration.minutes(15), availability_zones=["us-east-1b", "us-east-1c"],
        disruption_duration=Duration.minutes(5),
    )  # fmt: skip
    template = Template.from_stack(stack)
    (guard,) = [
        a["Properties"] for k, a in resources_of(template, "AWS::CloudWatch::Alarm").items()
        if "DrillGuard" in k
    ]  # fmt: skip
    assert guard["EvaluationPeriods"] == 15
    assert sorted(drills.experiments) == [
        "aurora-failover", "az-us-east-1b", "az-us-east-1c", "dynamodb-unreachable",
        "s3-unreachable",
    ]  # fmt: skip
    disrupt = drills.experiments["az-us-east-1b"].actions["DisruptNetwork"]  # type: ignore[index]
    assert disrupt.parameters == {"duration": "PT5M", "scope": "all"}


def test_heartbeat_runs_the_health_check_every_minute(template: Template) -> None:
    (rule,) = [
        r["Properties"] for k, r in resources_of(template, "AWS::Events::Rule").items()
        if k.startswith("DrFunctionSchedule")
    ]  # fmt: skip
    assert rule["ScheduleExpression"] == "rate(1 minute)"
    (target,) = rule["Targets"]
    functions = resources_of(template, "AWS::Lambda::Function")
    (health_check,) = [k for k, f in functions.items()
                       if f["Properties"].get("FunctionName") == "dr-function-prod"]  # fmt: skip
    assert ref_of(target["Arn"]) == health_check
    assert target["RetryPolicy"]["MaximumRetryAttempts"] == 0


def test_failure_metric_filter_counts_reports_that_are_not_ok(template: Template) -> None:
    """The filter's terms (CloudWatch Logs: all terms, case-sensitive) against the lines the
    health check logs in Lambda's text format: ``[LEVEL]\\t<time>\\t<request id>\\t<msg>``."""
    (metric_filter,) = resources_of(template, "AWS::Logs::MetricFilter").values()
    pattern = metric_filter["Properties"]["FilterPattern"]
    terms = json.loads("[" + pattern.replace('" "', '", "') + "]")

    def line(level: int, status: str) -> str:
        record = logging.LogRecord("h", level, "", 0, "health check report: %s", None, None)
        record.args = (json.dumps({"status": status, "checks": {}}),)
        name = logging.getLevelName(level)
        return f"[{name}]\t2026-11-29T12:00:00.000Z\tabc-123\t{record.getMessage()}"

    def matches(message: str) -> bool:
        return all(term in message for term in terms)

    assert matches(line(logging.WARNING, "failed"))
    assert matches(line(logging.WARNING, "degraded"))
    assert not matches(line(logging.INFO, "ok"))


_FIS_EVENT = {
    "version": "0", "id": "1", "detail-type": "FIS Experiment State Change",
    "source": "aws.fis", "account": "123456789012", "time": "2026-11-29T12:00:00Z",
    "region": "us-east-1", "resources": ["arn:aws:fis:us-east-1:123456789012:experiment/EXP1"],
    "detail": {"experiment-id": "EXP1", "experiment-template-id": "EXT1",
               "new-state": {"status": "completed", "reason": "Experiment completed."},
               "old-state": {"status": "running", "reason": "Experiment is running."}},
}  # fmt: skip


def _rds_event(cluster_arn: str, category: str, event_id: str) -> dict[str, Any]:
    """An RDS cluster event as RDS sends it to EventBridge (Amazon RDS user guide)."""
    return {
        "version": "0", "id": "2", "detail-type": "RDS DB Cluster Event", "source": "aws.rds",
        "account": "123456789012", "time": "2026-11-29T12:01:00Z", "region": "us-east-1",
        "resources": [cluster_arn],
        "detail": {"EventCategories": [category], "SourceType": "CLUSTER",
                   "SourceArn": cluster_arn, "Date": "2026-11-29T12:01:00.000Z",
                   "Message": "Completed failover to DB instance: dr-aurora-prod-reader1",
                   "SourceIdentifier": "dr-aurora-prod", "EventID": event_id},
    }  # fmt: skip


def test_run_events_reach_the_topic(template: Template) -> None:
    rules = [
        r["Properties"] for k, r in resources_of(template, "AWS::Events::Rule").items()
        if k.startswith("DrDrills")
    ]  # fmt: skip
    (cluster_id,) = resources_of(template, "AWS::RDS::DBCluster")
    arn = "arn:aws:rds:us-east-1:123456789012:cluster:dr-aurora-prod"

    def rules_reached(event: dict[str, Any]) -> int:
        hits = 0
        for rule in rules:
            pattern = dict(rule["EventPattern"])
            if "resources" in pattern:  # the cluster's ARN, deployed
                assert ref_of(pattern["resources"]) == cluster_id
                pattern["resources"] = [arn]
            if EventPattern.load(json.dumps(pattern)).matches_event(event):
                assert rule["Targets"][0]["Arn"] == {"Ref": _topic(template)}
                hits += 1
        return hits

    assert rules_reached(_FIS_EVENT) == 1
    assert rules_reached(_rds_event(arn, "failover", "RDS-EVENT-0071")) == 1
    assert rules_reached(_rds_event(arn, "notification", "RDS-EVENT-0173")) == 0
    other = arn.replace("dr-aurora-prod", "other")
    assert rules_reached(_rds_event(other, "failover", "RDS-EVENT-0071")) == 0


def _topic(template: Template) -> str:
    (topic_id,) = resources_of(template, "AWS::SNS::Topic")
    return topic_id


# --- bad configuration -------------------------------------------------------------------


_IDS = itertools.count()


@pytest.fixture(scope="module")
def platform_for_errors() -> DrPlatform:
    return DrPlatform(new_stack(), "Dr")


def _drills(platform: DrPlatform, id: str, **props: Any) -> DrDrills:
    return DrDrills(
        platform, id, network=platform.network, cluster=platform.cluster,
        function=platform.function, observability=platform.observability, **props,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"availability_zones": ["us-east-1d"]}, r"availability_zones='us-east-1d'.*us-east-1a"),
        ({"availability_zones": []}, r"availability_zones=\[\]"),
        ({"availability_zones": "us-east-1a"}, r"availability_zones='us-east-1a'"),
        ({"disruption_duration": Duration.seconds(30)}, r"disruption_duration"),
        ({"disruption_duration": Duration.seconds(90)}, r"disruption_duration.*whole minutes"),
        ({"disruption_duration": Duration.hours(13)}, r"disruption_duration"),
        ({"heartbeat_interval": Duration.hours(2)}, r"heartbeat_interval"),
        ({"az_loss_rto": 60}, r"az_loss_rto"),
        ({"stop_alarms": ["dr-prod-x"]}, r"stop_alarms='str'.*cloudwatch.IAlarm"),
    ],
)
def test_bad_drill_configuration(
    platform_for_errors: DrPlatform, props: dict[str, Any], message: str
) -> None:
    with pytest.raises(DrConfigurationError, match=message):
        _drills(platform_for_errors, f"Bad{next(_IDS)}", **props)


def test_target_type_must_fit_the_action(platform_for_errors: DrPlatform) -> None:
    drills = _drills(platform_for_errors, "Custom", availability_zones=["us-east-1a"])
    with pytest.raises(DrConfigurationError, match=r"targets\['Db'\].*'aws:rds:cluster'"):
        drills.add_experiment(
            "wrong-target", description="x",
            actions={"Failover": ("aws:rds:failover-db-cluster", "Db", {})},
            targets={"Db": ("aws:ec2:subnet", ["arn:aws:ec2:us-east-1:1:subnet/subnet-1"])},
        )  # fmt: skip
    with pytest.raises(DrConfigurationError, match=r"scope.*'everything'.*one of 'all'"):
        drills.add_experiment(
            "wrong-scope", description="x",
            actions={"Cut": ("aws:network:disrupt-connectivity", "S",
                             {"duration": "PT1M", "scope": "everything"})},
            targets={"S": ("aws:ec2:subnet", ["arn:aws:ec2:us-east-1:1:subnet/subnet-1"])},
        )  # fmt: skip
    with pytest.raises(DrConfigurationError, match=r"'aws:ec2:stop-instances'.*one of"):
        drills.add_experiment(
            "unknown-action", description="x",
            actions={"Stop": ("aws:ec2:stop-instances", "S", {})},
            targets={"S": ("aws:ec2:instance", ["arn:aws:ec2:us-east-1:1:instance/i-1"])},
        )  # fmt: skip
    with pytest.raises(DrConfigurationError, match=r"add_experiment\(name\)='aurora-failover'"):
        drills.add_experiment("aurora-failover", description="x", actions={}, targets={})


def test_stop_alarms_must_be_alarms_not_metrics(platform_for_errors: DrPlatform) -> None:
    metric = cloudwatch.Metric(namespace="X", metric_name="Y")
    with pytest.raises(DrConfigurationError, match=r"stop_alarms='Metric'"):
        _drills(platform_for_errors, "Metric", stop_alarms=[metric])


def test_platform_drills_flag_must_be_a_bool() -> None:
    with pytest.raises(DrConfigurationError, match=r"DrPlatform: invalid drills='yes'"):
        DrPlatform(new_stack(), "Dr", drills="yes")  # type: ignore[arg-type]


def _as_list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


def test_same_suffix_twice_in_one_environment_is_reported() -> None:
    stack = new_stack()
    first, second = (
        DrPlatform(stack, "First", environment_suffix="one"),
        DrPlatform(stack, "Second", environment_suffix="two"),
    )
    _drills(first, "Drills", environment_suffix="twice")
    with pytest.raises(DrConfigurationError, match=r"environment_suffix='twice'.*/aws/fis/dr-"):
        _drills(second, "Drills", environment_suffix="twice")


def test_an_environment_agnostic_stack_gets_an_az_drill_per_az_named_at_deploy() -> None:
    """No AZ is known at synth (Fn::GetAZs picks): one template per AZ position, its tag
    ``az-<zone>`` joined by CloudFormation from the same pick as its subnets' AZ."""
    stack = new_stack(region=None)
    DrPlatform(stack, "Dr", drills=True)
    experiments = resources_of(Template.from_stack(stack), "AWS::FIS::ExperimentTemplate")
    az_drills = {k: e["Properties"] for k, e in experiments.items() if "Az" in k}
    assert sorted(az_drills) == [
        k
        for k in sorted(experiments)
        if k.startswith(("DrDrillsAz1", "DrDrillsAz2", "DrDrillsAz3"))
    ]
    assert len(az_drills) == 3
    picks = []
    for drill in az_drills.values():
        tag = drill["Tags"][DRILL_TAG]
        assert tag["Fn::Join"][1][0] == "az-"
        pick = tag["Fn::Join"][1][1]
        assert pick["Fn::Select"][1] == {"Fn::GetAZs": ""}
        cluster = next(
            t for t in drill["Targets"].values() if t["ResourceType"] == "aws:rds:cluster"
        )
        assert cluster["Parameters"] == {"writerAvailabilityZoneIdentifiers": pick}
        picks.append(pick["Fn::Select"][0])
    assert sorted(picks) == [0, 1, 2]


def test_skip_empty_targets_must_be_a_bool() -> None:
    drills = DrPlatform(new_stack(), "Dr", drills=True).drills
    assert drills is not None
    with pytest.raises(DrConfigurationError, match=r"skip_empty_targets\)=1; accepted: True or"):
        drills.add_experiment(
            "custom",
            description="x",
            actions={},
            targets={},
            skip_empty_targets=1,  # type: ignore[arg-type]
        )

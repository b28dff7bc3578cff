"""DrObservability: topic, alarms, dashboard, AWS Backup job rules, bring-your-own topic."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template

from dr_constructs import DrConfigurationError, DrObservability
from dr_constructs.observability import BACKUP_JOB_EVENTS

from .conftest import ACCOUNT, new_stack, normalised, only, resources_of


@pytest.fixture(scope="module")
def template() -> Template:
    stack = new_stack()
    obs = DrObservability(stack, "Observability", environment_suffix="prod")
    fn = lambda_.Function(stack, "Fn", runtime=lambda_.Runtime.PYTHON_3_13, handler="i.h",
                          code=lambda_.Code.from_inline("def h(e, c): pass"))  # fmt: skip
    obs.watch_function(fn)
    return Template.from_stack(stack)


def test_snapshot(template: Template, snapshot_json: Any) -> None:
    assert normalised(template) == snapshot_json


def test_rules_for_backup_restore_and_copy_jobs(template: Template) -> None:
    rules = [
        r["Properties"]["EventPattern"]
        for r in resources_of(template, "AWS::Events::Rule").values()
    ]
    assert sorted(p["detail-type"][0] for p in rules) == sorted(BACKUP_JOB_EVENTS.values())
    assert all(
        "FAILED" in p["detail"]["state"] and "COMPLETED" in p["detail"]["state"] for p in rules
    )


def test_alarms_notify_on_alarm_and_recovery(template: Template) -> None:
    alarms = [a["Properties"] for a in resources_of(template, "AWS::CloudWatch::Alarm").values()]
    assert {a["AlarmName"] for a in alarms} == {"dr-prod-BackupJobsFailed", "dr-prod-LambdaErrors"}
    assert all(a["AlarmActions"] == a["OKActions"] for a in alarms)
    assert all(a["TreatMissingData"] == "notBreaching" for a in alarms)


def test_topic_encrypted_and_named(template: Template) -> None:
    topic = only(template, "AWS::SNS::Topic")
    assert topic["TopicName"] == "dr-alerts-prod" and "KmsMasterKeyId" in topic
    key = json.dumps(only(template, "AWS::KMS::Key"))
    assert "cloudwatch.amazonaws.com" in key and "events.amazonaws.com" in key


def test_bring_your_own_topic() -> None:
    stack = new_stack()
    topic = sns.Topic.from_topic_arn(stack, "Mine", "arn:aws:sns:us-east-1:123456789012:ops")
    obs = DrObservability(stack, "Observability", topic=topic)
    assert obs.topic is topic
    template = Template.from_stack(stack)
    template.resource_count_is("AWS::SNS::Topic", 0)
    template.resource_count_is("AWS::KMS::Key", 0)


def test_bad_suffix() -> None:
    with pytest.raises(DrConfigurationError, match=r"environment_suffix='-x'"):
        DrObservability(new_stack(), "Observability", environment_suffix="-x")


def test_a_second_resource_of_a_kind_needs_its_own_alarm_name() -> None:
    stack = new_stack()
    obs = DrObservability(stack, "Observability")
    code = lambda_.Code.from_inline("def h(e, c): pass")
    first, second = (
        lambda_.Function(stack, f"Fn{i}", runtime=lambda_.Runtime.PYTHON_3_13, handler="i.h",
                         code=code)
        for i in (1, 2)
    )  # fmt: skip
    obs.watch_function(first)
    with pytest.raises(DrConfigurationError, match=r"alarm name='LambdaErrors'.*name=\.\.\."):
        obs.watch_function(second)
    assert obs.watch_function(second, name="WorkerErrors").alarm_name is not None
    names = {a.node.id for a in obs.alarms}
    assert {"LambdaErrorsAlarm", "WorkerErrorsAlarm"} <= names


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("us-east-1", "DR-Dashboard-prod"),  # the spec's name in the spec's region
        ("us-west-2", "DR-Dashboard-prod-us-west-2"),
        (None, {"Fn::Join": ["", ["DR-Dashboard-prod-", {"Ref": "AWS::Region"}]]}),
    ],
)
def test_dashboard_name_is_unique_per_account(region: str | None, expected: Any) -> None:
    stack = new_stack(region)
    DrObservability(stack, "Observability", environment_suffix="prod")
    dashboard = only(Template.from_stack(stack), "AWS::CloudWatch::Dashboard")
    assert dashboard["DashboardName"] == expected


def test_same_suffix_in_two_regions_of_one_account() -> None:
    """Dashboards are per account: two regions get two names; a second one in the same
    account and region (or in two environment-agnostic stacks) is reported at synth."""
    app = App(analytics_reporting=False)
    stacks = {
        name: Stack(app, name, env=Environment(account=ACCOUNT, region=region) if region else None)
        for name, region in (("East", "us-east-1"), ("West", "us-west-2"), ("East2", "us-east-1"),
                             ("Any", None), ("Any2", None))
    }  # fmt: skip
    DrObservability(stacks["East"], "Observability", environment_suffix="prod")
    DrObservability(stacks["West"], "Observability", environment_suffix="prod")
    DrObservability(stacks["Any"], "Observability", environment_suffix="prod")
    for again in ("East2", "Any2"):
        with pytest.raises(DrConfigurationError, match=r"environment_suffix='prod'.*dashboard"):
            DrObservability(stacks[again], "Observability", environment_suffix="prod")
    names = {
        name: Template.from_stack(stacks[name]).to_json()["Resources"] for name in ("East", "West")
    }
    assert [
        r["Properties"]["DashboardName"]
        for name in ("East", "West")
        for r in names[name].values()
        if r["Type"] == "AWS::CloudWatch::Dashboard"
    ] == ["DR-Dashboard-prod", "DR-Dashboard-prod-us-west-2"]


@pytest.mark.parametrize("method", ["watch_cluster", "watch_table", "watch_function"])
def test_watching_a_name_instead_of_a_resource_is_reported(method: str) -> None:
    observability = DrObservability(new_stack(), "Observability")
    with pytest.raises(DrConfigurationError, match=rf"invalid {method}\(\w+\)='name'; accepted"):
        getattr(observability, method)("name")

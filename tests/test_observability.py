"""DrObservability: topic, alarms, dashboard, AWS Backup job rules, bring-your-own topic."""

from __future__ import annotations

import fnmatch
import json
import os
import re
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from moto import mock_aws

from dr_constructs import DrConfigurationError, DrObservability, DrPlatform
from dr_constructs.observability import BACKUP_JOB_EVENTS

from .conftest import (
    ACCOUNT,
    RECOMMENDED_FLAGS,
    REGION,
    new_stack,
    normalised,
    only,
    resolved,
    resources_of,
)

#: AWS's documented example events of AWS Backup (the file names its source).
DOCUMENTED_EVENTS: dict[str, dict[str, Any]] = json.loads(
    (Path(__file__).parent / "data" / "aws_backup_events.json").read_text()
)["events"]
#: The rule each documented event must reach the topic through; None: no notification.
NOTIFIED_BY = {
    "backup job FAILED": "BackupJobs",
    "backup job COMPLETED": "BackupJobs",
    "backup job RUNNING": None,
    "restore job COMPLETED": "RestoreJobs",
    "restore job FAILED": "RestoreJobs",
    "restore job RUNNING": None,
    "restore job CREATED": None,
    "copy job FAILED": "CopyJobs",
    "copy job COMPLETED": "CopyJobs",
    "recovery point COMPLETED": None,  # detail.status COMPLETED, but not a job event
    "backup job FAILED from another source": None,
}


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


@pytest.fixture(scope="module")
def notified_through(template: Template) -> Iterator[Callable[[dict[str, Any]], set[str]]]:
    """Put an event on moto's EventBridge, where the template's rules (event patterns as
    synthesized) are installed, and return the names of the rules that delivered it.

    Each rule's one target is the topic; moto's EventBridge delivers to SQS but not to SNS,
    so a queue per rule stands in for the topic.
    """
    (topic,) = resources_of(template, "AWS::SNS::Topic")
    with mock_aws():
        events = boto3.client("events", region_name=REGION)
        sqs = boto3.client("sqs", region_name=REGION)
        queues = {}
        for logical_id, rule in resources_of(template, "AWS::Events::Rule").items():
            (target,) = rule["Properties"]["Targets"]
            assert target["Arn"] == {"Ref": topic}, logical_id
            (name,) = (n for n in BACKUP_JOB_EVENTS if logical_id.startswith(f"Observability{n}"))
            queue = sqs.create_queue(QueueName=name)["QueueUrl"]
            queue_arn = sqs.get_queue_attributes(QueueUrl=queue, AttributeNames=["QueueArn"])
            events.put_rule(Name=name, EventPattern=json.dumps(rule["Properties"]["EventPattern"]))
            events.put_targets(
                Rule=name, Targets=[{"Id": "Topic", "Arn": queue_arn["Attributes"]["QueueArn"]}]
            )
            queues[name] = queue
        assert set(queues) == set(BACKUP_JOB_EVENTS)

        def notified(event: dict[str, Any]) -> set[str]:
            sent = events.put_events(
                Entries=[
                    {
                        "Source": event["source"],
                        "DetailType": event["detail-type"],
                        "Resources": event["resources"],
                        "Detail": json.dumps(event["detail"]),
                    }
                ]
            )
            assert sent["FailedEntryCount"] == 0
            delivered = set()
            for name, queue in queues.items():
                for message in sqs.receive_message(QueueUrl=queue).get("Messages", []):
                    assert json.loads(message["Body"])["detail"] == event["detail"]
                    sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
                    delivered.add(name)
            return delivered

        yield notified


@pytest.mark.parametrize("event", sorted(DOCUMENTED_EVENTS))
def test_documented_backup_events_reach_the_topic_through_their_rule(
    event: str, notified_through: Callable[[dict[str, Any]], set[str]]
) -> None:
    """Backup and copy job events carry ``detail.state``, restore job events ``detail.status``:
    each job's completion and failure reach the topic, other events and states do not."""
    expected = NOTIFIED_BY[event]
    assert notified_through(DOCUMENTED_EVENTS[event]) == ({expected} if expected else set())


def test_alarms_notify_on_alarm_and_recovery(template: Template) -> None:
    alarms = [a["Properties"] for a in resources_of(template, "AWS::CloudWatch::Alarm").values()]
    assert {a["AlarmName"] for a in alarms} == {"dr-prod-LambdaErrors"}
    assert all(a["AlarmActions"] == a["OKActions"] for a in alarms)
    assert all(a["TreatMissingData"] == "notBreaching" for a in alarms)


def test_topic_encrypted_and_named(template: Template) -> None:
    topic = only(template, "AWS::SNS::Topic")
    assert topic["TopicName"] == "dr-alerts-prod" and "KmsMasterKeyId" in topic
    key = json.dumps(only(template, "AWS::KMS::Key"))
    assert "cloudwatch.amazonaws.com" in key and "events.amazonaws.com" in key


#: A CloudWatch alarm's ARN as AWS names it when the alarm publishes ("Resource:
#: arn:aws:cloudwatch:us-east-1:ACCOUNT_ID:alarm:ALARM_NAME is not authorized to perform:
#: SNS:Publish", AWS re:Post Knowledge Center, "Why didn't I receive an SNS notification for my
#: CloudWatch alarm trigger?").
ALARM_ARN = "arn:aws:cloudwatch:{region}:{account}:alarm:{name}"


def arn_like(pattern: str, arn: str) -> bool:
    """IAM's ``ArnLike``: each of the six colon-delimited components is matched separately,
    with ``*`` and ``?`` wildcards (IAM user guide, "IAM JSON policy elements: Condition
    operators", Amazon Resource Name (ARN) condition operators)."""
    parts, values = pattern.split(":", 5), arn.split(":", 5)
    return len(parts) == len(values) == 6 and all(
        fnmatch.fnmatchcase(v, p) for p, v in zip(parts, values, strict=True)
    )


def _statement(template: Template, type_: str, sid: str) -> dict[str, Any]:
    found = [
        s
        for r in resources_of(template, type_).values()
        for s in r["Properties"].get("PolicyDocument", r["Properties"].get("KeyPolicy", {}))[
            "Statement"
        ]
        if s.get("Sid") == sid
    ]
    assert len(found) == 1, (type_, sid, found)
    return found[0]


@pytest.mark.parametrize("type_", ["AWS::SNS::TopicPolicy", "AWS::KMS::Key"])
def test_only_this_accounts_alarms_may_publish(template: Template, type_: str) -> None:
    """The topic policy must admit CloudWatch (a topic policy replaces SNS's default one), and
    topic and key admit only this account's alarms, under the keys AWS documents."""
    statement = _statement(template, type_, "AllowCloudWatchAlarms")
    assert statement["Principal"] == {"Service": "cloudwatch.amazonaws.com"}
    condition = statement["Condition"]
    assert condition["StringEquals"] == {"aws:SourceAccount": ACCOUNT}
    pattern = resolved(condition["ArnLike"]["aws:SourceArn"])
    ours = ALARM_ARN.format(region=REGION, account=ACCOUNT, name="dr-prod-BackupJobsFailed")
    assert arn_like(pattern, ours)
    assert not arn_like(pattern, ours.replace(ACCOUNT, "111122223333"))
    assert not arn_like(pattern, ours.replace(REGION, "eu-west-1"))


def test_only_the_stacks_rules_may_publish_to_the_topic(template: Template) -> None:
    statement = _statement(template, "AWS::SNS::TopicPolicy", "AllowEventBridgeRules")
    assert (statement["Principal"], statement["Action"]) == (
        {"Service": "events.amazonaws.com"},
        "sns:Publish",
    )
    (topic,) = resources_of(template, "AWS::SNS::Topic")
    rules = {
        logical_id
        for logical_id, rule in resources_of(template, "AWS::Events::Rule").items()
        if {"Ref": topic} in [t["Arn"] for t in rule["Properties"]["Targets"]]
    }
    assert len(rules) == len(BACKUP_JOB_EVENTS)
    arns = statement["Condition"]["ArnEquals"]["aws:SourceArn"]
    assert sorted(json.dumps(a) for a in arns) == sorted(
        json.dumps({"Fn::GetAtt": [r, "Arn"]}) for r in rules
    )


def test_eventbridge_uses_the_topic_key_without_a_source_condition(template: Template) -> None:
    """SNS developer guide, "Enable compatibility between event sources from AWS services and
    encrypted topics": aws:SourceAccount, aws:SourceArn and aws:SourceOrgID in the KMS policy
    are "not supported for EventBridge-to-encrypted topics"; one there drops every event."""
    statement = _statement(template, "AWS::KMS::Key", "AllowEventBridgeRules")
    assert statement["Principal"] == {"Service": "events.amazonaws.com"}
    assert "Condition" not in statement
    assert sorted(statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]


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


def test_watch_backups_window_and_alarm_options_are_checked() -> None:
    stack = new_stack()
    obs = DrObservability(stack, "Observability")
    vault = backup.BackupVault.from_backup_vault_name(stack, "Vault", "v")
    with pytest.raises(DrConfigurationError, match=r"watch_backups\(window\)"):
        obs.watch_backups(vault, window=Duration.minutes(1))
    with pytest.raises(DrConfigurationError, match=r"add_alarm\(datapoints_to_alarm\)=3"):
        obs.add_alarm(
            "X", cloudwatch.Metric(namespace="N", metric_name="M"), threshold=1,
            evaluation_periods=2, datapoints_to_alarm=3, description="d",
        )  # fmt: skip
    alarms = obs.watch_backups(vault, window=Duration.days(1), resource_types=["S3"])
    assert [a.node.id for a in alarms] == [
        "NoRecentBackupS3Alarm", "VaultBackupJobsFailedAlarm", "VaultCopyJobsFailedAlarm",
        "VaultRestoreJobsFailedAlarm",
    ]  # fmt: skip
    props = Template.from_stack(stack).find_resources("AWS::CloudWatch::Alarm")
    (no_backup,) = [
        p["Properties"] for p in props.values() if "NoRecent" in p["Properties"]["AlarmName"]
    ]
    assert (no_backup["Period"], no_backup["EvaluationPeriods"]) == (7200, 12)


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


# --- Every alarm watches a series AWS documents ------------------------------------------------

#: (namespace, metric) -> the dimension sets published together, as AWS documents them (the
#: file names its sources: AWS Backup, Aurora, CloudWatch guides; the library's own publishers).
DOCUMENTED_METRICS: dict[tuple[str, str], list[frozenset[str]]] = {
    (entry["namespace"], metric): [frozenset(s) for s in entry["dimension_sets"]]
    for entry in json.loads(
        (Path(__file__).parent / "data" / "aws_metric_dimensions.json").read_text()
    )["metrics"]
    for metric in entry["metrics"]
}
#: Metric math functions that fetch series of their own (not through a MetricStat member).
_SERIES_FUNCTIONS = re.compile(r"\b(SEARCH|SELECT|INSIGHT_RULE_METRIC|SERVICE_QUOTA|LAMBDA)\b")
EXAMPLE_APP = Path(__file__).resolve().parents[1] / "examples" / "app.py"


def _synthesized_example(outdir: Path) -> dict[str, Any]:
    """The example app, run as the CDK CLI runs it (cdk.json's ``app``, ``python app.py``): its
    cdk.json context in CDK_CONTEXT_JSON, the assembly written to CDK_OUTDIR."""
    env = {
        **os.environ,
        "CDK_OUTDIR": str(outdir),
        "CDK_CONTEXT_JSON": json.dumps(RECOMMENDED_FLAGS),
    }
    subprocess.run(
        [sys.executable, EXAMPLE_APP.name], cwd=EXAMPLE_APP.parent, env=env, check=True,
        capture_output=True, timeout=600,
    )  # fmt: skip
    manifest = json.loads((outdir / "manifest.json").read_text())
    (artifact,) = [a for a in manifest["artifacts"].values() if a["type"].endswith("stack")]
    return json.loads((outdir / artifact["properties"]["templateFile"]).read_text())  # type: ignore[no-any-return]


def _everything_on() -> dict[str, Any]:
    stack = new_stack()
    DrPlatform(
        stack, "Dr", proxy=True, resilience_hub=True, drills=True, audit_reports=True,
        air_gapped_retention=Duration.days(30),
    )  # fmt: skip
    return Template.from_stack(stack).to_json()  # type: ignore[no-any-return]


@pytest.fixture(scope="module")
def whole_stacks(tmp_path_factory: pytest.TempPathFactory) -> dict[str, dict[str, Any]]:
    return {
        "example": _synthesized_example(tmp_path_factory.mktemp("example")),
        "everything on": _everything_on(),
    }


def _alarm_series(template: dict[str, Any]) -> list[tuple[str, str, str, frozenset[str]]]:
    """(alarm, namespace, metric, dimension names) of every series every alarm reads: its
    metric, or each MetricStat member of its metric math."""
    found = []
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::CloudWatch::Alarm":
            continue
        props = resource["Properties"]
        stats = [props] if "MetricName" in props else []
        for member in props.get("Metrics", []):
            if "MetricStat" in member:
                stats.append(member["MetricStat"]["Metric"])
            else:
                assert not _SERIES_FUNCTIONS.search(member["Expression"]), (logical_id, member)
        assert stats, logical_id
        for stat in stats:
            names = frozenset(d["Name"] for d in stat.get("Dimensions", []))
            found.append((logical_id, stat["Namespace"], stat["MetricName"], names))
    return found


def _dashboard_series(template: dict[str, Any]) -> list[tuple[str, str, frozenset[str]]]:
    """(namespace, metric, dimension names) of every metric the dashboards graph."""
    found = []
    for resource in template["Resources"].values():
        if resource["Type"] != "AWS::CloudWatch::Dashboard":
            continue
        body = resource["Properties"]["DashboardBody"]
        if isinstance(body, dict):  # Fn::Join of text and tokens: a token is one JSON string
            body = "".join(p if isinstance(p, str) else "TOKEN" for p in body["Fn::Join"][1])
        for widget in json.loads(body)["widgets"]:
            for metric in widget["properties"].get("metrics", []):
                values = [v for v in metric if not isinstance(v, dict)]
                if values and values[0] != "...":
                    found.append((values[0], values[1], frozenset(values[2::2])))
    return found


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["example", "everything on"])
def test_every_alarm_watches_a_documented_series(
    whole_stacks: dict[str, dict[str, Any]], stack: str
) -> None:
    """Each alarm reads metrics with a dimension set AWS documents for them (AWS/Backup: per
    vault, never account-wide); the library's own namespaces as their publishers write them."""
    series = _alarm_series(whole_stacks[stack])
    undocumented = [s for s in series if s[3] not in DOCUMENTED_METRICS.get((s[1], s[2]), [])]
    assert undocumented == []
    assert len({s[0] for s in series}) >= 12  # every alarm of the stack was walked


@pytest.mark.slow
@pytest.mark.parametrize("stack", ["example", "everything on"])
def test_every_dashboard_graph_is_a_documented_series(
    whole_stacks: dict[str, dict[str, Any]], stack: str
) -> None:
    series = _dashboard_series(whole_stacks[stack])
    assert any(s[0] == "AWS/Backup" for s in series)
    assert [s for s in series if s[2] not in DOCUMENTED_METRICS.get(s[:2], [])] == []


@pytest.mark.slow
def test_the_library_publishes_its_own_series_as_listed(
    whole_stacks: dict[str, dict[str, Any]],
) -> None:
    """DrConstructs/HealthCheck comes from a metric filter of the stack: read what it publishes
    from the template (DrConstructs/RestoreTesting is checked against the Lambda's own calls
    in tests/test_restore_testing.py)."""
    filters = [
        t
        for r in whole_stacks["everything on"]["Resources"].values()
        if r["Type"] == "AWS::Logs::MetricFilter"
        for t in r["Properties"]["MetricTransformations"]
    ]
    assert filters
    for transformation in filters:
        key = (transformation["MetricNamespace"], transformation["MetricName"])
        names = frozenset(d["Key"] for d in transformation.get("Dimensions", []))
        assert names in DOCUMENTED_METRICS[key], key


def test_account_wide_backup_series_is_not_documented() -> None:
    """The list itself: AWS documents no AWS/Backup series without BackupVaultName."""
    backup_sets = {s for (ns, _), sets in DOCUMENTED_METRICS.items() if ns == "AWS/Backup"
                   for s in sets}  # fmt: skip
    assert backup_sets == {frozenset({"BackupVaultName"}),
                           frozenset({"BackupVaultName", "ResourceType"})}  # fmt: skip


def test_watch_backups_per_type_windows() -> None:
    """``windows`` names the types that get a NoRecentBackup alarm (the ones with snapshot
    jobs); a window for every type, or both, or neither, is refused clearly."""
    stack = new_stack()
    obs = DrObservability(stack, "Observability")
    vault = backup.BackupVault.from_backup_vault_name(stack, "Vault", "v")
    for kwargs in ({}, {"window": Duration.hours(1), "windows": {"S3": Duration.hours(1)}}):
        with pytest.raises(DrConfigurationError, match=r"watch_backups\(window, windows\)"):
            obs.watch_backups(vault, **kwargs)  # type: ignore[arg-type]
    alarms = obs.watch_backups(vault, windows={"DynamoDB": Duration.hours(4)})
    assert [a.node.id for a in alarms] == [
        "NoRecentBackupDynamoDBAlarm", "VaultBackupJobsFailedAlarm", "VaultCopyJobsFailedAlarm",
        "VaultRestoreJobsFailedAlarm",
    ]  # fmt: skip


def test_watch_copies_alarms_per_type_when_no_copy_arrives() -> None:
    stack = new_stack()
    observability = DrObservability(stack, "Observability")
    vault = backup.BackupVault.from_backup_vault_name(stack, "Vault", "v")
    alarms = observability.watch_copies(vault, window=Duration.hours(5), resource_types=["S3"])
    assert [a.node.id for a in alarms] == ["NoRecentCopyS3Alarm"]
    props = only(Template.from_stack(stack), "AWS::CloudWatch::Alarm")
    assert (props["MetricName"], props["TreatMissingData"]) == (
        "NumberOfCopyJobsCompleted",
        "breaching",
    )
    assert props["Period"] * props["EvaluationPeriods"] == 5 * 3600
    with pytest.raises(
        DrConfigurationError, match=r"invalid watch_copies\(window\) of S3='4 minutes'"
    ):
        observability.watch_copies(vault, window=Duration.minutes(4), resource_types=["S3"])

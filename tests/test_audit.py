"""DrBackupAudit: the Audit Manager framework, its report plans and the report bucket."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import networkx as nx
import pytest
from aws_cdk import App, Duration, Environment, Stack
from aws_cdk import aws_events as events
from aws_cdk.assertions import Template
from cfnlint.template import Template as CfnLintTemplate
from moto.iam.access_control import IAMPolicy, PermissionResult
from moto.iam.aws_managed_policies import aws_managed_policies_data

from dr_constructs import DrBackupVault, DrConfigurationError, DrPlatform, RecoveryObjectives
from dr_constructs.restore_testing.audit import AUDIT_TAG, REPORT_PREFIX, DrBackupAudit

from .conftest import (
    ACCOUNT,
    REGION,
    new_stack,
    normalised,
    only,
    ref_of,
    resolved,
    resources_of,
)

#: AWS's report plan pages: sample bucket policy, key actions, what creates the role (sources
#: named in the file).
REPORT_PLAN_DOCS: dict[str, Any] = json.loads(
    (Path(__file__).parent / "data" / "aws_backup_report_plans.json").read_text()
)
#: The reports role's own (service-linked role) policy, as AWS publishes it.
REPORTS_ROLE_POLICY = "AWSServiceRolePolicyForBackupReports"
AWS_MANAGED_POLICIES: dict[str, Any] = json.loads(aws_managed_policies_data)


@pytest.fixture(scope="module")
def template() -> Template:
    stack = new_stack()
    DrPlatform(
        stack, "Dr", environment_suffix="prod", audit_reports=True,
        objectives=RecoveryObjectives(rto=Duration.minutes(90)),
    )  # fmt: skip
    return Template.from_stack(stack)


def _controls(template: Template) -> dict[str, dict[str, Any]]:
    framework = only(template, "AWS::Backup::Framework")
    assert framework["FrameworkName"] == "dr_audit_prod"
    return {c["ControlName"]: c for c in framework["FrameworkControls"]}


def _parameters(control: dict[str, Any]) -> dict[str, str]:
    return {p["ParameterName"]: p["ParameterValue"] for p in control["ControlInputParameters"]}


def test_snapshot(template: Template, snapshot_json: Any) -> None:
    body = normalised(template)["Resources"]
    assert {k: v for k, v in body.items() if k.startswith("DrAudit")} == snapshot_json


def test_off_by_default() -> None:
    stack = new_stack()
    assert DrPlatform(stack, "Dr").audit is None
    Template.from_stack(stack).resource_count_is("AWS::Backup::Framework", 0)


def test_restore_time_control_takes_the_rto_objective_in_minutes(template: Template) -> None:
    control = _controls(template)["RESTORE_TIME_FOR_RESOURCES_MEET_TARGET"]
    assert _parameters(control) == {"maxRestoreTime": "90"}
    assert control["ControlScope"] == {"Tags": [{"Key": AUDIT_TAG, "Value": "prod"}]}


def test_frequency_and_retention_control_follows_the_plan(template: Template) -> None:
    control = _controls(template)["BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK"]
    assert _parameters(control) == {
        "requiredFrequencyUnit": "hours", "requiredFrequencyValue": "1",
        "requiredRetentionDays": "7",
    }  # fmt: skip


def test_protection_and_encryption_controls(template: Template) -> None:
    controls = _controls(template)
    assert sorted(controls) == [
        "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK",
        "BACKUP_RECOVERY_POINT_ENCRYPTED",
        "BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN",
        "RESTORE_TIME_FOR_RESOURCES_MEET_TARGET",
    ]
    assert "ControlScope" not in controls["BACKUP_RECOVERY_POINT_ENCRYPTED"]  # tag or none
    assert controls["BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN"]["ControlScope"] == {
        "Tags": [{"Key": AUDIT_TAG, "Value": "prod"}]
    }


@pytest.mark.parametrize(
    "type_", ["AWS::RDS::DBCluster", "AWS::DynamoDB::Table", "AWS::Backup::BackupPlan"]
)
def test_audited_resources_carry_the_scope_tag(template: Template, type_: str) -> None:
    (resource,) = resources_of(template, type_).values()
    text = json.dumps(resource["Properties"])
    assert f'"{AUDIT_TAG}"' in text and '"prod"' in text


def test_reports_go_daily_to_the_encrypted_report_bucket(template: Template) -> None:
    plans = {
        p["Properties"]["ReportSetting"]["ReportTemplate"]: p["Properties"]
        for p in resources_of(template, "AWS::Backup::ReportPlan").values()
    }
    assert sorted(plans) == ["CONTROL_COMPLIANCE_REPORT", "RESTORE_JOB_REPORT"]
    buckets = resources_of(template, "AWS::S3::Bucket")
    for plan in plans.values():
        channel = plan["ReportDeliveryChannel"]
        bucket = buckets[ref_of(channel["S3BucketName"])]["Properties"]
        assert "AuditReportsBucket" in ref_of(channel["S3BucketName"])
        sse = bucket["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]
        assert sse["ServerSideEncryptionByDefault"]["SSEAlgorithm"] == "aws:kms"
        assert channel["Formats"] == ["CSV", "JSON"] and channel["S3KeyPrefix"] == "backup-reports"
    framework = next(iter(resources_of(template, "AWS::Backup::Framework")))
    assert plans["CONTROL_COMPLIANCE_REPORT"]["ReportSetting"]["FrameworkArns"] == [
        {"Fn::GetAtt": [framework, "FrameworkArn"]}
    ]


def _report_statements(template: Template, sid: str) -> list[tuple[str, dict[str, Any]]]:
    found = []
    for logical_id, resource in template.to_json()["Resources"].items():
        props = resource.get("Properties", {})
        document = props.get("PolicyDocument") or props.get("KeyPolicy") or {}
        found += [(logical_id, s) for s in document.get("Statement", []) if s.get("Sid") == sid]
    return found


def test_the_reports_role_is_the_principal_as_aws_documents(template: Template) -> None:
    """AWS's sample bucket policy, statement for statement; the role's own policy grants no
    s3:PutObject and no KMS action, so the account's root as principal (delegating to the
    role's IAM policies) would deliver nothing."""
    (sample,) = REPORT_PLAN_DOCS["sample_bucket_policy"]["Statement"]
    ((bucket_policy, delivery),) = _report_statements(template, "BackupReportsDelivery")
    assert bucket_policy.startswith("DrAuditReportsBucketPolicy")
    assert resolved(delivery["Principal"]["AWS"]) == sample["Principal"]["AWS"]
    assert (delivery["Effect"], delivery["Action"], delivery["Condition"]) == (
        sample["Effect"], sample["Action"], sample["Condition"],
    )  # fmt: skip
    bucket = ref_of(delivery["Resource"])
    assert delivery["Resource"] == {
        "Fn::Join": ["", [{"Fn::GetAtt": [bucket, "Arn"]}, f"/{REPORT_PREFIX}/*"]]
    }  # within the sample's arn:aws:s3:::BucketName/*, under the report plans' prefix
    ((key, encrypt),) = _report_statements(template, "BackupReportsEncrypt")
    assert key.startswith("DrAuditReportsKey")
    assert resolved(encrypt["Principal"]["AWS"]) == sample["Principal"]["AWS"]
    assert set(REPORT_PLAN_DOCS["key_policy_actions_at_minimum"]) <= set(encrypt["Action"])
    via = resolved(encrypt["Condition"]["StringEquals"]["kms:ViaService"])
    assert via == "s3.us-east-1.amazonaws.com"  # AWS KMS developer guide, kms:ViaService
    # AWS's copy of the role's policy (moto ships AWS's managed policies as published)
    role_policy = IAMPolicy(json.dumps(AWS_MANAGED_POLICIES[REPORTS_ROLE_POLICY]["Document"]))
    for action in ("s3:PutObject", *REPORT_PLAN_DOCS["key_policy_actions_at_minimum"]):
        assert role_policy.is_action_permitted(action) == PermissionResult.NEUTRAL, action


def test_policies_naming_the_role_wait_for_what_creates_it(template: Template) -> None:
    """An account without the role: S3 and KMS reject a policy naming a principal that does not
    exist, and AWS Backup creates the role with a framework or report plan. So, in every order
    CloudFormation may create the stack's resources (cfn-lint's dependency graph: Ref, GetAtt,
    DependsOn), each resource whose policy names the role comes after one that creates it."""
    body = template.to_json()
    graph = CfnLintTemplate("template.json", body, [REGION]).graph.graph
    creators = {
        logical_id
        for logical_id, resource in body["Resources"].items()
        if resource["Type"] in REPORT_PLAN_DOCS["resource_types_that_create_the_role"]
    }
    naming = {logical_id for logical_id, _ in _report_statements(template, "BackupReportsDelivery")}
    naming |= {logical_id for logical_id, _ in _report_statements(template, "BackupReportsEncrypt")}
    text = json.dumps(body["Resources"])
    assert text.count("AWSServiceRoleForBackupReports") == len(naming) == 2
    for logical_id in naming:
        assert any(nx.has_path(graph, logical_id, c) for c in creators), logical_id


def test_an_account_that_has_the_role_already_deploys_too(template: Template) -> None:
    """An account with the role (another stack's audit made it): nothing here creates it, so
    nothing collides (CloudFormation's AWS::IAM::ServiceLinkedRole fails when the role
    exists); the policies only name it. Two stacks of one account both audit."""
    app = App(analytics_reporting=False)
    stacks = [
        Stack(app, f"Stack-{suffix}", env=Environment(account=ACCOUNT, region=REGION))
        for suffix in ("prod", "staging")
    ]
    for stack in stacks:
        DrPlatform(stack, "Dr", environment_suffix=stack.stack_name[6:], audit_reports=True)
    for stack in stacks:
        body = Template.from_stack(stack).to_json()
        types = {r["Type"] for r in body["Resources"].values()}
        assert "AWS::IAM::ServiceLinkedRole" not in types
        assert not [t for t in types if t.startswith("Custom::") and "ServiceLinked" in t]
        roles = [r.get("Properties", {}).get("RoleName") for r in body["Resources"].values()
                 if r["Type"] == "AWS::IAM::Role"]  # fmt: skip
        assert "AWSServiceRoleForBackupReports" not in roles


def test_a_daily_schedule_is_checked_as_daily() -> None:
    stack = new_stack()
    vault = DrBackupVault(stack, "Backup", schedule=events.Schedule.cron(minute="0", hour="3"))
    audit = DrBackupAudit(stack, "Audit", vault=vault, resources=[vault.vault])
    controls = {c.control_name: c for c in audit.framework.framework_controls}  # type: ignore[union-attr]
    frequency = controls["BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK"]
    values = {p.parameter_name: p.parameter_value for p in frequency.control_input_parameters}
    assert values["requiredFrequencyUnit"] == "hours" and values["requiredFrequencyValue"] == "24"


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"resources": []}, r"resources=\[\]"),
        ({"max_restore_time": Duration.seconds(30)}, r"max_restore_time"),
    ],
)
def test_bad_audit_configuration(props: dict[str, Any], message: str) -> None:
    stack = new_stack()
    vault = DrBackupVault(stack, "Backup")
    with pytest.raises(DrConfigurationError, match=message):
        DrBackupAudit(stack, "Audit", vault=vault, **{"resources": [vault.vault], **props})

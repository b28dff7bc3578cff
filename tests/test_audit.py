"""DrBackupAudit: the Audit Manager framework, its report plans and the report bucket."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Duration
from aws_cdk import aws_events as events
from aws_cdk.assertions import Template

from dr_constructs import DrBackupVault, DrConfigurationError, DrPlatform, RecoveryObjectives
from dr_constructs.restore_testing.audit import AUDIT_TAG, DrBackupAudit

from .conftest import new_stack, normalised, only, ref_of, resources_of


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


def test_only_backups_reports_role_may_deliver(template: Template) -> None:
    policies = [
        p["Properties"]["PolicyDocument"]["Statement"]
        for k, p in resources_of(template, "AWS::S3::BucketPolicy").items()
        if k.startswith("DrAuditReportsBucket")
    ]
    (statement,) = [s for s in policies[0] if s.get("Sid") == "BackupReportsDelivery"]
    assert statement["Action"] == "s3:PutObject"
    condition = json.dumps(statement["Condition"])
    assert "AWSServiceRoleForBackupReports" in condition and "aws:PrincipalArn" in condition
    assert statement["Condition"]["StringEquals"] == {"s3:x-amz-acl": "bucket-owner-full-control"}
    keys = [
        s for k in resources_of(template, "AWS::KMS::Key").values()
        for s in k["Properties"]["KeyPolicy"]["Statement"] if s.get("Sid") == "BackupReportsEncrypt"
    ]  # fmt: skip
    assert len(keys) == 1 and "AWSServiceRoleForBackupReports" in json.dumps(keys[0])


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

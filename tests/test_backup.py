"""DrBackupVault: KMS vault, hourly + continuous plan, selections with the right permissions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from dr_constructs import DrBackupVault, DrConfigurationError
from dr_constructs.backup import CopyTarget

from .conftest import new_stack, normalised, only, resources_of


@pytest.fixture(scope="module")
def template() -> Template:
    stack = new_stack()
    vault = DrBackupVault(stack, "Backup", environment_suffix="prod",
                          lock_min_retention=Duration.days(3))  # fmt: skip
    table = dynamodb.Table(stack, "Table", partition_key=dynamodb.Attribute(
        name="pk", type=dynamodb.AttributeType.STRING))  # fmt: skip
    vault.protect(table, s3.Bucket.from_bucket_name(stack, "Imported", "my-existing-bucket"))
    return Template.from_stack(stack)


def test_snapshot(template: Template, snapshot_json: Any) -> None:
    assert normalised(template) == snapshot_json


def test_vault_named_locked_and_deletion_of_recovery_points_denied(template: Template) -> None:
    vault = only(template, "AWS::Backup::BackupVault")
    assert vault["BackupVaultName"] == "dr-vault-prod"
    assert vault["LockConfiguration"] == {"MinRetentionDays": 3}
    assert "backup:DeleteRecoveryPoint" in json.dumps(vault["AccessPolicy"])


def test_s3_protection_adds_the_s3_backup_policies(template: Template) -> None:
    role = json.dumps(only(template, "AWS::IAM::Role"))
    for policy in ("ForBackup", "ForRestores", "ForS3Backup", "ForS3Restore"):
        assert f"AWSBackupServiceRolePolicy{policy}" in role
    selection = json.dumps(only(template, "AWS::Backup::BackupSelection"))
    assert "my-existing-bucket" in selection


@pytest.mark.parametrize("days", [0, 36])
def test_retention_within_continuous_backup_limits(days: int) -> None:
    with pytest.raises(DrConfigurationError, match=r"retention=.*from 1 to 35"):
        DrBackupVault(new_stack(), "Backup", retention=Duration.days(days))


def test_retention_in_whole_days() -> None:
    with pytest.raises(DrConfigurationError, match=r"retention=.*whole days"):
        DrBackupVault(new_stack(), "Backup", retention=Duration.hours(36))


def test_schedule_must_be_cron() -> None:
    with pytest.raises(DrConfigurationError, match=r"schedule='rate\(1 hour\)'.*cron"):
        DrBackupVault(new_stack(), "Backup", schedule=events.Schedule.rate(Duration.hours(1)))


def test_lock_cannot_outlast_retention() -> None:
    with pytest.raises(DrConfigurationError, match=r"lock_min_retention=.*from 1 to 7"):
        DrBackupVault(new_stack(), "Backup", lock_min_retention=Duration.days(8))


def test_protect_rejects_what_it_cannot_back_up() -> None:
    vault = DrBackupVault(new_stack(), "Backup")
    with pytest.raises(DrConfigurationError, match=r"protect\(\*resources\)='str'"):
        vault.protect("arn:aws:ec2:...")  # type: ignore[arg-type]


def test_same_suffix_twice_in_one_environment_is_reported_at_synth() -> None:
    stack = new_stack()
    DrBackupVault(stack, "Backup", environment_suffix="prod")
    DrBackupVault(stack, "Other", environment_suffix="qa")
    with pytest.raises(DrConfigurationError, match=r"environment_suffix='prod'.*'dr-vault-prod'"):
        DrBackupVault(stack, "Again", environment_suffix="prod")


# --- immutable copies: compliance-mode lock, logically air-gapped vault ------------------


@pytest.fixture(scope="module")
def immutable() -> Template:
    stack = new_stack()
    DrBackupVault(
        stack, "Backup", environment_suffix="prod", lock_min_retention=Duration.days(7),
        lock_changeable_for=Duration.days(3), air_gapped_retention=Duration.days(30),
    )  # fmt: skip
    return Template.from_stack(stack)


def test_snapshot_immutable(immutable: Template, snapshot_json: Any) -> None:
    assert normalised(immutable) == snapshot_json


def test_compliance_mode_lock_after_its_grace_time(immutable: Template) -> None:
    vault = only(immutable, "AWS::Backup::BackupVault")
    assert vault["LockConfiguration"] == {"MinRetentionDays": 7, "ChangeableForDays": 3}


def test_every_backup_is_copied_to_the_air_gapped_vault(immutable: Template) -> None:
    air_gapped = immutable.find_resources("AWS::Backup::LogicallyAirGappedBackupVault")
    ((logical_id, resource),) = air_gapped.items()
    assert resource["DeletionPolicy"] == "Retain"
    assert resource["Properties"] == {
        "BackupVaultName": "dr-lag-vault-prod", "MinRetentionDays": 7, "MaxRetentionDays": 30,
    }  # fmt: skip
    rules = only(immutable, "AWS::Backup::BackupPlan")["BackupPlan"]["BackupPlanRule"]
    # both rules: the continuous one (DynamoDB's hourly snapshots) and the snapshot one (a
    # continuous rule's points are copied through a snapshot only cross-account/Region)
    assert [r["RuleName"] for r in rules] == ["HourlyWithContinuous", "DailySnapshots"]
    for rule in rules:
        assert rule["CopyActions"] == [
            {
                "DestinationBackupVaultArn": {"Fn::GetAtt": [logical_id, "BackupVaultArn"]},
                "Lifecycle": {"DeleteAfterDays": 30},
            }
        ]


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"lock_changeable_for": Duration.days(3)}, r"lock_changeable_for='3 days'.*None unless"),
        (
            {"lock_min_retention": Duration.days(1), "lock_changeable_for": Duration.days(2)},
            r"lock_changeable_for='2 days'.*from 3 to 36500",
        ),
        (
            {"lock_min_retention": Duration.days(1), "lock_changeable_for": Duration.days(3),
             "removal_policy": RemovalPolicy.DESTROY},
            r"removal_policy=.*RETAIN with lock_changeable_for",
        ),
        ({"air_gapped_retention": Duration.days(6)}, r"air_gapped_retention='6 days'.*7 to 3650"),
        (
            {"air_gapped_retention": Duration.days(7), "removal_policy": RemovalPolicy.DESTROY},
            r"removal_policy=.*RETAIN with air_gapped_retention",
        ),
    ],
)  # fmt: skip
def test_immutable_settings_are_explicit_and_kept(props: dict[str, Any], message: str) -> None:
    with pytest.raises(DrConfigurationError, match=message):
        DrBackupVault(new_stack(), "Backup", **props)


def test_snapshot_rule_is_on_by_default_and_can_be_left_out() -> None:
    stack = new_stack()
    DrBackupVault(stack, "Backup", snapshot_schedule=events.Schedule.cron(minute="30", hour="2"))
    DrBackupVault(stack, "Other", environment_suffix="qa", snapshot_schedule=None)
    plans = {
        p["Properties"]["BackupPlan"]["BackupPlanName"]: p["Properties"]["BackupPlan"]
        for p in Template.from_stack(stack).find_resources("AWS::Backup::BackupPlan").values()
    }
    assert [r["ScheduleExpression"] for r in plans["dr-plan-dev"]["BackupPlanRule"]] == [
        "cron(0 * * * ? *)", "cron(30 2 * * ? *)"
    ]  # fmt: skip
    assert [r["RuleName"] for r in plans["dr-plan-qa"]["BackupPlanRule"]] == [
        "HourlyWithContinuous"
    ]
    with pytest.raises(DrConfigurationError, match=r"snapshot_schedule='rate\(1 day\)'.*cron"):
        DrBackupVault(
            new_stack(), "Backup", snapshot_schedule=events.Schedule.rate(Duration.days(1))
        )


def _deletions(**props: Any) -> dict[str, Any]:
    stack = new_stack()
    vault = DrBackupVault(stack, "Backup", environment_suffix="prod", **props)
    vault.protect(dynamodb.Table(stack, "Table", partition_key=dynamodb.Attribute(
        name="pk", type=dynamodb.AttributeType.STRING)))  # fmt: skip
    return Template.from_stack(stack).find_resources("Custom::DrVaultDeletion")  # type: ignore[no-any-return]


def test_only_a_vault_under_destroy_without_vault_lock_is_emptied_on_delete() -> None:
    """Issue 18: under DESTROY the vault is emptied so CloudFormation can delete it; never
    under RETAIN, and never a locked vault (its points are kept until they expire)."""
    assert len(_deletions(removal_policy=RemovalPolicy.DESTROY)) == 1
    assert _deletions() == {}
    assert (
        _deletions(removal_policy=RemovalPolicy.DESTROY, lock_min_retention=Duration.days(1)) == {}
    )


def test_the_vault_deletion_role_may_delete_recovery_points_and_nothing_else() -> None:
    stack = new_stack()
    vault = DrBackupVault(stack, "Backup", removal_policy=RemovalPolicy.DESTROY)
    vault.protect(dynamodb.Table(stack, "Table", partition_key=dynamodb.Attribute(
        name="pk", type=dynamodb.AttributeType.STRING)))  # fmt: skip
    roles = Template.from_stack(stack).find_resources("AWS::IAM::Role")
    (role,) = (r for k, r in roles.items() if k.startswith("CustomDrVaultDeletion"))
    (policy,) = role["Properties"]["Policies"]
    actions = sorted(a for s in policy["PolicyDocument"]["Statement"] for a in s["Action"])
    assert actions == [
        "backup:DeleteRecoveryPoint", "backup:DescribeBackupVault", "backup:ListBackupJobs",
        "backup:ListRecoveryPointsByBackupVault", "backup:ListTags",
        "iam:CreateServiceLinkedRole",
    ]  # fmt: skip
    assert not any(a.startswith(("backup:DeleteBackupVault", "backup:*")) for a in actions)


def test_the_air_gapped_vault_is_never_emptied(immutable: Template) -> None:
    assert immutable.find_resources("Custom::DrVaultDeletion") == {}
    (vault,) = immutable.find_resources("AWS::Backup::LogicallyAirGappedBackupVault").values()
    assert vault["DeletionPolicy"] == "Retain"


def test_copy_to_adds_a_copy_action_to_every_rule_and_the_key_statements() -> None:
    """A vault elsewhere (``CopyTarget``): each rule copies there, the role gets its key."""
    stack = new_stack()
    # a destination vault ARN as AWS's API reference writes one (CopyJob DestinationBackupVaultArn)
    arn = "arn:aws:backup:us-west-2:123456789012:backup-vault:aBackupVault"
    keys = "arn:aws:kms:us-west-2:123456789012:key/*"
    statement = iam.PolicyStatement(actions=["kms:DescribeKey"], resources=[keys])
    DrBackupVault(stack, "Backup", copy_to=CopyTarget(
        vault_arn=arn, delete_after=Duration.days(14), key_statements=[statement],
        key_reason="a reason long enough for a reviewer: the destination key's id is unknown "
        "here, so the key is named by its region and account",
    ))  # fmt: skip
    template = Template.from_stack(stack)
    (plan,) = resources_of(template, "AWS::Backup::BackupPlan").values()
    for rule in plan["Properties"]["BackupPlan"]["BackupPlanRule"]:
        assert rule["CopyActions"] == [
            {"DestinationBackupVaultArn": arn, "Lifecycle": {"DeleteAfterDays": 14}}
        ]
    (policy,) = resources_of(template, "AWS::IAM::ManagedPolicy").values()
    assert policy["Properties"]["PolicyDocument"]["Statement"] == [
        {"Action": "kms:DescribeKey", "Effect": "Allow", "Resource": keys}
    ]
    # its AwsSolutions-IAM5 acknowledgement (with key_reason) is held by test_compliance


def test_copy_to_must_be_a_copy_target() -> None:
    with pytest.raises(DrConfigurationError, match=r"invalid copy_to=.*a CopyTarget, or None"):
        DrBackupVault(new_stack(), "Backup", copy_to="arn:aws:backup:::v")  # type: ignore[arg-type]

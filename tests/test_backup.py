"""DrBackupVault: KMS vault, hourly + continuous plan, selections with the right permissions."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Duration
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_s3 as s3
from aws_cdk.assertions import Template

from dr_constructs import DrBackupVault, DrConfigurationError

from .conftest import new_stack, normalised, only


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

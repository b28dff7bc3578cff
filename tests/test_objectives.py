"""objectives: every rule of the RPO/RTO computation, the synth check, the posture report."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import botocore.session
import pytest
from aws_cdk import App, CfnDeletionPolicy, Duration, RemovalPolicy, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from aws_cdk.assertions import Template
from botocore.validate import validate_parameters
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from moto.iam.aws_managed_policies import aws_managed_policies_data

from dr_constructs import (
    DrConfigurationError,
    DrDatabase,
    DrNetwork,
    DrPlatform,
    RecoveryObjectives,
    Target,
)
from dr_constructs.objectives import (
    AURORA_FAILOVER_SECONDS,
    AURORA_REBUILD_SECONDS,
    CONTINUOUS_LAG_SECONDS,
    MULTI_AZ_CLUSTER_FAILOVER_SECONDS,
    PROXY_FAILOVER_SECONDS,
    RDS_MULTI_AZ_FAILOVER_SECONDS,
    RESILIENCE_HUB_INVOKER_POLICY,
    RESTORE_BASELINE_SECONDS,
    FailureMode,
    Posture,
    PostureReport,
    ResilienceHubApp,
    assess,
    backup_alarm_windows,
    recovery_points,
    schedule_interval_seconds,
)

from .conftest import new_stack, normalised

AZ, CORRUPTION, DELETION = FailureMode.AZ_LOSS, FailureMode.CORRUPTION, FailureMode.STACK_DELETION
HOUR = 3600


@pytest.fixture(scope="module")
def platform() -> DrPlatform:
    return DrPlatform(new_stack(), "Dr")


def _by(postures: list[Posture]) -> dict[tuple[str, FailureMode], Posture]:
    return {(p.resource.rsplit("/", 1)[-1], p.failure): p for p in postures}


# --- The defaults: the spec's 1 h / 4 h, met with the figures of the issue ---------------------


def test_defaults_report_every_store_and_failure(platform: DrPlatform) -> None:
    got = {
        key: (p.rpo_seconds, p.rto_seconds, p.target_rpo_seconds, p.target_rto_seconds)
        for key, p in _by(platform.postures).items()
    }
    assert got == {
        ("Cluster", AZ): (0, AURORA_FAILOVER_SECONDS, HOUR, 4 * HOUR),
        ("Cluster", CORRUPTION): (CONTINUOUS_LAG_SECONDS, RESTORE_BASELINE_SECONDS, HOUR, 4 * HOUR),
        ("Cluster", DELETION): (0, 0, HOUR, 4 * HOUR),
        ("Table", AZ): (0, 0, HOUR, 4 * HOUR),
        ("Table", CORRUPTION): (CONTINUOUS_LAG_SECONDS, RESTORE_BASELINE_SECONDS, HOUR, 4 * HOUR),
        ("Table", DELETION): (0, 0, HOUR, 4 * HOUR),
        ("Bucket", AZ): (0, 0, HOUR, 4 * HOUR),
        ("Bucket", CORRUPTION): (0, RESTORE_BASELINE_SECONDS, HOUR, 4 * HOUR),
        ("Bucket", DELETION): (0, 0, HOUR, 4 * HOUR),
    }
    assert all(p.meets for p in platform.postures)
    assert AURORA_FAILOVER_SECONDS <= 60 and CONTINUOUS_LAG_SECONDS <= 300


def test_defaults_evidence_names_the_property_behind_each_figure(platform: DrPlatform) -> None:
    evidence = {key: p.evidence for key, p in _by(platform.postures).items()}
    assert "2 instances in 2 AZs" in evidence["Cluster", AZ]
    assert "BackupRetentionPeriod 7 days" in evidence["Cluster", CORRUPTION]
    assert "assumed for a small data set" in evidence["Cluster", CORRUPTION]
    assert "DeletionProtection true" in evidence["Cluster", DELETION]
    assert "PointInTimeRecoveryEnabled, 7 days" in evidence["Table", CORRUPTION]
    assert "kept 90 days (NoncurrentVersionExpiration)" in evidence["Bucket", CORRUPTION]
    assert "DeletionPolicy Retain" in evidence["Bucket", DELETION]


def test_destroy_opt_in_recovers_from_the_vault_and_pitr_system_backup() -> None:
    platform = DrPlatform(new_stack(), "Dr", removal_policy=RemovalPolicy.DESTROY)
    got = _by(platform.postures)
    assert (got["Cluster", DELETION].rpo_seconds, got["Bucket", DELETION].rpo_seconds) == (
        CONTINUOUS_LAG_SECONDS,
        CONTINUOUS_LAG_SECONDS,
    )
    assert "EnableContinuousBackup" in got["Cluster", DELETION].evidence
    assert got["Table", DELETION].rpo_seconds == 0
    assert "system backup" in got["Table", DELETION].evidence


def test_dashboard_shows_objectives_and_achievable_figures(platform: DrPlatform) -> None:
    body = json.dumps(
        Stack.of(platform).resolve(platform.dashboard.node.default_child._cfn_properties)
    )  # type: ignore[attr-defined]
    assert "RPO 1 h, RTO 4 h" in body
    assert "loss of one availability zone: RPO 0 s, RTO 1 min" in body
    assert "RPO 1 hour (continuous" not in body


# --- Declaration --------------------------------------------------------------------------


def test_overrides_per_failure_mode() -> None:
    objectives = RecoveryObjectives(
        rpo=Duration.minutes(15), rto=Duration.hours(1), az_loss=Target(rto=Duration.minutes(1))
    )
    assert objectives.targets == {AZ: (900, 60), CORRUPTION: (900, HOUR), DELETION: (900, HOUR)}
    assert objectives.describe() == "RPO 15 min, RTO 1 h (az-loss: RPO 15 min, RTO 1 min)"


def test_region_loss_is_refused_without_a_recovery_region() -> None:
    objectives = RecoveryObjectives(region_loss=Target(rto=Duration.hours(8)))
    assert objectives.targets[FailureMode.REGION_LOSS] == (HOUR, 8 * HOUR)
    with pytest.raises(
        DrConfigurationError,
        match=r"DrPlatform: invalid objectives=.*no region_loss target without a recovery "
        r"region.*recovery_region=DrRecoveryRegion",
    ):
        DrPlatform(new_stack(), "Dr", objectives=objectives)


def test_region_loss_of_a_single_region_store_is_a_breach_naming_the_recovery_region() -> None:
    """Held to region_loss outside DrPlatform (bind, DrPostureCheck): not recoverable."""
    stack = new_stack()
    table = dynamodb.Table(
        stack, "T", partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
            point_in_time_recovery_enabled=True),
    )  # fmt: skip
    objectives = RecoveryObjectives(region_loss=Target(rpo=Duration.hours(6)))
    posture = _by(assess(objectives, [table]))[("T", FailureMode.REGION_LOSS)]
    assert (posture.rpo_seconds, posture.rto_seconds) == (None, None)
    assert "stays in this region" in posture.evidence
    with pytest.raises(DrConfigurationError, match=r"rpo for loss of the whole region of "
                       r"DynamoDB table .*recovery_region=DrRecoveryRegion"):  # fmt: skip
        objectives.check([table])


def test_bad_targets() -> None:
    with pytest.raises(DrConfigurationError, match=r"invalid rpo='Duration'|invalid rpo="):
        RecoveryObjectives(rpo=3600)  # type: ignore[arg-type]
    with pytest.raises(DrConfigurationError, match=r"invalid corruption="):
        RecoveryObjectives(corruption=Duration.hours(1))  # type: ignore[arg-type]
    with pytest.raises(DrConfigurationError, match=r"objectives"):
        DrPlatform(new_stack(), "Dr", objectives="1h")  # type: ignore[arg-type]


# --- Rules, one by one, on L1 configurations (fast) ------------------------------------------


def _cluster(
    stack: Stack,
    *,
    azs: tuple[str | None, ...] = ("us-east-1a", "us-east-1b"),
    retention: int | None = 7,
    protection: bool = True,
    policy: CfnDeletionPolicy = CfnDeletionPolicy.SNAPSHOT,
    proxy: bool = False,
) -> rds.CfnDBCluster:
    cluster = rds.CfnDBCluster(
        stack, "Cluster", engine="aurora-postgresql", backup_retention_period=retention,
        deletion_protection=protection,
    )  # fmt: skip
    cluster.cfn_options.deletion_policy = policy
    for i, az in enumerate(azs):
        rds.CfnDBInstance(
            stack, f"Instance{i}", db_cluster_identifier=cluster.ref, availability_zone=az,
            db_instance_class="db.t4g.medium", engine="aurora-postgresql",
        )  # fmt: skip
    if proxy:
        p = rds.CfnDBProxy(
            stack, "Proxy", db_proxy_name="p", engine_family="POSTGRESQL", require_tls=True,
            role_arn="arn:aws:iam::123456789012:role/p", vpc_subnet_ids=["subnet-1"],
            auth=[rds.CfnDBProxy.AuthFormatProperty(auth_scheme="SECRETS")],
        )  # fmt: skip
        rds.CfnDBProxyTargetGroup(
            stack, "Targets", db_proxy_name=p.ref, target_group_name="default",
            db_cluster_identifiers=[cluster.ref],
        )  # fmt: skip
    return cluster


def _table(
    stack: Stack,
    *,
    pitr: bool = True,
    protection: bool = False,
    policy: CfnDeletionPolicy = CfnDeletionPolicy.DELETE,
) -> dynamodb.CfnTable:
    table = dynamodb.CfnTable(
        stack, "Table",
        key_schema=[dynamodb.CfnTable.KeySchemaProperty(attribute_name="pk", key_type="HASH")],
        attribute_definitions=[
            dynamodb.CfnTable.AttributeDefinitionProperty(attribute_name="pk", attribute_type="S")
        ],
        billing_mode="PAY_PER_REQUEST", deletion_protection_enabled=protection,
        point_in_time_recovery_specification=(
            dynamodb.CfnTable.PointInTimeRecoverySpecificationProperty(
                point_in_time_recovery_enabled=True
            ) if pitr else None
        ),
    )  # fmt: skip
    table.cfn_options.deletion_policy = policy
    return table


def _bucket(
    stack: Stack, *, versioned: bool = True, policy: CfnDeletionPolicy = CfnDeletionPolicy.DELETE
) -> s3.CfnBucket:
    bucket = s3.CfnBucket(
        stack, "Bucket",
        versioning_configuration=(
            s3.CfnBucket.VersioningConfigurationProperty(status="Enabled") if versioned else None
        ),
    )  # fmt: skip
    bucket.cfn_options.deletion_policy = policy
    return bucket


def _plan(
    stack: Stack,
    resources: list[str],
    *,
    schedule: str = "cron(0 * * * ? *)",
    start: int = 60,
    completion: int = 120,
    continuous: bool = True,
    snapshots: str | None = None,
    copy_to: str | None = None,
) -> None:
    """A plan with one rule (``continuous`` or not) and, with ``snapshots`` (a schedule), a
    second rule ``Snapshots`` without continuous backup (start 1 h, completion 8 h); with
    ``copy_to`` (a vault ARN) the first rule copies every backup there, kept 7 days."""
    copies = (
        [backup.CfnBackupPlan.CopyActionResourceTypeProperty(
            destination_backup_vault_arn=copy_to,
            lifecycle=backup.CfnBackupPlan.LifecycleResourceTypeProperty(delete_after_days=7))]
        if copy_to else None
    )  # fmt: skip
    vault = backup.CfnBackupVault(stack, "Vault", backup_vault_name="v")
    rules = [
        backup.CfnBackupPlan.BackupRuleResourceTypeProperty(
            rule_name="Rule", target_backup_vault=vault.attr_backup_vault_name,
            schedule_expression=schedule, start_window_minutes=start,
            completion_window_minutes=completion, enable_continuous_backup=continuous,
            copy_actions=copies,
        )
    ]  # fmt: skip
    if snapshots is not None:
        rules.append(
            backup.CfnBackupPlan.BackupRuleResourceTypeProperty(
                rule_name="Snapshots", target_backup_vault=vault.attr_backup_vault_name,
                schedule_expression=snapshots, start_window_minutes=60,
                completion_window_minutes=480,
            )
        )  # fmt: skip
    plan = backup.CfnBackupPlan(
        stack, "Plan",
        backup_plan=backup.CfnBackupPlan.BackupPlanResourceTypeProperty(
            backup_plan_name="p", backup_plan_rule=rules,
        ),
    )  # fmt: skip
    backup.CfnBackupSelection(
        stack, "Selection", backup_plan_id=plan.attr_backup_plan_id,
        backup_selection=backup.CfnBackupSelection.BackupSelectionResourceTypeProperty(
            iam_role_arn="arn:aws:iam::123456789012:role/b", selection_name="s",
            resources=resources,
        ),
    )  # fmt: skip


def _one(store: Any, mode: FailureMode, objectives: RecoveryObjectives | None = None) -> Posture:
    (posture,) = [
        p for p in assess(objectives or RecoveryObjectives(), [store]) if p.failure == mode
    ]
    return posture


def test_aurora_az_loss_failover_with_a_reader_in_another_az() -> None:
    posture = _one(_cluster(new_stack()), AZ)
    assert (posture.rpo_seconds, posture.rto_seconds) == (0, AURORA_FAILOVER_SECONDS)


@pytest.mark.parametrize(
    "azs", [("us-east-1a",), ("us-east-1a", "us-east-1a"), ("us-east-1a", None)]
)
def test_aurora_az_loss_rebuild_without_a_pinned_reader_in_another_az(
    azs: tuple[str | None, ...],
) -> None:
    posture = _one(_cluster(new_stack(), azs=azs), AZ)
    assert (posture.rpo_seconds, posture.rto_seconds) == (0, AURORA_REBUILD_SECONDS)


def test_aurora_az_loss_behind_a_tls_proxy() -> None:
    posture = _one(_cluster(new_stack(), proxy=True), AZ)
    assert posture.rto_seconds == PROXY_FAILOVER_SECONDS and "RDS Proxy" in posture.evidence


def test_az_loss_rto_under_a_minute_needs_the_reader_the_user_removed() -> None:
    cluster = _cluster(new_stack(), azs=("us-east-1a",))
    strict = RecoveryObjectives(az_loss=Target(rto=Duration.minutes(1)))
    with pytest.raises(DrConfigurationError) as error:
        strict.check([cluster])
    message = str(error.value)
    for part in ("rto for loss of one availability zone", "Aurora cluster Test/Cluster",
                 "'1 min'", "10 min or more", "readers=1"):  # fmt: skip
        assert part in message, message


def test_rpo_of_a_minute_cannot_be_met_by_pitr() -> None:
    table = _table(new_stack())
    pattern = r"rpo for logical corruption.*'1 min'.*5 min or more.*PITR.*raise the target"
    with pytest.raises(DrConfigurationError, match=pattern):
        RecoveryObjectives(rpo=Duration.minutes(1)).check([table])


def test_aurora_corruption_uses_its_automated_backups() -> None:
    posture = _one(_cluster(new_stack(), retention=1), CORRUPTION)
    assert posture.rpo_seconds == CONTINUOUS_LAG_SECONDS
    assert "BackupRetentionPeriod 1 days" in posture.evidence


def test_snapshots_alone_interval_plus_start_plus_completion_window() -> None:
    stack = new_stack()
    table = _table(stack, pitr=False)
    _plan(stack, [table.attr_arn], start=60, completion=120)
    posture = _one(table, CORRUPTION)
    assert posture.rpo_seconds == HOUR + 60 * 60 + 120 * 60  # DynamoDB: no continuous backup
    assert "snapshots every 1 h" in posture.evidence
    with pytest.raises(DrConfigurationError, match=r"turn on continuous backup"):
        RecoveryObjectives().check([table])


def test_continuous_backup_counts_for_s3_and_aurora_not_dynamodb() -> None:
    stack = new_stack()
    bucket = _bucket(stack, versioned=True)
    _plan(stack, [bucket.attr_arn])
    posture = _one(bucket, DELETION)  # deleted with the stack: the vault's recovery points
    assert (
        posture.rpo_seconds == CONTINUOUS_LAG_SECONDS
        and "EnableContinuousBackup" in posture.evidence
    )


@pytest.mark.parametrize("store", ["cluster", "bucket", "table"])
def test_a_continuous_rule_makes_one_continuous_point_and_no_snapshot(store: str) -> None:
    """AWS: "True causes AWS Backup to create continuous backups capable of point-in-time
    restore. False (or not specified) causes AWS Backup to create snapshot backups"; the
    continuous rule's hourly schedule is "for maintenance and syncing purposes". DynamoDB,
    which AWS Backup cannot back up continuously, gets snapshots ("Automatic fallback")."""
    stack = new_stack()
    cfn = {"cluster": lambda: _cluster(stack), "bucket": lambda: _bucket(stack, versioned=True),
           "table": lambda: _table(stack, pitr=False)}[store]()  # fmt: skip
    _plan(stack, [cfn.ref if store == "cluster" else cfn.attr_arn])
    (points,) = recovery_points(cfn)
    if store == "table":
        assert (points.kind, points.interval_seconds) == ("SNAPSHOT", HOUR)
        assert _one(cfn, CORRUPTION).rpo_seconds == HOUR + HOUR + 2 * HOUR
    else:
        assert (points.kind, points.interval_seconds) == ("CONTINUOUS", None)
        evidence = [p.evidence for p in assess(RecoveryObjectives(), [cfn])]
        assert not any("snapshots every" in e for e in evidence)


def test_the_default_plan_keeps_a_continuous_point_and_daily_snapshots(
    platform: DrPlatform,
) -> None:
    """AWS recommends both: "we recommend that you protect your resources with both continuous
    and snapshot backup rules"; the report says which recovery points each store gets."""
    report = PostureReport.of(Stack.of(platform))
    kinds = {
        store.rsplit("/", 1)[-1]: [(p.kind, p.interval_seconds) for p in points]
        for store, points in report.recovery_points.items()
    }
    assert kinds == {
        "Cluster": [("CONTINUOUS", None), ("SNAPSHOT", 24 * HOUR)],
        "Table": [("SNAPSHOT", HOUR), ("SNAPSHOT", 24 * HOUR)],
        "Bucket": [("CONTINUOUS", None), ("SNAPSHOT", 24 * HOUR)],
    }
    markdown = report.to_markdown()
    assert (
        "Dr/Database/Cluster: one continuous recovery point (rule HourlyWithContinuous); "
        "snapshots every 24 h (rule DailySnapshots)" in markdown
    )
    assert report.to_dict()["recovery_points"]["Test/Dr/Storage/Bucket"][0] == {
        "type": "CONTINUOUS", "rule": "HourlyWithContinuous", "schedule": "cron(0 * * * ? *)",
        "interval_seconds": None, "vault": "Test/Dr/Backup/Vault/Resource",
    }  # fmt: skip


def test_aws_backup_of_an_unversioned_bucket_is_not_counted() -> None:
    """AWS Backup guide, "Amazon S3 backups", Backups and versioning: "You must enable S3
    Versioning on your S3 bucket to use AWS Backup for Amazon S3"."""
    stack = new_stack()
    bucket = _bucket(stack, versioned=False)
    _plan(stack, [bucket.attr_arn])
    posture = _one(bucket, CORRUPTION)
    assert posture.rpo_seconds is None and not posture.meets
    (note,) = posture.not_counted
    assert "needs S3 Versioning" in note
    assert "needs S3 Versioning" in str(posture.breach())


def test_s3_versioning_loses_nothing_and_no_protection_is_not_recoverable() -> None:
    assert _one(_bucket(new_stack()), CORRUPTION).rpo_seconds == 0
    unprotected = _one(_bucket(new_stack(), versioned=False), CORRUPTION)
    assert unprotected.rpo_seconds is None and not unprotected.meets


def test_regional_stores_lose_nothing_to_an_az() -> None:
    assert (
        _one(_table(new_stack()), AZ).rpo_seconds,
        _one(_table(new_stack()), AZ).rto_seconds,
    ) == (0, 0)
    assert _one(_bucket(new_stack()), AZ).rto_seconds == 0


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({"protection": True}, (0, 0)),
        ({"policy": CfnDeletionPolicy.RETAIN}, (0, 0)),
        ({"pitr": True}, (0, RESTORE_BASELINE_SECONDS)),  # DynamoDB's system backup
        ({"pitr": False}, (None, None)),
    ],
)
def test_table_stack_deletion_is_what_the_removal_policy_keeps(
    kwargs: dict[str, Any], expected: tuple[int | None, int | None]
) -> None:
    posture = _one(_table(new_stack(), **kwargs), DELETION)
    assert (posture.rpo_seconds, posture.rto_seconds) == expected


@pytest.mark.parametrize(
    ("kwargs", "expected"),
    [
        ({}, (0, 0)),  # deletion protection
        (
            {"protection": False, "policy": CfnDeletionPolicy.SNAPSHOT},
            (0, RESTORE_BASELINE_SECONDS),
        ),
        ({"protection": False, "policy": CfnDeletionPolicy.RETAIN}, (0, 0)),
        ({"protection": False, "policy": CfnDeletionPolicy.DELETE}, (None, None)),
    ],
)
def test_aurora_stack_deletion_is_what_the_removal_policy_keeps(
    kwargs: dict[str, Any], expected: tuple[int | None, int | None]
) -> None:
    posture = _one(_cluster(new_stack(), **kwargs), DELETION)
    assert (posture.rpo_seconds, posture.rto_seconds) == expected


def test_deleted_bucket_comes_back_from_the_vault_only() -> None:
    assert _one(_bucket(new_stack()), DELETION).rpo_seconds is None
    stack = new_stack()
    bucket = _bucket(stack)
    _plan(stack, [bucket.attr_arn])
    assert _one(bucket, DELETION).rpo_seconds == CONTINUOUS_LAG_SECONDS


def test_restore_time_estimate_replaces_the_baseline_and_says_so() -> None:
    objectives = RecoveryObjectives(restore_time=Duration.minutes(20))
    posture = _one(_table(new_stack()), CORRUPTION, objectives)
    assert posture.rto_seconds == 1200 and "your estimate (restore_time)" in posture.evidence


@pytest.mark.parametrize(
    ("expression", "seconds"),
    [
        ("cron(0 * * * ? *)", HOUR),
        ("cron(0 */6 * * ? *)", 6 * HOUR),
        ("cron(0 5 * * ? *)", 24 * HOUR),
        ("cron(0 0,18 * * ? *)", 18 * HOUR),
        ("cron(0 5 ? * MON *)", 7 * 24 * HOUR),
        ("cron(0 5 1 * ? *)", 31 * 24 * HOUR),
        ("rate(1 hour)", None),
    ],
)
def test_schedule_interval(expression: str, seconds: int | None) -> None:
    assert schedule_interval_seconds(expression) == seconds


# --- Checks: DrPlatform at once, hand-composed layers at synth -------------------------------


def test_platform_fails_at_once_naming_store_failure_target_value_and_setting() -> None:
    pattern = (
        r"rto for loss of one availability zone of Aurora cluster Test/Dr/Database/Cluster="
        r"'30 s'; accepted: 1 min or more.*proxy=True"
    )
    with pytest.raises(DrConfigurationError, match=pattern):
        DrPlatform(
            new_stack(),
            "Dr",
            objectives=RecoveryObjectives(az_loss=Target(rto=Duration.seconds(30))),
        )


def test_hand_composed_layers_are_checked_at_synth() -> None:
    stack = new_stack()
    network = DrNetwork(stack, "Network")
    DrDatabase(
        stack, "Data", network=network, objectives=RecoveryObjectives(rpo=Duration.minutes(1))
    )
    pattern = r"rpo for logical corruption or deletion of data of Aurora cluster Test/Data/Cluster"
    with pytest.raises(RuntimeError, match=pattern + "='1 min'"):
        stack.node.root.synth()  # type: ignore[attr-defined]


def test_posture_report_is_written_beside_the_template(tmp_path: Path) -> None:
    app = App(outdir=str(tmp_path), analytics_reporting=False)
    stack = Stack(app, "DrStack-test", env={"account": "123456789012", "region": "us-east-1"})  # type: ignore[arg-type]
    DrPlatform(stack, "Dr")
    assembly = app.synth()
    directory = Path(assembly.directory)
    assert (directory / "DrStack-test.template.json").exists()
    report = json.loads((directory / "DrStack-test.dr-posture.json").read_text())
    assert report["stack"] == "DrStack-test"
    assert report["objectives"][0]["rpo_seconds"] == HOUR
    row = report["postures"][0]
    assert list(row)[:7] == [
        "resource", "failure", "rpo_seconds", "rto_seconds", "target_rpo_seconds",
        "target_rto_seconds", "evidence",
    ]  # fmt: skip
    assert len(report["postures"]) == 9
    markdown = (directory / "DrStack-test.dr-posture.md").read_text()
    assert "| DrStack-test/Dr/Database/Cluster | az-loss | 0 s | 1 min | 1 h | 4 h |" in markdown
    assert PostureReport.of(stack).file_stem == "DrStack-test"


# --- Properties --------------------------------------------------------------------------------

_SECONDS = st.integers(min_value=0, max_value=8 * HOUR).map(lambda s: s - s % 60)


@st.composite
def _configuration(draw: st.DrawFn) -> list[Any]:
    stack = new_stack()
    stores: list[Any] = [
        _cluster(
            stack,
            azs=draw(st.sampled_from([("us-east-1a",), ("us-east-1a", "us-east-1b")])),
            protection=draw(st.booleans()),
            policy=draw(st.sampled_from(list(CfnDeletionPolicy))),
            proxy=draw(st.booleans()),
        ),
        _table(stack, pitr=draw(st.booleans()), protection=draw(st.booleans())),
        _bucket(stack, versioned=draw(st.booleans())),
    ]
    if draw(st.booleans()):
        _plan(
            stack, [s.attr_arn if not isinstance(s, rds.CfnDBCluster) else s.ref for s in stores],
            schedule=draw(st.sampled_from(["cron(0 * * * ? *)", "cron(0 5 * * ? *)"])),
            continuous=draw(st.booleans()),
            copy_to=draw(st.sampled_from([None, *_VAULTS.values()])),
        )  # fmt: skip
    return stores


#: Destination vaults in the form AWS's API reference gives (CopyJob DestinationBackupVaultArn:
#: "arn:aws:backup:us-east-1:123456789012:backup-vault:aBackupVault"), in this stack's region
#: and in another.
_VAULTS = {
    region: f"arn:aws:backup:{region}:123456789012:backup-vault:aBackupVault"
    for region in ("us-east-1", "us-west-2")
}


@pytest.mark.slow
@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_configuration(), _SECONDS, _SECONDS, _SECONDS, _SECONDS, st.booleans())
def test_a_stricter_objective_never_passes_what_a_weaker_one_rejects(
    stores: list[Any], rpo: int, rto: int, tighter_rpo: int, tighter_rto: int, region: bool
) -> None:
    """Also for the loss of the region (stated or not), whose only way back is a copy in
    another region: a copy in the store's own region never counts."""

    def objectives(rpo: int, rto: int) -> RecoveryObjectives:
        target = (
            Target(rpo=Duration.seconds(rpo * 6), rto=Duration.seconds(rto)) if region else None
        )
        return RecoveryObjectives(
            rpo=Duration.seconds(rpo), rto=Duration.seconds(rto), region_loss=target
        )

    weak = objectives(rpo, rto)
    strict = objectives(min(rpo, tighter_rpo), min(rto, tighter_rto))
    if region:
        for posture in assess(weak, stores):
            if posture.failure is FailureMode.REGION_LOSS and posture.rpo_seconds is not None:
                assert "us-west-2" in posture.evidence  # the copy in another region only
    for store in stores:
        weak_ok = all(p.meets for p in assess(weak, [store]))
        strict_ok = all(p.meets for p in assess(strict, [store]))
        assert weak_ok or not strict_ok


@pytest.mark.slow
@pytest.mark.parametrize("removal_policy", [RemovalPolicy.RETAIN, RemovalPolicy.DESTROY])
@pytest.mark.parametrize("retention", [Duration.days(1), Duration.days(35)])
def test_every_default_configuration_meets_the_spec(
    removal_policy: RemovalPolicy, retention: Duration
) -> None:
    platform = DrPlatform(
        new_stack(), "Dr", removal_policy=removal_policy, backup_retention=retention
    )  # raises on a breach
    assert all(
        p.target_rpo_seconds == HOUR and p.target_rto_seconds == 4 * HOUR and p.meets
        for p in platform.postures
    )
    assert len(platform.postures) == 9


# --- Alarms that catch the objectives slipping in operation -----------------------------------


@pytest.fixture(scope="module")
def template(platform: DrPlatform) -> Template:
    return Template.from_stack(Stack.of(platform))


def _alarm(template: Template, name: str) -> dict[str, Any]:
    (alarm,) = [
        a["Properties"]
        for a in template.find_resources("AWS::CloudWatch::Alarm").values()
        if a["Properties"]["AlarmName"] == name
    ]
    return alarm  # type: ignore[no-any-return]


def _vault_ref(template: Template) -> dict[str, Any]:
    (logical_id,) = template.find_resources("AWS::Backup::BackupVault")
    return {"Fn::GetAtt": [logical_id, "BackupVaultName"]}


@pytest.mark.parametrize(
    ("resource_type", "period"),
    [
        ("Aurora", 9900),  # daily snapshots: 24 h + 1 h start + 8 h completion = 33 h
        ("DynamoDB", 1200),  # hourly snapshots: 1 h + 1 h + 2 h = 4 h
        ("S3", 9900),
    ],
)
def test_no_backup_completed_within_the_snapshot_window(
    template: Template, resource_type: str, period: int
) -> None:
    """Only snapshot jobs are watched, over the longest gap the plan allows between two of
    them: a continuous rule documents no completed job per period (an hourly window on
    Aurora or S3 would alarm for ever)."""
    alarm = _alarm(template, f"dr-dev-NoRecentBackup{resource_type}")
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/Backup",
        "NumberOfBackupJobsCompleted",
        "Sum",
    )
    assert alarm["Dimensions"] == [
        {"Name": "BackupVaultName", "Value": _vault_ref(template)},
        {"Name": "ResourceType", "Value": resource_type},
    ]
    assert alarm["TreatMissingData"] == "breaching"  # published only when non-zero
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("LessThanThreshold", 1)
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (
        period,
        12,
        12,
    )
    assert alarm["AlarmActions"] == alarm["OKActions"]


@pytest.mark.parametrize("job", ["Backup", "Copy", "Restore"])
def test_vault_job_failures(template: Template, job: str) -> None:
    alarm = _alarm(template, f"dr-dev-Vault{job}JobsFailed")
    metrics = [m for m in alarm["Metrics"] if "MetricStat" in m]
    assert {m["MetricStat"]["Metric"]["MetricName"] for m in metrics} == {
        f"NumberOf{job}JobsFailed"
    }
    assert sorted(
        d["Value"] for m in metrics for d in m["MetricStat"]["Metric"]["Dimensions"]
        if d["Name"] == "ResourceType"
    ) == ["Aurora", "DynamoDB", "S3"]  # fmt: skip
    assert all(
        {"Name": "BackupVaultName", "Value": _vault_ref(template)}
        in m["MetricStat"]["Metric"]["Dimensions"]
        for m in metrics
    )
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)
    assert alarm["TreatMissingData"] == "notBreaching"


def test_aurora_replica_lag(template: Template) -> None:
    alarm = _alarm(template, "dr-dev-AuroraReplicaLag")
    assert (alarm["Namespace"], alarm["MetricName"], alarm["Statistic"]) == (
        "AWS/RDS",
        "AuroraReplicaLagMaximum",
        "Maximum",
    )
    (dimension,) = alarm["Dimensions"]
    assert dimension["Name"] == "DBClusterIdentifier"
    assert (alarm["Threshold"], alarm["Period"], alarm["EvaluationPeriods"]) == (1000, 60, 5)
    assert alarm["TreatMissingData"] == "notBreaching"


def test_dynamodb_system_errors(template: Template) -> None:
    alarm = _alarm(template, "dr-dev-DynamoDbSystemErrors")
    metrics = [m["MetricStat"]["Metric"] for m in alarm["Metrics"] if "MetricStat" in m]
    assert {m["MetricName"] for m in metrics} == {"SystemErrors"}
    assert {m["Namespace"] for m in metrics} == {"AWS/DynamoDB"}
    operations = {d["Value"] for m in metrics for d in m["Dimensions"] if d["Name"] == "Operation"}
    assert {"GetItem", "PutItem", "Query"} <= operations and len(operations) == 8
    assert (alarm["ComparisonOperator"], alarm["Threshold"]) == ("GreaterThanThreshold", 0)


def test_rpo_window_follows_the_objective() -> None:
    platform = DrPlatform(new_stack(), "Dr", objectives=RecoveryObjectives(rpo=Duration.hours(8)))
    alarm = _alarm(Template.from_stack(Stack.of(platform)), "dr-dev-NoRecentBackupDynamoDB")
    assert (alarm["Period"], alarm["EvaluationPeriods"], alarm["DatapointsToAlarm"]) == (
        2400,
        12,
        12,
    )


def test_rpo_window_is_never_shorter_than_the_backup_schedule() -> None:
    stack = new_stack()
    table = _table(stack, pitr=True)
    _plan(stack, [table.attr_arn], schedule="cron(0 5 * * ? *)")
    strict = RecoveryObjectives(rpo=Duration.minutes(15))
    assert backup_alarm_windows(strict, [table]) == {"DynamoDB": 24 * HOUR + 3 * HOUR}
    assert backup_alarm_windows(strict, [_table(new_stack())]) == {}


def test_continuous_points_alone_get_no_completed_job_alarm() -> None:
    """A store with only a continuous point has no snapshot job to wait for: no window (the
    hourly NoRecentBackup alarm on it would stay in ALARM for ever)."""
    stack = new_stack()
    cluster, bucket = _cluster(stack), _bucket(stack)
    _plan(stack, [cluster.ref, bucket.attr_arn])
    assert backup_alarm_windows(RecoveryObjectives(), [cluster, bucket]) == {}
    stack = new_stack()
    cluster = _cluster(stack)
    _plan(stack, [cluster.ref], snapshots="cron(0 5 * * ? *)")
    assert backup_alarm_windows(RecoveryObjectives(), [cluster]) == {"Aurora": 33 * HOUR}


# --- Opt-ins: RDS Proxy and AWS Resilience Hub ------------------------------------------------


@pytest.fixture(scope="module")
def opted_in() -> tuple[DrPlatform, Template]:
    objectives = RecoveryObjectives(
        rpo=Duration.minutes(15), rto=Duration.hours(2), az_loss=Target(rto=Duration.seconds(30))
    )
    platform = DrPlatform(
        new_stack(), "Dr", proxy=True, resilience_hub=True, objectives=objectives
    )  # a 30 s AZ-loss RTO passes only behind the proxy
    return platform, Template.from_stack(Stack.of(platform))


def test_snapshot_with_proxy_and_resilience_hub(
    opted_in: tuple[DrPlatform, Template], snapshot_json: Any
) -> None:
    assert normalised(opted_in[1]) == snapshot_json


def test_posture_counts_the_proxy(opted_in: tuple[DrPlatform, Template]) -> None:
    posture = _by(opted_in[0].postures)["Cluster", AZ]
    assert (posture.rto_seconds, posture.target_rto_seconds) == (PROXY_FAILOVER_SECONDS, 30)
    assert "behind RDS Proxy Test/Dr/Database/Proxy" in posture.evidence


def test_proxy_requires_tls_and_iam_with_the_db_secret(
    opted_in: tuple[DrPlatform, Template],
) -> None:
    platform, template = opted_in
    (proxy,) = template.find_resources("AWS::RDS::DBProxy").values()
    props = proxy["Properties"]
    assert (props["RequireTLS"], props["EngineFamily"], props["DBProxyName"]) == (
        True,
        "POSTGRESQL",
        "dr-proxy-dev",
    )
    (auth,) = props["Auth"]
    assert (auth["AuthScheme"], auth["IAMAuth"]) == ("SECRETS", "REQUIRED")
    assert platform.database.secret is not None
    assert auth["SecretArn"] == Stack.of(platform).resolve(platform.database.secret.secret_arn)
    (group,) = template.find_resources("AWS::RDS::DBProxyTargetGroup").values()
    assert group["Properties"]["DBClusterIdentifiers"] == [
        {"Ref": Stack.of(platform).get_logical_id(platform.cluster.node.default_child)}  # type: ignore[arg-type]
    ]
    # the proxy reads the secret through a managed policy, never an inline one
    template.resource_count_is("AWS::IAM::Policy", 0)


def test_health_check_connects_through_the_proxy_with_iam(
    opted_in: tuple[DrPlatform, Template],
) -> None:
    platform, template = opted_in
    function = platform.lambda_function.node.default_child
    env = Stack.of(platform).resolve(function._cfn_properties)["environment"]["variables"]  # type: ignore[union-attr]
    assert env["DB_IAM_AUTH"] == "true"
    assert env["DB_HOST"]["Fn::GetAtt"][1] == "Endpoint"
    policy = json.dumps(Stack.of(platform).resolve(platform.function.policy.document))
    assert "rds-db:connect" in policy and "/dradmin" in policy
    ingress = [
        r["Properties"]
        for r in template.find_resources("AWS::EC2::SecurityGroupIngress").values()
        if r["Properties"].get("FromPort") == 5432
    ]
    assert len(ingress) == 4  # cluster: rotation, proxy, Lambda; proxy: Lambda
    assert all(r["ToPort"] == 5432 for r in ingress)


def test_resilience_hub_policy_from_the_same_objectives(
    opted_in: tuple[DrPlatform, Template],
) -> None:
    template = opted_in[1]
    (policy,) = template.find_resources("AWS::ResilienceHub::ResiliencyPolicy").values()
    props = policy["Properties"]
    assert props["Policy"] == {
        "AZ": {"RpoInSecs": 900, "RtoInSecs": 30},
        "Hardware": {"RpoInSecs": 900, "RtoInSecs": 30},
        "Software": {"RpoInSecs": 900, "RtoInSecs": 7200},
    }
    assert "Region" not in props["Policy"] and props["Tier"] == "Critical"


def test_resilience_hub_app_mapped_to_the_stack_assessed_daily_notifying_the_topic(
    opted_in: tuple[DrPlatform, Template],
) -> None:
    platform, template = opted_in
    (app,) = template.find_resources("AWS::ResilienceHub::App").values()
    props = app["Properties"]
    assert props["ResourceMappings"] == [
        {
            "MappingType": "CfnStack",
            "PhysicalResourceId": {"Identifier": {"Ref": "AWS::StackId"}, "Type": "Arn"},
        }
    ]
    assert props["AppAssessmentSchedule"] == "Daily"
    topic = {"Ref": Stack.of(platform).get_logical_id(platform.topic.node.default_child)}  # type: ignore[arg-type]
    assert sorted(
        (s["EventType"], json.dumps(s["SnsTopicArn"])) for s in props["EventSubscriptions"]
    ) == [
        ("DriftDetected", json.dumps(topic)),
        ("ScheduledAssessmentFailure", json.dumps(topic)),
    ]
    assert json.loads(props["AppTemplateBody"])["version"] == 2.0
    assert "PolicyArn" in json.dumps(props["ResiliencyPolicyArn"])


def test_resilience_hub_may_publish_to_the_encrypted_topic(
    opted_in: tuple[DrPlatform, Template],
) -> None:
    template = opted_in[1]
    (topic_policy,) = template.find_resources("AWS::SNS::TopicPolicy").values()
    statements = topic_policy["Properties"]["PolicyDocument"]["Statement"]
    (publish,) = [s for s in statements if s.get("Sid") == "PublishResiliencehub"]
    assert (publish["Principal"], publish["Action"]) == (
        {"Service": "resiliencehub.amazonaws.com"},
        "sns:Publish",
    )
    keys = [
        k["Properties"]["KeyPolicy"]["Statement"]
        for k in template.find_resources("AWS::KMS::Key").values()
    ]
    (key_statement,) = [s for ks in keys for s in ks if s.get("Sid") == "PublishResiliencehub"]
    assert sorted(key_statement["Action"]) == ["kms:Decrypt", "kms:GenerateDataKey"]


#: The Resilience Hub API's shapes (botocore's resiliencehub service model).
RESILIENCE_HUB_MODEL = botocore.session.get_session().get_service_model("resiliencehub")


def test_resilience_hub_assesses_daily_as_a_role_based_invoker(
    opted_in: tuple[DrPlatform, Template],
) -> None:
    """A daily assessment needs PermissionModel RoleBased with an invoker role trusting
    resiliencehub.amazonaws.com (Resilience Hub user guide, "Invoker role"), carrying the
    AWS-managed policy that page names, spelled as AWS spells it."""
    template = opted_in[1]
    (app,) = template.find_resources("AWS::ResilienceHub::App").values()
    model = app["Properties"]["PermissionModel"]
    (role_id,) = [k for k in template.find_resources("AWS::IAM::Role") if "InvokerRole" in k]
    assert model == {"Type": "RoleBased", "InvokerRoleName": {"Ref": role_id}}
    assert "RoleBased" in RESILIENCE_HUB_MODEL.shape_for("PermissionModelType").enum
    role = template.find_resources("AWS::IAM::Role")[role_id]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert (trust["Principal"], trust["Action"]) == (
        {"Service": "resiliencehub.amazonaws.com"}, "sts:AssumeRole"
    )  # fmt: skip
    (arn,) = role["ManagedPolicyArns"]
    assert arn == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"},
                          f":iam::aws:policy/{RESILIENCE_HUB_INVOKER_POLICY}"]]
    }  # fmt: skip
    # AWS's managed policies as published (moto ships a copy): the name exists, at path "/"
    published = json.loads(aws_managed_policies_data)[RESILIENCE_HUB_INVOKER_POLICY]
    assert published["Path"] == "/"
    actions = {a for s in published["Document"]["Statement"] for a in s["Action"]}
    assert {"cloudformation:DescribeStacks", "cloudformation:ListStackResources"} <= actions


def test_resilience_hub_app_is_a_valid_create_app_request(
    opted_in: tuple[DrPlatform, Template],
) -> None:
    """The application's properties, as the CreateApp request CloudFormation sends, checked
    against botocore's model; the template body's excludedResources in the documented form
    (CreateApp appTemplateBody: excludedResources holds logicalResourceIds)."""
    (app,) = opted_in[1].find_resources("AWS::ResilienceHub::App").values()
    props = app["Properties"]
    body = json.loads(props["AppTemplateBody"])
    assert body["excludedResources"] == {"logicalResourceIds": []}
    request = {
        "name": props["Name"],
        "description": props["Description"],
        "assessmentSchedule": props["AppAssessmentSchedule"],
        # the policy's ARN in the model's documented form; a role name CDK could generate
        "policyArn": "arn:aws:resiliencehub:us-east-1:123456789012:resiliency-policy/"
        "1a2b3c4d-5e6f-7a8b-9c0d-1e2f3a4b5c6d",
        "permissionModel": {
            "type": props["PermissionModel"]["Type"],
            "invokerRoleName": "Test-DrResilienceHubInvokerRole1A2B3C4D-AbCdEfGhIjKl",
        },
        "eventSubscriptions": [
            {"eventType": e["EventType"], "name": e["Name"],
             "snsTopicArn": "arn:aws:sns:us-east-1:123456789012:dr-alerts-dev"}
            for e in props["EventSubscriptions"]
        ],
    }  # fmt: skip
    validate_parameters(request, RESILIENCE_HUB_MODEL.operation_model("CreateApp").input_shape)
    schedules = RESILIENCE_HUB_MODEL.shape_for("AppAssessmentScheduleType").enum
    assert request["assessmentSchedule"] in schedules
    invoker = RESILIENCE_HUB_MODEL.shape_for("PermissionModel").members["invokerRoleName"]
    assert re.fullmatch(invoker.metadata["pattern"], request["permissionModel"]["invokerRoleName"])


def test_resilience_hub_rejects_a_bad_tier() -> None:
    stack = new_stack()
    topic = sns.Topic(stack, "T")
    with pytest.raises(DrConfigurationError, match=r"tier='Gold'"):
        ResilienceHubApp(
            stack, "Hub", objectives=RecoveryObjectives(), name="dr", topic=topic, tier="Gold"
        )


# --- CloudFormation's defaults and the other RDS deployments ----------------------------------


def test_cluster_without_deletion_policy_gets_cloudformations_snapshot() -> None:
    """CloudFormation, DeletionPolicy attribute: "The default policy is Snapshot for
    AWS::RDS::DBCluster resources and for AWS::RDS::DBInstance resources that don't specify
    the DBClusterIdentifier property"."""
    stack = new_stack()
    cluster = rds.CfnDBCluster(stack, "Cluster", engine="aurora-postgresql")
    posture = _one(cluster, DELETION)
    assert (posture.rpo_seconds, posture.rto_seconds) == (0, RESTORE_BASELINE_SECONDS)
    assert "DeletionPolicy Snapshot (CloudFormation's default here)" in posture.evidence


def test_retain_except_on_create_keeps_the_cluster() -> None:
    cluster = _cluster(
        new_stack(), protection=False, policy=CfnDeletionPolicy.RETAIN_EXCEPT_ON_CREATE
    )
    assert (_one(cluster, DELETION).rpo_seconds, _one(cluster, DELETION).rto_seconds) == (0, 0)


def _instance(stack: Stack, **props: Any) -> rds.CfnDBInstance:
    return rds.CfnDBInstance(
        stack, "Instance", engine="postgres", db_instance_class="db.t4g.micro",
        allocated_storage="20", **props,
    )  # fmt: skip


def test_standalone_instance_multi_az_fails_over_to_its_standby() -> None:
    """RDS User Guide, Multi-AZ DB instance deployments: "Failover times are typically 60-120
    seconds"."""
    posture = _one(_instance(new_stack(), multi_az=True), AZ)
    assert (posture.rpo_seconds, posture.rto_seconds) == (0, RDS_MULTI_AZ_FAILOVER_SECONDS)


def test_standalone_single_az_instance_is_restored_in_another_az() -> None:
    posture = _one(_instance(new_stack(), backup_retention_period=7), AZ)
    assert (posture.rpo_seconds, posture.rto_seconds) == (
        CONTINUOUS_LAG_SECONDS,
        RESTORE_BASELINE_SECONDS,
    )
    assert "restored in another AZ - RDS automated backups (BackupRetentionPeriod 7 days)" in (
        posture.evidence
    )
    without_backups = _one(_instance(new_stack(), backup_retention_period=0), AZ)
    assert without_backups.rpo_seconds is None and "MultiAZ: true" in without_backups.rto_remedy


def test_multi_az_db_cluster_fails_over_within_35_seconds() -> None:
    """RDS User Guide, failing over a Multi-AZ DB cluster: "Failover times are typically under
    35 seconds"."""
    stack = new_stack()
    cluster = rds.CfnDBCluster(
        stack, "Cluster", engine="postgres", db_cluster_instance_class="db.m6gd.large",
        allocated_storage=100, storage_type="io1", iops=1000,
    )  # fmt: skip
    posture = _one(cluster, AZ)
    assert (posture.rpo_seconds, posture.rto_seconds) == (0, MULTI_AZ_CLUSTER_FAILOVER_SECONDS)
    assert posture.kind == "Multi-AZ DB cluster"


def _count_renderings(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """The stack paths StackTemplate.of renders, in order, from now on."""
    from dr_constructs import templates

    rendered: list[str] = []
    render = templates.StackTemplate.of.__func__  # type: ignore[attr-defined]

    def counted(cls: type[templates.StackTemplate], stack: Stack) -> templates.StackTemplate:
        rendered.append(stack.node.path)
        return render(cls, stack)  # type: ignore[no-any-return]

    monkeypatch.setattr(templates.StackTemplate, "of", classmethod(counted))
    return rendered


def test_the_posture_is_computed_once_per_synth(monkeypatch: pytest.MonkeyPatch) -> None:
    """The stack's template is rendered through jsii (StackTemplate.of) once, for DrPlatform's
    check, its dashboard text and backup alarm windows; the report written at synth is of
    those postures, not rendered and computed again (issue 19)."""
    rendered = _count_renderings(monkeypatch)
    stack = new_stack()
    platform = DrPlatform(stack, "Dr")
    assert rendered == ["Test"]
    Template.from_stack(stack)
    assert rendered == ["Test"]
    report = PostureReport.of(stack).to_dict()
    assert report["postures"] == [p.to_dict() for p in platform.postures]
    assert rendered == ["Test"]


def test_stores_bound_at_synth_are_assessed_at_synth(monkeypatch: pytest.MonkeyPatch) -> None:
    """A hand-composed layer's stores (``check_at_synth``) are assessed when the app is
    synthesized, from one rendering shared by the report and the check."""
    rendered = _count_renderings(monkeypatch)
    stack = new_stack()
    DrDatabase(stack, "Data", network=DrNetwork(stack, "Network"), objectives=RecoveryObjectives())
    assert rendered == []
    Template.from_stack(stack)
    assert rendered == ["Test"]


def test_objectives_hand_out_durations_per_failure_mode() -> None:
    objectives = RecoveryObjectives(
        rpo=Duration.minutes(30), rto=Duration.hours(2), az_loss=Target(rto=Duration.minutes(1))
    )
    assert objectives.rto(FailureMode.AZ_LOSS).to_seconds() == 60
    assert objectives.rpo(FailureMode.AZ_LOSS).to_seconds() == 1800
    assert objectives.rto(FailureMode.CORRUPTION).to_seconds() == 7200
    assert objectives.targets[FailureMode.AZ_LOSS] == (1800, 60)  # kept: the same in seconds


# --- The loss of the region --------------------------------------------------------------------


def _table_copied(copy_to: str | None, **objectives: Any) -> dict[FailureMode, Posture]:
    stack = new_stack()
    table = _table(stack, pitr=True, protection=True)
    _plan(stack, [table.attr_arn], continuous=True, copy_to=copy_to)
    return {
        p.failure: p
        for p in assess(RecoveryObjectives(region_loss=Target(rpo=Duration.hours(6)),
                                           **objectives), [table])
    }  # fmt: skip


def test_region_loss_rpo_is_the_schedule_its_windows_and_the_copy_time() -> None:
    posture = _table_copied(_VAULTS["us-west-2"])[FailureMode.REGION_LOSS]
    # every hour + start window 1 h + completion window 2 h + copy time 1 h (assumed)
    assert (posture.rpo_seconds, posture.rto_seconds) == (5 * HOUR, RESTORE_BASELINE_SECONDS)
    assert (posture.target_rpo_seconds, posture.target_rto_seconds) == (6 * HOUR, 4 * HOUR)
    assert "copy time 1 h assumed" in posture.evidence
    assert "restored in us-west-2" in posture.evidence
    assert "advanced features for DynamoDB" in posture.evidence  # the documented prerequisite
    measured = _table_copied(
        _VAULTS["us-west-2"], copy_time=Duration.minutes(20), restore_time=Duration.hours(2)
    )[FailureMode.REGION_LOSS]
    assert (measured.rpo_seconds, measured.rto_seconds) == (4 * HOUR + 20 * 60, 2 * HOUR)
    assert "copy time 20 min: your estimate (copy_time)" in measured.evidence


def test_a_copy_in_the_same_region_is_no_way_back_from_its_loss() -> None:
    for copy_to in (_VAULTS["us-east-1"], None):
        posture = _table_copied(copy_to)[FailureMode.REGION_LOSS]
        assert (posture.rpo_seconds, posture.meets) == (None, False)
        assert "recovery_region=DrRecoveryRegion" in posture.rpo_remedy


def test_region_loss_is_assessed_only_when_stated() -> None:
    stack = new_stack()
    table = _table(stack, pitr=True, protection=True)
    _plan(stack, [table.attr_arn], copy_to=_VAULTS["us-west-2"])
    assert FailureMode.REGION_LOSS not in {p.failure for p in assess(RecoveryObjectives(), [table])}


def test_a_region_loss_breach_names_the_copy_arithmetic() -> None:
    stack = new_stack()
    table = _table(stack, pitr=True, protection=True)
    _plan(stack, [table.attr_arn], copy_to=_VAULTS["us-west-2"])
    objectives = RecoveryObjectives(region_loss=Target(rpo=Duration.hours(4)))
    with pytest.raises(
        DrConfigurationError,
        match=r"rpo for loss of the whole region of DynamoDB table Test/Table='4 h'; accepted: "
        r"5 h or more.*copy time 1 h assumed.*Aurora Global Database",
    ):
        objectives.check([table])

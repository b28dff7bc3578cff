"""recovery: DrRecoveryRegion in its own stack, DrPlatform copying every backup to it."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, RemovalPolicy, Stack, Stage
from aws_cdk.assertions import Match, Template
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from syrupy.assertion import SnapshotAssertion

from dr_constructs import DrConfigurationError, DrPlatform, RecoveryObjectives, Target
from dr_constructs.contract import (
    METADATA_KEY,
    recovery_key_alias,
    recovery_subnet_group_name,
    recovery_vault_name,
)
from dr_constructs.objectives import FailureMode
from dr_constructs.recovery import DrRecoveryRegion

from .conftest import ACCOUNT, normalised

HOUR = 3600
PRIMARY, RECOVERY = "us-east-1", "us-west-2"
OBJECTIVES = RecoveryObjectives(region_loss=Target(rpo=Duration.hours(6), rto=Duration.hours(8)))


def two_stacks(
    primary: str | None = PRIMARY,
    recovery: str | None = RECOVERY,
    *,
    recovery_account: str | None = ACCOUNT,
    objectives: RecoveryObjectives | None = OBJECTIVES,
    **props: Any,
) -> tuple[DrPlatform, DrRecoveryRegion]:
    app = App(analytics_reporting=False)
    env = Environment(account=recovery_account, region=recovery) if recovery else None
    region = DrRecoveryRegion(Stack(app, "DrRecovery", env=env), "Recovery",
                              environment_suffix="prod")  # fmt: skip
    env = Environment(account=ACCOUNT, region=primary) if primary else None
    platform = DrPlatform(
        Stack(app, "DrStack", env=env), "Dr", environment_suffix="prod",
        recovery_region=region, objectives=objectives, **props,
    )  # fmt: skip
    return platform, region


@pytest.fixture(scope="module")
def built() -> tuple[DrPlatform, DrRecoveryRegion]:
    return two_stacks(copy_retention=Duration.days(30))


@pytest.fixture(scope="module")
def primary(built: tuple[DrPlatform, DrRecoveryRegion]) -> Template:
    return Template.from_stack(Stack.of(built[0]))


@pytest.fixture(scope="module")
def recovery(built: tuple[DrPlatform, DrRecoveryRegion]) -> Template:
    return Template.from_stack(Stack.of(built[1]))


# --- The recovery region's stack ------------------------------------------------------------


def test_recovery_template_snapshot(recovery: Template, snapshot: SnapshotAssertion) -> None:
    assert normalised(recovery) == snapshot


def test_the_vault_is_named_kept_and_encrypted_with_its_own_rotating_key(
    recovery: Template,
) -> None:
    (key_id,) = recovery.find_resources("AWS::KMS::Key", {"Properties": {
        "Description": "DR recovery vault (prod)"}})  # fmt: skip
    recovery.has_resource("AWS::KMS::Key", {
        "Properties": {"Description": "DR recovery vault (prod)", "EnableKeyRotation": True},
        "DeletionPolicy": "Retain",
    })  # fmt: skip
    recovery.has_resource_properties("AWS::KMS::Alias", {
        "AliasName": recovery_key_alias("prod"), "TargetKeyId": {"Fn::GetAtt": [key_id, "Arn"]},
    })  # fmt: skip
    recovery.has_resource("AWS::Backup::BackupVault", {
        "Properties": {
            "BackupVaultName": recovery_vault_name("prod"),
            "EncryptionKeyArn": {"Fn::GetAtt": [key_id, "Arn"]},
            "AccessPolicy": Match.object_like({"Statement": [Match.object_like({
                "Effect": "Deny", "Action": Match.array_with(["backup:DeleteRecoveryPoint"])})]}),
        },
        "DeletionPolicy": "Retain",
    })  # fmt: skip
    assert recovery.find_resources("Custom::DrVaultDeletion") == {}


def test_restores_get_an_isolated_network_without_nat_or_internet(recovery: Template) -> None:
    subnets = recovery.find_resources("AWS::EC2::Subnet")
    assert len(subnets) == 3
    assert all(s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets.values())
    for absent in ("AWS::EC2::InternetGateway", "AWS::EC2::NatGateway", "AWS::EC2::Route"):
        assert recovery.find_resources(absent) == {}, absent
    endpoints = recovery.find_resources("AWS::EC2::VPCEndpoint")
    assert {e["Properties"]["VpcEndpointType"] for e in endpoints.values()} == {"Gateway"}
    recovery.has_resource_properties("AWS::EC2::VPC", {"CidrBlock": "10.1.0.0/16"})
    recovery.resource_count_is("AWS::EC2::FlowLog", 1)
    recovery.has_resource_properties("AWS::RDS::DBSubnetGroup", {
        "DBSubnetGroupName": recovery_subnet_group_name("prod"),
        "SubnetIds": [{"Ref": k} for k in subnets],
    })  # fmt: skip
    (group,) = [
        g for g in recovery.find_resources("AWS::EC2::SecurityGroup").values()
        if "restored" in g["Properties"]["GroupDescription"]
    ]  # fmt: skip
    assert "SecurityGroupIngress" not in group["Properties"]
    # CDK's "no egress" rule: an ICMP rule to 255.255.255.255/32 that matches nothing
    (egress,) = group["Properties"]["SecurityGroupEgress"]
    assert egress["CidrIp"] == "255.255.255.255/32"


def test_copies_that_stop_arriving_alarm_in_the_recovery_region(recovery: Template) -> None:
    """No completed copy into the recovery vault for the region-loss RPO target (6 h): each
    resource type's alarm, missing data breaching (AWS/Backup publishes only non-zero)."""
    alarms = recovery.find_resources("AWS::CloudWatch::Alarm")
    copies = {
        a["Properties"]["AlarmName"]: a["Properties"] for a in alarms.values()
        if a["Properties"]["AlarmName"].startswith("dr-prod-NoRecentCopy")
    }  # fmt: skip
    assert set(copies) == {f"dr-prod-NoRecentCopy{t}" for t in ("Aurora", "DynamoDB", "S3")}
    for name, alarm in copies.items():
        assert alarm["MetricName"] == "NumberOfCopyJobsCompleted"
        assert alarm["Namespace"] == "AWS/Backup"
        assert {d["Name"]: d["Value"] for d in alarm["Dimensions"]} == {
            "BackupVaultName": {"Fn::GetAtt": [_vault(recovery), "BackupVaultName"]},
            "ResourceType": name.removeprefix("dr-prod-NoRecentCopy"),
        }
        assert alarm["TreatMissingData"] == "breaching"
        assert alarm["ComparisonOperator"] == "LessThanThreshold"
        assert alarm["Period"] * alarm["EvaluationPeriods"] == 6 * HOUR
        assert alarm["DatapointsToAlarm"] == alarm["EvaluationPeriods"]
        (action,) = alarm["AlarmActions"]
        assert action == {"Ref": _topic(recovery)}


def _vault(template: Template) -> str:
    (vault,) = template.find_resources("AWS::Backup::BackupVault")
    return vault


def _topic(template: Template) -> str:
    (topic,) = template.find_resources("AWS::SNS::Topic")
    return topic


def test_the_recovery_topic_is_encrypted_and_takes_alarms(recovery: Template) -> None:
    recovery.has_resource_properties("AWS::SNS::Topic", {
        "TopicName": "dr-alerts-prod", "KmsMasterKeyId": Match.any_value()})  # fmt: skip
    recovery.has_resource_properties("AWS::CloudWatch::Dashboard", {
        "DashboardName": f"DR-Dashboard-prod-{RECOVERY}"})  # fmt: skip


# --- The primary stack: copies, the key, the order, the metadata ----------------------------


def test_every_backup_rule_copies_to_the_recovery_vault(primary: Template) -> None:
    (plan,) = primary.find_resources("AWS::Backup::BackupPlan").values()
    rules = plan["Properties"]["BackupPlan"]["BackupPlanRule"]
    assert [r["RuleName"] for r in rules] == ["HourlyWithContinuous", "DailySnapshots"]
    for rule in rules:
        (copy,) = rule["CopyActions"]
        assert copy == {
            "DestinationBackupVaultArn": {"Fn::Join": ["", [
                "arn:", {"Ref": "AWS::Partition"},
                f":backup:{RECOVERY}:{ACCOUNT}:backup-vault:{recovery_vault_name('prod')}",
            ]]},
            "Lifecycle": {"DeleteAfterDays": 30},
        }  # fmt: skip
        assert rule["Lifecycle"] == {"DeleteAfterDays": 7}  # the primary's own retention


def test_the_backup_role_may_use_the_recovery_key_by_its_alias_only(primary: Template) -> None:
    (policy,) = primary.find_resources(
        "AWS::IAM::ManagedPolicy",
        {"Properties": {"Description": "AWS Backup: use the keys of the DR resources it protects"}},
    ).values()
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    keys = {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"},
                              f":kms:{RECOVERY}:{ACCOUNT}:key/*"]]}  # fmt: skip
    alias = {"ForAnyValue:StringEquals": {"kms:ResourceAliases": recovery_key_alias("prod")}}
    recovery_statements = [s for s in statements if s["Resource"] == keys]
    assert recovery_statements == [
        {"Action": ["kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey"],
         "Condition": alias, "Effect": "Allow", "Resource": keys},
        {"Action": "kms:CreateGrant", "Effect": "Allow", "Resource": keys,
         "Condition": {**alias, "Bool": {"kms:GrantIsForAWSResource": "true"}}},
    ]  # fmt: skip


def test_the_primary_stack_depends_on_the_recovery_stack(
    built: tuple[DrPlatform, DrRecoveryRegion],
) -> None:
    platform, region = built
    assert Stack.of(region) in Stack.of(platform).dependencies
    assert Stack.of(platform) not in Stack.of(region).dependencies


def test_the_primary_template_states_the_region_loss_objective_and_the_recovery_region(
    built: tuple[DrPlatform, DrRecoveryRegion],
) -> None:
    metadata = Stack.of(built[0]).template_options.metadata[METADATA_KEY]
    assert metadata["objectives"]["region_loss"] == {"rpo_seconds": 6 * HOUR,
                                                     "rto_seconds": 8 * HOUR}  # fmt: skip
    assert metadata["recovery_region"] == {
        "region": RECOVERY,
        "vault": recovery_vault_name("prod"),
        "stack": "DrRecovery",
    }


def test_region_loss_rows_for_every_store(built: tuple[DrPlatform, DrRecoveryRegion]) -> None:
    rows = [p for p in built[0].postures if p.failure is FailureMode.REGION_LOSS]
    assert sorted(p.resource.rsplit("/", 1)[-1] for p in rows) == ["Bucket", "Cluster", "Table"]
    # the hourly rule's copies: 1 h + start 1 h + completion 2 h + copy 1 h (assumed)
    assert {(p.rpo_seconds, p.rto_seconds, p.meets) for p in rows} == {(5 * HOUR, HOUR, True)}
    assert all(f"restored in {RECOVERY}" in p.evidence for p in rows)
    assert "loss of the whole region: RPO 5 h, RTO 1 h" in json.dumps(
        Template.from_stack(Stack.of(built[0])).find_resources("AWS::CloudWatch::Dashboard")
    )


def test_copy_failures_reach_the_primary_topic(primary: Template) -> None:
    """Copy jobs run in the primary region: their failures there go to its topic (event rule
    on ``detail.state``, as AWS Backup's copy job events carry it) and alarm per vault."""
    primary.has_resource_properties("AWS::Events::Rule", {"EventPattern": {
        "source": ["aws.backup"], "detail-type": ["Copy Job State Change"],
        "detail": {"state": Match.array_with(["FAILED"])}},
        "Targets": [Match.object_like({"Arn": {"Ref": _topic(primary)}})]})  # fmt: skip
    primary.has_resource_properties("AWS::CloudWatch::Alarm", {
        "AlarmName": "dr-prod-VaultCopyJobsFailed"})  # fmt: skip


@pytest.mark.slow
def test_a_region_loss_breach_fails_synth() -> None:
    tight = RecoveryObjectives(region_loss=Target(rpo=Duration.hours(4)))
    with pytest.raises(
        DrConfigurationError,
        match=r"rpo for loss of the whole region of Aurora "
        r"cluster DrStack/Dr/Database/Cluster='4 h'; accepted: 5 h or more",
    ):
        two_stacks(objectives=tight)
    # a measured copy time of 30 min: 4 h 30 min, still above; a 5 h target is met
    with pytest.raises(DrConfigurationError, match=r"accepted: 4 h 30 min or more"):
        two_stacks(objectives=RecoveryObjectives(region_loss=Target(rpo=Duration.hours(4)),
                                                 copy_time=Duration.minutes(30)))  # fmt: skip
    two_stacks(objectives=RecoveryObjectives(region_loss=Target(rpo=Duration.hours(5))))


def test_destroy_empties_the_recovery_vault_at_stack_deletion() -> None:
    app = App(analytics_reporting=False)
    stack = Stack(app, "R", env=Environment(account=ACCOUNT, region=RECOVERY))
    DrRecoveryRegion(stack, "Recovery", removal_policy=RemovalPolicy.DESTROY)
    template = Template.from_stack(stack)
    template.has_resource("AWS::Backup::BackupVault", {"DeletionPolicy": "Delete"})
    template.has_resource_properties("Custom::DrVaultDeletion", {
        "BackupVaultName": {"Fn::GetAtt": [_vault(template), "BackupVaultName"]}})  # fmt: skip


# --- Pairs and environments -------------------------------------------------------------------


@pytest.mark.slow
@pytest.mark.parametrize(("primary", "recovery"), [
    ("eu-west-1", "eu-central-1"),
    ("us-gov-west-1", "us-gov-east-1"),
    ("cn-north-1", "cn-northwest-1"),
])  # fmt: skip
def test_pairs_within_a_partition_copy(primary: str, recovery: str) -> None:
    platform, _ = two_stacks(primary, recovery)
    rows = [p for p in platform.postures if p.failure is FailureMode.REGION_LOSS]
    assert len(rows) == 3 and all(recovery in p.evidence for p in rows)


@pytest.mark.parametrize(("primary", "recovery", "message"), [
    ("us-east-1", "cn-north-1", r"copies the Aurora cluster, the DynamoDB table and the S3 "
     r"bucket only between regions of one partition, and cn-north-1 is in aws-cn"),
    ("cn-northwest-1", "us-west-2", r"us-west-2 is in aws$"),
    ("us-gov-west-1", "us-east-1", r"partition \(aws-us-gov\)"),
    ("us-east-1", "us-east-1", r"a region other than us-east-1: a copy in the same region"),
    (None, "us-west-2", r"None in an environment-agnostic stack"),
])  # fmt: skip
def test_pairs_that_cannot_copy_are_refused(
    primary: str | None, recovery: str, message: str
) -> None:
    with pytest.raises(DrConfigurationError, match=r"DrPlatform: invalid recovery_region=.*"
                       + message):  # fmt: skip
        two_stacks(primary, recovery)


def test_an_environment_agnostic_recovery_stack_is_refused() -> None:
    with pytest.raises(DrConfigurationError, match=r"DrRecoveryRegion: invalid the stack's "
                       r"env='environment-agnostic'.*explicit region"):  # fmt: skip
        two_stacks(recovery=None)


def test_another_account_is_refused() -> None:
    with pytest.raises(DrConfigurationError, match=r"same account.*cross-account copies"):
        two_stacks(recovery_account="210987654321")
    with pytest.raises(DrConfigurationError, match=r"same account"):
        two_stacks(recovery_account=None)


def test_the_recovery_region_must_be_in_the_same_stage() -> None:
    app = App(analytics_reporting=False)
    other = Stage(app, "Other")
    region = DrRecoveryRegion(
        Stack(other, "R", env=Environment(account=ACCOUNT, region=RECOVERY)), "Recovery"
    )
    with pytest.raises(DrConfigurationError, match=r"in the same Stage"):
        DrPlatform(Stack(app, "P", env=Environment(account=ACCOUNT, region=PRIMARY)), "Dr",
                   recovery_region=region)  # fmt: skip


def test_bad_props_are_refused() -> None:
    with pytest.raises(DrConfigurationError, match=r"invalid copy_retention='0 days'"):
        two_stacks(copy_retention=Duration.days(0))
    with pytest.raises(
        DrConfigurationError,
        match=r"invalid recovery_region='us-west-2'; accepted: a DrRecoveryRegion",
    ):
        DrPlatform(Stack(App(), "P", env=Environment(account=ACCOUNT, region=PRIMARY)), "Dr",
                   recovery_region="us-west-2")  # type: ignore[arg-type]  # fmt: skip


def test_the_names_are_claimed_once_per_region() -> None:
    app = App(analytics_reporting=False)
    env = Environment(account=ACCOUNT, region=RECOVERY)
    DrRecoveryRegion(Stack(app, "A", env=env), "Recovery")
    with pytest.raises(DrConfigurationError, match=r"backup vault 'dr-recovery-vault-dev'"):
        DrRecoveryRegion(Stack(app, "B", env=env), "Recovery")


@pytest.mark.slow
def test_resilience_hub_gets_the_region_loss_objective() -> None:
    """The resiliency policy's optional ``Region`` entry, from the same objectives."""
    platform, _ = two_stacks(resilience_hub=True)
    (policy,) = (
        Template.from_stack(Stack.of(platform))
        .find_resources("AWS::ResilienceHub::ResiliencyPolicy")
        .values()
    )
    assert policy["Properties"]["Policy"]["Region"] == {
        "RpoInSecs": 6 * HOUR,
        "RtoInSecs": 8 * HOUR,
    }
    assert policy["Properties"]["Policy"]["AZ"] == {"RpoInSecs": HOUR, "RtoInSecs": 4 * HOUR}


@pytest.mark.slow
def test_every_alarm_of_the_recovery_stack_reads_a_documented_series(recovery: Template) -> None:
    """As test_observability holds the primary's: AWS/Backup per vault and resource type."""
    from .test_observability import DOCUMENTED_METRICS, _alarm_series

    series = _alarm_series(recovery.to_json())
    assert {s[2] for s in series} >= {"NumberOfCopyJobsCompleted"}
    assert [s for s in series if s[3] not in DOCUMENTED_METRICS.get((s[1], s[2]), [])] == []


# --- Property: the library accepts exactly the pairs AWS can copy between ----------------------

_REGIONS = ["us-east-1", "us-west-2", "us-gov-west-1", "us-gov-east-1", "cn-north-1",
            "cn-northwest-1", None]  # fmt: skip
_PARTITIONS = {"us-": "aws", "us-gov-": "aws-us-gov", "cn-": "aws-cn"}


def _partition(region: str) -> str:
    prefix = max((p for p in _PARTITIONS if region.startswith(p)), key=len)
    return _PARTITIONS[prefix]


@pytest.mark.slow
@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(_REGIONS),
    st.sampled_from(_REGIONS),
    st.sampled_from([ACCOUNT, ACCOUNT, "210987654321", None]),
)
def test_a_pair_builds_exactly_when_aws_can_copy_between_its_stacks(
    primary: str | None, recovery: str | None, account: str | None
) -> None:
    """Both stacks explicit, one account, two regions of one partition: the copies and the
    region-loss rows; anything else: a DrConfigurationError at synth, never a template."""
    copyable = (
        primary is not None and recovery is not None and primary != recovery
        and _partition(primary) == _partition(recovery) and account == ACCOUNT
    )  # fmt: skip
    try:
        platform, region = two_stacks(primary, recovery, recovery_account=account)
    except DrConfigurationError as error:
        assert not copyable, error
        assert re.search(r"invalid (recovery_region|the stack's env)=", str(error)), error
        return
    assert copyable
    rows = [p for p in platform.postures if p.failure is FailureMode.REGION_LOSS]
    assert len(rows) == 3 and all(f"restored in {recovery}" in p.evidence for p in rows)
    assert Stack.of(region) in Stack.of(platform).dependencies

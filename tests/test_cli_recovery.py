"""The operator command across regions: copies in the recovery region (moto server + Stubber).

The primary stack is deployed to moto's server in us-east-1 as in the other command tests, its
template's Metadata stating a recovery region (as DrPlatform(recovery_region=...) writes it).
The recovery stack is deployed to the same server in us-west-2: its VPC, subnets and the
restored clusters' security group through moto's CloudFormation, its key, key alias, DB subnet
group and vault through their own APIs (moto's CloudFormation keeps neither an alias nor a
subnet group's name). AWS Backup's recovery points, which moto does not keep, are answered by
botocore's Stubber (every answer checked against the service model).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import pytest
from botocore.exceptions import ClientError
from botocore.stub import Stubber
from click.testing import CliRunner, Result

from dr_constructs.cli import cli
from dr_constructs.contract import (
    recovery_key_alias,
    recovery_subnet_group_name,
    recovery_vault_name,
)

from .cli_world import (
    CLUSTER,
    OBJECTIVES,
    STACK,
    SUFFIX,
    TABLE,
    FakeTime,
    World,
    aws_env,  # noqa: F401  (fixture)
    build_world,
    moto_endpoint,  # noqa: F401  (fixture)
)
from .test_cli import NOW, _status_backup
from .test_cli_restore import DOCUMENTED, _assert_documented

#: A slow gate: two stacks on the moto server in two regions, one world per test.
pytestmark = pytest.mark.slow

ACCOUNT = "123456789012"  # moto's default account
REGION, RECOVERY = "us-east-1", "us-west-2"
RECOVERY_STACK = f"DrRecovery-{SUFFIX}"
VAULT = recovery_vault_name(SUFFIX)
ALIAS = recovery_key_alias(SUFFIX)
SUBNET_GROUP = recovery_subnet_group_name(SUFFIX)
#: The region-loss objective the example states (RPO 6 h, RTO 8 h).
REGION_LOSS = {"rpo_seconds": 6 * 3600, "rto_seconds": 8 * 3600}
#: The primary template's Metadata "dr-constructs", as DrPlatform writes it with a recovery region.
METADATA = {
    "objectives": {**OBJECTIVES, "region_loss": REGION_LOSS},
    "recovery_region": {"region": RECOVERY, "vault": VAULT, "stack": RECOVERY_STACK},
}
#: Copies' recovery point ARNs in the recovery region, in AWS's documented forms: an Aurora
#: cluster snapshot made by AWS Backup (AWS Backup guide, EventBridge, "Recovery Point State
#: Change" example, ``arn:aws:rds:...:cluster-snapshot:awsbackup:job-...``); DynamoDB (advanced
#: features) and S3 recovery points (botocore ``backup`` StartCopyJobInput.RecoveryPointArn:
#: ``arn:aws:backup:us-east-1:123456789012:recovery-point:1EB3B5E7-9EB0-435A-A80B-108B488B0D45``),
#: here in us-west-2.
COPY_ARNS = {
    "aurora": f"arn:aws:rds:{RECOVERY}:{ACCOUNT}:cluster-snapshot:awsbackup:job-4ece7121-d60e-"
    "00c2-5c3b-{n:012d}",
    "table": f"arn:aws:backup:{RECOVERY}:{ACCOUNT}:recovery-point:1EB3B5E7-9EB0-435A-A80B-"
    "{n:012d}",
    "bucket": f"arn:aws:backup:{RECOVERY}:{ACCOUNT}:recovery-point:2FC4C6F8-9EB0-435A-A80B-"
    "{n:012d}",
}
_TYPES = {"aurora": "Aurora", "table": "DynamoDB", "bucket": "S3"}


def invoke(args: list[str], **settings: Any) -> Result:
    return CliRunner().invoke(cli, args, obj=settings)


@dataclass
class Recovery:
    """The recovery stack as deployed in us-west-2."""

    key_arn: str
    security_group: str
    summaries: list[dict[str, Any]]


def _client(world: World, service: str) -> Any:
    return boto3.client(
        service, region_name=RECOVERY, endpoint_url=world.endpoint,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip


def _deploy_recovery(world: World) -> Recovery:
    """DrRecoveryRegion's resources in us-west-2, with CDK's logical ids."""
    template = {"Resources": {
        "RecoveryNetworkVpcA1B2C3D4": {"Type": "AWS::EC2::VPC",
                                       "Properties": {"CidrBlock": "10.1.0.0/16"}},
        "RecoveryNetworkSubnetA": {"Type": "AWS::EC2::Subnet", "Properties": {
            "VpcId": {"Ref": "RecoveryNetworkVpcA1B2C3D4"}, "CidrBlock": "10.1.1.0/24",
            "AvailabilityZone": f"{RECOVERY}a"}},
        "RecoveryNetworkSubnetB": {"Type": "AWS::EC2::Subnet", "Properties": {
            "VpcId": {"Ref": "RecoveryNetworkVpcA1B2C3D4"}, "CidrBlock": "10.1.2.0/24",
            "AvailabilityZone": f"{RECOVERY}b"}},
        "RecoveryRestoredClusterSecurityGroup5E6F7A8B": {"Type": "AWS::EC2::SecurityGroup",
            "Properties": {"GroupDescription": "Aurora clusters restored in the recovery region",
                           "VpcId": {"Ref": "RecoveryNetworkVpcA1B2C3D4"}}},
    }}  # fmt: skip
    cloudformation = _client(world, "cloudformation")
    cloudformation.create_stack(StackName=RECOVERY_STACK, TemplateBody=json.dumps(template))
    summaries = cloudformation.list_stack_resources(StackName=RECOVERY_STACK)[
        "StackResourceSummaries"
    ]
    physical = {s["LogicalResourceId"]: s["PhysicalResourceId"] for s in summaries}
    kms = _client(world, "kms")
    key = kms.create_key(Description=f"DR recovery vault ({SUFFIX})")["KeyMetadata"]
    kms.create_alias(AliasName=ALIAS, TargetKeyId=key["KeyId"])
    _client(world, "rds").create_db_subnet_group(
        DBSubnetGroupName=SUBNET_GROUP, DBSubnetGroupDescription="restored clusters",
        SubnetIds=[physical["RecoveryNetworkSubnetA"], physical["RecoveryNetworkSubnetB"]],
    )  # fmt: skip
    _client(world, "backup").create_backup_vault(BackupVaultName=VAULT, EncryptionKeyArn=key["Arn"])
    updated = datetime.now(UTC)
    extra = [
        ("RecoveryKey1F2E3D4C", "AWS::KMS::Key", key["KeyId"]),
        ("RecoveryKeyAlias9A8B7C6D", "AWS::KMS::Alias", ALIAS),  # Ref: the alias name
        ("RecoveryVaultB1C2D3E4", "AWS::Backup::BackupVault", VAULT),
        ("RecoverySubnetGroupF5E6D7C8", "AWS::RDS::DBSubnetGroup", SUBNET_GROUP),
    ]
    return Recovery(
        key_arn=key["Arn"],
        security_group=physical["RecoveryRestoredClusterSecurityGroup5E6F7A8B"],
        summaries=[
            {k: s[k] for k in ("LogicalResourceId", "PhysicalResourceId", "ResourceType",
                               "LastUpdatedTimestamp", "ResourceStatus")}
            for s in summaries
        ] + [
            {"LogicalResourceId": logical, "PhysicalResourceId": physical_id,
             "ResourceType": kind, "LastUpdatedTimestamp": updated,
             "ResourceStatus": "CREATE_COMPLETE"}
            for logical, kind, physical_id in extra
        ],
    )  # fmt: skip


@pytest.fixture
def world(aws_env: str) -> World:  # noqa: F811
    return build_world(aws_env, recovery=METADATA)


@pytest.fixture
def recovery(world: World) -> Recovery:
    return _deploy_recovery(world)


def _recovery_cloudformation(world: World, recovery: Recovery) -> Any:
    """us-west-2's CloudFormation answering with the whole recovery stack."""
    client = _client(world, "cloudformation")
    stubber = Stubber(client)
    stubber.add_response(
        "list_stack_resources",
        {"StackResourceSummaries": recovery.summaries},
        {"StackName": RECOVERY_STACK},
    )
    stubber.activate()
    return client


def _sources(world: World) -> dict[str, str]:
    """The copies' ResourceArn: the source resource's, in us-east-1."""
    return {
        "aurora": world.cluster_arn,
        "table": f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/{TABLE}",
        "bucket": f"arn:aws:s3:::{world.bucket}",
    }


def _copy(world: World, kind: str, age: timedelta, status: str = "COMPLETED") -> dict[str, Any]:
    """One entry of ListRecoveryPointsByBackupVault in the recovery vault (botocore ``backup``
    RecoveryPointByBackupVault: SourceBackupVaultArn is "the backup vault where the recovery
    point was originally copied from")."""
    return {
        "RecoveryPointArn": COPY_ARNS[kind].format(n=int(age.total_seconds())),
        "BackupVaultName": VAULT,
        "BackupVaultArn": f"arn:aws:backup:{RECOVERY}:{ACCOUNT}:backup-vault:{VAULT}",
        "SourceBackupVaultArn": world.vault_arn,
        "ResourceArn": _sources(world)[kind],
        "ResourceType": _TYPES[kind],
        "Status": status,
        "CreationDate": NOW - age,
    }


def _copies(world: World, ages: dict[str, timedelta]) -> list[dict[str, Any]]:
    """Two completed copies of each store (``age`` and twice it) and a newer one still being
    made (botocore ``backup`` RecoveryPointStatus ``CREATING``), which no command may use."""
    return [
        *(_copy(world, kind, age * n) for kind, age in ages.items() for n in (1, 2)),
        *(_copy(world, kind, timedelta(minutes=1), "CREATING") for kind in ages),
    ]


def _recovery_backup(
    world: World, copies: list[dict[str, Any]], *more: Callable[[Stubber], None]
) -> tuple[Any, Stubber]:
    client = _client(world, "backup")
    stubber = Stubber(client)
    stubber.add_response(
        "list_recovery_points_by_backup_vault", {"RecoveryPoints": copies},
        {"BackupVaultName": VAULT},
    )  # fmt: skip
    for add in more:
        add(stubber)
    stubber.activate()
    return client, stubber


FRESH = {"aurora": timedelta(hours=1), "table": timedelta(hours=2), "bucket": timedelta(hours=3)}


def _status(world: World, copies: Any, *args: str) -> Result:
    cloudformation, _ = world.cloudformation()
    backup, _ = _status_backup(world, bucket_age=timedelta(minutes=59))  # the primary holds
    return invoke(
        ["status", "--stack", STACK, "--region", REGION, *args],
        overrides={"cloudformation": cloudformation, "backup": backup,
                   f"backup@{RECOVERY}": copies},
        now=lambda: NOW,
    )  # fmt: skip


# --- status ---------------------------------------------------------------------------------


def test_status_shows_the_newest_copy_of_each_store_within_the_region_loss_rpo(
    world: World,
) -> None:
    copies, stubber = _recovery_backup(world, _copies(world, FRESH))
    result = _status(world, copies, "--json")
    stubber.assert_no_pending_responses()
    assert result.exit_code == 0, result.output
    report = json.loads(result.stdout)
    assert report["recovery_region"] == {
        "region": RECOVERY, "vault": VAULT, "stack": RECOVERY_STACK, "rpo_seconds": 21600,
    }  # fmt: skip
    assert {r["kind"]: r["recovery_copy"] for r in report["resources"]} == {
        kind: {
            "arn": COPY_ARNS[kind].format(n=int(age.total_seconds())),  # not the CREATING one
            "created": (NOW - age).strftime("%Y-%m-%dT%H:%M:%SZ"),
            "age_seconds": int(age.total_seconds()),
            "rpo_met": True,
        }
        for kind, age in FRESH.items()
    }
    assert report["breaches"] == [] and report["unreadable"] == []
    assert report["objectives"]["region_loss"] == REGION_LOSS


def test_a_stale_copy_breaches_the_region_loss_rpo_exit_1(world: World) -> None:
    stale = {**FRESH, "aurora": timedelta(hours=7)}
    copies, _ = _recovery_backup(world, _copies(world, stale))
    result = _status(world, copies)
    assert result.exit_code == 1, result.output
    out = result.stdout
    assert (
        f"Copies in the recovery region {RECOVERY} (vault {VAULT}, region-loss RPO 6h 00m)" in out
    )
    assert "7h 00m (beyond RPO)" in out and "3h 00m (within RPO)" in out
    assert (
        f"Objective breached: aurora {CLUSTER}: region-loss RPO 21600s (newest copy in "
        f"{RECOVERY})" in out
    )


def test_a_store_without_any_copy_breaches(world: World) -> None:
    copies, _ = _recovery_backup(world, _copies(world, {"table": timedelta(hours=1)}))
    report = json.loads(_status(world, copies, "--json").stdout)
    assert report["breaches"] == [
        f"aurora {CLUSTER}: no copy in {RECOVERY} (region-loss RPO 21600s)",
        f"bucket {world.bucket}: no copy in {RECOVERY} (region-loss RPO 21600s)",
    ]
    assert [r["recovery_copy"] is None for r in report["resources"]] == [True, False, True]


def test_copies_that_cannot_be_read_are_named_and_the_rest_is_shown_exit_3(world: World) -> None:
    """AccessDeniedException, as AWS Backup sends it (API reference, Common Errors: HTTP 400)."""
    client = _client(world, "backup")
    stubber = Stubber(client)
    stubber.add_client_error(
        "list_recovery_points_by_backup_vault", "AccessDeniedException",
        "User is not authorized to perform: backup:ListRecoveryPointsByBackupVault", 400,
    )  # fmt: skip
    stubber.activate()
    result = _status(world, client, "--json")
    assert result.exit_code == 3, result.output
    report = json.loads(result.stdout)
    assert report["unreadable"] == [{
        "section": f"recovery copies ({RECOVERY})",
        "call": "backup:ListRecoveryPointsByBackupVault", "error": "AccessDeniedException",
    }]  # fmt: skip
    assert {r["recovery_copy"] for r in report["resources"]} == {"not read"}
    assert [r["rpo_met"] for r in report["resources"]] == [True, True, True]  # the rest read


def test_a_single_region_stack_says_not_configured_and_reads_nothing_there(
    aws_env: str,  # noqa: F811
) -> None:
    world = build_world(aws_env)
    cloudformation, _ = world.cloudformation()
    backup, _ = _status_backup(world, bucket_age=timedelta(minutes=59))
    untouched = _client(world, "backup")
    stubber = Stubber(untouched)  # no answer queued: any call would fail
    stubber.activate()
    settings = {"overrides": {"cloudformation": cloudformation, "backup": backup,
                              f"backup@{RECOVERY}": untouched}, "now": lambda: NOW}  # fmt: skip
    result = invoke(["status", "--stack", STACK], **settings)
    assert result.exit_code == 0, result.output
    assert "Recovery region: not configured (every backup stays in this region)" in result.stdout
    cloudformation, _ = world.cloudformation()
    backup, _ = _status_backup(world, bucket_age=timedelta(minutes=59))
    settings["overrides"] = {"cloudformation": cloudformation, "backup": backup}
    report = json.loads(invoke(["status", "--stack", STACK, "--json"], **settings).stdout)
    assert report["recovery_region"] is None
    assert all("recovery_copy" not in r for r in report["resources"])


# --- restore --from-region ------------------------------------------------------------------

#: AWS's own example restore metadata of an Aurora snapshot (AWS Backup guide, "Restoring an
#: Amazon Aurora cluster"): names of the source region (its AZs, subnet group, security group,
#: key) that must not reach a restore in the recovery region.
AURORA_METADATA = DOCUMENTED["aurora_example_restore_metadata"]["metadata"]
STAMP = NOW.strftime("%Y%m%d%H%M%S")


def _metadata_answer(kind: str, arn: str) -> Callable[[Stubber], None]:
    answers = {
        "aurora": AURORA_METADATA,
        # AWS Backup guide, "Restore testing inferred metadata", DynamoDB row
        "table": {"deletionProtection": "false", "encryptionType": "Default",
                  "targetTableName": "awsbackup-restore-test-0f1e2d"},
        # AWS Backup guide, "Restore testing inferred metadata", Amazon S3 row
        "bucket": {"DestinationBucketName": "awsbackup-restore-test-0f1e2d",
                   "EncryptionType": "SSE-S3", "NewBucket": "true", "Encrypted": "false"},
    }  # fmt: skip

    def add(stubber: Stubber) -> None:
        stubber.add_response(
            "get_recovery_point_restore_metadata",
            {"BackupVaultArn": f"arn:aws:backup:{RECOVERY}:{ACCOUNT}:backup-vault:{VAULT}",
             "RecoveryPointArn": arn, "RestoreMetadata": answers[kind]},
            {"BackupVaultName": VAULT, "RecoveryPointArn": arn},
        )  # fmt: skip

    return add


def _restore(
    world: World, recovery: Recovery, kind: str, *args: str, expect: str | None = None
) -> Result:
    chosen = expect or COPY_ARNS[kind].format(n=int(FRESH[kind].total_seconds()))
    copies, stubber = _recovery_backup(world, _copies(world, FRESH),
                                       _metadata_answer(kind, chosen))  # fmt: skip
    cloudformation, _ = world.cloudformation()
    result = invoke(
        ["restore", kind, "--stack", STACK, "--from-region", RECOVERY, "--json", *args],
        overrides={"cloudformation": cloudformation,
                   f"cloudformation@{RECOVERY}": _recovery_cloudformation(world, recovery),
                   f"backup@{RECOVERY}": copies},
        now=lambda: NOW,
    )  # fmt: skip
    if result.exit_code == 0:
        stubber.assert_no_pending_responses()
    return result


def test_aurora_restore_from_the_recovery_region_fills_every_value_from_both_stacks(
    world: World, recovery: Recovery
) -> None:
    result = _restore(world, recovery, "aurora")
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    target = f"{CLUSTER[:39].rstrip('-')}-restored-{STAMP}"
    arn = COPY_ARNS["aurora"].format(n=3600)
    assert document["request"] == {
        "RecoveryPointArn": arn,
        "Metadata": {
            # AWS's example's engine settings are kept, its source-region names are not: its
            # AZs and cluster parameter group are left out (the region's defaults apply) ...
            **{k: v for k, v in AURORA_METADATA.items()
               if k not in ("AvailabilityZones", "DBClusterParameterGroupName")},
            # ... and its subnet group, security group and key are the recovery stack's
            "DBClusterIdentifier": target, "DBSubnetGroupName": SUBNET_GROUP,
            "VpcSecurityGroupIds": json.dumps([recovery.security_group]),
            "KmsKeyId": recovery.key_arn,
        },
        "IamRoleArn": world.role_arn,
        "IdempotencyToken": target,
        "ResourceType": "Aurora",
    }  # fmt: skip
    assert AURORA_METADATA["AvailabilityZones"] == '["us-east-1b","us-east-1e","us-east-1c"]'
    _assert_documented(document["request"], "Aurora snapshot")
    assert document["region"] == RECOVERY
    assert document["recovery_point"] == {
        "arn": arn, "type": "snapshot", "created": (NOW - FRESH["aurora"]).strftime(
            "%Y-%m-%dT%H:%M:%SZ"), "restore_to": (NOW - FRESH["aurora"]).strftime(
            "%Y-%m-%dT%H:%M:%SZ"), "region": RECOVERY, "vault": VAULT,
    }  # fmt: skip
    assert document["aws_cli"].startswith(f"aws backup start-restore-job --region {RECOVERY} ")
    assert document["executed"] is False


def test_table_and_bucket_restores_from_the_recovery_region_use_its_key(
    world: World, recovery: Recovery
) -> None:
    table = json.loads(_restore(world, recovery, "table").stdout)
    target = f"{TABLE}-restored-{STAMP}"
    assert table["request"] == {
        "RecoveryPointArn": COPY_ARNS["table"].format(n=7200),
        "Metadata": {"deletionProtection": "false", "encryptionType": "KMS",
                     "targetTableName": target, "kmsMasterKeyArn": recovery.key_arn},
        "IamRoleArn": world.role_arn, "IdempotencyToken": target, "ResourceType": "DynamoDB",
    }  # fmt: skip
    _assert_documented(table["request"], "DynamoDB snapshot")
    bucket = json.loads(_restore(world, recovery, "bucket").stdout)
    target = f"{world.bucket[:39].rstrip('-')}-restored-{STAMP}"
    assert bucket["request"] == {
        "RecoveryPointArn": COPY_ARNS["bucket"].format(n=10800),
        "Metadata": {"DestinationBucketName": target, "EncryptionType": "SSE-KMS",
                     "NewBucket": "true", "Encrypted": "true", "KMSKey": recovery.key_arn},
        "IamRoleArn": world.role_arn, "IdempotencyToken": target, "ResourceType": "S3",
    }  # fmt: skip
    _assert_documented(bucket["request"], "S3 snapshot")


def test_to_picks_the_newest_copy_at_or_before_it(world: World, recovery: Recovery) -> None:
    older = COPY_ARNS["aurora"].format(n=7200)  # the copies are 1 h and 2 h old
    to = (NOW - timedelta(minutes=90)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = _restore(world, recovery, "aurora", "--to", to, expect=older)
    assert result.exit_code == 0, result.output
    document = json.loads(result.stdout)
    assert document["request"]["RecoveryPointArn"] == older
    assert document["recovery_point"]["at_or_before"] == to
    too_early = (NOW - timedelta(hours=5)).strftime("%Y-%m-%dT%H:%M:%SZ")
    result = _restore(world, recovery, "aurora", "--to", too_early)
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: no completed copy of aurora {CLUSTER} in vault {VAULT} ({RECOVERY}) at or "
        f"before --to {too_early}"
    )


def test_a_region_other_than_the_recovery_region_is_refused_exit_2(world: World) -> None:
    cloudformation, _ = world.cloudformation()
    result = invoke(
        ["restore", "aurora", "--stack", STACK, "--from-region", "eu-west-1"],
        overrides={"cloudformation": cloudformation},
    )
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: --from-region eu-west-1: stack {STACK} copies its backups to {RECOVERY} "
        f"(vault {VAULT}), not eu-west-1: pass --from-region {RECOVERY}"
    ]


def test_a_single_region_stack_refuses_from_region_exit_2(aws_env: str) -> None:  # noqa: F811
    world = build_world(aws_env)
    cloudformation, _ = world.cloudformation()
    result = invoke(
        ["restore", "table", "--stack", STACK, "--from-region", RECOVERY],
        overrides={"cloudformation": cloudformation},
    )
    assert result.exit_code == 2
    assert "has no recovery region" in result.stderr and "Traceback" not in result.output


def test_a_recovery_stack_without_its_resources_is_named(world: World, recovery: Recovery) -> None:
    recovery.summaries = [s for s in recovery.summaries
                          if s["ResourceType"] != "AWS::RDS::DBSubnetGroup"]  # fmt: skip
    result = _restore(world, recovery, "aurora")
    assert result.exit_code == 2
    assert result.stderr.strip() == (
        f"error: recovery stack {RECOVERY_STACK} ({RECOVERY}) has no subnet_group of "
        "DrRecoveryRegion"
    )


def test_the_recovery_key_is_read_from_its_alias_in_the_recovery_region(
    world: World, recovery: Recovery
) -> None:
    """moto's KMS in us-east-1 has no such alias: the key is found only in us-west-2."""
    with pytest.raises(ClientError):
        boto3.client("kms", region_name=REGION, endpoint_url=world.endpoint).describe_key(
            KeyId=ALIAS
        )
    document = json.loads(_restore(world, recovery, "table").stdout)
    assert document["request"]["Metadata"]["kmsMasterKeyArn"] == recovery.key_arn
    assert f":kms:{RECOVERY}:" in recovery.key_arn


def test_yes_starts_the_restore_in_the_recovery_region_and_holds_it_to_the_region_loss_rto(
    world: World, recovery: Recovery
) -> None:
    """The bucket's copy restored with --yes: StartRestoreJob and DescribeRestoreJob go to
    us-west-2's AWS Backup (the Stubber holds the only answers), and the time is measured
    against the region-loss RTO (8 h)."""
    arn = COPY_ARNS["bucket"].format(n=10800)
    target = f"{world.bucket[:39].rstrip('-')}-restored-{STAMP}"

    # botocore backup DescribeRestoreJobOutput: Status, PercentDone, CreatedResourceArn (an S3
    # bucket ARN, Service Authorization Reference: arn:${Partition}:s3:::${BucketName})
    def started(stubber: Stubber) -> None:
        stubber.add_response("start_restore_job", {"RestoreJobId": "job-west-1"})
        for status, extra in (
            ("RUNNING", {"PercentDone": "40.00%"}),
            (
                "COMPLETED",
                {"PercentDone": "100.00%", "CreatedResourceArn": f"arn:aws:s3:::{target}"},
            ),
        ):
            stubber.add_response("describe_restore_job",
                                 {"RestoreJobId": "job-west-1", "Status": status, **extra},
                                 {"RestoreJobId": "job-west-1"})  # fmt: skip

    copies, stubber = _recovery_backup(
        world, _copies(world, FRESH), _metadata_answer("bucket", arn), started
    )
    time = FakeTime()
    cloudformation, _ = world.cloudformation()
    result = invoke(
        ["restore", "bucket", "--stack", STACK, "--from-region", RECOVERY, "--yes", "--json",
         "--interval", "1800"],
        overrides={"cloudformation": cloudformation,
                   f"cloudformation@{RECOVERY}": _recovery_cloudformation(world, recovery),
                   f"backup@{RECOVERY}": copies},
        now=lambda: NOW, sleep=time.sleep, clock=time.clock,
    )  # fmt: skip
    assert result.exit_code == 0, result.output
    stubber.assert_no_pending_responses()
    document = json.loads(result.stdout)
    assert document["result"] == {
        "job_id": "job-west-1", "status": "COMPLETED", "created": f"arn:aws:s3:::{target}",
        "duration_seconds": 1800.0, "rto_seconds": 8 * 3600, "rto_met": True,
        "failure_mode": "region_loss",
    }  # fmt: skip

"""DrBackupVault: AWS Backup for the DR stack (hourly + continuous backup, 7-day retention)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path

from aws_cdk import Aws, CustomResource, Duration, RemovalPolicy
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .checks import Checks
from .compliance import (
    AWS_SOLUTIONS,
    HIPAA_SECURITY,
    NIST_800_53_R5,
    acknowledge,
    in_packs,
    nag_resource,
)
from .contract import BACKUP_ROLE_ID, plan_name, vault_name
from .deletion import delete_with_stack
from .keys import customer_managed_key
from .parts import arn_in_account
from .schedules import schedule_interval_seconds

#: Every hour on the hour (UTC).
HOURLY = events.Schedule.cron(minute="0")
#: Every day at 05:00 UTC.
DAILY = events.Schedule.cron(minute="0", hour="5")
#: The rules of the plan: continuous (Aurora, S3; snapshots for DynamoDB) and snapshots.
CONTINUOUS_RULE, SNAPSHOT_RULE = "HourlyWithContinuous", "DailySnapshots"
#: Recovery points are kept 7 days (continuous backup: AWS allows 1-35 days).
DEFAULT_RETENTION = Duration.days(7)

_BACKUP_POLICIES = (
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
)
_S3_POLICIES = ("AWSBackupServiceRolePolicyForS3Backup", "AWSBackupServiceRolePolicyForS3Restore")

#: What the backup role may do with a protected resource's key: read to back up, write to restore.
_KEY_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")

#: The handler that empties the vault under the DESTROY opt-in, and its custom resource type.
_VAULT_DELETION_CODE = Path(__file__).parent / "vault_deletion"
_VAULT_DELETION = "Custom::DrVaultDeletion"

#: Why the backup role keeps AWS's service-role policies (AwsSolutions-IAM4).
MANAGED_POLICY_REASON = (
    "AWS Backup's service-role policies are AWS's documented way to let AWS Backup back up "
    "and restore Aurora, DynamoDB and S3 (continuous S3 backup included). AWS maintains them as "
    "the service gains features and resource types, and scopes them to what AWS Backup does; "
    "a customer copy would silently break backups or restores whenever the service changes. "
    "The role is assumable by backup.amazonaws.com only, and what it may decrypt is limited "
    "to the protected resources' own keys, in a customer-managed policy."
)

Protectable = rds.IDatabaseCluster | dynamodb.ITable | s3.IBucket


@dataclass(frozen=True)
class CopyTarget:
    """A vault outside this stack that every backup rule copies to (e.g. the recovery vault of
    :class:`~dr_constructs.recovery.DrRecoveryRegion`, which makes these).

    ``vault_arn`` is the destination vault's ARN, ``delete_after`` how long each copy is kept,
    ``key_statements`` what the backup role needs on the destination vault's key, and
    ``key_reason`` why their resources hold a wildcard, if they do (AwsSolutions-IAM5)."""

    vault_arn: str
    delete_after: Duration
    key_statements: Sequence[iam.PolicyStatement] = field(default_factory=tuple)
    key_reason: str = ""


class DrBackupVault(Construct):
    """A KMS-encrypted backup vault, a plan with continuous backup and daily snapshots, and
    selections.

    The plan has two rules, both kept ``retention``. ``HourlyWithContinuous`` has continuous
    backup on: Aurora and S3 get one continuous recovery point each, restorable to any second
    of the window (about 5 minutes RPO), which AWS Backup "updates ... whenever the job runs"
    (its hourly ``schedule`` is, in AWS's words, "for maintenance and syncing purposes" and
    makes no snapshot of them); DynamoDB, which AWS Backup cannot back up continuously, gets a
    snapshot every hour ("Automatic fallback to snapshots"), beside its own PITR.
    ``DailySnapshots`` (``snapshot_schedule``) takes a snapshot of every resource each day, as
    AWS recommends: "Because continuous and snapshot backups offer different advantages, we
    recommend that you protect your resources with both continuous and snapshot backup rules"
    (AWS Backup guide, "Continuous backups and point-in-time recovery"). Resources join the
    plan through :meth:`protect`, which also grants the backup role what each resource type
    needs (S3 policies, the resources' KMS keys).

    Args:
        scope: parent construct.
        id: construct id.
        environment_suffix: names the vault ``dr-vault-{suffix}`` and the plan
            ``dr-plan-{suffix}``. Default - ``dev``.
        retention: how long recovery points are kept, 1-35 days (the continuous-backup
            limit). Default - 7 days.
        schedule: the cron ``events.Schedule`` of the continuous rule: the frequency AWS
            Backup maintains and syncs the continuous points of Aurora and S3 at, and the
            snapshots of DynamoDB. Default - hourly.
        snapshot_schedule: the cron ``events.Schedule`` of the snapshot rule
            ``DailySnapshots``, or None for continuous points only (not what AWS recommends).
            Default - daily at 05:00 UTC.
        encryption_key: the vault's key. Default - a new key with rotation.
        lock_min_retention: turn on Vault Lock (governance mode) with this minimum
            retention, at most ``retention``. Default - no lock.
        lock_changeable_for: with ``lock_min_retention``, put the lock in **compliance
            mode**: after this grace time (3 days or more) the lock is permanent. Nobody, not
            the account's root user and not AWS, can then remove it, shorten the retention,
            delete a recovery point before it expires, or delete the vault while it holds
            one. Needs ``RETAIN``. Default - governance mode (no grace time).
        air_gapped_retention: also copy every backup to a logically air-gapped vault
            ``dr-lag-vault-{suffix}`` (AWS-owned key, always locked in compliance mode) and
            keep the copies this long, 7-3650 days. The copies outlive a compromise of this
            account's backup vault; the air-gapped vault can never be deleted while it holds
            copies. Needs ``RETAIN``. Default - no copies.
        copy_to: also copy every backup to this vault (a :class:`CopyTarget`, e.g. another
            region's), keeping each copy its ``delete_after``; the backup role gets its
            ``key_statements``. Default - no such copies.
        removal_policy: ``RETAIN`` (default) keeps the vault and its key and denies deleting
            recovery points; ``DESTROY`` deletes the vault with the stack: after the plan and
            its selections are gone, a custom resource (``Custom::DrVaultDeletion``) deletes
            every recovery point of the vault, continuous ones included, and waits until AWS
            has deleted them, so that CloudFormation can delete the vault (AWS refuses to
            delete one that holds recovery points). Not with Vault Lock
            (``lock_min_retention``): a locked vault's points are kept, and so is the vault
            while it holds them.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        environment_suffix: str = "dev",
        retention: Duration = DEFAULT_RETENTION,
        schedule: events.Schedule = HOURLY,
        snapshot_schedule: events.Schedule | None = DAILY,
        encryption_key: kms.IKey | None = None,
        lock_min_retention: Duration | None = None,
        lock_changeable_for: Duration | None = None,
        air_gapped_retention: Duration | None = None,
        copy_to: CopyTarget | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, id)
        check = Checks(self, "DrBackupVault")
        if copy_to is not None:
            check.instance_of("copy_to", copy_to, CopyTarget, "a CopyTarget, or None")
        check.removal_policy(removal_policy)
        check.key("encryption_key", encryption_key)
        suffix = check.environment_suffix(environment_suffix)
        #: Retention in days, shared with Aurora's backup window by DrPlatform.
        self.retention_days = check.days("retention", retention, 1, 35)
        check.cron("schedule", schedule, _CRON)
        if snapshot_schedule is not None:
            check.cron("snapshot_schedule", snapshot_schedule, _CRON)
        #: The longest gap between two scheduled backups, in seconds (None: not readable).
        self.schedule_interval_seconds = schedule_interval_seconds(schedule.expression_string)
        lock = _check_lock(
            check, lock_min_retention, lock_changeable_for, self.retention_days, removal_policy
        )
        check.claim("backup vault", vault_name(suffix))
        check.claim("backup plan", plan_name(suffix))
        copy_days = _check_air_gapped(check, suffix, air_gapped_retention, removal_policy)

        self.encryption_key = encryption_key or customer_managed_key(
            self, "Key", description=f"DR backup vault ({suffix})", removal_policy=removal_policy
        )
        self.vault = self._vault(suffix, lock, removal_policy)
        #: The logically air-gapped vault the plan copies to (``air_gapped_retention``).
        self.air_gapped_vault = self._air_gapped_vault(suffix, copy_days) if copy_days else None
        #: The vault outside this stack the plan copies every backup to (``copy_to``).
        self.copy_to = copy_to
        self.plan = self._plan(suffix, schedule, snapshot_schedule, self._copy_actions(copy_days))
        #: Under ``DESTROY`` without Vault Lock: the custom resource that empties the vault when
        #: the stack is deleted (the plan depends on it, so it runs after the plan is gone).
        self.vault_deletion: CustomResource | None = None
        if removal_policy == RemovalPolicy.DESTROY and lock is None:
            self.vault_deletion = self._empty_on_delete()
        self.role = self._role()
        self._s3_enabled = False
        self._selections = 0
        #: The customer-managed policy that lets the role use the protected resources' keys,
        #: created by the first :meth:`protect` of a resource with its own key.
        self.key_policy: iam.ManagedPolicy | None = None
        self._keys: set[str] = set()
        if copy_to is not None and copy_to.key_statements:
            self._allow_copy_keys(copy_to)

    # --- steps ---------------------------------------------------------------------------

    def _vault(
        self,
        suffix: str,
        lock: backup.LockConfiguration | None,
        removal_policy: RemovalPolicy,
    ) -> backup.BackupVault:
        """The vault, under the vault key and ``lock``; its recovery points cannot be deleted
        under ``RETAIN``."""
        return backup.BackupVault(
            self,
            "Vault",
            backup_vault_name=vault_name(suffix),  # claimed in __init__
            encryption_key=self.encryption_key,
            lock_configuration=lock,
            block_recovery_point_deletion=removal_policy == RemovalPolicy.RETAIN,
            removal_policy=removal_policy,
        )

    def _copy_actions(self, copy_days: int | None) -> list[backup.BackupPlanCopyActionProps]:
        """A copy of every backup to the air-gapped vault, kept ``copy_days``, if there is one,
        and to the ``copy_to`` vault, kept its ``delete_after``."""
        actions = []
        if self.air_gapped_vault is not None and copy_days is not None:
            actions.append(
                backup.BackupPlanCopyActionProps(
                    destination_backup_vault=backup.BackupVault.from_backup_vault_arn(
                        self, "AirGappedVaultRef", self.air_gapped_vault.attr_backup_vault_arn
                    ),
                    delete_after=Duration.days(copy_days),
                )
            )
        if self.copy_to is not None:
            actions.append(
                backup.BackupPlanCopyActionProps(
                    destination_backup_vault=backup.BackupVault.from_backup_vault_arn(
                        self, "CopyVaultRef", self.copy_to.vault_arn
                    ),
                    delete_after=self.copy_to.delete_after,
                )
            )
        return actions

    def _role(self) -> iam.Role:
        """The role AWS Backup backs up and restores as, with AWS's service-role policies."""
        role = iam.Role(
            self,
            BACKUP_ROLE_ID,
            assumed_by=iam.ServicePrincipal("backup.amazonaws.com"),
            description="AWS Backup: back up and restore the DR stack's resources",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(p) for p in _BACKUP_POLICIES
            ],
        )
        _acknowledge_managed_policies(role, _BACKUP_POLICIES)
        return role

    def _plan(
        self,
        suffix: str,
        schedule: events.Schedule,
        snapshot_schedule: events.Schedule | None,
        copy_actions: list[backup.BackupPlanCopyActionProps],
    ) -> backup.BackupPlan:
        """The continuous rule and, unless ``snapshot_schedule`` is None, the snapshot rule.

        Both copy to the air-gapped vault: AWS copies a continuous rule's points by taking a
        snapshot only "cross-account or cross-Region" (AWS Backup guide, "Copying continuous
        backups"), and that vault is in this account and Region, so Aurora and S3 copies come
        from the snapshot rule."""

        def rule(
            name: str, when: events.Schedule, completion: Duration, continuous: bool
        ) -> backup.BackupPlanRule:
            return backup.BackupPlanRule(
                rule_name=name, schedule_expression=when, start_window=Duration.hours(1),
                completion_window=completion, delete_after=Duration.days(self.retention_days),
                enable_continuous_backup=continuous or None, copy_actions=copy_actions or None,
            )  # fmt: skip

        rules = [rule(CONTINUOUS_RULE, schedule, Duration.hours(2), True)]
        if snapshot_schedule is not None:
            # 8 hours: room for a full snapshot of a large bucket before AWS cancels the job
            rules.append(rule(SNAPSHOT_RULE, snapshot_schedule, Duration.hours(8), False))
        return backup.BackupPlan(
            self,
            "Plan",
            backup_plan_name=plan_name(suffix),
            backup_vault=self.vault,
            backup_plan_rules=rules,
        )

    def _air_gapped_vault(self, suffix: str, days: int) -> backup.CfnLogicallyAirGappedBackupVault:
        """A logically air-gapped vault that accepts copies kept 7 to ``days`` days."""
        vault = backup.CfnLogicallyAirGappedBackupVault(
            self,
            "AirGappedVault",
            backup_vault_name=f"dr-lag-vault-{suffix}",
            min_retention_days=7,
            max_retention_days=days,
        )
        vault.apply_removal_policy(RemovalPolicy.RETAIN)
        return vault

    def _empty_on_delete(self) -> CustomResource:
        """Delete the vault's recovery points at stack deletion, after the plan and its
        selections (they depend on this resource), so CloudFormation can delete the vault."""
        deletion = empty_on_delete(self, "VaultDeletion", self.vault)
        self.plan.node.add_dependency(deletion)
        return deletion

    def protect(self, *resources: Protectable) -> backup.BackupSelection:
        """Add Aurora clusters, DynamoDB tables and S3 buckets to the plan.

        S3 buckets need ``event_bridge_enabled=True`` for continuous backup; the backup role
        gets the S3 backup/restore policies and may use the resources' KMS keys.
        """
        check = Checks(self, "DrBackupVault")
        if not resources:
            check.fail("protect(*resources)", (), "at least one resource")
        selected: list[backup.BackupResource] = []
        for resource in resources:
            # jsii interfaces are not runtime-checkable: recognise resources by their attributes
            if hasattr(resource, "cluster_identifier") and hasattr(resource, "cluster_endpoint"):
                selected.append(backup.BackupResource.from_rds_database_cluster(resource))  # type: ignore[arg-type]
                acknowledge(
                    resource,
                    "False positive (cdk-nag issue 1627): AWS Backup protects Aurora at the "
                    "cluster level, and this cluster is in this backup plan's selection; the "
                    "rule looks for each DB instance in a plan, which Aurora instances never "
                    "are (they hold no storage of their own).",
                    *in_packs("RDSInBackupPlan", (HIPAA_SECURITY, NIST_800_53_R5)),
                )
                continue
            if hasattr(resource, "table_arn"):
                selected.append(backup.BackupResource.from_dynamo_db_table(resource))  # type: ignore[arg-type]
            elif hasattr(resource, "bucket_arn"):
                selected.append(backup.BackupResource.from_arn(resource.bucket_arn))
                self._enable_s3()
            else:
                check.fail(
                    "protect(*resources)",
                    type(resource).__name__,
                    "rds.IDatabaseCluster, dynamodb.ITable or s3.IBucket",
                )
            key = getattr(resource, "encryption_key", None)
            if key is not None:
                self._allow_key(key)
        self._selections += 1
        return self.plan.add_selection(
            f"Selection{self._selections}",
            resources=selected,
            role=self.role,
            allow_restores=False,
        )

    def _enable_s3(self) -> None:
        if not self._s3_enabled:
            for name in _S3_POLICIES:
                self.role.add_managed_policy(iam.ManagedPolicy.from_aws_managed_policy_name(name))
            _acknowledge_managed_policies(self.role, _S3_POLICIES)
            self._s3_enabled = True

    def _allow_key(self, key: kms.IKey) -> None:
        """Let the role use ``key`` (a protected resource's key) in a customer-managed policy,
        not the inline default policy that ``key.grant`` would write."""
        if key.node.path in self._keys:
            return
        self._keys.add(key.node.path)
        self._key_policy().add_statements(
            iam.PolicyStatement(actions=list(_KEY_ACTIONS), resources=[key.key_arn]),
            # Restoring (and copying) a KMS-encrypted Aurora cluster has RDS create a grant
            # on the key for the new cluster: for AWS resources only.
            iam.PolicyStatement(
                actions=["kms:CreateGrant"],
                resources=[key.key_arn],
                conditions={"Bool": {"kms:GrantIsForAWSResource": "true"}},
            ),
        )

    def _allow_copy_keys(self, copy_to: CopyTarget) -> None:
        """Let the role use the destination vault's key, as ``copy_to`` says."""
        policy = self._key_policy()
        policy.add_statements(*copy_to.key_statements)
        wildcards = {
            nag_resource(policy, resource)
            for statement in copy_to.key_statements
            for resource in statement.resources
            if "*" in resource
        }
        if wildcards:
            acknowledge(
                policy,
                copy_to.key_reason,
                *(f"{AWS_SOLUTIONS}-IAM5[Resource::{w}]" for w in sorted(wildcards)),
            )

    def _key_policy(self) -> iam.ManagedPolicy:
        """The customer-managed policy with the keys the role may use (created once)."""
        if self.key_policy is None:
            self.key_policy = iam.ManagedPolicy(
                self,
                "KeyPolicy",
                description="AWS Backup: use the keys of the DR resources it protects",
                roles=[self.role],
            )
        return self.key_policy


def empty_on_delete(scope: Construct, id: str, vault: backup.BackupVault) -> CustomResource:
    """A custom resource (``Custom::DrVaultDeletion``) that deletes every recovery point of
    ``vault`` when the stack is deleted, and waits until AWS has deleted them, so that
    CloudFormation can delete the vault (the ``DESTROY`` opt-in)."""
    return delete_with_stack(
        scope,
        id,
        target=vault,
        resource_type=_VAULT_DELETION,
        code_directory=_VAULT_DELETION_CODE,
        description="Empties dr-constructs backup vaults when their stack is deleted",
        purpose="empties the backup vault at stack deletion, after the DESTROY opt-in",
        statements=[
            {
                "Effect": "Allow",
                "Action": [
                    "backup:DescribeBackupVault",
                    "backup:ListRecoveryPointsByBackupVault",
                    "backup:ListTags",
                ],
                "Resource": vault.backup_vault_arn,
            },
            {
                # A recovery point's ARN is AWS Backup's own (S3, continuous backups,
                # DynamoDB with advanced features) or the source service's snapshot:
                # Aurora's "awsbackup:job-..." cluster snapshots, DynamoDB's table backups.
                "Effect": "Allow",
                "Action": ["backup:DeleteRecoveryPoint"],
                "Resource": [
                    arn_in_account("backup", "recovery-point:*"),
                    arn_in_account("rds", "cluster-snapshot:awsbackup:*"),
                    arn_in_account("dynamodb", "table/*/backup/*"),
                ],
            },
            {
                # Backup jobs still running into the vault add a point when they end;
                # listing jobs takes no resource-level permission.
                "Effect": "Allow",
                "Action": ["backup:ListBackupJobs"],
                "Resource": "*",
            },
            {
                # DeleteRecoveryPoint: AWS Backup deletes through its service-linked role;
                # without the right to create it, points go EXPIRED instead of deleted.
                "Effect": "Allow",
                "Action": ["iam:CreateServiceLinkedRole"],
                "Resource": f"arn:{Aws.PARTITION}:iam::{Aws.ACCOUNT_ID}:role/aws-service-role/"
                "backup.amazonaws.com/AWSServiceRoleForBackup",
                "Condition": {"StringEquals": {"iam:AWSServiceName": "backup.amazonaws.com"}},
            },
        ],
        properties={"BackupVaultName": vault.backup_vault_name},
    )


def _acknowledge_managed_policies(role: iam.Role, names: tuple[str, ...]) -> None:
    acknowledge(
        role,
        MANAGED_POLICY_REASON,
        *(
            f"{AWS_SOLUTIONS}-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/{name}]"
            for name in names
        ),
    )


# --- checks ----------------------------------------------------------------------------------

_CRON = (
    "events.Schedule.cron(...) (AWS Backup takes cron expressions only), "
    "e.g. Schedule.cron(minute='0') for hourly"
)


def _check_immutable(
    check: Checks, prop: str, value: Duration, low: int, high: int, removal_policy: RemovalPolicy
) -> int:
    """Days of an immutable setting, which only ``RETAIN`` can live with."""
    days = check.days(prop, value, low, high)
    if removal_policy != RemovalPolicy.RETAIN:
        check.fail(
            "removal_policy", removal_policy,
            f"RemovalPolicy.RETAIN with {prop}: a vault locked in compliance mode can "
            "never be deleted while it holds recovery points",
        )  # fmt: skip
    return days


def _check_air_gapped(
    check: Checks, suffix: str, retention: Duration | None, removal_policy: RemovalPolicy
) -> int | None:
    """Days the air-gapped vault keeps copies, None without one."""
    if retention is None:
        return None
    check.claim("backup vault", f"dr-lag-vault-{suffix}")
    copy_days = _check_immutable(check, "air_gapped_retention", retention,
                                 7, 3650, removal_policy)  # fmt: skip
    check.require("air_gapped_retention", retention)
    return copy_days


def _check_lock(
    check: Checks,
    min_retention: Duration | None,
    changeable_for: Duration | None,
    retention_days: int,
    removal_policy: RemovalPolicy,
) -> backup.LockConfiguration | None:
    """Vault Lock: governance mode, or compliance mode after ``changeable_for``."""
    if min_retention is None:
        if changeable_for is not None:
            check.fail(
                "lock_changeable_for", changeable_for.to_human_string(),
                "None unless lock_min_retention turns Vault Lock on",
            )  # fmt: skip
        return None
    lock_days = check.days("lock_min_retention", min_retention, 1, retention_days)
    grace = None
    if changeable_for is not None:
        grace = Duration.days(
            _check_immutable(check, "lock_changeable_for", changeable_for, 3, 36500, removal_policy)
        )
    return backup.LockConfiguration(min_retention=Duration.days(lock_days), changeable_for=grace)

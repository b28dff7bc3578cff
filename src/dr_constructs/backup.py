"""DrBackupVault: AWS Backup for the DR stack (hourly + continuous backup, 7-day retention)."""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .errors import DrConfigurationError, check_days, check_environment_suffix, check_removal_policy
from .keys import customer_managed_key

#: Every hour on the hour (UTC).
HOURLY = events.Schedule.cron(minute="0")
#: Recovery points are kept 7 days (continuous backup: AWS allows 1-35 days).
DEFAULT_RETENTION = Duration.days(7)

_BACKUP_POLICIES = (
    "service-role/AWSBackupServiceRolePolicyForBackup",
    "service-role/AWSBackupServiceRolePolicyForRestores",
)
_S3_POLICIES = ("AWSBackupServiceRolePolicyForS3Backup", "AWSBackupServiceRolePolicyForS3Restore")

#: What the backup role may do with a protected resource's key: read to back up, write to restore.
_KEY_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")

Protectable = rds.IDatabaseCluster | dynamodb.ITable | s3.IBucket


class DrBackupVault(Construct):
    """A KMS-encrypted backup vault, an hourly plan with continuous backup, and selections.

    The plan has one rule: a backup every hour (``schedule``), kept ``retention``, with
    continuous backup on, so Aurora and S3 can be restored to any second of the window
    (about 5 minutes RPO) and DynamoDB gets hourly snapshots beside its own PITR. Resources
    join the plan through :meth:`protect`, which also grants the backup role what each
    resource type needs (S3 policies, the resources' KMS keys).

    Args:
        scope: parent construct.
        id: construct id.
        environment_suffix: names the vault ``dr-vault-{suffix}`` and the plan
            ``dr-plan-{suffix}``. Default - ``dev``.
        retention: how long recovery points are kept, 1-35 days (the continuous-backup
            limit). Default - 7 days.
        schedule: a cron ``events.Schedule`` for the snapshot backups. Default - hourly.
        encryption_key: the vault's key. Default - a new key with rotation.
        lock_min_retention: turn on Vault Lock (governance mode) with this minimum
            retention, at most ``retention``. Default - no lock.
        removal_policy: ``RETAIN`` (default) keeps the vault and its key and denies deleting
            recovery points; ``DESTROY`` deletes the vault with the stack (AWS refuses to
            delete a vault that still holds recovery points).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        environment_suffix: str = "dev",
        retention: Duration = DEFAULT_RETENTION,
        schedule: events.Schedule = HOURLY,
        encryption_key: kms.IKey | None = None,
        lock_min_retention: Duration | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, id)
        check_removal_policy("DrBackupVault", removal_policy)
        suffix = check_environment_suffix("DrBackupVault", environment_suffix)
        #: Retention in days, shared with Aurora's backup window by DrPlatform.
        self.retention_days = check_days("DrBackupVault", "retention", retention, 1, 35)
        if not isinstance(schedule, events.Schedule) or not schedule.expression_string.startswith(
            "cron("
        ):
            raise DrConfigurationError(
                "DrBackupVault",
                "schedule",
                getattr(schedule, "expression_string", schedule),
                "events.Schedule.cron(...) (AWS Backup takes cron expressions only), "
                "e.g. Schedule.cron(minute='0') for hourly",
            )
        lock = None
        if lock_min_retention is not None:
            lock_days = check_days(
                "DrBackupVault", "lock_min_retention", lock_min_retention, 1, self.retention_days
            )
            lock = backup.LockConfiguration(min_retention=Duration.days(lock_days))

        self.encryption_key = encryption_key or customer_managed_key(
            self, "Key", description=f"DR backup vault ({suffix})", removal_policy=removal_policy
        )
        self.vault = backup.BackupVault(
            self,
            "Vault",
            backup_vault_name=f"dr-vault-{suffix}",
            encryption_key=self.encryption_key,
            lock_configuration=lock,
            block_recovery_point_deletion=removal_policy == RemovalPolicy.RETAIN,
            removal_policy=removal_policy,
        )
        self.plan = backup.BackupPlan(
            self,
            "Plan",
            backup_plan_name=f"dr-plan-{suffix}",
            backup_vault=self.vault,
            backup_plan_rules=[
                backup.BackupPlanRule(
                    rule_name="HourlyWithContinuous",
                    schedule_expression=schedule,
                    start_window=Duration.hours(1),
                    completion_window=Duration.hours(2),
                    delete_after=Duration.days(self.retention_days),
                    enable_continuous_backup=True,
                )
            ],
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("backup.amazonaws.com"),
            description="AWS Backup: back up and restore the DR stack's resources",
            managed_policies=[
                iam.ManagedPolicy.from_aws_managed_policy_name(p) for p in _BACKUP_POLICIES
            ],
        )
        self._s3_enabled = False
        self._selections = 0

    def protect(self, *resources: Protectable) -> backup.BackupSelection:
        """Add Aurora clusters, DynamoDB tables and S3 buckets to the plan.

        S3 buckets need ``event_bridge_enabled=True`` for continuous backup; the backup role
        gets the S3 backup/restore policies and may use the resources' KMS keys.
        """
        if not resources:
            raise DrConfigurationError(
                "DrBackupVault", "protect(*resources)", (), "at least one resource"
            )
        selected: list[backup.BackupResource] = []
        for resource in resources:
            # jsii interfaces are not runtime-checkable: recognise resources by their attributes
            if hasattr(resource, "cluster_identifier") and hasattr(resource, "cluster_endpoint"):
                selected.append(backup.BackupResource.from_rds_database_cluster(resource))  # type: ignore[arg-type]
                continue
            if hasattr(resource, "table_arn"):
                selected.append(backup.BackupResource.from_dynamo_db_table(resource))  # type: ignore[arg-type]
            elif hasattr(resource, "bucket_arn"):
                selected.append(backup.BackupResource.from_arn(resource.bucket_arn))
                self._enable_s3()
            else:
                raise DrConfigurationError(
                    "DrBackupVault",
                    "protect(*resources)",
                    type(resource).__name__,
                    "rds.IDatabaseCluster, dynamodb.ITable or s3.IBucket",
                )
            key = getattr(resource, "encryption_key", None)
            if key is not None:
                key.grant(self.role, *_KEY_ACTIONS)
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
            self._s3_enabled = True

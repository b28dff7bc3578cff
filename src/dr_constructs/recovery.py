"""DrRecoveryRegion: what a restore in a second region needs, in a stack of its own.

The primary stack's backup plan copies every recovery point to this region's vault
(``DrPlatform(..., recovery_region=...)``). Everything that crosses from one stack to the other
is a deterministic name built from this stack's own account and region (the vault's ARN, the
key's alias), never a cross-stack export: a region-to-region export needs CDK's
``cross_region_references``, whose custom resources run Lambdas outside any VPC.
"""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import ArnFormat, Duration, RemovalPolicy, Stack, Stage, Token
from aws_cdk import aws_backup as backup
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_rds as rds
from aws_cdk.region_info import RegionInfo
from constructs import Construct, IConstruct

from .backup import CopyTarget, empty_on_delete
from .checks import Checks
from .contract import (
    RESTORED_CLUSTER_SECURITY_GROUP_ID,
    recovery_key_alias,
    recovery_subnet_group_name,
    recovery_vault_name,
)
from .errors import DrConfigurationError
from .keys import customer_managed_key
from .network import DrNetwork
from .observability import BACKUP_RESOURCE_TYPES, DrObservability

#: A recovery region's network: a range of its own, so it can be peered with the primary's.
DEFAULT_CIDR = "10.1.0.0/16"
#: What the backup role does with the recovery key when it copies: RDS re-encrypts a snapshot
#: copy under it (CreateGrant for the new snapshot), AWS Backup encrypts its own copies.
_KEY_ACTIONS = ("kms:Decrypt", "kms:Encrypt", "kms:GenerateDataKey", "kms:DescribeKey")
#: Why the backup role names the recovery key by its alias (AwsSolutions-IAM5).
KEY_BY_ALIAS_REASON = (
    "The recovery vault's key lives in the recovery region's stack, and its key id exists only "
    "once KMS creates it there: the backup role is granted the keys of that region and account "
    "that carry the recovery key's alias (kms:ResourceAliases), which is that one key, instead "
    "of a cross-region export (CDK's cross_region_references runs Lambdas outside any VPC)."
)


class DrRecoveryRegion(Construct):
    """A vault for copies of every backup, and what restoring them in this region needs.

    Put it in a stack of its own whose ``env`` names the recovery region, beside the primary
    stack (``Stack(app, "DrRecovery", env=Environment(region="us-west-2"))``), and pass it to
    ``DrPlatform(..., recovery_region=...)``, which copies every recovery point here and makes
    ``cdk deploy --all`` deploy this stack first. It holds:

    * :attr:`encryption_key`: a customer-managed key with rotation, alias
      ``alias/dr-recovery-{suffix}``; copies are re-encrypted with it ("AWS Backup will
      re-encrypt your copy using the customer managed key of your destination vault", AWS
      Backup guide, "Creating backup copies across AWS Regions").
    * :attr:`vault`: ``dr-recovery-vault-{suffix}``, encrypted with that key.
    * :attr:`network`: a VPC with isolated subnets only (no internet gateway, no NAT, S3 and
      DynamoDB gateway endpoints, flow logs), :attr:`security_group` for restored Aurora
      clusters (no rule: the team adds what its clients need) and :attr:`subnet_group`
      ``dr-recovery-{suffix}``.
    * :attr:`observability`: an encrypted topic ``dr-alerts-{suffix}`` in this region, AWS
      Backup job events to it, and (added by DrPlatform with :meth:`watch_arrivals`) alarms
      when no copy arrives within the region-loss RPO.

    Args:
        scope: parent construct, in a stack with an explicit region.
        id: construct id.
        environment_suffix: the primary's suffix: names ``dr-recovery-vault-{suffix}``, the
            key alias, the subnet group and the topic. Default - ``dev``.
        availability_zones: AZ names for the VPC (at least 2). Default - up to three of the
            region's (see :class:`DrNetwork`).
        cidr: the VPC's IPv4 range. Default - ``10.1.0.0/16`` (the primary's default is
            ``10.0.0.0/16``).
        removal_policy: ``RETAIN`` (default) keeps the vault, its copies and the keys and
            denies deleting recovery points; ``DESTROY`` deletes them with the stack (the
            vault is emptied first, as :class:`DrBackupVault` does).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        environment_suffix: str = "dev",
        availability_zones: Sequence[str] | None = None,
        cidr: str = DEFAULT_CIDR,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, id)
        check = Checks(self, "DrRecoveryRegion")
        #: The suffix of the names this region's resources carry.
        self.environment_suffix = suffix = check.environment_suffix(environment_suffix)
        self.removal_policy = check.removal_policy(removal_policy)
        #: The recovery region (the stack's explicit region).
        self.region = _check_region(check, Stack.of(self))
        check.claim("backup vault", recovery_vault_name(suffix))
        check.claim("KMS alias", recovery_key_alias(suffix))
        check.claim("DB subnet group", recovery_subnet_group_name(suffix))

        #: The key of the recovery vault (alias ``alias/dr-recovery-{suffix}``).
        self.encryption_key = customer_managed_key(
            self, "Key", description=f"DR recovery vault ({suffix})", removal_policy=removal_policy
        )
        self.encryption_key.add_alias(recovery_key_alias(suffix))
        self.vault = self._vault()
        #: Under ``DESTROY``: the custom resource that empties the vault at stack deletion.
        self.vault_deletion = (
            empty_on_delete(self, "VaultDeletion", self.vault)
            if removal_policy == RemovalPolicy.DESTROY
            else None
        )
        self._restore_network(availability_zones, cidr)
        #: The topic, dashboard and AWS Backup job events of the recovery region.
        self.observability = DrObservability(
            self, "Observability", environment_suffix=suffix, removal_policy=removal_policy,
            summary=f"Recovery region {self.region}: copies of every backup arrive in the "
            f"vault `{recovery_vault_name(suffix)}`.",
        )  # fmt: skip

    # --- steps -----------------------------------------------------------------------------

    def _vault(self) -> backup.BackupVault:
        """``dr-recovery-vault-{suffix}`` under the recovery key; its copies cannot be deleted
        under ``RETAIN``."""
        return backup.BackupVault(
            self,
            "Vault",
            backup_vault_name=recovery_vault_name(self.environment_suffix),  # claimed
            encryption_key=self.encryption_key,
            block_recovery_point_deletion=self.removal_policy == RemovalPolicy.RETAIN,
            removal_policy=self.removal_policy,
        )

    def _restore_network(self, availability_zones: Sequence[str] | None, cidr: str) -> None:
        """Isolated subnets, a security group and a DB subnet group for restored clusters."""
        #: The VPC restored clusters join: isolated subnets only.
        self.network = DrNetwork(
            self, "Network", availability_zones=availability_zones, cidr=cidr,
            public_subnets=False, secrets_manager_endpoint=False,
            removal_policy=self.removal_policy,
        )  # fmt: skip
        #: The security group of restored Aurora clusters: nothing in, nothing out until the
        #: team opens what its clients need.
        self.security_group = ec2.SecurityGroup(
            self,
            RESTORED_CLUSTER_SECURITY_GROUP_ID,
            vpc=self.network.vpc,
            description="Aurora clusters restored in the recovery region (no rule until needed)",
            allow_all_outbound=False,
        )
        #: The DB subnet group ``dr-recovery-{suffix}`` (the isolated subnets).
        self.subnet_group = rds.SubnetGroup(
            self,
            "SubnetGroup",
            description="Aurora clusters restored in the recovery region",
            vpc=self.network.vpc,
            vpc_subnets=self.network.private_subnets,
            subnet_group_name=recovery_subnet_group_name(self.environment_suffix),  # claimed
        )

    # --- what the primary stack uses --------------------------------------------------------

    @property
    def vault_name(self) -> str:
        return recovery_vault_name(self.environment_suffix)

    @property
    def vault_arn(self) -> str:
        """The vault's ARN from this stack's account and region (no cross-stack reference)."""
        return Stack.of(self).format_arn(
            service="backup",
            resource="backup-vault",
            resource_name=self.vault_name,
            arn_format=ArnFormat.COLON_RESOURCE_NAME,
        )

    def copy_target(self, delete_after: Duration) -> CopyTarget:
        """Where DrBackupVault copies each backup: this vault, each copy kept ``delete_after``,
        and the use of this region's recovery key (named by its alias) for the backup role."""
        keys = Stack.of(self).format_arn(service="kms", resource="key", resource_name="*")
        alias = {
            "ForAnyValue:StringEquals": {
                "kms:ResourceAliases": recovery_key_alias(self.environment_suffix)
            }
        }
        return CopyTarget(
            vault_arn=self.vault_arn,
            delete_after=delete_after,
            key_statements=(
                iam.PolicyStatement(actions=list(_KEY_ACTIONS), resources=[keys], conditions=alias),
                iam.PolicyStatement(
                    actions=["kms:CreateGrant"],
                    resources=[keys],
                    conditions={**alias, "Bool": {"kms:GrantIsForAWSResource": "true"}},
                ),
            ),
            key_reason=KEY_BY_ALIAS_REASON,
        )

    def watch_arrivals(
        self, window: Duration, resource_types: Sequence[str] = BACKUP_RESOURCE_TYPES
    ) -> list[cloudwatch.Alarm]:
        """Alarm ``dr-{suffix}-NoRecentCopy{type}`` in this region when no copy job of that
        resource type into the recovery vault completed for ``window`` (e.g. the region-loss
        RPO): missing data is breaching, so copies that stop arriving alarm."""
        return self.observability.watch_copies(
            self.vault, window=window, resource_types=resource_types
        )

    def check_copies_from(self, check: Checks, source: Stack) -> None:
        """Raise, as ``check``'s construct's ``recovery_region``, unless backups of the stack
        ``source`` can be copied here: an explicit region other than this one, in the same
        partition, the same account and the same Stage (``source`` must depend on this stack)."""
        shown = f"{self.node.path} ({self.region})"
        if Token.is_unresolved(source.region):
            check.fail(
                "recovery_region",
                shown,
                "None in an environment-agnostic stack: copies "
                "to another region need this stack's region (env=Environment(region=...))",
            )
        if source.region == self.region:
            check.fail(
                "recovery_region",
                shown,
                f"a DrRecoveryRegion in a region other than "
                f"{source.region}: a copy in the same region is lost with it",
            )
        partitions = {region: partition_of(region) for region in (source.region, self.region)}
        if partitions[source.region] not in COPY_PARTITIONS or len(set(partitions.values())) > 1:
            check.fail(
                "recovery_region",
                shown,
                f"a DrRecoveryRegion in another region of {source.region}'s partition "
                f"({partitions[source.region]}): AWS Backup copies the Aurora cluster, the "
                "DynamoDB table and the S3 bucket only between regions of one partition, and "
                f"{self.region} is in {partitions[self.region]}",
            )
        here = Stack.of(self)
        # both accounts known and equal, or both left to the deployment (the same credentials)
        known = [not Token.is_unresolved(a) for a in (source.account, here.account)]
        if known[0] != known[1] or (all(known) and source.account != here.account):
            check.fail(
                "recovery_region",
                shown,
                "a DrRecoveryRegion in a stack of the same account as this one "
                f"({_account(source)}): its stack is in {_account(here)}, and cross-account "
                "copies are not built by dr-constructs",
            )
        if _stage_of(source) is not _stage_of(here):
            check.fail(
                "recovery_region",
                shown,
                "a DrRecoveryRegion in the same Stage (or App) "
                "as this stack, so that this stack can depend on its stack",
            )


# --- checks ----------------------------------------------------------------------------------


def _check_region(check: Checks, stack: Stack) -> str:
    """The stack's region, which must be explicit (copies need a region to go to)."""
    if Token.is_unresolved(stack.region):
        raise DrConfigurationError(
            check.name,
            "the stack's env",
            "environment-agnostic",
            "a stack with an explicit region, e.g. Stack(app, 'DrRecovery', "
            "env=Environment(account=..., region='us-west-2')): the primary stack copies every "
            "backup to a vault named from this stack's account and region",
        )
    return stack.region


#: Partitions whose cross-Region copies dr-constructs knows: AWS copies only within a partition
#: ("You can make cross-Region copies only within your AWS partition"), in the China Regions
#: "only ... between the Beijing Region and the Ningxia Region" (Amazon Backup, Getting Started
#: with AWS in China), and GovCloud has the two Regions us-gov-east-1 and us-gov-west-1.
COPY_PARTITIONS = ("aws", "aws-cn", "aws-us-gov")


def _account(stack: Stack) -> str:
    unknown = "the deploying account (no account in its env)"
    return unknown if Token.is_unresolved(stack.account) else stack.account


def _stage_of(stack: Stack) -> IConstruct:
    stage = Stage.of(stack)
    return stage if stage is not None else stack.node.root


def partition_of(region: str) -> str | None:
    """The AWS partition of ``region`` (``aws``, ``aws-cn``, ``aws-us-gov``...), as aws-cdk-lib's
    region facts name it, or None when they do not know the region."""
    return RegionInfo.get(region).partition

#!/usr/bin/env python3
"""The disaster-recovery stack of the spec, deployed in us-east-1 with dr-constructs.

Environment suffix: ``--context environmentSuffix=prod``, else ``$ENVIRONMENT_SUFFIX``,
else ``dev``. The stack is named ``DrStack-{suffix}``.

Recovery region: ``--context recoveryRegion=us-west-2`` adds the stack
``DrRecovery-{suffix}`` there (docs/recovery-region.md): every backup is copied to its vault,
and the app states a region-loss objective. Without it the app is single-region.
"""

from __future__ import annotations

import os

import aws_cdk as cdk
from constructs import Construct

from dr_constructs import DrPlatform, DrPostureCheck, RecoveryObjectives, Target
from dr_constructs.objectives import FailureMode
from dr_constructs.recovery import DrRecoveryRegion

REGION = "us-east-1"
#: The region-loss objective of the two-region variant: copies every hour (+ the rule's start
#: and completion windows + the assumed copy time: 5 h), a restore in the recovery region.
REGION_LOSS = Target(rpo=cdk.Duration.hours(6), rto=cdk.Duration.hours(8))


class DrStack(cdk.Stack):
    """One DrPlatform plus the outputs an operator needs next."""

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        environment_suffix: str,
        recovery_region: DrRecoveryRegion | None = None,
        objectives: RecoveryObjectives | None = None,
        **kwargs: object,
    ):
        super().__init__(scope, id, **kwargs)  # type: ignore[arg-type]
        platform = DrPlatform(
            self,
            "Dr",
            environment_suffix=environment_suffix,
            # With --context recoveryRegion: copies of every backup there, region-loss objective.
            recovery_region=recovery_region,
            objectives=objectives,
            # The spec's Cleanup section: `cdk destroy` removes everything, data included.
            # The library's default is RemovalPolicy.RETAIN; this example opts in explicitly.
            removal_policy=cdk.RemovalPolicy.DESTROY,
            # AWS FIS drill templates (AZ loss, Aurora failover, DynamoDB/S3 unreachable):
            # templates only, started by a person; see docs/drills.md.
            drills=True,
        )
        # The posture check (added to the app below) holds every store to the objectives; with
        # DESTROY, deleting the stack deletes the S3 access logs with no copy: accepted here.
        cdk.Validations.of(platform.storage.access_logs_bucket).acknowledge(
            cdk.Acknowledgment(
                id=DrPostureCheck.rule_id(FailureMode.STACK_DELETION),
                reason="S3 server access logs of a development stack: deleted with it on "
                "purpose (RemovalPolicy.DESTROY); they are not data the DR objectives cover",
            )
        )
        if recovery_region is not None:  # ... nor are they copied to the recovery region
            cdk.Validations.of(platform.storage.access_logs_bucket).acknowledge(
                cdk.Acknowledgment(
                    id=DrPostureCheck.rule_id(FailureMode.REGION_LOSS),
                    reason="S3 server access logs stay in the primary region on purpose: they "
                    "are not data the DR objectives cover, and are not copied to the recovery "
                    "region",
                )
            )
        database, backup = platform.database, platform.backup
        outputs = {
            "ClusterIdentifier": platform.cluster.cluster_identifier,
            "ClusterEndpoint": platform.cluster.cluster_endpoint.hostname,
            "ClusterReaderEndpoint": platform.cluster.cluster_read_endpoint.hostname,
            "ClusterPort": str(database.port),
            "ClusterSubnetGroupName": database.subnet_group.subnet_group_name,
            "ClusterSecurityGroupId": database.security_group.security_group_id,
            "ClusterParameterGroupName": (
                database.parameter_group.bind_to_cluster().parameter_group_name
            ),
            "DataKeyArn": platform.data_key.key_arn,
            "DbSecretArn": platform.database.secret.secret_arn,  # type: ignore[union-attr]
            "TableName": platform.table.table_name,
            "FunctionName": platform.lambda_function.function_name,
            "BucketName": platform.bucket.bucket_name,
            "BackupVaultName": backup.vault.backup_vault_name,
            "BackupPlanId": backup.plan.backup_plan_id,
            "BackupRoleArn": backup.role.role_arn,
            "TopicArn": platform.topic.topic_arn,
            "DashboardName": platform.dashboard.dashboard_name,
        }
        for name, value in outputs.items():
            cdk.CfnOutput(self, name, value=value)


def environment_suffix(app: cdk.App) -> str:
    """--context environmentSuffix, else $ENVIRONMENT_SUFFIX, else 'dev'."""
    return str(
        app.node.try_get_context("environmentSuffix")
        or os.environ.get("ENVIRONMENT_SUFFIX")
        or "dev"
    )


class DrRecoveryStack(cdk.Stack):
    """The recovery region: the vault copies arrive in, and what a restore there needs."""

    def __init__(self, scope: Construct, id: str, *, environment_suffix: str, **kwargs: object):
        super().__init__(scope, id, **kwargs)  # type: ignore[arg-type]
        #: The recovery region of DrStack's platform.
        self.recovery = recovery = DrRecoveryRegion(
            self,
            "Recovery",
            environment_suffix=environment_suffix,
            # as the primary: `cdk destroy --all` removes everything, copies included
            removal_policy=cdk.RemovalPolicy.DESTROY,
        )
        outputs = {
            "RecoveryVaultName": recovery.vault.backup_vault_name,
            "RecoveryKeyArn": recovery.encryption_key.key_arn,
            "RecoverySubnetGroupName": recovery.subnet_group.subnet_group_name,
            "RecoverySecurityGroupId": recovery.security_group.security_group_id,
            "RecoveryTopicArn": recovery.observability.topic.topic_arn,
        }
        for name, value in outputs.items():
            cdk.CfnOutput(self, name, value=value)


def environment_suffix_and_region(app: cdk.App) -> tuple[str, str | None]:
    """The suffix (see :func:`environment_suffix`) and --context recoveryRegion, if given."""
    region = app.node.try_get_context("recoveryRegion")
    return environment_suffix(app), str(region) if region else None


app = cdk.App()
suffix, recovery_region = environment_suffix_and_region(app)
account = os.environ.get("CDK_DEFAULT_ACCOUNT")
recovery = None
objectives = RecoveryObjectives()
if recovery_region is not None:
    recovery = DrRecoveryStack(
        app,
        f"DrRecovery-{suffix}",
        environment_suffix=suffix,
        env=cdk.Environment(account=account, region=recovery_region),
        description=f"Recovery region of the disaster-recovery stack ({suffix}), "
        "built with dr-constructs",
    ).recovery
    objectives = RecoveryObjectives(region_loss=REGION_LOSS)
DrStack(
    app,
    f"DrStack-{suffix}",
    environment_suffix=suffix,
    recovery_region=recovery,
    objectives=objectives if recovery is not None else None,
    env=cdk.Environment(account=account, region=REGION),
    description=f"Single-region Multi-AZ disaster recovery ({suffix}), built with dr-constructs"
    if recovery is None
    else f"Multi-AZ disaster recovery with copies in {recovery_region} ({suffix}), "
    "built with dr-constructs",
)
# Every data store of the app against the objectives: a breach fails `cdk synth` (and CI).
cdk.Validations.of(app).add_plugins(DrPostureCheck(objectives=objectives))
app.synth()

#!/usr/bin/env python3
"""The disaster-recovery stack of the spec, deployed in us-east-1 with dr-constructs.

Environment suffix: ``--context environmentSuffix=prod``, else ``$ENVIRONMENT_SUFFIX``,
else ``dev``. The stack is named ``DrStack-{suffix}``.
"""

from __future__ import annotations

import os

import aws_cdk as cdk
from constructs import Construct

from dr_constructs import DrPlatform, DrPostureCheck, RecoveryObjectives
from dr_constructs.objectives import FailureMode

REGION = "us-east-1"


class DrStack(cdk.Stack):
    """One DrPlatform plus the outputs an operator needs next."""

    def __init__(self, scope: Construct, id: str, *, environment_suffix: str, **kwargs: object):
        super().__init__(scope, id, **kwargs)  # type: ignore[arg-type]
        platform = DrPlatform(
            self,
            "Dr",
            environment_suffix=environment_suffix,
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


app = cdk.App()
suffix = environment_suffix(app)
DrStack(
    app,
    f"DrStack-{suffix}",
    environment_suffix=suffix,
    env=cdk.Environment(account=os.environ.get("CDK_DEFAULT_ACCOUNT"), region=REGION),
    description=f"Single-region Multi-AZ disaster recovery ({suffix}), built with dr-constructs",
)
# Every data store of the app against the objectives: a breach fails `cdk synth` (and CI).
cdk.Validations.of(app).add_plugins(DrPostureCheck(objectives=RecoveryObjectives()))
app.synth()

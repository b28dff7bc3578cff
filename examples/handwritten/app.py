#!/usr/bin/env python3
"""The spec's DR stack written by hand on aws-cdk-lib L2 constructs, as many teams already have
it, with the recovery-posture check added in one line.

``cdk synth --app "python handwritten/app.py"`` (from ``examples/``) fails: the check finds
that deleting the stack deletes the bucket with no copy left (``BackupResource.from_construct``
selects the cluster and the table, but aws-cdk-lib's collector does not include S3 buckets).
The report of each stack is written to ``cdk.out/{stack}.dr-posture.md``.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_backup as backup
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from constructs import Construct

from dr_constructs import DrPostureCheck, RecoveryObjectives


class HandWrittenDrStack(cdk.Stack):
    """VPC over 3 AZs, Aurora PostgreSQL writer + reader, DynamoDB with PITR, a versioned
    bucket, an hourly AWS Backup plan with continuous backup, everything ``DESTROY``."""

    def __init__(self, scope: Construct, id: str, **kwargs: object) -> None:
        super().__init__(scope, id, **kwargs)  # type: ignore[arg-type]
        gone = cdk.RemovalPolicy.DESTROY  # "cdk destroy removes everything", as the spec says
        key = kms.Key(self, "DataKey", enable_key_rotation=True, removal_policy=gone)
        vpc = ec2.Vpc(self, "Vpc", max_azs=3, nat_gateways=0)
        self.cluster = rds.DatabaseCluster(
            self,
            "Aurora",
            engine=rds.DatabaseClusterEngine.aurora_postgres(
                version=rds.AuroraPostgresEngineVersion.VER_16_4
            ),
            writer=rds.ClusterInstance.provisioned("Writer"),
            readers=[rds.ClusterInstance.provisioned("Reader")],
            vpc=vpc,
            vpc_subnets=ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_ISOLATED),
            storage_encryption_key=key,
            backup=rds.BackupProps(retention=cdk.Duration.days(7)),
            removal_policy=gone,
        )
        self.table = dynamodb.Table(
            self,
            "Table",
            partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True
            ),
            removal_policy=gone,
        )
        self.bucket = s3.Bucket(
            self,
            "Bucket",
            versioned=True,
            encryption_key=key,
            removal_policy=gone,
            auto_delete_objects=True,
        )
        plan = backup.BackupPlan(
            self,
            "Plan",
            backup_plan_rules=[
                backup.BackupPlanRule(
                    rule_name="Hourly",
                    schedule_expression=events.Schedule.cron(minute="0"),
                    delete_after=cdk.Duration.days(7),
                    enable_continuous_backup=True,
                )
            ],
        )
        plan.add_selection("Everything", resources=[backup.BackupResource.from_construct(self)])


def main() -> None:
    app = cdk.App()
    HandWrittenDrStack(
        app, "HandWrittenDr", env=cdk.Environment(account="123456789012", region="us-east-1")
    )
    cdk.Validations.of(app).add_plugins(DrPostureCheck(objectives=RecoveryObjectives()))
    app.synth()


if __name__ == "__main__":
    main()

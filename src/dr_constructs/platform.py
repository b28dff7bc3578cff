"""DrPlatform: the whole single-region, Multi-AZ DR stack, composed from the layers."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from .backup import DEFAULT_RETENTION, DrBackupVault
from .database import DEFAULT_INSTANCE_TYPE, DrDatabase
from .errors import (
    DrConfigurationError,
    check_days,
    check_environment_suffix,
    check_key,
    check_removal_policy,
)
from .function import DrFunction
from .keys import customer_managed_key, logs_encryption_key
from .network import DrNetwork
from .observability import DrObservability
from .storage import DrBucket


class DrPlatform(Construct):
    """The disaster-recovery stack of the spec in one construct.

    ``DrPlatform(stack, "Dr")`` creates: a 3-AZ VPC without NAT (:attr:`network`), Aurora
    PostgreSQL Multi-AZ and a DynamoDB table (:attr:`database`), a versioned S3 bucket
    (:attr:`storage`), a VPC Lambda health check with least-privilege access to all three
    (:attr:`function`), AWS Backup protecting the cluster, table and bucket hourly with
    continuous backup (:attr:`backup`), and an SNS topic, alarms, a dashboard and AWS Backup
    job notifications (:attr:`observability`), every encrypted resource under a
    customer-managed key with rotation.

    The Aurora automated-backup window equals the backup plan's retention (one prop,
    ``backup_retention``): when AWS Backup owns Aurora's continuous backup, a differing
    window makes later updates fail or drift.

    Args:
        scope: parent construct.
        id: construct id.
        environment_suffix: names ``dr-table-{suffix}``, ``dr-function-{suffix}``,
            ``DR-Dashboard-{suffix}`` and the other named resources. Default - ``dev``.
        availability_zones: AZ names (at least 2). Default - up to three of the stack's
            region, never one it lacks (see :class:`DrNetwork`).
        vpc: bring your own VPC. Default - a new one.
        instance_type: Aurora instance class. Default - ``t4g.medium``.
        backup_retention: AWS Backup retention and Aurora PITR window, 1-35 days.
            Default - 7 days.
        partition_key: the table's partition key. A string attribute while the Lambda runs
            the packaged health check (it writes a string heartbeat key); any type with
            ``function_code``. Default - ``pk`` (string).
        data_key: key for Aurora, its secret, the table and the bucket. Default - new.
        topic: bring your own alerts topic. Default - a new encrypted topic.
        function_code: code for the Lambda instead of the health check (with
            ``function_handler``). Default - the packaged health check.
        function_handler: handler of ``function_code``.
        reserved_concurrency: the Lambda's reserved concurrency, or None for accounts with
            the default quota of 10. Default - 2.
        removal_policy: ``RETAIN`` (default) keeps every stateful resource (Aurora snapshot
            and deletion protection, table, bucket, vault, keys, log groups); ``DESTROY``
            deletes them all with the stack, consistently. Opt in explicitly.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        environment_suffix: str = "dev",
        availability_zones: Sequence[str] | None = None,
        vpc: ec2.IVpc | None = None,
        instance_type: ec2.InstanceType = DEFAULT_INSTANCE_TYPE,
        backup_retention: Duration = DEFAULT_RETENTION,
        partition_key: dynamodb.Attribute | None = None,
        data_key: kms.IKey | None = None,
        topic: sns.ITopic | None = None,
        function_code: lambda_.Code | None = None,
        function_handler: str | None = None,
        reserved_concurrency: int | None = 2,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, id)
        suffix = check_environment_suffix("DrPlatform", environment_suffix)
        check_removal_policy("DrPlatform", removal_policy)
        check_days("DrPlatform", "backup_retention", backup_retention, 1, 35)
        check_key("DrPlatform", "data_key", data_key)
        if (
            function_code is None
            and isinstance(partition_key, dynamodb.Attribute)
            and partition_key.type != dynamodb.AttributeType.STRING
        ):
            raise DrConfigurationError(
                "DrPlatform",
                "partition_key",
                f"{partition_key.name} ({partition_key.type.name})",
                "a STRING attribute while the Lambda runs the packaged health check (its "
                "heartbeat item has a string key); other types need your own function_code",
            )
        self.environment_suffix = suffix
        self.removal_policy = removal_policy

        #: Key for Aurora, its secret, the table and the data bucket.
        self.data_key = data_key or customer_managed_key(
            self, "DataKey", description=f"DR data ({suffix})", removal_policy=removal_policy
        )
        #: Key for every log group, the Lambda's environment and its dead-letter queue.
        self.logs_key = logs_encryption_key(
            self, "LogsKey", description=f"DR logs ({suffix})", removal_policy=removal_policy
        )

        self.network = DrNetwork(
            self,
            "Network",
            vpc=vpc,
            availability_zones=availability_zones,
            flow_logs_key=self.logs_key,
            removal_policy=removal_policy,
        )
        self.database = DrDatabase(
            self,
            "Database",
            network=self.network,
            environment_suffix=suffix,
            instance_type=instance_type,
            backup_retention=backup_retention,
            partition_key=partition_key,
            encryption_key=self.data_key,
            logs_key=self.logs_key,
            removal_policy=removal_policy,
        )
        self.storage = DrBucket(
            self, "Storage", encryption_key=self.data_key, removal_policy=removal_policy
        )
        assert self.database.secret is not None
        self.function = DrFunction(
            self,
            "Function",
            network=self.network,
            secret=self.database.secret,
            table=self.database.table,
            bucket=self.storage.bucket,
            encryption_key=self.logs_key,
            environment_suffix=suffix,
            code=function_code,
            handler=function_handler,
            reserved_concurrency=reserved_concurrency,
            environment={"TABLE_PARTITION_KEY": self.database.partition_key_name},
            removal_policy=removal_policy,
        )
        self.database.allow_from(self.function.security_group, "PostgreSQL from the DR Lambda")

        self.backup = DrBackupVault(
            self,
            "Backup",
            environment_suffix=suffix,
            retention=backup_retention,
            removal_policy=removal_policy,
        )
        self.backup.protect(self.database.cluster, self.database.table, self.storage.bucket)

        self.observability = DrObservability(
            self, "Observability", environment_suffix=suffix, topic=topic,
            removal_policy=removal_policy,
        )  # fmt: skip
        self.observability.watch_cluster(self.database.cluster)
        self.observability.watch_table(self.database.table)
        self.observability.watch_function(self.function.function)

    # Shortcuts to the resources of the spec, for outputs and grants in user code.
    @property
    def vpc(self) -> ec2.IVpc:
        return self.network.vpc

    @property
    def cluster(self) -> rds.DatabaseCluster:
        return self.database.cluster

    @property
    def table(self) -> dynamodb.Table:
        return self.database.table

    @property
    def bucket(self) -> s3.Bucket:
        return self.storage.bucket

    @property
    def lambda_function(self) -> lambda_.Function:
        return self.function.function

    @property
    def topic(self) -> sns.ITopic:
        return self.observability.topic

    @property
    def dashboard(self) -> cloudwatch.Dashboard:
        return self.observability.dashboard

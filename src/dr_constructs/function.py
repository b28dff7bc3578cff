"""DrFunction: the VPC Lambda of the DR stack, with least-privilege access to its dependencies."""

from __future__ import annotations

from collections.abc import Mapping

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .errors import DrConfigurationError, check_environment_suffix, check_int_range
from .health_check import HANDLER, RUNTIME, health_check_code
from .network import DrNetwork

#: The S3 prefix the function may read and write (the health check writes there).
OBJECT_PREFIX = "health-check/"
#: Lambda's smallest memory size: the health check needs no more.
DEFAULT_MEMORY_MB = 128
DEFAULT_TIMEOUT = Duration.seconds(30)


class DrFunction(Construct):
    """A Lambda function in the isolated subnets that can reach Aurora, DynamoDB and S3.

    By default it runs the packaged health check (``dr_constructs.health_check``): it reads
    the database secret, connects to Aurora over TLS, writes and reads a DynamoDB item and an
    S3 object, and reports per dependency. Its role holds only what that needs: read the one
    secret, ``PutItem``/``GetItem`` on the one table, ``PutObject``/``GetObject`` under
    ``health-check/`` in the one bucket, use of their keys, its own log group and the ENI
    actions of VPC Lambdas. Its security group sends HTTPS (VPC endpoints) and PostgreSQL to
    the cluster only. Failed asynchronous invocations go to an encrypted dead-letter queue.

    Args:
        scope: parent construct.
        id: construct id.
        network: the :class:`DrNetwork` to run in.
        secret: the database secret to read (host, port, credentials).
        table: the DynamoDB table to read and write.
        bucket: the S3 bucket to read and write under ``health-check/``.
        encryption_key: key for the environment variables, log group and dead-letter queue.
            Must let CloudWatch Logs use it. Default - a new key with rotation.
        environment_suffix: names the function ``dr-function-{suffix}``. Default - ``dev``.
        code: bring your own code. Default - the packaged health check.
        handler: handler of ``code``. Default - the health check's.
        memory_size: MB, 128-10240. Default - 128.
        timeout: Default - 30 seconds.
        reserved_concurrency: concurrent executions reserved (and capped), 1-1000, or None.
            Accounts with the default concurrency quota of 10 must pass None. Default - 2.
        environment: extra environment variables. Default - none.
        log_retention: Default - one year.
        removal_policy: for the log group and a new key. Default - ``RETAIN``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        network: DrNetwork,
        secret: secretsmanager.ISecret,
        table: dynamodb.ITable,
        bucket: s3.IBucket,
        encryption_key: kms.IKey,
        environment_suffix: str = "dev",
        code: lambda_.Code | None = None,
        handler: str | None = None,
        memory_size: int = DEFAULT_MEMORY_MB,
        timeout: Duration = DEFAULT_TIMEOUT,
        reserved_concurrency: int | None = 2,
        environment: Mapping[str, str] | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, id)
        suffix = check_environment_suffix("DrFunction", environment_suffix)
        check_int_range("DrFunction", "memory_size", memory_size, 128, 10240)
        if reserved_concurrency is not None:
            check_int_range("DrFunction", "reserved_concurrency", reserved_concurrency, 1, 1000)
        if (code is None) != (handler is None):
            raise DrConfigurationError(
                "DrFunction", "handler", handler, "given together with code, or both omitted"
            )

        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=network.vpc,
            description=f"dr-function-{suffix}: HTTPS to VPC endpoints, PostgreSQL to Aurora",
            allow_all_outbound=False,
        )
        self.security_group.add_egress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.tcp(443),
            "HTTPS to AWS APIs through the VPC endpoints (the subnets have no other route out)",
        )
        self.log_group = logs.LogGroup(
            self,
            "Logs",
            log_group_name=f"/aws/lambda/dr-function-{suffix}",
            encryption_key=encryption_key,
            retention=log_retention,
            removal_policy=removal_policy,
        )
        self.dead_letter_queue = sqs.Queue(
            self,
            "DeadLetterQueue",
            encryption=sqs.QueueEncryption.KMS,
            encryption_master_key=encryption_key,
            enforce_ssl=True,
            retention_period=Duration.days(14),
            removal_policy=removal_policy,
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"dr-function-{suffix}: least privilege",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="VpcNetworkInterfaces",
                actions=[
                    "ec2:CreateNetworkInterface",
                    "ec2:DescribeNetworkInterfaces",
                    "ec2:DescribeSubnets",
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                resources=["*"],  # these EC2 actions support no resource-level permissions
            )
        )
        self.log_group.grant_write(self.role)

        self.function = lambda_.Function(
            self,
            "Function",
            function_name=f"dr-function-{suffix}",
            description="DR health check: Aurora over TLS, DynamoDB and S3",
            runtime=RUNTIME,
            architecture=lambda_.Architecture.ARM_64,
            code=code or health_check_code(),
            handler=handler or HANDLER,
            memory_size=memory_size,
            timeout=timeout,
            role=self.role,
            vpc=network.vpc,
            vpc_subnets=network.private_subnets,
            security_groups=[self.security_group],
            log_group=self.log_group,
            environment={
                "DB_SECRET_ARN": secret.secret_arn,
                "TABLE_NAME": table.table_name,
                "BUCKET_NAME": bucket.bucket_name,
                **(environment or {}),
            },
            environment_encryption=encryption_key,
            dead_letter_queue=self.dead_letter_queue,
            reserved_concurrent_executions=reserved_concurrency,
        )

        secret.grant_read(self.role)
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="HeartbeatItem",
                actions=["dynamodb:PutItem", "dynamodb:GetItem"],
                resources=[table.table_arn],
            )
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                sid="HeartbeatObject",
                actions=["s3:PutObject", "s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{OBJECT_PREFIX}*")],
            )
        )
        keys: list[kms.IKey] = []
        for key in (table.encryption_key, bucket.encryption_key):
            if key is not None and all(key is not k for k in keys):
                keys.append(key)
                key.grant(self.role, "kms:Decrypt", "kms:GenerateDataKey")

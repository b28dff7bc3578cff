"""DrFunction: the VPC Lambda of the DR stack, with least-privilege access to its dependencies."""

from __future__ import annotations

import re
from collections.abc import Mapping

from aws_cdk import Aws, Duration, Fn, RemovalPolicy, Stack, Token
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk import aws_sqs as sqs
from constructs import Construct

from .compliance import AWS_SOLUTIONS, acknowledge, drop_redundant_dependency
from .contract import HEALTH_CHECK
from .contract import function_name as contract_function_name
from .errors import (
    DrConfigurationError,
    check_duration,
    check_environment_suffix,
    check_instance_of,
    check_int_range,
    check_key,
    check_removal_policy,
    claim_physical_name,
)
from .health_check import HANDLER, RUNTIME, health_check_code
from .keys import logs_encryption_key
from .network import DrNetwork

#: The S3 prefix of the health check's heartbeat object (``health-check/{function}.json``).
OBJECT_PREFIX = "health-check/"
#: The partition-key prefix of the health check's heartbeat item (``health-check#{function}``).
ITEM_PREFIX = "health-check#"
#: Lambda's smallest memory size: the health check needs no more.
DEFAULT_MEMORY_MB = 128
DEFAULT_TIMEOUT = Duration.seconds(30)
#: Environment variables Lambda sets itself; a function may not set them.
RESERVED_ENVIRONMENT = frozenset({
    "_HANDLER", "_X_AMZN_TRACE_ID", "AWS_ACCESS_KEY", "AWS_ACCESS_KEY_ID",
    "AWS_DEFAULT_REGION", "AWS_EXECUTION_ENV", "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
    "AWS_LAMBDA_FUNCTION_NAME", "AWS_LAMBDA_FUNCTION_VERSION", "AWS_LAMBDA_INITIALIZATION_TYPE",
    "AWS_LAMBDA_LOG_GROUP_NAME", "AWS_LAMBDA_LOG_STREAM_NAME", "AWS_LAMBDA_RUNTIME_API",
    "AWS_REGION", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "LAMBDA_RUNTIME_DIR",
    "LAMBDA_TASK_ROOT",
})  # fmt: skip
_ENVIRONMENT_KEY = re.compile(r"^[a-zA-Z][a-zA-Z0-9_]+$")
#: Lambda allows 4 KB of environment variables; DrFunction keeps 512 bytes for its own.
ENVIRONMENT_BUDGET = 4096 - 512
_HANDLER_PATTERN = re.compile(r"^[^\s]{1,128}$")
_NAME_PATTERN = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?")

#: Why a VPC Lambda's ENI actions name no single network interface (AwsSolutions-IAM5).
ENI_REASON = (
    "Lambda creates and deletes the function's network interfaces itself, with the execution "
    "role, and their ids exist only then: CreateNetworkInterface is limited to the function's "
    "own subnets and security group plus network-interface/* in this account and region, the "
    "other ENI actions to network-interface/* there, and DescribeNetworkInterfaces/"
    "DescribeSubnets support no resource-level permissions at all (AWS's "
    "AWSLambdaVPCAccessExecutionRole grants all six on '*')."
)


def dead_letter_queue(
    scope: Construct, id: str, *, encryption_key: kms.IKey, removal_policy: RemovalPolicy
) -> sqs.Queue:
    """A Lambda function's dead-letter queue for failed asynchronous invocations: KMS-encrypted,
    TLS only, messages kept 14 days."""
    return sqs.Queue(
        scope,
        id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=encryption_key,
        enforce_ssl=True,
        retention_period=Duration.days(14),
        # Marks the queue as a dead-letter queue (AWS Control Tower CT.SQS.PR.1), which it
        # is: Lambda's, for failed asynchronous invocations. allowAll is what SQS does
        # without the policy (source queues of this account and region may use it), so it
        # widens nothing; denyAll would be stricter, but the control reads denyAll as "not
        # a dead-letter queue" and then demands a dead-letter queue for this one.
        redrive_allow_policy=sqs.RedriveAllowPolicy(
            redrive_permission=sqs.RedrivePermission.ALLOW_ALL
        ),
        removal_policy=removal_policy,
    )


class DrFunction(Construct):
    """A Lambda function in the isolated subnets that can reach Aurora, DynamoDB and S3.

    By default it runs the packaged health check (``dr_constructs.health_check``): it reads
    the database secret, connects to Aurora over TLS, writes and reads a DynamoDB item and an
    S3 object, and reports per dependency. Its role holds only what that needs, in one
    customer-managed policy (:attr:`policy`): read the one secret (and decrypt it through
    Secrets Manager), ``PutItem``/``GetItem`` on its own heartbeat item
    (``health-check#dr-{name}-{suffix}``) of the one table, ``PutObject``/``GetObject`` on
    its own heartbeat object (``health-check/dr-{name}-{suffix}.json``) of the one bucket,
    the data keys through DynamoDB and S3 only, its own log group, its dead-letter queue and
    the ENI actions of VPC Lambdas. Code you bring gets the same; add what it needs with
    ``policy.add_statements(...)``. Its security group sends HTTPS (VPC endpoints) and
    PostgreSQL to the cluster only. Failed asynchronous invocations go to an encrypted
    dead-letter queue.

    Args:
        scope: parent construct.
        id: construct id.
        network: the :class:`DrNetwork` to run in.
        secret: the database secret to read (host, port, credentials).
        table: the DynamoDB table to write and read the heartbeat item in.
        bucket: the S3 bucket to write and read the heartbeat object in.
        encryption_key: key for the environment variables, log group and dead-letter queue;
            it must let CloudWatch Logs use it. Default - a new key with rotation.
        environment_suffix: names the function ``dr-{name}-{suffix}``. Default - ``dev``.
        name: names the function ``dr-{name}-{suffix}``, 1-20 lower-case letters, digits and
            inner hyphens; a second DrFunction in the stack needs another, e.g. ``canary``.
            Default - ``function``.
        code: bring your own code (an ``aws_lambda.Code``, with ``handler``). Default - the
            packaged health check.
        handler: handler of ``code``, 1-128 characters without spaces. Default - the health
            check's.
        memory_size: MB, 128-10240. Default - 128.
        timeout: whole seconds, 1-900. Default - 30 seconds.
        reserved_concurrency: concurrent executions reserved (and capped), 1-1000, or None.
            Accounts with the default concurrency quota of 10 must pass None. Default - 2.
        environment: extra environment variables: names of letters, digits and underscores
            (not one Lambda reserves, such as ``AWS_REGION``), string values, at most 3,584
            bytes in all. Default - none.
        log_retention: an ``aws_logs.RetentionDays``. Default - one year.
        database_proxy: an RDS Proxy (IAM authentication) to reach the database through: the
            function connects to its endpoint (``DB_HOST``) with an IAM token
            (``DB_IAM_AUTH``) and may ``rds-db:connect`` to it as ``database_user``.
            Default - the cluster endpoint of the secret, with its password.
        database_user: the database user of ``database_proxy``. Default - none (required
            with a proxy).
        removal_policy: for the log group, the queue and a new key. Default - ``RETAIN``.
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
        encryption_key: kms.IKey | None = None,
        environment_suffix: str = "dev",
        name: str = HEALTH_CHECK,
        code: lambda_.Code | None = None,
        handler: str | None = None,
        memory_size: int = DEFAULT_MEMORY_MB,
        timeout: Duration = DEFAULT_TIMEOUT,
        reserved_concurrency: int | None = 2,
        environment: Mapping[str, str] | None = None,
        log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        database_proxy: rds.IDatabaseProxy | None = None,
        database_user: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        if database_proxy is not None and not hasattr(database_proxy, "db_proxy_arn"):
            raise DrConfigurationError(
                "DrFunction", "database_proxy", type(database_proxy).__name__,
                "an rds.IDatabaseProxy, or None",
            )  # fmt: skip
        if database_proxy is not None and not (
            isinstance(database_user, str)
            and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]{0,62}", database_user)
        ):
            raise DrConfigurationError(
                "DrFunction", "database_user", database_user,
                "the PostgreSQL user the function connects as through database_proxy",
            )  # fmt: skip
        suffix = check_environment_suffix("DrFunction", environment_suffix)
        if not isinstance(name, str) or not _NAME_PATTERN.fullmatch(name):
            raise DrConfigurationError(
                "DrFunction", "name", name,
                "1-20 lower-case letters, digits and inner hyphens, e.g. 'function' or 'canary'",
            )  # fmt: skip
        check_removal_policy("DrFunction", removal_policy)
        check_instance_of(
            "DrFunction", "network", network, DrNetwork, "the DrNetwork the function runs in"
        )
        for prop, value, attribute, accepted in (
            ("secret", secret, "secret_arn", "a secretsmanager.ISecret"),
            ("table", table, "table_arn", "a dynamodb.ITable"),
            ("bucket", bucket, "bucket_arn", "an s3.IBucket"),
        ):
            if not hasattr(value, attribute):
                raise DrConfigurationError("DrFunction", prop, type(value).__name__, accepted)
        check_key("DrFunction", "encryption_key", encryption_key)
        check_int_range("DrFunction", "memory_size", memory_size, 128, 10240)
        check_duration("DrFunction", "timeout", timeout, 1, 900)
        if reserved_concurrency is not None:
            check_int_range("DrFunction", "reserved_concurrency", reserved_concurrency, 1, 1000)
        if (code is None) != (handler is None):
            raise DrConfigurationError(
                "DrFunction", "handler", handler, "given together with code, or both omitted"
            )
        if code is not None:
            check_instance_of(
                "DrFunction", "code", code, lambda_.Code,
                "an aws_lambda.Code, e.g. Code.from_asset('src/my_function')",
            )  # fmt: skip
            if not isinstance(handler, str) or not _HANDLER_PATTERN.match(handler):
                raise DrConfigurationError(
                    "DrFunction", "handler", handler,
                    "1-128 characters without whitespace, e.g. 'index.handler'",
                )  # fmt: skip
        check_instance_of(
            "DrFunction", "log_retention", log_retention, logs.RetentionDays,
            "an aws_logs.RetentionDays, e.g. RetentionDays.ONE_YEAR",
        )  # fmt: skip
        extra_environment = self._check_environment(environment)
        function_name = claim_physical_name(
            self, "DrFunction", "environment_suffix", suffix,
            "Lambda function", contract_function_name(name, suffix),
        )  # fmt: skip

        if encryption_key is None:
            encryption_key = logs_encryption_key(
                self, "Key", description=f"DR function {function_name}",
                removal_policy=removal_policy,
            )  # fmt: skip
        #: Key of the environment variables, the log group and the dead-letter queue.
        self.encryption_key = encryption_key

        self.security_group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=network.vpc,
            description=f"{function_name}: HTTPS to VPC endpoints, PostgreSQL to Aurora",
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
            log_group_name=f"/aws/lambda/{function_name}",
            encryption_key=encryption_key,
            retention=log_retention,
            removal_policy=removal_policy,
        )
        self.dead_letter_queue = dead_letter_queue(
            self, "DeadLetterQueue", encryption_key=encryption_key, removal_policy=removal_policy
        )
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description=f"{function_name}: least privilege",
        )
        #: The role's customer-managed policy: every permission the function has. Add to it
        #: (``policy.add_statements``) for code you bring; grants on the role still work but
        #: land in an inline policy, which the HIPAA/NIST/PCI packs report.
        self.policy = iam.ManagedPolicy(
            self,
            "Policy",
            description=f"{function_name}: what the DR health check needs, nothing more",
            roles=[self.role],
        )
        self._grant(network, secret, table, bucket, function_name)
        proxy_environment: dict[str, str] = {}
        if database_proxy is not None:
            assert database_user is not None
            self._grant_proxy(database_proxy, database_user)
            proxy_environment = {"DB_HOST": database_proxy.endpoint, "DB_IAM_AUTH": "true"}

        self.function = lambda_.Function(
            self,
            "Function",
            function_name=function_name,
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
                **proxy_environment,
                **extra_environment,
            },
            environment_encryption=encryption_key,
            reserved_concurrent_executions=reserved_concurrency,
        )
        cfn_function = self.function.node.default_child
        cfn_role = self.role.node.default_child
        cfn_policy = self.policy.node.default_child
        assert isinstance(cfn_function, lambda_.CfnFunction)
        assert isinstance(cfn_role, iam.CfnRole) and isinstance(cfn_policy, iam.CfnManagedPolicy)
        # The queue is set on the L1: the L2 prop would add its grant to an inline policy.
        cfn_function.dead_letter_config = lambda_.CfnFunction.DeadLetterConfigProperty(
            target_arn=self.dead_letter_queue.queue_arn
        )
        # A VPC function is created only if its role may create ENIs already: wait for the
        # policy. The role itself is ordered by `Role: Fn::GetAtt` (cfn-lint W3005).
        cfn_function.add_resource_dependency(cfn_policy)
        drop_redundant_dependency(cfn_function, cfn_role)
        #: The EventBridge rule that invokes the function on a schedule, once
        #: :meth:`run_every` was called; else None.
        self.schedule_rule: events.Rule | None = None
        #: True when the function runs the packaged health check, which writes the heartbeat
        #: ("canary") item and object below; code of your own writes neither.
        self.runs_health_check = code is None
        #: The ITEM_PREFIX/OBJECT_PREFIX keys of the health check's heartbeat ("canary") item
        #: and object: restore tests look for them in restored copies.
        self.canary_item_key = f"{ITEM_PREFIX}{function_name}"
        self.canary_object_key = f"{OBJECT_PREFIX}{function_name}.json"

    def run_every(self, interval: Duration) -> events.Rule:
        """Invoke the function every ``interval`` (whole minutes, 1 minute to 1 day) with an
        EventBridge rule, without retries. The health check then keeps its canary item and
        object fresh, which drills and restore tests read. Called again, the shorter
        interval wins."""
        seconds = check_duration("DrFunction", "run_every(interval)", interval, 60, 86400)
        if seconds % 60:
            raise DrConfigurationError(
                "DrFunction", "run_every(interval)", interval.to_human_string(),
                "whole minutes from 1 minute to 1 day",
            )  # fmt: skip
        expression = events.Schedule.rate(Duration.minutes(seconds // 60)).expression_string
        if self.schedule_rule is None:
            self._schedule_seconds = seconds
            self.schedule_rule = events.Rule(
                self,
                "Schedule",
                description=f"Runs {self.function.function_name} on a schedule",
                schedule=events.Schedule.expression(expression),
                targets=[targets.LambdaFunction(self.function, retry_attempts=0)],
            )
        elif seconds < self._schedule_seconds:
            self._schedule_seconds = seconds
            cfn_rule = self.schedule_rule.node.default_child
            assert isinstance(cfn_rule, events.CfnRule)
            cfn_rule.schedule_expression = expression
        return self.schedule_rule

    def _grant_proxy(self, proxy: rds.IDatabaseProxy, user: str) -> None:
        """``rds-db:connect`` to ``proxy`` as ``user`` (what ``proxy.grant_connect`` does,
        in :attr:`policy` rather than an inline policy)."""
        proxy_id = Fn.select(6, Fn.split(":", proxy.db_proxy_arn))
        self.policy.add_statements(
            iam.PolicyStatement(
                sid="ConnectThroughProxy",
                actions=["rds-db:connect"],
                resources=[
                    f"arn:{Aws.PARTITION}:rds-db:{Aws.REGION}:{Aws.ACCOUNT_ID}:dbuser:"
                    f"{proxy_id}/{user}"
                ],
            )
        )

    def _grant(
        self,
        network: DrNetwork,
        secret: secretsmanager.ISecret,
        table: dynamodb.ITable,
        bucket: s3.IBucket,
        function_name: str,
    ) -> None:
        """Every statement of :attr:`policy`, each on the narrowest resource there is."""
        stack = Stack.of(self)
        ec2_arn = f"arn:{Aws.PARTITION}:ec2:{Aws.REGION}:{Aws.ACCOUNT_ID}"
        enis = f"{ec2_arn}:network-interface/*"
        subnets = network.vpc.select_subnets(
            subnet_type=network.private_subnets.subnet_type
        ).subnet_ids
        statements = [
            iam.PolicyStatement(
                sid="DescribeVpcNetworking",
                actions=["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
                resources=["*"],  # these actions support no resource-level permissions
            ),
            iam.PolicyStatement(
                sid="CreateFunctionNetworkInterfaces",
                actions=["ec2:CreateNetworkInterface"],
                resources=[
                    enis,
                    *(f"{ec2_arn}:subnet/{subnet}" for subnet in subnets),
                    f"{ec2_arn}:security-group/{self.security_group.security_group_id}",
                ],
            ),
            iam.PolicyStatement(
                sid="ManageFunctionNetworkInterfaces",
                actions=[
                    "ec2:DeleteNetworkInterface",
                    "ec2:AssignPrivateIpAddresses",
                    "ec2:UnassignPrivateIpAddresses",
                ],
                resources=[enis],
            ),
            iam.PolicyStatement(
                sid="WriteOwnLogs",
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            ),
            iam.PolicyStatement(
                sid="DeadLetters",
                actions=["sqs:SendMessage"],
                resources=[self.dead_letter_queue.queue_arn],
            ),
            iam.PolicyStatement(
                sid="ReadDatabaseSecret",
                actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                resources=[secret.secret_full_arn or f"{secret.secret_arn}-??????"],
            ),
            iam.PolicyStatement(
                sid="HeartbeatItem",
                actions=["dynamodb:PutItem", "dynamodb:GetItem"],
                resources=[table.table_arn],
                conditions={
                    "ForAllValues:StringEquals": {
                        "dynamodb:LeadingKeys": [f"{ITEM_PREFIX}{function_name}"]
                    }
                },
            ),
            iam.PolicyStatement(
                sid="HeartbeatObject",
                actions=["s3:PutObject", "s3:GetObject"],
                resources=[bucket.arn_for_objects(f"{OBJECT_PREFIX}{function_name}.json")],
            ),
        ]
        # Each key only through the services that store the data it protects.
        via: dict[str, tuple[kms.IKey, list[str]]] = {}
        for key, service in (
            (self.encryption_key, "sqs"),
            (secret.encryption_key, "secretsmanager"),
            (table.encryption_key, "dynamodb"),
            (bucket.encryption_key, "s3"),
        ):
            if key is not None:
                path = key.node.path
                via.setdefault(path, (key, []))[1].append(
                    f"{service}.{stack.region}.{stack.url_suffix}"
                )
        for index, (key, services) in enumerate(via.values()):
            statements.append(
                iam.PolicyStatement(
                    sid=f"UseKey{index}",
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=[key.key_arn],
                    conditions={"StringEquals": {"kms:ViaService": services}},
                )
            )
        self.policy.add_statements(*statements)
        acknowledge(
            self.policy,
            ENI_REASON,
            f"{AWS_SOLUTIONS}-IAM5[Resource::*]",
            f"{AWS_SOLUTIONS}-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:"
            "<AWS::AccountId>:network-interface/*]",
        )

    @staticmethod
    def _check_environment(environment: Mapping[str, str] | None) -> dict[str, str]:
        accepted = (
            "a mapping of names (a letter, then letters, digits or underscores; not one Lambda "
            f"reserves, such as AWS_REGION) to strings, at most {ENVIRONMENT_BUDGET} bytes in all"
        )
        if environment is None:
            return {}
        if not isinstance(environment, Mapping):
            raise DrConfigurationError(
                "DrFunction", "environment", type(environment).__name__, accepted
            )
        size = 0
        for name, value in environment.items():
            if (
                not isinstance(name, str)
                or not _ENVIRONMENT_KEY.match(name)
                or name in RESERVED_ENVIRONMENT
                or not isinstance(value, str)
            ):
                raise DrConfigurationError("DrFunction", "environment", {name: value}, accepted)
            size += len(name.encode()) + (0 if Token.is_unresolved(value) else len(value.encode()))
        if size > ENVIRONMENT_BUDGET:
            raise DrConfigurationError(
                "DrFunction", "environment", f"{size} bytes of variables", accepted
            )
        return dict(environment)

"""DrFunction: the VPC Lambda of the DR stack, with least-privilege access to its dependencies."""

from __future__ import annotations

import re
from collections.abc import Mapping

from aws_cdk import Duration, Fn, RemovalPolicy, Token
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
from constructs import Construct

from . import contract
from .checks import Checks
from .compliance import AWS_SOLUTIONS, acknowledge
from .health_check import HANDLER, RUNTIME, health_check_code
from .keys import logs_encryption_key
from .network import DrNetwork
from .parts import ENI_REASON as ENI_REASON  # re-exported: moved to parts
from .parts import VpcPlacement, arn_in_account, private_lambda, via_service
from .parts import dead_letter_queue as dead_letter_queue  # re-exported: moved to parts

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

    #: Key of the environment variables, the log group and the dead-letter queue.
    encryption_key: kms.IKey
    #: The role's customer-managed policy: every permission the function has. Add to it
    #: (``policy.add_statements``) for code you bring; grants on the role still work but land
    #: in an inline policy, which the HIPAA/NIST/PCI packs report.
    policy: iam.ManagedPolicy
    #: The EventBridge rule that invokes the function on a schedule, once :meth:`run_every`
    #: was called; else None.
    schedule_rule: events.Rule | None
    #: True when the function runs the packaged health check, which writes the heartbeat
    #: ("canary") item and object below; code of your own writes neither.
    runs_health_check: bool
    #: The ITEM_PREFIX/OBJECT_PREFIX keys of the health check's heartbeat ("canary") item and
    #: object: restore tests look for them in restored copies.
    canary_item_key: str
    canary_object_key: str

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
        name: str = contract.HEALTH_CHECK,
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
        check = Checks(self, "DrFunction")
        _check_proxy(check, database_proxy, database_user)
        suffix = check.environment_suffix(environment_suffix)
        _check_name(check, name)
        check.removal_policy(removal_policy)
        _check_collaborators(check, network, secret, table, bucket, encryption_key)
        _check_runtime(
            check, memory_size, timeout, reserved_concurrency, code, handler, log_retention
        )
        environment = _check_environment(check, environment)
        function_name = check.claim("Lambda function", contract.function_name(name, suffix))

        self.encryption_key = encryption_key or logs_encryption_key(
            self, "Key", description=f"DR function {function_name}", removal_policy=removal_policy
        )
        self.security_group = self._security_group(network, function_name)
        built = private_lambda(
            self, function_name=function_name, code=code or health_check_code(),
            handler=handler or HANDLER, runtime=RUNTIME, key=self.encryption_key,
            description="DR health check: Aurora over TLS, DynamoDB and S3",
            role_description=f"{function_name}: least privilege",
            policy_description=f"{function_name}: what the DR health check needs, nothing more",
            environment={**_environment(secret, table, bucket, database_proxy), **environment},
            timeout=timeout, memory_size=memory_size, reserved_concurrency=reserved_concurrency,
            log_retention=log_retention, removal_policy=removal_policy,
            placement=VpcPlacement(network.vpc, network.private_subnets, self.security_group),
        )  # fmt: skip
        self.function, self.role, self.policy = built.function, built.role, built.policy
        self.log_group, self.dead_letter_queue = built.log_group, built.dead_letter_queue
        self.runs_health_check = code is None
        self._grant(secret, table, bucket, function_name, database_proxy, database_user)
        self.schedule_rule = None
        self.canary_item_key = f"{ITEM_PREFIX}{function_name}"
        self.canary_object_key = f"{OBJECT_PREFIX}{function_name}.json"

    def run_every(self, interval: Duration) -> events.Rule:
        """Invoke the function every ``interval`` (whole minutes, 1 minute to 1 day) with an
        EventBridge rule, without retries. The health check then keeps its canary item and
        object fresh, which drills and restore tests read. Called again, the shorter
        interval wins."""
        seconds = Checks(self, "DrFunction").whole_duration(
            "run_every(interval)", interval, 60, 86400, step=60,
            accepted="whole minutes from 1 minute to 1 day",
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

    # --- steps ---------------------------------------------------------------------------

    def _security_group(self, network: DrNetwork, function_name: str) -> ec2.SecurityGroup:
        """HTTPS out to the VPC endpoints; PostgreSQL to the cluster comes with its
        ``allow_from``."""
        group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=network.vpc,
            description=f"{function_name}: HTTPS to VPC endpoints, PostgreSQL to Aurora",
            allow_all_outbound=False,
        )
        group.add_egress_rule(
            ec2.Peer.any_ipv4(),
            ec2.Port.tcp(443),
            "HTTPS to AWS APIs through the VPC endpoints (the subnets have no other route out)",
        )
        return group

    def _grant(
        self,
        secret: secretsmanager.ISecret,
        table: dynamodb.ITable,
        bucket: s3.IBucket,
        function_name: str,
        database_proxy: rds.IDatabaseProxy | None,
        database_user: str | None,
    ) -> None:
        """What the health check reads and writes, each on the narrowest resource there is,
        each key only through the services that store the data it protects, and the proxy's
        connection as ``database_user`` when there is one."""
        self.policy.add_statements(
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
            *self._key_statements(
                (self.encryption_key, "sqs"),
                (secret.encryption_key, "secretsmanager"),
                (table.encryption_key, "dynamodb"),
                (bucket.encryption_key, "s3"),
            ),
        )
        if database_proxy is not None:
            self._grant_proxy(database_proxy, str(database_user))
        if self.runs_health_check:
            self._grant_restored_copies()

    def _grant_restored_copies(self) -> None:
        """``rds-db:connect`` as the read-only validator role to the account's clusters in
        the stack's Region: the operator command asks the packaged health check to read the
        heartbeat row of a restored copy, whose cluster resource id is new."""
        user = contract.RESTORE_VALIDATOR_ROLE
        self.policy.add_statements(
            iam.PolicyStatement(
                sid="ReadRestoredCopies",
                actions=["rds-db:connect"],
                resources=[arn_in_account("rds-db", f"dbuser:cluster-*/{user}")],
            )
        )
        acknowledge(
            self.policy,
            f"A restored copy of the cluster gets a new cluster resource id (cluster-<id>), "
            f"unknown until the restore: the statement allows only the database user {user}, "
            "which the health check keeps read-only on its heartbeat table, in this account "
            "and Region.",
            f"{AWS_SOLUTIONS}-IAM5[Resource::arn:<AWS::Partition>:rds-db:<AWS::Region>:"
            f"<AWS::AccountId>:dbuser:cluster-*/{user}]",
        )

    def _key_statements(self, *uses: tuple[kms.IKey | None, str]) -> list[iam.PolicyStatement]:
        """``UseKey{n}``: each key (once, however many services use it) through its services."""
        via: dict[str, tuple[kms.IKey, list[str]]] = {}
        for key, service in uses:
            if key is not None:
                via.setdefault(key.node.path, (key, []))[1].append(via_service(self, service))
        return [
            iam.PolicyStatement(
                sid=f"UseKey{index}",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": services}},
            )
            for index, (key, services) in enumerate(via.values())
        ]

    def _grant_proxy(self, proxy: rds.IDatabaseProxy, user: str) -> None:
        """``rds-db:connect`` to ``proxy`` as ``user`` (what ``proxy.grant_connect`` does,
        in :attr:`policy` rather than an inline policy)."""
        proxy_id = Fn.select(6, Fn.split(":", proxy.db_proxy_arn))
        self.policy.add_statements(
            iam.PolicyStatement(
                sid="ConnectThroughProxy",
                actions=["rds-db:connect"],
                resources=[arn_in_account("rds-db", f"dbuser:{proxy_id}/{user}")],
            )
        )


# --- checks ----------------------------------------------------------------------------------

_RETENTION = "an aws_logs.RetentionDays, e.g. RetentionDays.ONE_YEAR"


def _check_name(check: Checks, name: str) -> None:
    if not isinstance(name, str) or not _NAME_PATTERN.fullmatch(name):
        accepted = "1-20 lower-case letters, digits and inner hyphens, e.g. 'function' or 'canary'"
        check.fail("name", name, accepted)


def _check_proxy(check: Checks, proxy: rds.IDatabaseProxy | None, user: str | None) -> None:
    if proxy is None:
        return
    check.has("database_proxy", proxy, "db_proxy_arn", accepted="an rds.IDatabaseProxy, or None")
    if not (isinstance(user, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_$]{0,62}", user)):
        accepted = "the PostgreSQL user the function connects as through database_proxy"
        check.fail("database_user", user, accepted)


def _check_collaborators(
    check: Checks,
    network: DrNetwork,
    secret: secretsmanager.ISecret,
    table: dynamodb.ITable,
    bucket: s3.IBucket,
    encryption_key: kms.IKey | None,
) -> None:
    check.instance_of("network", network, DrNetwork, "the DrNetwork the function runs in")
    check.has("secret", secret, "secret_arn", accepted="a secretsmanager.ISecret")
    check.has("table", table, "table_arn", accepted="a dynamodb.ITable")
    check.has("bucket", bucket, "bucket_arn", accepted="an s3.IBucket")
    check.key("encryption_key", encryption_key)


def _check_runtime(
    check: Checks,
    memory_size: int,
    timeout: Duration,
    reserved_concurrency: int | None,
    code: lambda_.Code | None,
    handler: str | None,
    log_retention: logs.RetentionDays,
) -> None:
    check.int_range("memory_size", memory_size, 128, 10240)
    check.duration("timeout", timeout, 1, 900)
    if reserved_concurrency is not None:
        check.int_range("reserved_concurrency", reserved_concurrency, 1, 1000)
    _check_code(check, code, handler)
    check.instance_of("log_retention", log_retention, logs.RetentionDays, _RETENTION)


def _check_code(check: Checks, code: lambda_.Code | None, handler: str | None) -> None:
    """Code of your own with its handler, or neither."""
    if (code is None) != (handler is None):
        check.fail("handler", handler, "given together with code, or both omitted")
    if code is None:
        return
    check.instance_of("code", code, lambda_.Code,
                      "an aws_lambda.Code, e.g. Code.from_asset('src/my_function')")  # fmt: skip
    if not isinstance(handler, str) or not _HANDLER_PATTERN.match(handler):
        check.fail("handler", handler, "1-128 characters without whitespace, e.g. 'index.handler'")


def _check_environment(check: Checks, environment: Mapping[str, str] | None) -> dict[str, str]:
    accepted = (
        "a mapping of names (a letter, then letters, digits or underscores; not one Lambda "
        f"reserves, such as AWS_REGION) to strings, at most {ENVIRONMENT_BUDGET} bytes in all"
    )
    if environment is None:
        return {}
    if not isinstance(environment, Mapping):
        check.fail("environment", type(environment).__name__, accepted)
    size = 0
    for name, value in environment.items():
        if (
            not isinstance(name, str)
            or not _ENVIRONMENT_KEY.match(name)
            or name in RESERVED_ENVIRONMENT
            or not isinstance(value, str)
        ):
            check.fail("environment", {name: value}, accepted)
        size += len(name.encode()) + (0 if Token.is_unresolved(value) else len(value.encode()))
    if size > ENVIRONMENT_BUDGET:
        check.fail("environment", f"{size} bytes of variables", accepted)
    return dict(environment)


def _environment(
    secret: secretsmanager.ISecret,
    table: dynamodb.ITable,
    bucket: s3.IBucket,
    proxy: rds.IDatabaseProxy | None,
) -> dict[str, str]:
    """The health check's configuration; with a proxy, it connects there with an IAM token."""
    found = {
        "DB_SECRET_ARN": secret.secret_arn,
        "TABLE_NAME": table.table_name,
        "BUCKET_NAME": bucket.bucket_name,
    }
    return found if proxy is None else {**found, "DB_HOST": proxy.endpoint, "DB_IAM_AUTH": "true"}

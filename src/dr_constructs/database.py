"""DrDatabase: Aurora PostgreSQL Multi-AZ and a DynamoDB table, both recoverable to a point in
time and encrypted with a customer-managed key."""

from __future__ import annotations

import re
from collections.abc import Sequence
from typing import cast

from aws_cdk import (
    Aws,
    CfnCondition,
    Duration,
    Fn,
    ICfnConditionExpression,
    Names,
    RemovalPolicy,
    Stack,
    Token,
)
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_secretsmanager as secretsmanager
from constructs import Construct

from .checks import Checks
from .compliance import (
    AWS_SOLUTIONS,
    HIPAA_SECURITY,
    NIST_800_53_R5,
    acknowledge,
    drop_redundant_dependency,
    ignore_cfn_lint,
    in_packs,
)
from .contract import cluster_identifier, table_name
from .hooks import ObjectivesBinding
from .keys import customer_managed_key, logs_encryption_key
from .network import DrNetwork
from .parts import arn_in_account, encrypted_log_group, service_role
from .regions import AURORA_CLASS_PREFERENCE, aurora_postgresql_class, region_data

#: Aurora PostgreSQL 17.9: current major, not deprecated for new clusters.
ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_17_9
#: Graviton burstable class of the spec, the default wherever RDS offers it for Aurora
#: PostgreSQL; elsewhere the region's default is the next class of
#: ``regions.AURORA_CLASS_PREFERENCE`` it offers (il-central-1: ``t3.medium``). Any class below
#: is accepted.
DEFAULT_INSTANCE_TYPE = ec2.InstanceType(AURORA_CLASS_PREFERENCE[0])
_L = ("large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge", "16xlarge")
#: Provisioned instance classes of Aurora PostgreSQL, by family (``db.`` prefix omitted): the
#: current-generation part of the engine's class list in cfn-lint 1.58's RDS data. Whether a
#: class is offered in a given region is left to the rule packs (cfn-lint E3025): a table of
#: regions here would go stale and then reject classes AWS has since added.
AURORA_POSTGRESQL_CLASSES: dict[str, tuple[str, ...]] = {
    "t3": ("medium", "large"),
    "t4g": ("medium", "large"),
    "r5": (*_L, "24xlarge"),
    "r6g": _L,
    "r6gd": _L[1:],
    "r6i": (*_L, "24xlarge", "32xlarge"),
    "r6id": ("24xlarge", "32xlarge"),
    "r7g": _L,
    "r7i": (*_L, "24xlarge", "48xlarge"),
    "r8a": (*_L, "24xlarge", "48xlarge"),
    "r8g": (*_L, "24xlarge", "48xlarge"),
    "r8gd": (*_L[1:], "24xlarge", "48xlarge"),
    "x2g": _L,
}
AURORA_POSTGRESQL_FAMILIES = tuple(AURORA_POSTGRESQL_CLASSES)
#: The admin user of the generated secret.
ADMIN_USERNAME = "dradmin"
#: The construct id of the writer instance in the cluster.
WRITER_ID = "Writer"
#: RDS Proxy listens for PostgreSQL on this port.
PROXY_PORT = 5432
#: The table's partition key unless another is given.
DEFAULT_PARTITION_KEY = dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
#: Automated-backup (PITR) window; AWS allows 1-35 days.
DEFAULT_BACKUP_RETENTION = Duration.days(7)
#: The admin secret is rotated this often.
ROTATION_INTERVAL = Duration.days(30)
#: Characters the rotation never puts in a password (CDK's default for RDS secrets).
PASSWORD_EXCLUDE_CHARACTERS = " %+~`#$&*()|[]{}:;<>?!'/@\"\\"
#: Aurora PostgreSQL database names: a letter, then letters, digits or underscores.
_DATABASE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,62}$")
_RESERVED_DATABASE_NAMES = frozenset({"postgres", "template0", "template1", "rdsadmin"})


class DrDatabase(Construct):
    """Aurora PostgreSQL (writer + readers in other AZs) and a DynamoDB table.

    Aurora: engine 17, ``t4g.medium`` Graviton instances by default, storage and secret
    encrypted with a customer-managed key, automated backups with a 7-day point-in-time
    window, IAM database authentication, TLS forced for every connection
    (``rds.force_ssl=1``), logs exported to an encrypted log group, enhanced monitoring,
    rotation of the admin secret, isolated subnets, and a security group that admits only
    the clients passed to :meth:`allow_from` (or ``clients``).

    DynamoDB: on-demand billing, point-in-time recovery, customer-managed key.

    Args:
        scope: parent construct.
        id: construct id.
        network: the :class:`DrNetwork` to run in (its isolated subnets).
        environment_suffix: names the table ``dr-table-{suffix}`` and the cluster
            ``dr-aurora-{suffix}``. Default - ``dev``.
        instance_type: Aurora instance class. Default - ``t4g.medium`` (Graviton), or where
            RDS does not offer it for Aurora PostgreSQL the next of ``t3.medium`` it does
            (il-central-1: ``t3.medium``), from :mod:`dr_constructs.regions`' data; in an
            environment-agnostic stack a CloudFormation condition picks the same per region.
        readers: number of reader instances, 1-15, each in another AZ than the writer where
            the network has one. Default - 1.
        backup_retention: automated-backup and PITR window, 1-35 days. Keep it equal to the
            AWS Backup plan's retention when AWS Backup protects the cluster. Default - 7 days.
        database_name: initial database: a letter, then up to 62 letters, digits or
            underscores, not a name PostgreSQL or RDS reserves (``postgres``, ...).
            Default - ``dr``.
        port: the PostgreSQL port, 1150-65535. Default - 5432.
        partition_key: the table's partition key. Default - ``pk`` (string).
        sort_key: the table's sort key, another attribute than the partition key.
            Default - none.
        clients: security groups (or other connectables) allowed to connect. Default - none.
        encryption_key: key for Aurora storage, its secret and the table. Default - a new
            key with rotation.
        logs_key: key for the exported PostgreSQL log group. Default - ``encryption_key``'s
            sibling, a new logs key with rotation.
        removal_policy: ``RETAIN`` (default) snapshots the cluster on delete with deletion
            protection on, and retains the table, secret and keys; ``DESTROY`` deletes all
            of them with the stack.
        proxy: put an RDS Proxy in front of the cluster (TLS required, IAM authentication,
            the admin secret): clients keep their connections through a failover, which then
            takes ~20 s instead of up to ~60 s for them (:attr:`proxy`). Default - no proxy.
        objectives: recovery objectives (``dr_constructs.RecoveryObjectives``) the cluster
            and the table must meet, checked when the app is synthesized and written to the
            posture report. Default - none (DrPlatform checks its own).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        network: DrNetwork,
        environment_suffix: str = "dev",
        instance_type: ec2.InstanceType | None = None,
        readers: int = 1,
        backup_retention: Duration = DEFAULT_BACKUP_RETENTION,
        database_name: str = "dr",
        port: int = 5432,
        partition_key: dynamodb.Attribute | None = None,
        sort_key: dynamodb.Attribute | None = None,
        clients: Sequence[ec2.IConnectable] = (),
        encryption_key: kms.IKey | None = None,
        logs_key: kms.IKey | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        proxy: bool = False,
        objectives: ObjectivesBinding | None = None,
    ) -> None:
        super().__init__(scope, id)
        check = Checks(self, "DrDatabase")
        suffix, retention_days, instance_class = _check_props(
            check, removal_policy=removal_policy, proxy=proxy, objectives=objectives,
            environment_suffix=environment_suffix, readers=readers, port=port, network=network,
            backup_retention=backup_retention, database_name=database_name, clients=clients,
            instance_type=instance_type or self._default_class(), partition_key=partition_key,
            sort_key=sort_key, encryption_key=encryption_key, logs_key=logs_key,
        )  # fmt: skip
        #: The cluster's identifier, ``dr-aurora-{suffix}``.
        self.cluster_identifier = check.claim("Aurora cluster", cluster_identifier(suffix))
        table = check.claim("table", table_name(suffix))

        destroy = removal_policy == RemovalPolicy.DESTROY
        #: The PostgreSQL port clients connect to.
        self.port = port
        self._keys(suffix, encryption_key, logs_key, removal_policy)
        self._cluster_parts(network, suffix, removal_policy)
        self.cluster = self._cluster(
            network, instance_class, readers, database_name, backup_retention, destroy
        )
        self._place_instances(network, default_class=instance_type is None)
        #: The admin secret (host, port, username, password, dbname), rotated every 30 days.
        self.secret = self._secret(network, removal_policy)
        self.backup_retention_days = retention_days
        #: The admin user of the secret (the user IAM authentication to the proxy names).
        self.admin_username = ADMIN_USERNAME
        #: The RDS Proxy in front of the cluster, when ``proxy=True``.
        self.proxy: rds.DatabaseProxy | None = self._add_proxy(network, suffix) if proxy else None
        if destroy:
            _acknowledge_no_deletion_protection(self.cluster)
        self.table = self._table(table, partition_key, sort_key, retention_days, removal_policy)
        for client in clients:
            self.allow_from(client)
        if objectives is not None:
            objectives.bind(self, self.cluster, self.table)

    def allow_from(self, client: ec2.IConnectable, description: str | None = None) -> None:
        """Admit ``client`` (a security group, Lambda, ...) to the cluster's port, and to the
        proxy's when there is one.

        A client in a stack downstream of this one (e.g. a Lambda in an app stack that uses
        this data stack) gets both rules, the cluster's ingress and its own egress, in its own
        stack: only the client's stack then refers to this one, never the other way round (no
        dependency cycle). A client in this stack, the network's or another stack this one
        depends on gets them as CDK places them (here).
        """
        port = ec2.Port.tcp(self.port)
        description = description or "PostgreSQL from a named client"
        if self.proxy is not None:
            self.proxy.connections.allow_from(client, ec2.Port.tcp(PROXY_PORT), description)
        here = Stack.of(self)
        network_stack = Stack.of(self.cluster.vpc)
        upstream = {s.node.path for s in (here, network_stack, *here.dependencies)}
        for security_group in client.connections.security_groups:
            if Stack.of(security_group).node.path in upstream:
                self.cluster.connections.allow_from(security_group, port, description)
                continue
            id = f"PostgresqlTo{Names.unique_id(self.security_group)}"
            if security_group.node.try_find_child(id) is not None:
                continue  # admitted already
            # The cluster's group as seen from the client's stack: its rules land there.
            cluster_group = ec2.SecurityGroup.from_security_group_id(
                cast(Construct, security_group), id, self.security_group.security_group_id,
                allow_all_outbound=False,
            )  # fmt: skip
            cluster_group.add_ingress_rule(
                ec2.Peer.security_group_id(security_group.security_group_id), port, description
            )
            security_group.add_egress_rule(
                ec2.Peer.security_group_id(self.security_group.security_group_id),
                port,
                description,
            )

    # --- steps ---------------------------------------------------------------------------

    def _keys(
        self,
        suffix: str,
        encryption_key: kms.IKey | None,
        logs_key: kms.IKey | None,
        removal_policy: RemovalPolicy,
    ) -> None:
        self.encryption_key = encryption_key or customer_managed_key(
            self, "Key", description=f"DR data ({suffix})", removal_policy=removal_policy
        )
        self.logs_key = logs_key or logs_encryption_key(
            self, "LogsKey", description=f"DR database logs ({suffix})",
            removal_policy=removal_policy,
        )  # fmt: skip

    def _cluster_parts(
        self, network: DrNetwork, suffix: str, removal_policy: RemovalPolicy
    ) -> None:
        """The cluster's security group, log group and parameter group."""
        self.security_group = ec2.SecurityGroup(
            self,
            "ClusterSecurityGroup",
            vpc=network.vpc,
            description=f"Aurora dr-aurora-{suffix}: admits only its named clients",
            allow_all_outbound=False,
        )
        # Created before the cluster so its retention and key are ours, not RDS's defaults.
        self.log_group = encrypted_log_group(
            self, "PostgresqlLogs", key=self.logs_key, removal_policy=removal_policy,
            name=f"/aws/rds/cluster/{self.cluster_identifier}/postgresql",
        )  # fmt: skip
        #: Cluster parameter group (``rds.force_ssl=1``).
        self.parameter_group = rds.ParameterGroup(
            self,
            "ClusterParameters",
            engine=rds.DatabaseClusterEngine.aurora_postgres(version=ENGINE_VERSION),
            description="dr-constructs: TLS required, connections logged",
            parameters={"rds.force_ssl": "1", "log_connections": "1", "log_disconnections": "1"},
        )

    def _cluster(
        self,
        network: DrNetwork,
        instance_type: ec2.InstanceType,
        readers: int,
        database_name: str,
        backup_retention: Duration,
        destroy: bool,
    ) -> rds.DatabaseCluster:
        """Aurora PostgreSQL, encrypted, IAM authentication, a writer and ``readers``, logs
        exported after their log group exists."""

        def instance(name: str) -> rds.IClusterInstance:
            return rds.ClusterInstance.provisioned(
                name,
                instance_type=instance_type,
                enable_performance_insights=True,
                performance_insight_encryption_key=self.encryption_key,
                auto_minor_version_upgrade=True,
                publicly_accessible=False,
            )

        self._instance_ids = [WRITER_ID] + [f"Reader{i + 1}" for i in range(readers)]
        cluster = rds.DatabaseCluster(
            self,
            "Cluster",
            engine=rds.DatabaseClusterEngine.aurora_postgres(version=ENGINE_VERSION),
            cluster_identifier=self.cluster_identifier,
            default_database_name=database_name,
            port=self.port,
            credentials=rds.Credentials.from_generated_secret(
                ADMIN_USERNAME, encryption_key=self.encryption_key
            ),
            writer=instance(self._instance_ids[0]),
            readers=[instance(name) for name in self._instance_ids[1:]],
            vpc=network.vpc,
            vpc_subnets=network.private_subnets,
            security_groups=[self.security_group],
            parameter_group=self.parameter_group,
            storage_encrypted=True,
            storage_encryption_key=self.encryption_key,
            iam_authentication=True,
            backup=rds.BackupProps(retention=backup_retention, preferred_window="03:00-04:00"),
            preferred_maintenance_window="sun:04:30-sun:05:30",
            cloudwatch_logs_exports=["postgresql"],
            monitoring_interval=Duration.seconds(60),
            monitoring_role=self._monitoring_role(),
            deletion_protection=not destroy,
            copy_tags_to_snapshot=True,
            removal_policy=RemovalPolicy.DESTROY if destroy else RemovalPolicy.SNAPSHOT,
        )
        cluster.node.add_dependency(self.log_group)
        return cluster

    def _secret(self, network: DrNetwork, removal_policy: RemovalPolicy) -> secretsmanager.ISecret:
        """The cluster's admin secret, kept or deleted with the data, rotated every 30 days."""
        secret = self.cluster.secret
        assert secret is not None
        # cluster.secret is the attachment; the Secret resource itself is this child:
        self.cluster.node.find_child("Secret").apply_removal_policy(removal_policy)  # type: ignore[attr-defined]
        self.secret = secret
        self.secret_rotation = self._rotate_secret(network)
        return secret

    def _table(
        self,
        name: str,
        partition_key: dynamodb.Attribute | None,
        sort_key: dynamodb.Attribute | None,
        retention_days: int,
        removal_policy: RemovalPolicy,
    ) -> dynamodb.Table:
        """On demand, point-in-time recovery over the backup retention, the data key."""
        partition_key = partition_key or DEFAULT_PARTITION_KEY
        #: The table's partition-key attribute name.
        self.partition_key_name = partition_key.name
        return dynamodb.Table(
            self,
            "Table",
            table_name=name,
            partition_key=partition_key,
            sort_key=sort_key,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True,
                recovery_period_in_days=retention_days,
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.encryption_key,
            deletion_protection=removal_policy != RemovalPolicy.DESTROY,
            removal_policy=removal_policy,
        )

    def _add_proxy(self, network: DrNetwork, suffix: str) -> rds.DatabaseProxy:
        """RDS Proxy: TLS required, IAM authentication, the admin secret; its role reads the
        secret through a customer-managed policy, its security group sends HTTPS (Secrets
        Manager endpoint) and PostgreSQL (the cluster) only."""
        assert self.secret is not None
        security_group = ec2.SecurityGroup(
            self, "ProxySecurityGroup", vpc=network.vpc, allow_all_outbound=False,
            description=f"RDS Proxy dr-proxy-{suffix}: HTTPS to Secrets Manager, PostgreSQL "
            "to Aurora",
        )  # fmt: skip
        security_group.add_egress_rule(
            ec2.Peer.ipv4(network.cidr), ec2.Port.tcp(443),
            "HTTPS to the Secrets Manager endpoint inside the VPC",
        )  # fmt: skip
        role, _ = service_role(
            self, "Proxy", service="rds.amazonaws.com",
            description=f"RDS Proxy dr-proxy-{suffix}: read the admin secret",
            policy_description=f"RDS Proxy dr-proxy-{suffix}: read the admin secret, nothing more",
            statements=[
                iam.PolicyStatement(
                    actions=["secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"],
                    resources=[self.secret.secret_arn],
                ),
                iam.PolicyStatement(
                    actions=["kms:Decrypt"], resources=[self.encryption_key.key_arn],
                    conditions={"StringEquals": {
                        "kms:ViaService": f"secretsmanager.{Aws.REGION}.amazonaws.com"
                    }},
                ),
            ],
        )  # fmt: skip
        proxy = rds.DatabaseProxy(
            self, "Proxy", proxy_target=rds.ProxyTarget.from_cluster(self.cluster),
            db_proxy_name=f"dr-proxy-{suffix}", secrets=[self.secret], vpc=network.vpc,
            vpc_subnets=network.private_subnets, security_groups=[security_group],
            require_tls=True, iam_auth=True, debug_logging=False,
            role=role.without_policy_updates(),
        )  # fmt: skip
        self.cluster.connections.allow_from(
            security_group, ec2.Port.tcp(self.port), "PostgreSQL from the RDS Proxy"
        )
        group_l1 = proxy.node.find_child("ProxyTargetGroup")
        assert isinstance(group_l1, rds.CfnDBProxyTargetGroup)
        cluster_l1 = self.cluster.node.default_child
        assert isinstance(cluster_l1, rds.CfnDBCluster)
        drop_redundant_dependency(group_l1, cluster_l1)  # it names the cluster already
        # The proxy target also admits the proxy on the cluster's Endpoint.Port attribute,
        # which rule packs cannot verify: the literal-port rules above replace those two.
        for group in (self.security_group, security_group):
            for rule in list(group.node.children):
                if rule.node.id.endswith(":{IndirectPort}"):
                    group.node.try_remove_child(rule.node.id)
        return proxy

    def _place_instances(self, network: DrNetwork, *, default_class: bool) -> None:
        """The cluster's subnet group, its instances' AZs, and (``default_class``) their class
        per region."""
        #: The cluster's DB subnet group (isolated subnets), e.g. for restores.
        self.subnet_group: rds.ISubnetGroup = self.cluster.node.find_child("Subnets")  # type: ignore[assignment]
        self._spread_instances_over_azs(network)
        if default_class:
            self._default_class_per_region()

    def _spread_instances_over_azs(self, network: DrNetwork) -> None:
        """Pin the writer and each reader to different AZs, round-robin."""
        azs = network.vpc.availability_zones
        #: The AZ the writer instance is pinned to at deployment, e.g. for AZ drills (None
        #: where the AZs are ``Fn::GetAZs`` picks, resolved at deployment).
        self.writer_availability_zone = None if Token.is_unresolved(azs[0]) else azs[0]
        for index, name in enumerate(self._instance_ids):
            cfn = self.cluster.node.find_child(name).node.default_child
            assert isinstance(cfn, rds.CfnDBInstance)
            cfn.availability_zone = azs[index % len(azs)]
            if not Token.is_unresolved(cfn.availability_zone):
                ignore_cfn_lint(cfn, "W3010")  # see network.PINNED_AZ_REASON

    def _monitoring_role(self) -> iam.Role:
        """The Enhanced Monitoring role: AWS's AmazonRDSEnhancedMonitoringRole statements as a
        customer-managed policy, narrowed to this account, region and RDS's log group."""
        group = arn_in_account("logs", "log-group:RDSOSMetrics")
        role, policy = service_role(
            self, "Monitoring", service="monitoring.rds.amazonaws.com",
            description="RDS Enhanced Monitoring: publish OS metrics of the DR cluster",
            policy_description="RDS Enhanced Monitoring: write OS metrics to RDSOSMetrics only",
            statements=[
                iam.PolicyStatement(
                    sid="RdsOsMetricsLogGroup",
                    actions=["logs:CreateLogGroup", "logs:PutRetentionPolicy"],
                    resources=[f"{group}*"],
                ),
                iam.PolicyStatement(
                    sid="RdsOsMetricsLogStreams",
                    actions=["logs:CreateLogStream", "logs:PutLogEvents",
                             "logs:DescribeLogStreams", "logs:GetLogEvents"],
                    resources=[f"{group}:log-stream:*"],
                ),
            ],
        )  # fmt: skip
        acknowledge(
            policy,
            "Enhanced Monitoring writes to the log group RDS owns, RDSOSMetrics, one stream per "
            "DB instance named after the instance's resource id, which exists only after "
            "deployment. These are the statements of AWS's AmazonRDSEnhancedMonitoringRole, "
            "narrowed from any region and account and every RDS* group to this account, "
            "this region and RDSOSMetrics.",
            f"{AWS_SOLUTIONS}-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
            "<AWS::AccountId>:log-group:RDSOSMetrics*]",
            f"{AWS_SOLUTIONS}-IAM5[Resource::arn:<AWS::Partition>:logs:<AWS::Region>:"
            "<AWS::AccountId>:log-group:RDSOSMetrics:log-stream:*]",
        )
        return role

    def _rotate_secret(self, network: DrNetwork) -> secretsmanager.SecretRotation:
        """Single-user rotation every 30 days, by AWS's rotation application in the isolated
        subnets. Same as ``cluster.add_rotation_single_user()``, except that the rotation
        Lambda's security group sends only HTTPS (Secrets Manager endpoint) and PostgreSQL
        (the cluster), and the cluster admits it on the literal port rather than the
        ``Endpoint.Port`` attribute (which rule packs cannot verify)."""
        assert self.secret is not None
        rotation_security_group = ec2.SecurityGroup(
            self.cluster,
            "RotationSingleUserSecurityGroup",
            vpc=network.vpc,
            description="Secret rotation Lambda: HTTPS to Secrets Manager, PostgreSQL to Aurora",
            allow_all_outbound=False,
        )
        rotation_security_group.add_egress_rule(
            ec2.Peer.ipv4(network.cidr),
            ec2.Port.tcp(443),
            "HTTPS to the Secrets Manager endpoint inside the VPC",
        )
        return secretsmanager.SecretRotation(
            self.cluster,
            "RotationSingleUser",
            application=secretsmanager.SecretRotationApplication.POSTGRES_ROTATION_SINGLE_USER,
            secret=self.secret,
            target=ec2.Connections(
                security_groups=[self.security_group], default_port=ec2.Port.tcp(self.port)
            ),
            vpc=network.vpc,
            vpc_subnets=network.private_subnets,
            security_group=rotation_security_group,
            automatically_after=ROTATION_INTERVAL,
            exclude_characters=PASSWORD_EXCLUDE_CHARACTERS,
        )

    def _default_class(self) -> ec2.InstanceType:
        """The region's default class (``t4g.medium`` where the data does not know it)."""
        region = Stack.of(self).region
        known = None if Token.is_unresolved(region) else aurora_postgresql_class(region)
        return ec2.InstanceType(known or AURORA_CLASS_PREFERENCE[0])

    def _default_class_per_region(self) -> None:
        """In an environment-agnostic stack, the default class by CloudFormation condition:
        ``t4g.medium``, or in a region the data gives another default, that one."""
        if not Token.is_unresolved(Stack.of(self).region):
            return
        by_class: dict[str, list[str]] = {}
        for region, name in sorted(region_data()["aurora_postgresql_class"].items()):
            if name != AURORA_CLASS_PREFERENCE[0]:
                by_class.setdefault(name, []).append(region)
        value: str = f"db.{AURORA_CLASS_PREFERENCE[0]}"
        stack = Stack.of(self)
        for name, regions in sorted(by_class.items()):
            id = f"DrAuroraClass{name.replace('.', '').title()}Regions"
            condition = stack.node.try_find_child(id) or CfnCondition(
                stack, id, expression=_region_in(regions)
            )
            assert isinstance(condition, CfnCondition)
            value = Fn.condition_if(condition.logical_id, f"db.{name}", value).to_string()
        for name in self._instance_ids:
            cfn = self.cluster.node.find_child(name).node.default_child
            assert isinstance(cfn, rds.CfnDBInstance)
            cfn.db_instance_class = value


def _region_in(regions: Sequence[str]) -> ICfnConditionExpression:
    """A condition: the stack's region is one of ``regions`` (``Fn::Or`` takes 2 to 10)."""
    equals = [Fn.condition_equals(Aws.REGION, r) for r in regions]
    while len(equals) > 1:
        equals = [
            Fn.condition_or(*chunk) if len(chunk) > 1 else chunk[0]
            for chunk in (equals[i : i + 10] for i in range(0, len(equals), 10))
        ]
    return equals[0]


# --- checks ----------------------------------------------------------------------------------


def _check_props(
    check: Checks,
    *,
    removal_policy: RemovalPolicy,
    proxy: bool,
    objectives: ObjectivesBinding | None,
    environment_suffix: str,
    readers: int,
    port: int,
    backup_retention: Duration,
    instance_type: ec2.InstanceType,
    database_name: str,
    partition_key: dynamodb.Attribute | None,
    sort_key: dynamodb.Attribute | None,
    network: DrNetwork,
    encryption_key: kms.IKey | None,
    logs_key: kms.IKey | None,
    clients: Sequence[ec2.IConnectable],
) -> tuple[str, int, ec2.InstanceType]:
    """Check DrDatabase's props, in order; the suffix, the retention in days and the class."""
    check.removal_policy(removal_policy)
    if check.switch("proxy", proxy):
        check.require("proxy", proxy)
    check.objectives(objectives)
    suffix = check.environment_suffix(environment_suffix)
    check.int_range("readers", readers, 1, 15)
    check.int_range("port", port, 1150, 65535)
    retention_days = check.days("backup_retention", backup_retention, 1, 35)
    instance_type = _check_instance_type(check, instance_type)
    _check_database_name(check, database_name)
    _check_keys(check, partition_key, sort_key)
    check.instance_of("network", network, DrNetwork, "the DrNetwork the database runs in")
    check.key("encryption_key", encryption_key)
    check.key("logs_key", logs_key)
    _check_clients(check, clients)
    return suffix, retention_days, instance_type


def _check_instance_type(check: Checks, instance_type: ec2.InstanceType) -> ec2.InstanceType:
    is_type = isinstance(instance_type, ec2.InstanceType)
    name = instance_type.to_string() if is_type else repr(instance_type)
    family, _, size = name.partition(".")
    if not is_type or size not in AURORA_POSTGRESQL_CLASSES.get(family, ()):
        check.fail(
            "instance_type",
            name,
            "an ec2.InstanceType of a provisioned Aurora PostgreSQL class: "
            + "; ".join(
                f"{family}.{{{','.join(sizes)}}}"
                for family, sizes in AURORA_POSTGRESQL_CLASSES.items()
            ),
        )
    return instance_type


def _check_database_name(check: Checks, name: str) -> None:
    if (
        not isinstance(name, str)
        or not _DATABASE_NAME.match(name)
        or name.lower() in _RESERVED_DATABASE_NAMES
    ):
        check.fail(
            "database_name",
            name,
            "a letter, then up to 62 letters, digits or underscores, and not one of "
            + ", ".join(sorted(_RESERVED_DATABASE_NAMES)),
        )


def _check_keys(
    check: Checks, partition_key: dynamodb.Attribute | None, sort_key: dynamodb.Attribute | None
) -> None:
    for prop, key in (("partition_key", partition_key), ("sort_key", sort_key)):
        if key is None:
            continue
        if not isinstance(key, dynamodb.Attribute):
            check.fail(
                prop, type(key).__name__,
                "a dynamodb.Attribute(name=..., type=AttributeType.STRING/NUMBER/BINARY)",
            )  # fmt: skip
        if (
            not isinstance(key.name, str)
            or Token.is_unresolved(key.name)
            or not 1 <= len(key.name.encode()) <= 255
        ):
            check.fail(f"{prop}.name", key.name, "1 to 255 bytes of UTF-8")
    partition_name = (partition_key or DEFAULT_PARTITION_KEY).name
    if sort_key is not None and sort_key.name == partition_name:
        check.fail("sort_key.name", sort_key.name, "a different attribute from the partition key")


def _check_clients(check: Checks, clients: Sequence[ec2.IConnectable]) -> None:
    for client in clients:
        if not hasattr(client, "connections"):
            check.fail(
                "clients",
                type(client).__name__,
                "security groups or other ec2.IConnectable (a Lambda function, ...)",
            )


def _acknowledge_no_deletion_protection(cluster: rds.DatabaseCluster) -> None:
    acknowledge(
        cluster,
        "Deletion protection is off only because the caller opted in to "
        "removal_policy=RemovalPolicy.DESTROY, explicitly, so that deleting the stack "
        "deletes the cluster; the default, RETAIN, keeps deletion protection on and a "
        "final snapshot.",
        f"{AWS_SOLUTIONS}-RDS10",
        *in_packs("RDSInstanceDeletionProtectionEnabled", (HIPAA_SECURITY, NIST_800_53_R5)),
        "CT.RDS.PR.3",
    )

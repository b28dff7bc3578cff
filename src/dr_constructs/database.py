"""DrDatabase: Aurora PostgreSQL Multi-AZ and a DynamoDB table, both recoverable to a point in
time and encrypted with a customer-managed key."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from constructs import Construct

from .errors import (
    DrConfigurationError,
    check_days,
    check_environment_suffix,
    check_int_range,
    check_removal_policy,
)
from .keys import allow_cloudwatch_logs, customer_managed_key
from .network import DrNetwork

#: Aurora PostgreSQL 17.9: current major, not deprecated for new clusters.
ENGINE_VERSION = rds.AuroraPostgresEngineVersion.VER_17_9
#: Graviton burstable class of the spec; any class below is accepted.
DEFAULT_INSTANCE_TYPE = ec2.InstanceType("t4g.medium")
#: Instance families Aurora PostgreSQL runs on (``db.`` prefix omitted).
AURORA_POSTGRESQL_FAMILIES = (
    "t3", "t4g", "r5", "r6g", "r6gd", "r6i", "r6id", "r7g", "r7i", "r8g", "x2g",
)  # fmt: skip
_SIZES = ("medium", "large", "xlarge", "2xlarge", "4xlarge", "8xlarge", "12xlarge",
          "16xlarge", "24xlarge", "32xlarge", "48xlarge")  # fmt: skip
#: Automated-backup (PITR) window; AWS allows 1-35 days.
DEFAULT_BACKUP_RETENTION = Duration.days(7)


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
        instance_type: Aurora instance class. Default - ``t4g.medium``.
        readers: number of reader instances, 1-15, each in another AZ than the writer where
            the network has one. Default - 1.
        backup_retention: automated-backup and PITR window, 1-35 days. Keep it equal to the
            AWS Backup plan's retention when AWS Backup protects the cluster. Default - 7 days.
        database_name: initial database. Default - ``dr``.
        port: the PostgreSQL port, 1150-65535. Default - 5432.
        partition_key: the table's partition key. Default - ``pk`` (string).
        sort_key: the table's sort key. Default - none.
        clients: security groups (or other connectables) allowed to connect. Default - none.
        encryption_key: key for Aurora storage, its secret and the table. Default - a new
            key with rotation.
        logs_key: key for the exported PostgreSQL log group. Default - ``encryption_key``'s
            sibling, a new logs key with rotation.
        removal_policy: ``RETAIN`` (default) snapshots the cluster on delete with deletion
            protection on, and retains the table, secret and keys; ``DESTROY`` deletes all
            of them with the stack.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        network: DrNetwork,
        environment_suffix: str = "dev",
        instance_type: ec2.InstanceType = DEFAULT_INSTANCE_TYPE,
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
    ) -> None:
        super().__init__(scope, id)
        check_removal_policy("DrDatabase", removal_policy)
        suffix = check_environment_suffix("DrDatabase", environment_suffix)
        check_int_range("DrDatabase", "readers", readers, 1, 15)
        check_int_range("DrDatabase", "port", port, 1150, 65535)
        retention_days = check_days("DrDatabase", "backup_retention", backup_retention, 1, 35)
        self._check_instance_type(instance_type)
        destroy = removal_policy == RemovalPolicy.DESTROY
        #: The PostgreSQL port clients connect to.
        self.port = port

        self.encryption_key = encryption_key or customer_managed_key(
            self, "Key", description=f"DR data ({suffix})", removal_policy=removal_policy
        )
        self.logs_key = logs_key or customer_managed_key(
            self, "LogsKey", description=f"DR database logs ({suffix})",
            removal_policy=removal_policy,
        )  # fmt: skip
        if logs_key is None:
            allow_cloudwatch_logs(self.logs_key)

        self.security_group = ec2.SecurityGroup(
            self,
            "ClusterSecurityGroup",
            vpc=network.vpc,
            description=f"Aurora dr-aurora-{suffix}: admits only its named clients",
            allow_all_outbound=False,
        )
        self.cluster_identifier = f"dr-aurora-{suffix}"
        # Created before the cluster so its retention and key are ours, not RDS's defaults.
        self.log_group = logs.LogGroup(
            self,
            "PostgresqlLogs",
            log_group_name=f"/aws/rds/cluster/{self.cluster_identifier}/postgresql",
            encryption_key=self.logs_key,
            retention=logs.RetentionDays.ONE_YEAR,
            removal_policy=removal_policy,
        )
        #: Cluster parameter group (``rds.force_ssl=1``).
        self.parameter_group = rds.ParameterGroup(
            self,
            "ClusterParameters",
            engine=rds.DatabaseClusterEngine.aurora_postgres(version=ENGINE_VERSION),
            description="dr-constructs: TLS required, connections logged",
            parameters={"rds.force_ssl": "1", "log_connections": "1", "log_disconnections": "1"},
        )

        def instance(name: str) -> rds.IClusterInstance:
            return rds.ClusterInstance.provisioned(
                name,
                instance_type=instance_type,
                enable_performance_insights=True,
                performance_insight_encryption_key=self.encryption_key,
                auto_minor_version_upgrade=True,
                publicly_accessible=False,
            )

        self._instance_ids = ["Writer"] + [f"Reader{i + 1}" for i in range(readers)]
        self.cluster = rds.DatabaseCluster(
            self,
            "Cluster",
            engine=rds.DatabaseClusterEngine.aurora_postgres(version=ENGINE_VERSION),
            cluster_identifier=self.cluster_identifier,
            default_database_name=database_name,
            port=port,
            credentials=rds.Credentials.from_generated_secret(
                "dradmin", encryption_key=self.encryption_key
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
            deletion_protection=not destroy,
            copy_tags_to_snapshot=True,
            removal_policy=RemovalPolicy.DESTROY if destroy else RemovalPolicy.SNAPSHOT,
        )
        self.cluster.node.add_dependency(self.log_group)
        #: The cluster's DB subnet group (isolated subnets), e.g. for restores.
        self.subnet_group: rds.ISubnetGroup = self.cluster.node.find_child("Subnets")  # type: ignore[assignment]
        self._spread_instances_over_azs(network)
        #: The admin secret (host, port, username, password, dbname), rotated every 30 days.
        self.secret = self.cluster.secret
        assert self.secret is not None
        # cluster.secret is the attachment; the Secret resource itself is this child:
        self.cluster.node.find_child("Secret").apply_removal_policy(removal_policy)  # type: ignore[attr-defined]
        self.secret_rotation = self.cluster.add_rotation_single_user(
            automatically_after=Duration.days(30), vpc_subnets=network.private_subnets
        )
        self.backup_retention_days = retention_days

        key = partition_key or dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING)
        #: The table's partition-key attribute name.
        self.partition_key_name = key.name
        self.table = dynamodb.Table(
            self,
            "Table",
            table_name=f"dr-table-{suffix}",
            partition_key=key,
            sort_key=sort_key,
            billing_mode=dynamodb.BillingMode.PAY_PER_REQUEST,
            point_in_time_recovery_specification=dynamodb.PointInTimeRecoverySpecification(
                point_in_time_recovery_enabled=True,
                recovery_period_in_days=retention_days,
            ),
            encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
            encryption_key=self.encryption_key,
            deletion_protection=not destroy,
            removal_policy=removal_policy,
        )
        for client in clients:
            self.allow_from(client)

    def allow_from(self, client: ec2.IConnectable, description: str | None = None) -> None:
        """Admit ``client`` (a security group, Lambda, ...) to the cluster's port."""
        self.cluster.connections.allow_from(
            client, ec2.Port.tcp(self.port), description or "PostgreSQL from a named client"
        )

    def _spread_instances_over_azs(self, network: DrNetwork) -> None:
        """Pin the writer and each reader to different AZs, round-robin."""
        azs = network.vpc.availability_zones
        for index, name in enumerate(self._instance_ids):
            cfn = self.cluster.node.find_child(name).node.default_child
            assert isinstance(cfn, rds.CfnDBInstance)
            cfn.availability_zone = azs[index % len(azs)]

    @staticmethod
    def _check_instance_type(instance_type: ec2.InstanceType) -> None:
        name = (
            instance_type.to_string()
            if isinstance(instance_type, ec2.InstanceType)
            else str(instance_type)
        )
        family, _, size = name.partition(".")
        if (
            family not in AURORA_POSTGRESQL_FAMILIES
            or size not in _SIZES
            or (family in ("t3", "t4g") and size not in ("medium", "large"))
        ):
            raise DrConfigurationError(
                "DrDatabase",
                "instance_type",
                name,
                "an Aurora PostgreSQL instance class: db.t3/t4g.{medium,large} or a memory-"
                f"optimised size of {', '.join(AURORA_POSTGRESQL_FAMILIES[2:])}",
            )

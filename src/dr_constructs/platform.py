"""DrPlatform: the whole single-region, Multi-AZ DR stack, composed from the layers."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_sns as sns
from constructs import Construct

from .audit import DrBackupAudit
from .backup import DEFAULT_RETENTION, DrBackupVault
from .checks import Checks
from .contract import (
    BACKUP_ID,
    CANARY_WRITER,
    METADATA_KEY,
    RECOVERY_REGION_NAME,
    RECOVERY_STACK,
    RECOVERY_VAULT,
    STORAGE_ID,
    stated_objectives,
)
from .database import DrDatabase
from .drills import DrDrills
from .function import DrFunction
from .keys import customer_managed_key, logs_encryption_key
from .network import DrNetwork
from .objectives import (
    FailureMode,
    Posture,
    PostureReport,
    RecoveryObjectives,
    Templates,
    backup_alarm_windows,
    copy_arrival_window,
    summary_markdown,
)
from .observability import DrObservability
from .recovery import DrRecoveryRegion
from .regions import available
from .resilience_hub import ResilienceHubApp
from .restore_testing import DrRestoreTesting
from .storage import DrBucket

#: The template-level Metadata key under which DrPlatform states its recovery objectives.
TEMPLATE_METADATA_KEY = METADATA_KEY


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
        instance_type: Aurora instance class. Default - the region's default of
            :class:`DrDatabase` (``t4g.medium``; ``t3.medium`` where RDS does not offer it).
        backup_retention: AWS Backup retention and Aurora PITR window, 1-35 days.
            Default - 7 days.
        partition_key: the table's partition key. A string attribute while the Lambda runs
            the packaged health check (it writes a string heartbeat key); any type with
            ``function_code``. Default - ``pk`` (string).
        data_key: key for Aurora, its secret, the table and the bucket. Default - new.
        topic: bring your own alerts topic. Default - a new encrypted topic.
        function_code: code for the Lambda instead of the health check (with
            ``function_handler``). With restore tests on, the packaged health check then also
            runs as a canary writer of its own, ``dr-canary-{suffix}`` (:attr:`canary`), so
            that the restored copies hold the canary the tests look for. Default - the
            packaged health check.
        function_handler: handler of ``function_code``.
        reserved_concurrency: the Lambda's reserved concurrency, or None for accounts with
            the default quota of 10. Default - 2.
        removal_policy: ``RETAIN`` (default) keeps every stateful resource (Aurora snapshot
            and deletion protection, table, bucket, vault, keys, log groups); ``DESTROY``
            deletes them all with the stack, consistently. Opt in explicitly.
        proxy: put an RDS Proxy (TLS, IAM authentication) in front of Aurora; the Lambda
            connects through it, and the posture counts its shorter failover.
            Default - no proxy.
        resilience_hub: hand the objectives to AWS Resilience Hub: a resiliency policy and an
            application mapped to this stack, assessed daily, drift and failed assessments
            to the topic (:attr:`resilience_hub`). Default - off.
        objectives: the :class:`RecoveryObjectives` the cluster, table and bucket must meet,
            checked at the end of the constructor (a breach raises
            :class:`DrConfigurationError`), shown on the dashboard and written to the posture
            report ``{stack}.dr-posture.json``/``.md`` beside the template.
            Default - the spec's RPO 1 hour / RTO 4 hours for every failure mode.
        restore_tests: weekly AWS Backup restore tests of the cluster, table and bucket,
            validated at the data level, their restore time and data age alarmed against the
            corruption objectives (:class:`~dr_constructs.restore_testing.DrRestoreTesting`);
            they need a STRING partition key (the canary item's). Default - on where
            CloudFormation has AWS Backup restore testing in the stack's region, off where it
            does not (GovCloud, China and some newer regions; the posture report says which,
            see :mod:`dr_constructs.regions`); ``False`` opts out. ``True`` in a region without
            it raises :class:`DrConfigurationError`.
        drills: add AWS FIS drill templates (:class:`~dr_constructs.drills.DrDrills`: Aurora
            failover, loss of the writer's AZ, DynamoDB/S3 unreachable), stopped by the
            stack's alarms, with the AZ-loss RTO objective as their bar; templates only,
            nothing runs on deploy. Default - off.
        air_gapped_retention: copy every backup to a logically air-gapped vault and keep
            the copies this long, 7-3650 days (see :class:`DrBackupVault`; needs
            ``RETAIN``: that vault can never be deleted while it holds copies).
            Default - no copies.
        recovery_region: a :class:`~dr_constructs.recovery.DrRecoveryRegion` in a stack of
            another region of the same partition and account: every backup rule copies each
            recovery point of the cluster, the table and the bucket to its vault, the primary
            stack depends on its stack (``cdk deploy --all`` deploys it first), an alarm there
            watches the copies arrive, and ``objectives`` may state ``region_loss``
            (docs/recovery-region.md). Both stacks need an explicit region.
            Default - no copies in another region.
        copy_retention: how long each copy in the recovery region is kept, 1-3650 days,
            counted from the backup's creation. Default - 7 days.
        audit_reports: compliance evidence: an AWS Backup Audit Manager framework (resources
            protected, recovery points encrypted, backup frequency and retention, restore time
            within the corruption RTO objective) and daily restore-job and control-compliance
            reports to an encrypted bucket
            (:class:`~dr_constructs.audit.DrBackupAudit`). Needs AWS Config
            recording in the account and region. Default - off.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        environment_suffix: str = "dev",
        availability_zones: Sequence[str] | None = None,
        vpc: ec2.IVpc | None = None,
        instance_type: ec2.InstanceType | None = None,
        backup_retention: Duration = DEFAULT_RETENTION,
        partition_key: dynamodb.Attribute | None = None,
        data_key: kms.IKey | None = None,
        topic: sns.ITopic | None = None,
        function_code: lambda_.Code | None = None,
        function_handler: str | None = None,
        reserved_concurrency: int | None = 2,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        proxy: bool = False,
        resilience_hub: bool = False,
        objectives: RecoveryObjectives | None = None,
        restore_tests: bool | None = None,
        drills: bool = False,
        air_gapped_retention: Duration | None = None,
        audit_reports: bool = False,
        recovery_region: DrRecoveryRegion | None = None,
        copy_retention: Duration = DEFAULT_RETENTION,
    ) -> None:
        super().__init__(scope, id)
        check = Checks(self, "DrPlatform")
        self.environment_suffix = check.environment_suffix(environment_suffix)
        #: The recovery objectives the data stores are held to.
        self.objectives = _checked_objectives(check, objectives)
        self.removal_policy = check.removal_policy(removal_policy)
        restore_tests = self._check_props(
            check, backup_retention=backup_retention, data_key=data_key,
            restore_tests=restore_tests, proxy=proxy, resilience_hub=resilience_hub,
            drills=drills, audit_reports=audit_reports, partition_key=partition_key,
            air_gapped_retention=air_gapped_retention, function_code=function_code,
        )  # fmt: skip
        self._reserved_concurrency = reserved_concurrency
        #: The recovery region every backup is copied to (``recovery_region``), else None.
        self.recovery_region = _check_recovery_region(
            check, self, recovery_region, copy_retention, self.objectives
        )

        self._keys(data_key)
        self._data_layers(vpc, availability_zones, instance_type, backup_retention,
                          partition_key, proxy)  # fmt: skip
        self.function = self._lambda("Function", code=function_code, handler=function_handler)
        self._backup(backup_retention, air_gapped_retention, copy_retention)
        self.postures = self._check_objectives()
        cpu_alarm = self._observe(topic)
        if self.recovery_region is not None:
            self._watch_copies(self.recovery_region)
        #: The AWS Resilience Hub policy and application, when ``resilience_hub=True``.
        self.resilience_hub = self._resilience_hub() if resilience_hub else None
        #: The packaged health check run as the restore tests' canary writer
        #: (``dr-canary-{suffix}``) when the Lambda runs ``function_code`` of your own and
        #: restore tests are on, else None: :attr:`function` writes the canary itself.
        self.canary: DrFunction | None = None
        #: The restore tests (on unless ``restore_tests=False``), else None.
        self.restore_testing = self._restore_tests() if restore_tests else None
        #: The FIS drills (``drills=True``), else None.
        self.drills = self._drills(stop_alarms=[cpu_alarm]) if drills else None
        #: The AWS Backup Audit Manager framework and reports (``audit_reports=True``), else None.
        self.audit = self._audit() if audit_reports else None

    # --- steps -----------------------------------------------------------------------------

    def _keys(self, data_key: kms.IKey | None) -> None:
        suffix, removal_policy = self.environment_suffix, self.removal_policy
        #: Key for Aurora, its secret, the table and the data bucket.
        self.data_key = data_key or customer_managed_key(
            self, "DataKey", description=f"DR data ({suffix})", removal_policy=removal_policy
        )
        #: Key for every log group, the Lambda's environment and its dead-letter queue.
        self.logs_key = logs_encryption_key(
            self, "LogsKey", description=f"DR logs ({suffix})", removal_policy=removal_policy
        )

    def _data_layers(
        self,
        vpc: ec2.IVpc | None,
        availability_zones: Sequence[str] | None,
        instance_type: ec2.InstanceType | None,
        backup_retention: Duration,
        partition_key: dynamodb.Attribute | None,
        proxy: bool,
    ) -> None:
        """The network, the database (Aurora and the table) and the bucket."""
        removal_policy = self.removal_policy
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
            environment_suffix=self.environment_suffix,
            instance_type=instance_type,
            backup_retention=backup_retention,
            partition_key=partition_key,
            encryption_key=self.data_key,
            logs_key=self.logs_key,
            removal_policy=removal_policy,
            proxy=proxy,
        )
        self.storage = DrBucket(
            self, STORAGE_ID, encryption_key=self.data_key, removal_policy=removal_policy
        )

    def _backup(
        self, retention: Duration, air_gapped_retention: Duration | None, copy_retention: Duration
    ) -> None:
        """The backup vault and plan, protecting Aurora, the table and the bucket, copying to
        the recovery region when there is one (deployed first)."""
        recovery = self.recovery_region
        self.backup = DrBackupVault(
            self, BACKUP_ID, environment_suffix=self.environment_suffix, retention=retention,
            air_gapped_retention=air_gapped_retention, removal_policy=self.removal_policy,
            copy_to=recovery.copy_target(copy_retention) if recovery else None,
        )  # fmt: skip
        self.backup.protect(self.database.cluster, self.database.table, self.storage.bucket)
        if recovery is not None:
            Stack.of(self).add_stack_dependency(
                Stack.of(recovery), "the backup plan copies to the recovery region's vault"
            )

    def _watch_copies(self, recovery: DrRecoveryRegion) -> None:
        """Alarms in the recovery region when no copy arrives within the region-loss RPO."""
        window = copy_arrival_window(self.objectives, self._stores, templates=self._templates)
        if window is not None:
            recovery.watch_arrivals(Duration.seconds(window))

    def _observe(self, topic: sns.ITopic | None) -> cloudwatch.IAlarm:
        """The topic, dashboard and alarms, backup alarms within the objectives' windows;
        returns the cluster's CPU alarm (it stops the drills)."""
        self.observability = DrObservability(
            self, "Observability", environment_suffix=self.environment_suffix, topic=topic,
            summary=summary_markdown(self.objectives, self.postures),
            removal_policy=self.removal_policy,
        )  # fmt: skip
        cpu_alarm = self.observability.watch_cluster(self.database.cluster)
        self.observability.watch_table(self.database.table)
        self.observability.watch_function(self.function.function)
        # Alarms that catch the objectives slipping in operation.
        windows = backup_alarm_windows(self.objectives, self._stores, templates=self._templates)
        self.observability.watch_backups(
            self.backup.vault,
            windows={kind: Duration.seconds(seconds) for kind, seconds in windows.items()},
        )
        self.observability.watch_replica_lag(self.database.cluster)
        self.observability.watch_table_errors(self.database.table)
        return cpu_alarm

    def _resilience_hub(self) -> ResilienceHubApp:
        """The objectives as a Resilience Hub policy, the stack as its application."""
        self.observability.allow_service_to_publish("resiliencehub.amazonaws.com")
        return ResilienceHubApp(
            self, "ResilienceHub", objectives=self.objectives,
            name=f"dr-{self.environment_suffix}", topic=self.topic,
        )  # fmt: skip

    def _check_props(
        self,
        check: Checks,
        *,
        backup_retention: Duration,
        data_key: kms.IKey | None,
        restore_tests: bool | None,
        proxy: bool,
        resilience_hub: bool,
        drills: bool,
        audit_reports: bool,
        air_gapped_retention: Duration | None,
        partition_key: dynamodb.Attribute | None,
        function_code: lambda_.Code | None,
    ) -> bool:
        """Check the props after the suffix, the objectives and the removal policy, in order;
        returns whether restore tests are built."""
        check.days("backup_retention", backup_retention, 1, 35)
        check.key("data_key", data_key)
        check.switch("restore_tests", restore_tests, none="on where available")
        switches = {"proxy": proxy, "resilience_hub": resilience_hub, "drills": drills,
                    "audit_reports": audit_reports}  # fmt: skip
        for prop, value in switches.items():
            check.switch(prop, value)
        restore = self._check_region(
            check, restore_tests, {**switches, "air_gapped_retention": air_gapped_retention}
        )
        _check_partition_key(check, partition_key, function_code)
        return restore

    def _check_region(
        self, check: Checks, restore_tests: bool | None, asked: dict[str, object]
    ) -> bool:
        """Refuse an assurance feature asked for where CloudFormation lacks its resource types;
        restore tests (``None``, the default) on where they exist. What is on, and why, goes
        into the posture report. Returns whether restore tests are built."""
        for prop, value in {"restore_tests": restore_tests, **asked}.items():
            if value not in (None, False):
                check.require(prop, value)
        restore = available(self, "restore_tests")[0] if restore_tests is None else restore_tests
        report = PostureReport.of(self)
        for prop, value in {"restore_tests": restore, **asked}.items():
            enabled = value not in (None, False)
            where = available(self, prop)[1]
            if prop == "restore_tests" and restore_tests is None:
                why = f"on by default where available: {where}"
            elif prop == "restore_tests":
                why = f"restore_tests={restore_tests} ({where})"
            else:
                why = "opted in" if enabled else "opt-in"
                why = f"{why} ({where})"
            report.add_assurance(self.node.path, prop, enabled, why)
        return restore

    def _audit(self) -> DrBackupAudit:
        """Audit evidence with the corruption RTO objective as the restore-time target."""
        return DrBackupAudit(
            self,
            "Audit",
            vault=self.backup,
            resources=list(self._stores),
            max_restore_time=_at_least(self.objectives.rto(FailureMode.CORRUPTION), _MINUTE),
            environment_suffix=self.environment_suffix,
            removal_policy=self.removal_policy,
        )

    def _restore_tests(self) -> DrRestoreTesting:
        """Restore tests held to the corruption objectives: a restore is the way back there."""
        corruption = FailureMode.CORRUPTION
        return DrRestoreTesting(
            self,
            "RestoreTesting",
            vault=self.backup,
            database=self.database,
            function=self.function if self.function.runs_health_check else self._canary(),
            observability=self.observability,
            bucket=self.storage,
            rto=_at_least(self.objectives.rto(corruption), _MINUTE),
            rpo=_at_least(self.objectives.rpo(corruption), _SECOND),
            logs_key=self.logs_key,
            environment_suffix=self.environment_suffix,
            removal_policy=self.removal_policy,
        )

    def _canary(self) -> DrFunction:
        """The packaged health check beside the team's own function: it writes the canary
        item and object the restore tests look for in restored copies, with the function's
        network, keys and least-privilege grants (:class:`DrFunction`)."""
        (partition_key,) = self.database.table.schema_v2().partition_keys
        if partition_key.type != dynamodb.AttributeType.STRING:
            Checks(self, "DrPlatform").fail(
                "partition_key", f"{partition_key.name} ({partition_key.type.name})",
                "a STRING attribute while restore tests are on (their canary item, written by "
                "the packaged health check, has a string key), or restore_tests=False",
            )  # fmt: skip
        self.canary = self._lambda("Canary", name=CANARY_WRITER, label="canary")
        return self.canary

    def _lambda(
        self,
        id: str,
        *,
        name: str = "function",
        label: str = "Lambda",
        code: lambda_.Code | None = None,
        handler: str | None = None,
    ) -> DrFunction:
        """A DrFunction in the stack's network with its keys, grants and a way to Aurora."""
        assert self.database.secret is not None
        function = DrFunction(
            self,
            id,
            network=self.network,
            secret=self.database.secret,
            table=self.database.table,
            bucket=self.storage.bucket,
            encryption_key=self.logs_key,
            environment_suffix=self.environment_suffix,
            name=name,
            code=code,
            handler=handler,
            reserved_concurrency=self._reserved_concurrency,
            environment={"TABLE_PARTITION_KEY": self.database.partition_key_name},
            removal_policy=self.removal_policy,
            database_proxy=self.database.proxy,
            database_user=self.database.admin_username if self.database.proxy else None,
        )
        self.database.allow_from(function.security_group, f"PostgreSQL from the DR {label}")
        return function

    def _drills(self, *, stop_alarms: list[cloudwatch.IAlarm]) -> DrDrills:
        """FIS drills whose bar is the AZ-loss RTO objective."""
        return DrDrills(
            self,
            "Drills",
            network=self.network,
            cluster=self.database.cluster,
            function=self.function,
            observability=self.observability,
            az_loss_rto=_at_least(self.objectives.rto(FailureMode.AZ_LOSS), _SECOND),
            stop_alarms=stop_alarms,
            logs_key=self.logs_key,
            environment_suffix=self.environment_suffix,
            removal_policy=self.removal_policy,
            writer_availability_zone=self.database.writer_availability_zone,
        )

    def _check_objectives(self) -> list[Posture]:
        """Every data store against :attr:`objectives` (raises on a breach), and the stack's
        posture report."""
        # The stores' templates, rendered once for the check, the backup alarm windows and the
        # report, which writes these postures (the dashboard's) instead of computing them again.
        self._templates: Templates = {}
        postures = self.objectives.check(self._stores, templates=self._templates)
        PostureReport.of(self).add(
            self.objectives, self._stores, check_at_synth=False, checked=(postures, self._templates)
        )
        # The template states its objectives, for tools that read the deployed stack (the
        # dr-constructs operator command): Metadata "dr-constructs".
        targets = self.objectives.targets
        recovery = self.recovery_region
        Stack.of(self).add_metadata(
            METADATA_KEY,
            stated_objectives(
                {mode.key: target for mode, target in targets.items()},
                None
                if recovery is None
                else {
                    RECOVERY_REGION_NAME: recovery.region,
                    RECOVERY_VAULT: recovery.vault_name,
                    RECOVERY_STACK: Stack.of(recovery).stack_name,
                },
            ),
        )
        return postures

    @property
    def _stores(self) -> tuple[Construct, ...]:
        return (self.database.cluster, self.database.table, self.storage.bucket)

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


def _at_least(value: Duration, floor: Duration) -> Duration:
    """``value``, or ``floor`` when shorter (an objective of 0 s, where the assurance
    constructs take their smallest value)."""
    return value if value.to_seconds() >= floor.to_seconds() else floor


_SECOND, _MINUTE = Duration.seconds(1), Duration.minutes(1)


# --- checks ----------------------------------------------------------------------------------


def _checked_objectives(check: Checks, objectives: RecoveryObjectives | None) -> RecoveryObjectives:
    objectives = objectives or RecoveryObjectives()
    if not isinstance(objectives, RecoveryObjectives):
        check.fail(
            "objectives", type(objectives).__name__,
            "a RecoveryObjectives, or None for the spec's RPO 1 hour / RTO 4 hours",
        )  # fmt: skip
    return objectives


def _check_recovery_region(
    check: Checks,
    platform: Construct,
    recovery: DrRecoveryRegion | None,
    copy_retention: Duration,
    objectives: RecoveryObjectives,
) -> DrRecoveryRegion | None:
    """The recovery region, if it is one backups can be copied to from the platform's stack;
    a ``region_loss`` objective needs one."""
    check.days("copy_retention", copy_retention, 1, 3650)
    if recovery is None:
        if FailureMode.REGION_LOSS in objectives.targets:
            check.fail(
                "objectives", "RecoveryObjectives(region_loss=...)",
                "no region_loss target without a recovery region: every backup stays in this "
                "region, lost with it; pass recovery_region=DrRecoveryRegion(...) in a stack of "
                "another region (docs/recovery-region.md)",
            )  # fmt: skip
        return None
    check.instance_of("recovery_region", recovery, DrRecoveryRegion,
                      "a DrRecoveryRegion, or None")  # fmt: skip
    recovery.check_copies_from(check, Stack.of(platform))
    return recovery


def _check_partition_key(
    check: Checks, partition_key: dynamodb.Attribute | None, function_code: lambda_.Code | None
) -> None:
    if (
        function_code is None
        and isinstance(partition_key, dynamodb.Attribute)
        and partition_key.type != dynamodb.AttributeType.STRING
    ):
        check.fail(
            "partition_key",
            f"{partition_key.name} ({partition_key.type.name})",
            "a STRING attribute while the Lambda runs the packaged health check (its "
            "heartbeat item has a string key); other types need your own function_code",
        )

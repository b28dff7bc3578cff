"""DrRestoreTesting: scheduled AWS Backup restore tests that check the data and measure RTO/RPO.

An assurance module: it reads the core layers' public attributes (the vault and its role, the
cluster with its subnet group, security group and key, the table, the bucket, the health
check's canary keys, the observability topic, dashboard and alarm factory).

aws-cdk-lib has restore testing only as L1 (``CfnRestoreTestingPlan``,
``CfnRestoreTestingSelection``); this construct adds what AWS leaves to the user: restored
copies that land in the stack's own network and key, a validation Lambda that checks the data
and reports to AWS Backup, measured restore time and data age as metrics, and alarms derived
from the recovery objectives.
"""

from __future__ import annotations

from pathlib import Path

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

from ..backup import DrBackupVault
from ..checks import Checks
from ..compliance import AWS_SOLUTIONS, acknowledge
from ..contract import (
    DATA_AGE,
    RESTORE_TESTING_NAMESPACE,
    RESTORE_TIME,
    RESTORED_NAME_PREFIXES,
    TIME_TO_USABLE,
    VALIDATION_FAILED,
)
from ..database import DrDatabase
from ..function import DrFunction
from ..health_check import RUNTIME
from ..keys import logs_encryption_key
from ..observability import DrObservability
from ..parts import arn_in_account, private_lambda, via_service
from ..storage import DrBucket
from .aurora import AuroraDataProof

#: Every Sunday at 05:00 UTC.
WEEKLY = events.Schedule.cron(minute="0", hour="5", week_day="SUN")
#: Restore the latest recovery point of the last 7 days (the default backup retention).
DEFAULT_SELECTION_WINDOW = Duration.days(7)
#: AWS Backup deletes restored copies 2 hours after the restore, or once validated.
DEFAULT_VALIDATION_WINDOW = Duration.hours(2)
#: The restore jobs may start up to 8 hours after the scheduled time.
DEFAULT_START_WINDOW = Duration.hours(8)
#: Namespace of the measured restore time, data age and validation failures.
METRIC_NAMESPACE = RESTORE_TESTING_NAMESPACE
#: AWS Backup's names for the protected resource types, and what each restores.
RESOURCE_TYPES = ("Aurora", "DynamoDB", "S3")
_RUNTIME_DIR = Path(__file__).parent / "runtime"
_METRICS_PERIOD = Duration.days(1)

#: Why the validation Lambda's policy names resources by prefix (AwsSolutions-IAM5).
RESTORED_COPIES_REASON = (
    "The validation Lambda reads restored copies that AWS Backup creates during a restore test "
    "and names itself, a random value starting with 'awsbackup-restore-test' (AWS Backup guide, "
    "restore testing inferred metadata): they cannot be named before they exist. The policy "
    "allows only reads, only on that prefix, only the canary item (dynamodb:LeadingKeys) and "
    "object key, in this account and region. It describes recovery points of this account and "
    "region (their ids exist only once AWS Backup creates them) to learn whether the one "
    "restored was continuous. backup:DescribeRestoreJob and backup:PutRestoreValidationResult "
    "support no resource-level permissions, and cloudwatch:PutMetricData is limited to this "
    "construct's namespace."
)
#: Recovery points the validation Lambda may describe: AWS Backup's own ARNs (continuous and
#: S3 points) and DynamoDB's backup ARNs (table/{name}/backup/{id}, DynamoDB API reference).
RECOVERY_POINT_PATTERNS = (("backup", "recovery-point:*"), ("dynamodb", "table/*/backup/*"))
#: Why the validation Lambda runs outside the VPC (HIPAA/NIST/PCI LambdaInsideVPC, CKV_AWS_117).
OUTSIDE_VPC_REASON = (
    "The restore-validation Lambda calls AWS control-plane APIs only (AWS Backup, Step "
    "Functions, CloudWatch) plus one read of a restored DynamoDB item and S3 object; it opens "
    "no database connection. From the DR VPC's isolated subnets it would need interface "
    "endpoints for AWS Backup, Step Functions and CloudWatch (about 9 endpoint-AZs, billed "
    "hourly) to run once a week. "
    "Its role and its narrow policy, not network placement, bound what it can reach."
)


class DrRestoreTesting(Construct):
    """Scheduled restore tests of the stack's backups, validated at the data level.

    * An AWS Backup restore testing plan (``schedule``, weekly by default) that restores the
      latest recovery point (continuous or snapshot) of the last ``selection_window`` from the
      stack's vault, and one selection per protected type: the Aurora cluster, the DynamoDB
      table and, if given, the S3 bucket. The restored Aurora cluster lands in the stack's
      DB subnet group (isolated subnets) with the cluster's security group, parameter group
      and key; the table and bucket are restored under the stack's key. AWS Backup deletes
      every restored copy after ``validation_window`` (or once it is validated).
    * A validation Lambda, run by each restore job's final "Restore Job State Change" event:
      the restored table and bucket must hold the health check's canary item and object. It
      reports SUCCESSFUL or FAILED (with the reason) to AWS Backup with
      ``PutRestoreValidationResult``. It acts on jobs of this plan only (the job's
      ``CreatedBy.RestoreTestingPlanArn`` is the plan's ARN).
    * For a restored Aurora cluster, which has no instance, the Lambda starts a Step Functions
      state machine (:class:`~dr_constructs.restore_testing.aurora.AuroraDataProof`,
      ``aurora``) that adds an instance, has the health check read the restored heartbeat
      row, deletes the instance, and reports and measures like the Lambda, with the time to
      usable (the restore job's start to the first successful query) besides.
    * Measured RTO and RPO: restore time (completion - creation; Aurora: time to usable) and
      data age (the point in time restored - the canary's timestamp in the restored copy;
      that point is the snapshot's time, or for a continuous point the restore job's start,
      as AWS restores it to its latest restorable time) per resource type in
      ``DrConstructs/RestoreTesting``, on the dashboard against the objectives, with alarms
      to the topic when a test fails or fails validation, takes longer than ``rto``, or
      restores data older than ``rpo``.

    The health check is run every ``canary_interval`` so that its canary item and object are
    fresh at every recovery point.

    Args:
        scope: parent construct.
        id: construct id.
        vault: the :class:`DrBackupVault` whose recovery points are tested; its role restores.
        database: the :class:`DrDatabase` (cluster and table) to test.
        function: the :class:`DrFunction` running the packaged health check (the canary
            writer; a function running code of your own is refused: it does not write the
            canary).
        observability: the stack's :class:`DrObservability`.
        bucket: the :class:`DrBucket` to test too. Default - none.
        rto: the restore-time objective: a test that takes longer alarms. Default - 4 hours.
        rpo: the data-age objective: a test whose restored canary is older alarms.
            Default - 1 hour.
        schedule: a cron ``events.Schedule``. Default - Sundays 05:00 UTC.
        start_window: how long after the scheduled time the restores may start, 1-168
            hours. Default - 8 hours.
        selection_window: recovery points of the last 1-365 days are eligible. Default - 7.
        validation_window: how long restored copies are kept for validation, 1-168 hours
            (restored Aurora clusters cost storage meanwhile). Default - 2 hours.
        canary_interval: how often the health check refreshes its canary. Default - 1 minute.
        logs_key: key for the Lambda's logs, environment and dead-letter queue.
            Default - a new key with rotation.
        environment_suffix: names the plan ``dr_restore_tests_{suffix}``. Default - ``dev``.
        removal_policy: for the log group, queue and a new key. Default - ``RETAIN``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vault: DrBackupVault,
        database: DrDatabase,
        function: DrFunction,
        observability: DrObservability,
        bucket: DrBucket | None = None,
        rto: Duration = Duration.hours(4),  # noqa: B008 - an immutable value
        rpo: Duration = Duration.hours(1),  # noqa: B008 - an immutable value
        schedule: events.Schedule = WEEKLY,
        start_window: Duration = DEFAULT_START_WINDOW,
        selection_window: Duration = DEFAULT_SELECTION_WINDOW,
        validation_window: Duration = DEFAULT_VALIDATION_WINDOW,
        canary_interval: Duration = Duration.minutes(1),  # noqa: B008 - an immutable value
        logs_key: kms.IKey | None = None,
        environment_suffix: str = "dev",
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, id)
        check = Checks(self, "DrRestoreTesting")
        check.require("restore_tests")
        self.suffix = check.environment_suffix(environment_suffix)
        check.removal_policy(removal_policy)
        check.instance_of("vault", vault, DrBackupVault, "the stack's DrBackupVault")
        check.instance_of("database", database, DrDatabase, "the stack's DrDatabase")
        _check_canary_writer(check, function)
        check.instance_of(
            "observability", observability, DrObservability, "the stack's DrObservability"
        )
        if bucket is not None:
            check.instance_of("bucket", bucket, DrBucket, "a DrBucket, or None")
        check.key("logs_key", logs_key)
        #: The objectives the measured figures are held to, in seconds.
        self.rto_seconds = check.duration("rto", rto, 60, 366 * 86400)
        self.rpo_seconds = check.duration("rpo", rpo, 1, 366 * 86400)
        check.cron(
            "schedule", schedule,
            "events.Schedule.cron(...) (restore testing takes cron expressions only)",
        )  # fmt: skip
        start_hours = _whole_hours(check, "start_window", start_window)
        validation_hours = _whole_hours(check, "validation_window", validation_window)
        selection_days = check.days("selection_window", selection_window, 1, 365)
        check.claim("restore testing plan", f"dr_restore_tests_{self.suffix.replace('-', '_')}")
        check.claim("Lambda function", f"dr-restore-validation-{self.suffix}")

        function.run_every(canary_interval)
        self._stack = Stack.of(self)
        self.plan = self._plan(vault, schedule, start_hours, selection_days)
        self.selections = self._selections(vault, database, bucket, validation_hours)
        key = logs_key or logs_encryption_key(
            self, "LogsKey", description=f"DR restore tests ({self.suffix})",
            removal_policy=removal_policy,
        )  # fmt: skip
        check.claim("state machine", f"dr-restore-test-aurora-{self.suffix}")
        #: The state machine that adds an instance to a restored cluster and reads its data.
        self.aurora = AuroraDataProof(
            self, "AuroraProof", database=database, health_check=function, key=key,
            timeout=validation_window, suffix=self.suffix, removal_policy=removal_policy,
        )  # fmt: skip
        self.function = self._validation_function(vault, function, database, bucket, key,
                                                  removal_policy)  # fmt: skip
        self._alarms(observability)

    # --- steps ---------------------------------------------------------------------------

    def _plan(
        self, vault: DrBackupVault, schedule: events.Schedule, start_hours: int, days: int
    ) -> backup.CfnRestoreTestingPlan:
        #: The plan's name: restore testing allows letters, digits and underscores only.
        self.plan_name = f"dr_restore_tests_{self.suffix.replace('-', '_')}"
        return backup.CfnRestoreTestingPlan(
            self,
            "Plan",
            restore_testing_plan_name=self.plan_name,
            schedule_expression=schedule.expression_string,
            schedule_expression_timezone="Etc/UTC",
            start_window_hours=start_hours,
            recovery_point_selection=backup.CfnRestoreTestingPlan.RestoreTestingRecoveryPointSelectionProperty(
                algorithm="LATEST_WITHIN_WINDOW",
                include_vaults=[vault.vault.backup_vault_arn],
                recovery_point_types=["CONTINUOUS", "SNAPSHOT"],
                selection_window_days=days,
            ),
        )

    def _selections(
        self,
        vault: DrBackupVault,
        database: DrDatabase,
        bucket: DrBucket | None,
        validation_hours: int,
    ) -> dict[str, backup.CfnRestoreTestingSelection]:
        """One selection per protected type, each restoring into the stack's network and key."""
        cluster_parameter_group = database.parameter_group.bind_to_cluster()
        overrides: dict[str, tuple[str, dict[str, str]]] = {
            "Aurora": (
                database.cluster.cluster_arn,
                {
                    "dbSubnetGroupName": database.subnet_group.subnet_group_name,
                    "vpcSecurityGroupIds": self._stack.to_json_string(
                        [database.security_group.security_group_id]
                    ),
                    "kmsKeyId": database.encryption_key.key_arn,
                    "dbClusterParameterGroupName": cluster_parameter_group.parameter_group_name,
                    "enableIAMDatabaseAuthentication": "true",
                    "port": str(database.port),
                },
            ),
            "DynamoDB": (
                database.table.table_arn,
                {"encryptionType": "KMS", "kmsMasterKeyArn": database.encryption_key.key_arn},
            ),
        }
        if bucket is not None:
            overrides["S3"] = (
                bucket.bucket.bucket_arn,
                {"encryptionType": "SSE-KMS", "kmsKey": bucket.encryption_key.key_arn},
            )
        selections = {}
        for resource_type, (arn, metadata) in overrides.items():
            selections[resource_type] = backup.CfnRestoreTestingSelection(
                self,
                f"{resource_type}Selection",
                restore_testing_plan_name=self.plan.restore_testing_plan_name,
                restore_testing_selection_name=f"{resource_type.lower()}_{self.plan_name}"[:50],
                protected_resource_type=resource_type,
                protected_resource_arns=[arn],
                iam_role_arn=vault.role.role_arn,
                restore_metadata_overrides=metadata,
                validation_window_hours=validation_hours,
            )
            selections[resource_type].add_resource_dependency(self.plan)
        return selections

    def _validation_function(
        self,
        vault: DrBackupVault,
        health_check: DrFunction,
        database: DrDatabase,
        bucket: DrBucket | None,
        key: kms.IKey,
        removal_policy: RemovalPolicy,
    ) -> lambda_.Function:
        """The Lambda that validates each restored copy (with its role, logs and dead letters),
        invoked when a restore job ends; Aurora's it hands to the state machine."""
        function_name = f"dr-restore-validation-{self.suffix}"
        built = private_lambda(
            self, function_name=function_name,
            description="DR restore tests: validate the restored copy, report to AWS Backup",
            role_description=f"{function_name}: read restored copies, report, publish metrics",
            policy_description=f"{function_name}: what restore validation needs, nothing more",
            code=lambda_.Code.from_asset(str(_RUNTIME_DIR), exclude=["__init__.py", "*.pyc"]),
            handler="handler.handler", runtime=RUNTIME, key=key, removal_policy=removal_policy,
            environment=self._environment(health_check, database), timeout=Duration.seconds(60),
            reserved_concurrency=1, outside_vpc_reason=OUTSIDE_VPC_REASON,
            statements=self._statements(vault, health_check),
        )  # fmt: skip
        built.policy.add_statements(*self._key_statements(key, health_check, database, bucket))
        _acknowledge_restored_copies(built.policy, health_check)
        events.Rule(
            self,
            "RestoreJobsRule",
            description="Validate what AWS Backup restored when a restore job ends",
            event_pattern=events.EventPattern(
                source=["aws.backup"],
                detail_type=["Restore Job State Change"],
                detail={"status": ["COMPLETED", "FAILED", "ABORTED"]},
            ),
            targets=[targets.LambdaFunction(built.function, retry_attempts=2)],
        )
        return built.function

    def _environment(self, health_check: DrFunction, database: DrDatabase) -> dict[str, str]:
        """Where the validator reports, and the canary keys it looks for in restored copies."""
        return {
            "RESTORE_TESTING_PLAN_ARN": self.plan.attr_restore_testing_plan_arn,
            "METRIC_NAMESPACE": METRIC_NAMESPACE,
            "CANARY_ITEM_KEY": self._stack.to_json_string(
                {database.partition_key_name: {"S": health_check.canary_item_key}}
            ),
            "CANARY_OBJECT_KEY": health_check.canary_object_key,
            "AURORA_STATE_MACHINE_ARN": self.aurora.state_machine.state_machine_arn,
        }

    def _statements(
        self, vault: DrBackupVault, health_check: DrFunction
    ) -> list[iam.PolicyStatement]:
        """Read the restore jobs and report on them, publish the measurements, read the canary
        in the restored copies and the recovery points and rules they came from."""
        return [
            iam.PolicyStatement(
                sid="ReadAndReportRestoreJobs",
                actions=["backup:DescribeRestoreJob", "backup:PutRestoreValidationResult"],
                resources=["*"],  # no resource-level permissions
            ),
            iam.PolicyStatement(
                sid="PublishMeasurements",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}},
            ),
            iam.PolicyStatement(
                sid="ReadRestoredCanaryItem",
                actions=["dynamodb:GetItem"],
                resources=[arn_in_account("dynamodb", f"table/{_restored('DynamoDB')}")],
                conditions={
                    "ForAllValues:StringEquals": {
                        "dynamodb:LeadingKeys": [health_check.canary_item_key]
                    }
                },
            ),
            iam.PolicyStatement(
                sid="TellContinuousFromSnapshotPoints",
                actions=["backup:DescribeRecoveryPoint"],
                resources=[arn_in_account(*pattern) for pattern in RECOVERY_POINT_PATTERNS],
            ),
            iam.PolicyStatement(
                sid="ReadBackupRules",
                actions=["backup:GetBackupPlan"],
                resources=[vault.plan.backup_plan_arn],
            ),
            iam.PolicyStatement(
                sid="StartAuroraRestoreTest",
                actions=["states:StartExecution"],
                resources=[self.aurora.state_machine.state_machine_arn],
            ),
        ]

    def _key_statements(
        self,
        key: kms.IKey,
        health_check: DrFunction,
        database: DrDatabase,
        bucket: DrBucket | None,
    ) -> list[iam.PolicyStatement]:
        """The logs key for the dead letters; the restored copies (and the canary object of the
        restored bucket) decrypted through the services that store them."""
        statements = [
            iam.PolicyStatement(
                sid="UseLogsKeyThroughSqs",
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=[key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": via_service(self, "sqs")}},
            ),
        ]
        via = [via_service(self, "dynamodb")]
        if bucket is not None:
            statements.append(
                iam.PolicyStatement(
                    sid="ReadRestoredCanaryObject",
                    actions=["s3:GetObject"],
                    resources=[_restored_canary_object(health_check)],
                )
            )
            via.append(via_service(self, "s3"))
        statements.append(
            iam.PolicyStatement(
                sid="DecryptRestoredCopies",
                actions=["kms:Decrypt"],
                resources=[database.encryption_key.key_arn],
                conditions={"StringEquals": {"kms:ViaService": via}},
            )
        )
        return statements

    def _alarms(self, observability: DrObservability) -> None:
        """Alarms on the measured figures, thresholds from the objectives, and their graphs."""
        #: Time until the restored copy is usable per resource type (seconds), the highest of
        #: the day: the restore job's duration for DynamoDB and S3; for Aurora the time to
        #: usable (job, instance added, first query), which the RTO is about.
        self.restore_time = _measured(
            RESTORE_TIME, "Maximum", "Restore time, Aurora time to usable (s)",
            aurora=TIME_TO_USABLE,
        )  # fmt: skip
        #: Data age at the recovery point per resource type (seconds), the highest of the day.
        self.data_age = _measured(DATA_AGE, "Maximum", "Data age (s)")
        #: Failed restore tests or validations per day.
        self.validation_failures = _measured(VALIDATION_FAILED, "Sum", "Failed restore tests")
        self.alarms = [
            observability.add_alarm(
                "RestoreTestFailed", self.validation_failures, threshold=0, evaluation_periods=1,
                description="A restore test failed, or what it restored failed validation",
            ),
            observability.add_alarm(
                "RestoreTimeAboveRto", self.restore_time, threshold=self.rto_seconds,
                evaluation_periods=1,
                description=f"A restore test took longer than the RTO objective "
                f"({self.rto_seconds} s) to give a usable copy (Aurora: until the first query)",
            ),
            observability.add_alarm(
                "RestoredDataOlderThanRpo", self.data_age, threshold=self.rpo_seconds,
                evaluation_periods=1,
                description=f"A restore test restored data older than the RPO objective "
                f"({self.rpo_seconds} s)",
            ),
        ]  # fmt: skip
        observability.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Restore tests: restore time, Aurora time to usable (s) vs RTO",
                left=[self.restore_time],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(value=self.rto_seconds, label="RTO objective")
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Restore tests: data age (s) vs RPO",
                left=[self.data_age],
                left_annotations=[
                    cloudwatch.HorizontalAnnotation(value=self.rpo_seconds, label="RPO objective")
                ],
                width=8,
            ),
            cloudwatch.GraphWidget(
                title="Restore tests: failures", left=[self.validation_failures], width=8
            ),
        )


def _restored(resource_type: str) -> str:
    """The IAM resource pattern of the copies AWS Backup restores of ``resource_type``."""
    return f"{RESTORED_NAME_PREFIXES[resource_type]}*"


def _restored_canary_object(health_check: DrFunction) -> str:
    return f"arn:{Aws.PARTITION}:s3:::{_restored('S3')}/{health_check.canary_object_key}"


def _acknowledge_restored_copies(policy: iam.ManagedPolicy, health_check: DrFunction) -> None:
    """The validator's policy names the restored copies and recovery points by prefix."""
    in_account = "arn:<AWS::Partition>:{}:<AWS::Region>:<AWS::AccountId>:{}"
    acknowledge(
        policy,
        RESTORED_COPIES_REASON,
        f"{AWS_SOLUTIONS}-IAM5[Resource::*]",
        *(
            f"{AWS_SOLUTIONS}-IAM5[Resource::{pattern}]"
            for pattern in (
                in_account.format("dynamodb", f"table/{_restored('DynamoDB')}"),
                f"arn:<AWS::Partition>:s3:::{_restored('S3')}/{health_check.canary_object_key}",
                *(in_account.format(*pattern) for pattern in RECOVERY_POINT_PATTERNS),
            )
        ),
    )


def _measured(
    metric_name: str, statistic: str, label: str, *, aurora: str | None = None
) -> cloudwatch.MathExpression:
    """``metric_name``'s ``statistic`` (for Aurora ``aurora``'s, if given), the highest over
    the resource types."""
    return cloudwatch.MathExpression(
        expression="MAX([" + ", ".join(t.lower() for t in RESOURCE_TYPES) + "])",
        using_metrics={
            t.lower(): cloudwatch.Metric(
                namespace=METRIC_NAMESPACE,
                metric_name=(aurora or metric_name) if t == "Aurora" else metric_name,
                dimensions_map={"ResourceType": t}, statistic=statistic,
                period=_METRICS_PERIOD,
            )
            for t in RESOURCE_TYPES
        },
        label=label,
        period=_METRICS_PERIOD,
    )  # fmt: skip


# --- checks ----------------------------------------------------------------------------------


def _whole_hours(check: Checks, prop: str, value: Duration) -> int:
    seconds = check.whole_duration(
        prop, value, 3600, 168 * 3600, step=3600, accepted="whole hours from 1 to 168"
    )
    return seconds // 3600


def _check_canary_writer(check: Checks, function: DrFunction) -> None:
    """The packaged health check, which writes the canary the restore tests look for."""
    check.instance_of("function", function, DrFunction, "the health-check DrFunction")
    if not function.runs_health_check:
        check.fail(
            "function", f"{function.node.path} (code of your own)",
            "a DrFunction running the packaged health check, which writes the canary item "
            "and object the restore tests look for; next to a function of your own, add "
            "one as the canary writer: DrFunction(..., name='canary') without code",
        )  # fmt: skip


__all__ = ["METRIC_NAMESPACE", "RESOURCE_TYPES", "DrRestoreTesting"]

"""DrObservability: the SNS topic, alarms, dashboard and EventBridge rules of the DR stack."""

from __future__ import annotations

import re

from aws_cdk import Duration, RemovalPolicy, Stack
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from constructs import Construct

from .errors import (
    DrConfigurationError,
    check_environment_suffix,
    check_int_range,
    check_key,
    check_removal_policy,
    claim_physical_name,
)
from .keys import allow_service_publishers, customer_managed_key

#: AWS Backup job events sent to the topic, by EventBridge detail-type.
BACKUP_JOB_EVENTS = {
    "BackupJobs": "Backup Job State Change",
    "RestoreJobs": "Restore Job State Change",
    "CopyJobs": "Copy Job State Change",
}
#: Job states worth a notification: completion and every kind of failure.
NOTIFY_STATES = ["COMPLETED", "FAILED", "ABORTED", "EXPIRED", "PARTIAL"]

_PERIOD = Duration.minutes(5)
#: The spec's region: its dashboard is ``DR-Dashboard-{suffix}``, exactly as the spec names it.
SPEC_REGION = "us-east-1"


def dashboard_name(scope: Construct, suffix: str) -> str:
    """``DR-Dashboard-{suffix}`` in the spec's region (us-east-1), else
    ``DR-Dashboard-{suffix}-{region}``: dashboard names are unique per account, not per
    region, so the same suffix in two regions of one account must not give the same name.
    """
    region = Stack.of(scope).region
    return f"DR-Dashboard-{suffix}" if region == SPEC_REGION else f"DR-Dashboard-{suffix}-{region}"


class DrObservability(Construct):
    """Alarms to an encrypted SNS topic, a dashboard, and AWS Backup job notifications.

    The topic is encrypted with a customer-managed key whose policy lets CloudWatch and
    EventBridge publish (without it, their messages are dropped silently) and its policy
    denies publishing without TLS. EventBridge rules send AWS Backup backup-, restore- and
    copy-job state changes to it. ``watch_*`` methods add the spec's alarms and dashboard
    widgets for a resource; every alarm is kept in :attr:`alarms`.

    Args:
        scope: parent construct.
        id: construct id.
        environment_suffix: names the dashboard ``DR-Dashboard-{suffix}`` (in us-east-1,
            the spec's region; ``DR-Dashboard-{suffix}-{region}`` elsewhere, as dashboard
            names are per account) and prefixes alarm names with ``dr-{suffix}-``.
            Default - ``dev``.
        topic: bring your own topic (its key policy must admit CloudWatch and EventBridge).
            Default - a new topic ``dr-alerts-{suffix}``.
        encryption_key: key for a new topic. Default - a new key with rotation.
        removal_policy: for a new topic key: ``RETAIN`` (default) or ``DESTROY``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        environment_suffix: str = "dev",
        topic: sns.ITopic | None = None,
        encryption_key: kms.IKey | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, id)
        check_removal_policy("DrObservability", removal_policy)
        self.suffix = check_environment_suffix("DrObservability", environment_suffix)
        check_key("DrObservability", "encryption_key", encryption_key)
        if topic is not None and not hasattr(topic, "topic_arn"):
            raise DrConfigurationError(
                "DrObservability", "topic", type(topic).__name__,
                "an sns.ITopic, or None for a new encrypted topic",
            )  # fmt: skip
        self.dashboard_name = claim_physical_name(
            self, "DrObservability", "environment_suffix", self.suffix,
            "CloudWatch dashboard", dashboard_name(self, self.suffix), per_account=True,
        )  # fmt: skip
        if topic is None:
            claim_physical_name(
                self, "DrObservability", "environment_suffix", self.suffix,
                "SNS topic", f"dr-alerts-{self.suffix}",
            )  # fmt: skip

        if topic is None:
            self.encryption_key: kms.IKey | None = encryption_key or customer_managed_key(
                self, "TopicKey", description=f"DR alerts topic ({self.suffix})",
                removal_policy=removal_policy,
            )  # fmt: skip
            allow_service_publishers(
                self.encryption_key, "cloudwatch.amazonaws.com", "events.amazonaws.com"
            )
            topic = sns.Topic(
                self,
                "Topic",
                topic_name=f"dr-alerts-{self.suffix}",
                display_name=f"DR alerts ({self.suffix})",
                master_key=self.encryption_key,
                enforce_ssl=True,
            )
        else:
            self.encryption_key = encryption_key
        self.topic: sns.ITopic = topic
        self.alarms: list[cloudwatch.Alarm] = []
        self.dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=self.dashboard_name)
        self.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=f"# DR stack `{self.suffix}`\nRPO 1 hour (continuous backup ~5 min), "
                "RTO 4 hours. Alarms notify the DR alerts topic.",
                width=24,
                height=2,
            )
        )
        self.backup_rules = {
            name: events.Rule(
                self,
                f"{name}Rule",
                description=f"AWS Backup '{detail_type}' events to the DR alerts topic",
                event_pattern=events.EventPattern(
                    source=["aws.backup"],
                    detail_type=[detail_type],
                    detail={"state": NOTIFY_STATES},
                ),
                targets=[targets.SnsTopic(self.topic)],
            )
            for name, detail_type in BACKUP_JOB_EVENTS.items()
        }
        failed_jobs = cloudwatch.Metric(
            namespace="AWS/Backup",
            metric_name="NumberOfBackupJobsFailed",
            statistic="Sum",
            period=Duration.hours(1),
        )
        self.backup_failures_alarm = self.add_alarm(
            "BackupJobsFailed",
            failed_jobs,
            threshold=0,
            evaluation_periods=1,
            description="An AWS Backup job failed in the last hour",
        )
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="AWS Backup failed jobs", left=[failed_jobs], width=12)
        )

    def add_alarm(
        self,
        id: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        evaluation_periods: int,
        description: str,
    ) -> cloudwatch.Alarm:
        """Create an alarm ``dr-{suffix}-{id}`` on ``metric > threshold`` that notifies the
        topic on alarm and on recovery (the one alarm factory of the library)."""
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            raise DrConfigurationError(
                "DrObservability", "add_alarm(threshold)", threshold, "a number"
            )
        check_int_range(
            "DrObservability", "add_alarm(evaluation_periods)", evaluation_periods, 1, 100
        )
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,63}", str(id)) or self.node.try_find_child(
            f"{id}Alarm"
        ):
            raise DrConfigurationError(
                "DrObservability",
                "alarm name",
                id,
                "letters and digits, not used by another alarm of this construct "
                "(pass name=... to watch a second resource of the same kind)",
            )
        alarm = cloudwatch.Alarm(
            self,
            f"{id}Alarm",
            alarm_name=f"dr-{self.suffix}-{id}",
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD,
            treat_missing_data=cloudwatch.TreatMissingData.NOT_BREACHING,
        )
        action = cw_actions.SnsAction(self.topic)
        alarm.add_alarm_action(action)
        alarm.add_ok_action(action)
        self.alarms.append(alarm)
        return alarm

    def watch_cluster(
        self, cluster: rds.IDatabaseCluster, *, name: str = "AuroraHighCpu"
    ) -> cloudwatch.Alarm:
        """Alarm ``dr-{suffix}-{name}`` when Aurora CPU is above 80% for 10 minutes; graph CPU
        and connections."""
        _check_watched(
            "watch_cluster(cluster)", cluster, "metric_cpu_utilization", "an rds.IDatabaseCluster"
        )
        cpu = cluster.metric_cpu_utilization(period=_PERIOD, statistic="Average")
        alarm = self.add_alarm(
            name, cpu, threshold=80, evaluation_periods=2,
            description="Aurora CPU above 80% for 10 minutes",
        )  # fmt: skip
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Aurora CPU utilization (%)", left=[cpu], width=12),
            cloudwatch.GraphWidget(
                title="Aurora database connections",
                left=[cluster.metric_database_connections(period=_PERIOD, statistic="Average")],
                width=12,
            ),
        )
        return alarm

    def watch_table(
        self, table: dynamodb.ITable, *, name: str = "DynamoDbThrottles"
    ) -> cloudwatch.Alarm:
        """Alarm ``dr-{suffix}-{name}`` when DynamoDB throttles more than 10 requests in 5
        minutes; graph capacity and throttles."""
        _check_watched(
            "watch_table(table)", table, "metric_consumed_read_capacity_units", "a dynamodb.ITable"
        )
        throttles = cloudwatch.MathExpression(
            expression="reads + writes",
            using_metrics={
                "reads": table.metric("ReadThrottleEvents", period=_PERIOD, statistic="Sum"),
                "writes": table.metric("WriteThrottleEvents", period=_PERIOD, statistic="Sum"),
            },
            label="Throttled requests",
            period=_PERIOD,
        )
        alarm = self.add_alarm(
            name, throttles, threshold=10, evaluation_periods=1,
            description="DynamoDB throttled more than 10 requests in 5 minutes",
        )  # fmt: skip
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="DynamoDB consumed read/write capacity",
                left=[
                    table.metric_consumed_read_capacity_units(period=_PERIOD, statistic="Sum"),
                    table.metric_consumed_write_capacity_units(period=_PERIOD, statistic="Sum"),
                ],
                width=12,
            ),
            cloudwatch.GraphWidget(title="DynamoDB throttled requests", left=[throttles], width=12),
        )
        return alarm

    def watch_function(
        self, function: lambda_.IFunction, *, name: str = "LambdaErrors"
    ) -> cloudwatch.Alarm:
        """Alarm ``dr-{suffix}-{name}`` when a Lambda function has more than 5 errors in 5
        minutes; graph invocations, errors and duration."""
        _check_watched("watch_function(function)", function, "metric_errors", "a lambda_.IFunction")
        errors = function.metric_errors(period=_PERIOD, statistic="Sum")
        alarm = self.add_alarm(
            name, errors, threshold=5, evaluation_periods=1,
            description="Lambda function errors above 5 in 5 minutes",
        )  # fmt: skip
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(
                title="Lambda invocations and errors",
                left=[function.metric_invocations(period=_PERIOD, statistic="Sum"), errors],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Lambda duration (ms)",
                left=[function.metric_duration(period=_PERIOD, statistic="Average")],
                width=12,
            ),
        )
        return alarm


def _check_watched(prop: str, value: object, metric: str, accepted: str) -> None:
    """Raise unless ``value`` has the ``metric`` method of the resource type ``accepted``."""
    if not callable(getattr(value, metric, None)):
        shown = value if isinstance(value, str | int | float) else type(value).__name__
        raise DrConfigurationError("DrObservability", prop, shown, accepted)

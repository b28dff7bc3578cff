"""DrObservability: the SNS topic, alarms, dashboard and EventBridge rules of the DR stack."""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import jsii
from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_backup as backup
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_cloudwatch_actions as cw_actions
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_events as events
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_rds as rds
from aws_cdk import aws_sns as sns
from aws_cdk.interfaces.aws_events import IRuleRef
from constructs import Construct

from .checks import Checks
from .contract import alarm_name
from .errors import (
    DrConfigurationError,
)
from .keys import TOPIC_PUBLISHERS, alarm_arns, allow_topic_publishers, customer_managed_key


class JobEvents(NamedTuple):
    """An AWS Backup job event: its EventBridge detail-type, and the ``detail`` field that
    carries the job's state."""

    detail_type: str
    state_field: str


#: AWS Backup job events sent to the topic. They are not uniform: backup and copy job events
#: carry ``detail.state``, restore job events ``detail.status`` (as the API's ``State`` of
#: backup/copy jobs and ``Status`` of restore jobs; AWS Backup developer guide, "Monitoring
#: AWS Backup events using Amazon EventBridge").
BACKUP_JOB_EVENTS = {
    "BackupJobs": JobEvents("Backup Job State Change", "state"),
    "RestoreJobs": JobEvents("Restore Job State Change", "status"),
    "CopyJobs": JobEvents("Copy Job State Change", "state"),
}
#: Job states worth a notification: completion and every kind of failure.
NOTIFY_STATES = ["COMPLETED", "FAILED", "ABORTED", "EXPIRED", "PARTIAL"]
#: AWS Backup's ``ResourceType`` dimension values for the stores of the DR stack.
BACKUP_RESOURCE_TYPES = ("Aurora", "DynamoDB", "S3")
#: DynamoDB operations whose ``SystemErrors`` are watched (an alarm's math takes 10 metrics).
TABLE_OPERATIONS = (
    dynamodb.Operation.GET_ITEM, dynamodb.Operation.PUT_ITEM, dynamodb.Operation.UPDATE_ITEM,
    dynamodb.Operation.DELETE_ITEM, dynamodb.Operation.QUERY, dynamodb.Operation.SCAN,
    dynamodb.Operation.BATCH_GET_ITEM, dynamodb.Operation.BATCH_WRITE_ITEM,
)  # fmt: skip
#: Aurora replicas typically lag under 100 ms; a reader a second behind for 5 minutes is sick.
REPLICA_LAG_THRESHOLD_MS = 1000

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

    The topic is encrypted with a customer-managed key. Key and topic policy let this
    account's CloudWatch alarms and the stack's EventBridge rules publish (without them, their
    messages are dropped silently), each under the confused-deputy conditions AWS documents
    for it (see :func:`~dr_constructs.keys.allow_topic_publishers`, :meth:`notify_from`), and
    the topic policy denies publishing without TLS. EventBridge rules send AWS Backup backup-,
    restore- and copy-job state changes to it. ``watch_*`` methods add the spec's alarms and
    dashboard widgets for a resource; every alarm is kept in :attr:`alarms`. Failed AWS Backup
    jobs are alarmed per vault by :meth:`watch_backups`: AWS documents its AWS/Backup metrics
    with the ``BackupVaultName`` (and ``ResourceType``) dimensions, not as an account-wide series.

    Args:
        scope: parent construct.
        id: construct id.
        environment_suffix: names the dashboard ``DR-Dashboard-{suffix}`` (in us-east-1,
            the spec's region; ``DR-Dashboard-{suffix}-{region}`` elsewhere, as dashboard
            names are per account) and prefixes alarm names with ``dr-{suffix}-``.
            Default - ``dev``.
        topic: bring your own topic (its topic and key policies must admit CloudWatch
            alarms and EventBridge rules, as a new topic's do). Default - a new topic
            ``dr-alerts-{suffix}``.
        encryption_key: key for a new topic. Default - a new key with rotation.
        summary: markdown for the dashboard's header, e.g. the declared recovery objectives
            and the achievable figures (DrPlatform passes them). Default - the spec's
            objectives, RPO 1 hour and RTO 4 hours, as prose.
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
        summary: str | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, id)
        self._check = check = Checks(self, "DrObservability")
        check.removal_policy(removal_policy)
        if summary is not None and not isinstance(summary, str):
            check.fail("summary", type(summary).__name__, "markdown text, or None")
        self.suffix = check.environment_suffix(environment_suffix)
        check.key("encryption_key", encryption_key)
        if topic is not None:
            check.has("topic", topic, "topic_arn",
                      accepted="an sns.ITopic, or None for a new encrypted topic")  # fmt: skip
        self.dashboard_name = check.claim(
            "CloudWatch dashboard", dashboard_name(self, self.suffix), per_account=True
        )
        if topic is None:
            check.claim("SNS topic", f"dr-alerts-{self.suffix}")

        self.encryption_key: kms.IKey | None = encryption_key
        self.topic: sns.ITopic = topic or self._topic(encryption_key, removal_policy)
        self._rules_publishing: list[events.IRule] = []
        self._rules_statement: iam.PolicyStatement | None = None
        self.alarms: list[cloudwatch.Alarm] = []
        self.dashboard = self._dashboard(summary)
        self.backup_rules = self._backup_rules()
        self.notify_from(*self.backup_rules.values())

    # --- steps ---------------------------------------------------------------------------

    def _topic(self, encryption_key: kms.IKey | None, removal_policy: RemovalPolicy) -> sns.Topic:
        """``dr-alerts-{suffix}``, under a key that alarms and rules may publish with."""
        self.encryption_key = encryption_key or customer_managed_key(
            self, "TopicKey", description=f"DR alerts topic ({self.suffix})",
            removal_policy=removal_policy,
        )  # fmt: skip
        allow_topic_publishers(self.encryption_key)
        topic = sns.Topic(
            self,
            "Topic",
            topic_name=f"dr-alerts-{self.suffix}",
            display_name=f"DR alerts ({self.suffix})",
            master_key=self.encryption_key,
            enforce_ssl=True,
        )
        self._let_alarms_publish(topic)
        return topic

    def _dashboard(self, summary: str | None) -> cloudwatch.Dashboard:
        """The dashboard, headed by ``summary`` (default: the spec's objectives)."""
        dashboard = cloudwatch.Dashboard(self, "Dashboard", dashboard_name=self.dashboard_name)
        dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=f"# DR stack `{self.suffix}`\n"
                + (summary or "RPO 1 hour (continuous backup ~5 min), RTO 4 hours.")
                + " Alarms notify the DR alerts topic.",
                width=24,
                height=2 if summary is None else 4,
            )
        )
        return dashboard

    def _backup_rules(self) -> dict[str, events.Rule]:
        """A rule per AWS Backup job event (backup, restore, copy) in a state worth telling."""
        return {
            name: events.Rule(
                self,
                f"{name}Rule",
                description=f"AWS Backup '{job.detail_type}' events to the DR alerts topic",
                event_pattern=events.EventPattern(
                    source=["aws.backup"],
                    detail_type=[job.detail_type],
                    detail={job.state_field: NOTIFY_STATES},
                ),
            )
            for name, job in BACKUP_JOB_EVENTS.items()
        }

    def add_alarm(
        self,
        id: str,
        metric: cloudwatch.IMetric,
        *,
        threshold: float,
        evaluation_periods: int,
        description: str,
        comparison_operator: cloudwatch.ComparisonOperator = (
            cloudwatch.ComparisonOperator.GREATER_THAN_THRESHOLD
        ),
        treat_missing_data: cloudwatch.TreatMissingData = cloudwatch.TreatMissingData.NOT_BREACHING,
        datapoints_to_alarm: int | None = None,
    ) -> cloudwatch.Alarm:
        """Create an alarm ``dr-{suffix}-{id}`` on ``metric > threshold`` that notifies the
        topic on alarm and on recovery (the one alarm factory of the library).

        ``comparison_operator`` (default ``>``), ``treat_missing_data`` (default not
        breaching) and ``datapoints_to_alarm`` (default ``evaluation_periods``) change how it
        reads the metric, e.g. "no data for a whole window" for metrics published only when
        non-zero."""
        check = self._check
        if isinstance(threshold, bool) or not isinstance(threshold, int | float):
            check.fail("add_alarm(threshold)", threshold, "a number")
        check.int_range("add_alarm(evaluation_periods)", evaluation_periods, 1, 100)
        if datapoints_to_alarm is not None:
            check.int_range(
                "add_alarm(datapoints_to_alarm)", datapoints_to_alarm, 1, evaluation_periods
            )
        if not re.fullmatch(r"[A-Za-z][A-Za-z0-9]{0,63}", str(id)) or self.node.try_find_child(
            f"{id}Alarm"
        ):
            check.fail(
                "alarm name",
                id,
                "letters and digits, not used by another alarm of this construct "
                "(pass name=... to watch a second resource of the same kind)",
            )
        alarm = cloudwatch.Alarm(
            self,
            f"{id}Alarm",
            alarm_name=alarm_name(self.suffix, id),
            alarm_description=description,
            metric=metric,
            threshold=threshold,
            evaluation_periods=evaluation_periods,
            datapoints_to_alarm=datapoints_to_alarm,
            comparison_operator=comparison_operator,
            treat_missing_data=treat_missing_data,
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

    def notify_from(self, *rules: events.Rule) -> None:
        """Send the events ``rules`` match to the topic. The topic policy lets EventBridge
        publish for these rules only (``aws:SourceArn``: "For EventBridge event bus rule
        targets, the value of aws:SourceArn must be the rule ARN", EventBridge user guide,
        "Cross-service confused deputy prevention"). aws-cdk-lib's ``targets.SnsTopic`` grants
        ``events.amazonaws.com`` with no condition: any account's rule could publish."""
        for rule in rules:
            rule.add_target(_TopicTarget(self.topic))
            self._rules_publishing.append(rule)
        arns = [rule.rule_arn for rule in self._rules_publishing]
        if self._rules_statement is None:
            self._rules_statement = iam.PolicyStatement(
                sid="AllowEventBridgeRules",
                principals=[iam.ServicePrincipal(TOPIC_PUBLISHERS[1])],
                actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
            )
            self.topic.add_to_resource_policy(self._rules_statement)
        self._rules_statement.add_condition("ArnEquals", {"aws:SourceArn": arns})

    def _let_alarms_publish(self, topic: sns.ITopic) -> None:
        """A topic policy replaces SNS's default one, which let the account's services publish:
        CloudWatch alarm actions then fail with "not authorized to perform: SNS:Publish"
        unless the policy admits ``cloudwatch.amazonaws.com`` (AWS re:Post Knowledge Center,
        "Why didn't I receive an SNS notification for my CloudWatch alarm trigger?"), here for
        this account's alarms only (``aws:SourceArn``, ``aws:SourceAccount``)."""
        topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid="AllowCloudWatchAlarms",
                principals=[iam.ServicePrincipal(TOPIC_PUBLISHERS[0])],
                actions=["sns:Publish"],
                resources=[topic.topic_arn],
                conditions={
                    "StringEquals": {"aws:SourceAccount": Stack.of(topic).account},
                    "ArnLike": {"aws:SourceArn": alarm_arns(topic)},
                },
            )
        )

    def allow_service_to_publish(self, service: str) -> None:
        """Let an AWS service principal (e.g. ``resiliencehub.amazonaws.com``) publish to the
        topic: ``sns:Publish`` from this account in the topic policy, and use of the topic's
        key when this construct made it."""
        if not re.fullmatch(r"[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com", str(service)):
            self._check.fail(
                "allow_service_to_publish(service)", service,
                "an AWS service principal such as 'resiliencehub.amazonaws.com'",
            )  # fmt: skip
        sid = "Publish" + "".join(p.capitalize() for p in service.split(".")[0].split("-"))
        if self.encryption_key is not None:
            self.encryption_key.add_to_resource_policy(
                iam.PolicyStatement(
                    sid=sid, principals=[iam.ServicePrincipal(service)],
                    actions=["kms:Decrypt", "kms:GenerateDataKey"],
                    resources=["*"],  # in a key policy, "*" means this key
                    conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
                )
            )  # fmt: skip
        self.topic.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid, principals=[iam.ServicePrincipal(service)], actions=["sns:Publish"],
                resources=[self.topic.topic_arn],
                conditions={"StringEquals": {"aws:SourceAccount": Aws.ACCOUNT_ID}},
            )
        )  # fmt: skip

    def watch_backups(
        self,
        vault: backup.IBackupVault,
        *,
        window: Duration | None = None,
        windows: Mapping[str, Duration] | None = None,
        resource_types: Sequence[str] = BACKUP_RESOURCE_TYPES,
    ) -> list[cloudwatch.Alarm]:
        """Alarms that catch backups stopping in operation.

        ``dr-{suffix}-NoRecentBackup{type}`` fires when no backup job of that resource type into
        ``vault`` completed (AWS/Backup ``NumberOfBackupJobsCompleted``, dimensions
        ``BackupVaultName`` and ``ResourceType``) for a whole window: AWS Backup publishes
        the metric only when non-zero, so missing data counts as breaching. The window is
        read as up to 12 periods of at least 5 minutes, all of which must be empty. Give
        ``windows`` per resource type (only those types get the alarm), or one ``window`` for
        every type of ``resource_types``. Watch snapshot jobs only: a continuous rule "creates
        one continuous recovery point and updates that recovery point whenever the job runs",
        and AWS documents no completed job per period for it (a type with continuous points
        only gets no such alarm; its failures still fire the alarms below).
        ``dr-{suffix}-Vault{Backup,Copy,Restore}JobsFailed`` fire on any failed job of the
        vault (``NumberOf{Backup,Copy,Restore}JobsFailed`` summed over ``resource_types``).
        """
        if windows is None and window is not None:
            windows = dict.fromkeys(resource_types, window)
        elif windows is None or window is not None:
            self._check.fail(
                "watch_backups(window, windows)", "both or neither",
                "one of them: a Duration for every resource type, or a mapping of AWS Backup "
                "resource type to Duration",
            )  # fmt: skip
        completed, alarms = self._watch_completed(vault, windows)
        failed, failed_alarms = self._watch_failed_jobs(vault, resource_types)
        self.dashboard.add_widgets(
            *(
                [cloudwatch.GraphWidget(title="AWS Backup completed backup jobs", left=completed,
                                        width=12)]
                if completed
                else []
            ),
            cloudwatch.GraphWidget(title="AWS Backup failed jobs (vault)", left=failed, width=12),
        )  # fmt: skip
        return alarms + failed_alarms

    def watch_copies(
        self,
        vault: backup.IBackupVault,
        *,
        window: Duration,
        resource_types: Sequence[str] = BACKUP_RESOURCE_TYPES,
    ) -> list[cloudwatch.Alarm]:
        """Alarms ``dr-{suffix}-NoRecentCopy{type}`` when no copy job of that resource type
        into ``vault`` (a vault copies arrive in, e.g. another region's) completed
        (``NumberOfCopyJobsCompleted``, dimensions ``BackupVaultName`` and ``ResourceType``)
        for a whole ``window``, read as :meth:`watch_backups` reads its windows: missing data
        is breaching, so copies that stop arriving alarm; graph them."""
        completed, alarms = self._watch_completed(
            vault, dict.fromkeys(resource_types, window), job="copy",
            prop="watch_copies(window)",
        )  # fmt: skip
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="AWS Backup completed copy jobs", left=completed,
                                   width=12)
        )  # fmt: skip
        return alarms

    def _watch_completed(
        self,
        vault: backup.IBackupVault,
        windows: Mapping[str, Duration],
        *,
        job: str = "backup",
        prop: str = "watch_backups(window)",
    ) -> tuple[list[cloudwatch.IMetric], list[cloudwatch.Alarm]]:
        """``NoRecent{Job}{type}`` per resource type: no completed ``job`` (backup or copy)
        for a whole window."""
        completed: list[cloudwatch.IMetric] = []
        alarms: list[cloudwatch.Alarm] = []
        for resource_type, duration in windows.items():
            seconds = self._check.duration(f"{prop} of {resource_type}", duration, 300, 604800)
            period = math.ceil(seconds / 12 / 300) * 300
            periods = math.ceil(seconds / period)
            metric = f"NumberOf{job.title()}JobsCompleted"
            done = _backup_metric(vault, metric, resource_type, period)
            completed.append(done)
            where = "the backup vault" if job == "backup" else "the vault"
            alarms.append(
                self.add_alarm(
                    f"NoRecent{job.title()}{resource_type}",
                    done,
                    threshold=1,
                    evaluation_periods=periods,
                    datapoints_to_alarm=periods,
                    comparison_operator=cloudwatch.ComparisonOperator.LESS_THAN_THRESHOLD,
                    treat_missing_data=cloudwatch.TreatMissingData.BREACHING,
                    description=f"No {resource_type} {job} job completed in {where} "
                    f"for {seconds} s",
                )
            )
        return completed, alarms

    def _watch_failed_jobs(
        self, vault: backup.IBackupVault, resource_types: Sequence[str]
    ) -> tuple[list[cloudwatch.IMetric], list[cloudwatch.Alarm]]:
        """``Vault{Backup,Copy,Restore}JobsFailed``: any failed job of the vault."""
        failed: list[cloudwatch.IMetric] = []
        alarms: list[cloudwatch.Alarm] = []
        for job in ("Backup", "Copy", "Restore"):
            names = {f"{job.lower()}{i}": _backup_metric(vault, f"NumberOf{job}JobsFailed", t, 300)
                     for i, t in enumerate(resource_types)}  # fmt: skip
            jobs = cloudwatch.MathExpression(
                expression=" + ".join(names), using_metrics=names,
                label=f"Failed {job.lower()} jobs", period=_PERIOD,
            )  # fmt: skip
            failed.append(jobs)
            alarms.append(
                self.add_alarm(
                    f"Vault{job}JobsFailed",
                    jobs,
                    threshold=0,
                    evaluation_periods=1,
                    description=f"An AWS Backup {job.lower()} job of the backup vault failed",
                )
            )
        return failed, alarms

    def watch_replica_lag(
        self, cluster: rds.IDatabaseCluster, *, name: str = "AuroraReplicaLag"
    ) -> cloudwatch.Alarm:
        """Alarm ``dr-{suffix}-{name}`` when the largest Aurora replica lag
        (``AuroraReplicaLagMaximum``) stays above 1 s for 5 minutes; graph it."""
        lag = cluster.metric(
            "AuroraReplicaLagMaximum", period=Duration.minutes(1), statistic="Maximum"
        )
        alarm = self.add_alarm(
            name, lag, threshold=REPLICA_LAG_THRESHOLD_MS, evaluation_periods=5,
            description="Aurora replica lag above 1 s for 5 minutes",
        )  # fmt: skip
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="Aurora replica lag, max (ms)", left=[lag], width=12)
        )
        return alarm

    def watch_table_errors(
        self, table: dynamodb.ITable, *, name: str = "DynamoDbSystemErrors"
    ) -> cloudwatch.Alarm:
        """Alarm ``dr-{suffix}-{name}`` on any DynamoDB system error (HTTP 500) of the table's
        item operations in 5 minutes; graph them."""
        errors = table.metric_system_errors_for_operations(
            operations=list(TABLE_OPERATIONS), period=_PERIOD, statistic="Sum"
        )
        alarm = self.add_alarm(
            name, errors, threshold=0, evaluation_periods=1,
            description="DynamoDB returned system errors (HTTP 500) in 5 minutes",
        )  # fmt: skip
        self.dashboard.add_widgets(
            cloudwatch.GraphWidget(title="DynamoDB system errors", left=[errors], width=12)
        )
        return alarm


@jsii.implements(events.IRuleTarget)
class _TopicTarget:
    """An EventBridge target that is the topic and grants nothing: the topic policy's
    ``AllowEventBridgeRules`` statement (:meth:`DrObservability.notify_from`) admits the rules."""

    def __init__(self, topic: sns.ITopic) -> None:
        self._topic = topic

    def bind(self, rule: IRuleRef, id: str | None = None) -> events.RuleTargetConfig:
        return events.RuleTargetConfig(arn=self._topic.topic_arn)


def _backup_metric(
    vault: backup.IBackupVault, name: str, resource_type: str, period: int
) -> cloudwatch.Metric:
    """An AWS/Backup metric of ``vault`` and ``resource_type``, summed over ``period`` s."""
    return cloudwatch.Metric(
        namespace="AWS/Backup",
        metric_name=name,
        dimensions_map={"BackupVaultName": vault.backup_vault_name, "ResourceType": resource_type},
        statistic="Sum",
        period=Duration.seconds(period),
    )


def _check_watched(prop: str, value: object, metric: str, accepted: str) -> None:
    """Raise unless ``value`` has the ``metric`` method of the resource type ``accepted``."""
    if not callable(getattr(value, metric, None)):
        shown = value if isinstance(value, str | int | float) else type(value).__name__
        raise DrConfigurationError("DrObservability", prop, shown, accepted)

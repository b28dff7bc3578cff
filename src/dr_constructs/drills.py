"""DrDrills: AWS FIS experiment templates that rehearse the loss of an AZ, safe by default.

An assurance module: it reads the core layers' public attributes (the network's subnets, the
cluster, the health-check function, the observability topic and alarm factory) and never
changes them. Nothing runs on deploy: the templates wait for a person (console, ``aws fis
start-experiment``) or the operator command to start them.
"""

from __future__ import annotations

import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from aws_cdk import Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_events as events
from aws_cdk import aws_fis as fis
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from aws_cdk import aws_rds as rds
from constructs import Construct

from .checks import Checks
from .compliance import AWS_SOLUTIONS, acknowledge
from .contract import (
    AURORA_FAILOVER_DRILL,
    DRILL_TAG,
    HEALTH_CHECK_FAILURES,
    HEALTH_CHECK_NAMESPACE,
    az_drill,
)
from .database import DrDatabase
from .function import DrFunction
from .keys import logs_encryption_key
from .network import DrNetwork
from .observability import DrObservability
from .parts import arn_in_account, encrypted_log_group, service_role


@dataclass(frozen=True)
class FisAction:
    """What an FIS action acts on: the key of its ``Targets`` and the resource type there."""

    target_key: str
    resource_type: str
    parameters: frozenset[str] = frozenset()


#: The FIS actions the drills use (AWS FIS actions reference), by action id.
FIS_ACTIONS: Mapping[str, FisAction] = {
    "aws:rds:failover-db-cluster": FisAction("Clusters", "aws:rds:cluster"),
    "aws:network:disrupt-connectivity": FisAction(
        "Subnets", "aws:ec2:subnet", frozenset({"duration", "scope"})
    ),
}
#: ``scope`` values of aws:network:disrupt-connectivity that these drills use.
DISRUPTION_SCOPES = ("all", "availability-zone", "dynamodb", "s3")
#: The AZ-loss RTO a drill must clear when none is given: the spec's RTO of 4 hours.
DEFAULT_AZ_LOSS_RTO = Duration.hours(4)
#: How long a network disruption lasts unless told otherwise.
DEFAULT_DISRUPTION = Duration.minutes(10)
#: The health check runs this often, so a drill has a minute-by-minute view of the service.
DEFAULT_HEARTBEAT = Duration.minutes(1)
#: Namespace of the health-check failure metric (a metric filter on its log group).
METRIC_NAMESPACE = HEALTH_CHECK_NAMESPACE
_NAME = re.compile(r"^[a-z][a-z0-9-]{0,62}$")
_MINUTE = 60
#: The guard alarm looks back at most this many minutes (the alarm factory's period limit),
#: so a drill never runs on with a failing service for longer, whatever the objective.
MAX_GUARD_MINUTES = 100

#: Why the FIS role has actions on "*" (AwsSolutions-IAM5).
DESCRIBE_REASON = (
    "FIS resolves and restores its targets with EC2 Describe* calls and tag:GetResources, reads "
    "the AWS-owned S3 and DynamoDB prefix lists (GetManagedPrefixListEntries; their ARNs are in "
    "AWS's account, not this one) and sets up experiment logging with CloudWatch Logs "
    "log-delivery calls: these read or logging actions support no resource-level permissions "
    "we could name here, so '*' is their resource, as in AWS's FIS managed policies. Every "
    "action that changes something is limited to this stack's cluster, this VPC's subnets, or "
    "network ACLs FIS creates and tags managedByFIS=true in this account and region."
)


class DrDrills(Construct):
    """Fault-injection drills for the stack, as AWS FIS experiment templates.

    Templates (:attr:`experiments`, each tagged ``dr-constructs:drill=<name>``):

    * ``aurora-failover``: ``aws:rds:failover-db-cluster`` on the cluster; a reader in another
      AZ becomes the writer.
    * ``az-<zone>`` for each AZ the data and Lambda tiers use (``availability_zones``): the
      loss of one AZ. ``aws:network:disrupt-connectivity`` (scope ``all``) cuts that AZ's
      subnets of the two tiers off for ``disruption_duration`` and, when the writer is in that
      AZ when the drill starts, fails the cluster over at the same time (RDS keeps seeing an
      instance cut off by a network ACL as healthy, so the failover stands in for the
      writer's loss). One template per AZ, so the loss of whichever AZ the writer is in *now*
      can be rehearsed, after any failover (``dr-constructs drill az`` picks the writer's
      current AZ). These are the parts of AWS's "AZ Availability: Power Interruption" scenario
      that apply to this stack (it has no EC2 instances, EBS volumes or Auto Scaling groups).
      In an environment-agnostic stack the AZs are ``Fn::GetAZs`` picks, resolved at deploy:
      the templates are then built per AZ position, and CloudFormation writes the real name
      into each template's tag (``az-us-east-1a``), which is what the operator command reads.
    * ``dynamodb-unreachable`` and ``s3-unreachable``: the same action, scoped to DynamoDB or
      S3, on every subnet of the tier: the health check's failure handling is exercised.

    Safety: each template stops itself when one of its stop alarms goes to ALARM: the stack's
    own guard (the health check failing for longer than the AZ-loss RTO objective) plus
    ``stop_alarms``. The role may fail over this cluster only and swap network ACLs on this
    VPC's subnets only (ACLs FIS creates and tags ``managedByFIS``). Experiment logs go to an
    encrypted log group. Nothing runs on deploy.

    Measurement: the health check runs every ``heartbeat_interval``; its failures per minute
    (:attr:`health_check_failures`) and latency are on the dashboard beside the objective, and
    FIS experiment state changes and RDS failover events go to the topic, which gives the
    start, failover and end times of a run.

    Args:
        scope: parent construct.
        id: construct id.
        network: the stack's :class:`DrNetwork` (its data/Lambda-tier subnets are the targets).
        cluster: the Aurora cluster to fail over.
        function: the stack's :class:`DrFunction` running the health check.
        observability: the stack's :class:`DrObservability`: topic, dashboard, alarm factory.
        az_loss_rto: the AZ-loss RTO objective, the bar a drill must clear: the guard alarm
            stops a drill when the health check has failed for that long (at most 100
            minutes). Default - 4 hours.
        availability_zones: AZs to build an ``az-<zone>`` drill for, each one of the
            network's AZs. Default - every AZ of the data and Lambda tiers' subnets.
        disruption_duration: how long a network disruption lasts, 1 minute to 12 hours.
            Default - 10 minutes.
        stop_alarms: more alarms that stop every drill. Default - none beyond the guard.
        heartbeat_interval: how often the health check runs, 1-60 minutes. Default - 1 minute.
        logs_key: key of the experiment log group (CloudWatch Logs must be allowed to use it).
            Default - a new key with rotation.
        environment_suffix: names the alarms and tags. Default - ``dev``.
        removal_policy: for the log group and a new key. Default - ``RETAIN``.
        writer_availability_zone: the AZ the writer is pinned to at deployment
            (:attr:`DrDatabase.writer_availability_zone`), published as
            :attr:`writer_availability_zone`. Default - the one the cluster's
            :class:`DrDatabase` publishes, else None.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        network: DrNetwork,
        cluster: rds.DatabaseCluster,
        function: DrFunction,
        observability: DrObservability,
        az_loss_rto: Duration = DEFAULT_AZ_LOSS_RTO,
        availability_zones: Sequence[str] | None = None,
        disruption_duration: Duration = DEFAULT_DISRUPTION,
        stop_alarms: Sequence[cloudwatch.IAlarm] = (),
        heartbeat_interval: Duration = DEFAULT_HEARTBEAT,
        logs_key: kms.IKey | None = None,
        environment_suffix: str = "dev",
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        writer_availability_zone: str | None = None,
    ) -> None:
        super().__init__(scope, id)
        check = Checks(self, "DrDrills")
        check.require("drills")
        self.suffix = check.environment_suffix(environment_suffix)
        check.removal_policy(removal_policy)
        _check_collaborators(check, network, function, observability, cluster, logs_key)
        #: The AZ-loss RTO objective in seconds: what a drill must clear.
        self.az_loss_rto_seconds = check.duration("az_loss_rto", az_loss_rto, 1, 366 * 86400)
        self._rto_text = az_loss_rto.to_human_string()
        disruption, heartbeat = _check_timing(
            check, disruption_duration, heartbeat_interval, stop_alarms
        )
        self._disruption = f"PT{disruption // _MINUTE}M"
        self._disruption_text = disruption_duration.to_human_string()

        self._network = network
        self._cluster = cluster
        self._subnets = self._tier_subnets(network)
        #: The AZ the writer is pinned to at deployment (None where the AZs are resolved then).
        self.writer_availability_zone = (
            writer_availability_zone
            if writer_availability_zone is not None
            else _published_writer_zone(cluster)
        )
        self._zones = _check_zones(check, self._subnets, availability_zones)
        check.claim("log group", f"/aws/fis/dr-{self.suffix}")

        self._watch_health_check(function, observability, heartbeat)
        self.stop_alarms: list[cloudwatch.IAlarm] = [self.guard_alarm, *stop_alarms]
        self.log_group = self._log_group(logs_key, removal_policy)
        self.role = self._role()
        self.experiments: dict[str, fis.CfnExperimentTemplate] = {}
        self._add_experiments()
        self._notify_run_events(observability)

    # --- public --------------------------------------------------------------------------

    def add_experiment(
        self,
        name: str,
        *,
        description: str,
        actions: Mapping[str, tuple[str, str, Mapping[str, str]]],
        targets: Mapping[str, tuple[str, Sequence[str]]],
        target_parameters: Mapping[str, Mapping[str, str]] | None = None,
        skip_empty_targets: bool = False,
    ) -> fis.CfnExperimentTemplate:
        """Add an experiment template ``name`` with this construct's role, stop alarms and log.

        Args:
            name: lower-case letters, digits and hyphens, unique in this construct.
            description: what the drill does, shown in the FIS console.
            actions: action name -> (FIS action id, target name, parameters).
            targets: target name -> (FIS resource type, resource ARNs).
            target_parameters: target name -> FIS target parameters, e.g.
                ``{"writerAvailabilityZoneIdentifiers": "us-east-1a"}`` for a cluster.
            skip_empty_targets: skip an action whose target resolves to nothing when the
                experiment starts, instead of failing the experiment.

        Raises:
            DrConfigurationError: an unknown action, a target whose resource type does not fit
                its action, a parameter the action does not take, or a bad name.
        """
        check = Checks(self, "DrDrills")
        check.switch("add_experiment(skip_empty_targets)", skip_empty_targets)
        if not isinstance(name, str) or not _NAME.match(name) or name in self.experiments:
            check.fail(
                "add_experiment(name)", name,
                "lower-case letters, digits and hyphens, starting with a letter, not used yet",
            )  # fmt: skip
        return self._template(
            name,
            "".join(part.title() for part in name.split("-")) + "Experiment",
            description=description,
            actions=self._actions(check, actions, targets),
            targets=targets,
            target_parameters=target_parameters,
            skip_empty_targets=skip_empty_targets,
        )

    def _actions(
        self,
        check: Checks,
        actions: Mapping[str, tuple[str, str, Mapping[str, str]]],
        targets: Mapping[str, tuple[str, Sequence[str]]],
    ) -> dict[str, fis.CfnExperimentTemplate.ExperimentTemplateActionProperty]:
        """``add_experiment``'s actions, checked against :data:`FIS_ACTIONS`."""
        cfn_actions: dict[str, fis.CfnExperimentTemplate.ExperimentTemplateActionProperty] = {}
        for action_name, (action_id, target, parameters) in actions.items():
            spec = FIS_ACTIONS.get(action_id)
            if spec is None:
                check.fail(
                    f"add_experiment(actions[{action_name!r}])", action_id,
                    "one of " + ", ".join(FIS_ACTIONS),
                )  # fmt: skip
            resource_type = targets.get(target, ("(no such target)", ()))[0]
            if resource_type != spec.resource_type:
                check.fail(
                    f"add_experiment(targets[{target!r}])", resource_type,
                    f"a target of resource type {spec.resource_type!r}, the one {action_id} "
                    "acts on",
                )  # fmt: skip
            unknown = set(parameters) - spec.parameters
            if unknown:
                check.fail(
                    f"add_experiment(actions[{action_name!r}]) parameters",
                    sorted(unknown),
                    f"parameters of {action_id}: {sorted(spec.parameters) or 'none'}",
                )  # fmt: skip
            if "scope" in parameters:
                check.choice(
                    f"add_experiment(actions[{action_name!r}]) scope",
                    parameters["scope"], DISRUPTION_SCOPES,
                )  # fmt: skip
            cfn_actions[action_name] = fis.CfnExperimentTemplate.ExperimentTemplateActionProperty(
                action_id=action_id,
                parameters=dict(parameters) or None,
                targets={spec.target_key: target},
            )
        return cfn_actions

    def _template(
        self,
        name: str,
        construct_id: str,
        *,
        description: str,
        actions: Mapping[str, fis.CfnExperimentTemplate.ExperimentTemplateActionProperty],
        targets: Mapping[str, tuple[str, Sequence[str]]],
        target_parameters: Mapping[str, Mapping[str, str]] | None,
        skip_empty_targets: bool,
    ) -> fis.CfnExperimentTemplate:
        """The experiment template ``name`` (which may hold a token, e.g. an AZ resolved at
        deploy: CloudFormation then writes the resolved name into the tag)."""
        template = fis.CfnExperimentTemplate(
            self,
            construct_id,
            description=description,
            role_arn=self.role.role_arn,
            stop_conditions=[
                fis.CfnExperimentTemplate.ExperimentTemplateStopConditionProperty(
                    source="aws:cloudwatch:alarm", value=alarm.alarm_arn
                )
                for alarm in self.stop_alarms
            ],
            targets={
                target: fis.CfnExperimentTemplate.ExperimentTemplateTargetProperty(
                    resource_type=resource_type,
                    resource_arns=list(arns),
                    selection_mode="ALL",
                    parameters=(target_parameters or {}).get(target),
                )
                for target, (resource_type, arns) in targets.items()
            },
            actions=dict(actions),
            log_configuration=fis.CfnExperimentTemplate.ExperimentTemplateLogConfigurationProperty(
                log_schema_version=2,
                cloud_watch_logs_configuration={"LogGroupArn": self.log_group.log_group_arn},
            ),
            experiment_options=fis.CfnExperimentTemplate.ExperimentTemplateExperimentOptionsProperty(
                account_targeting="single-account",
                empty_target_resolution_mode="skip" if skip_empty_targets else "fail",
            ),
            tags={DRILL_TAG: name, "Name": f"dr-{self.suffix}-{name}"},
        )
        self.experiments[name] = template
        return template

    # --- steps ---------------------------------------------------------------------------

    def _tier_subnets(self, network: DrNetwork) -> list[ec2.ISubnet]:
        """The subnets of the data and Lambda tiers (where the cluster and the function run)."""
        selection = network.vpc.select_subnets(subnet_type=network.private_subnets.subnet_type)
        return list(selection.subnets)

    def _watch_health_check(
        self, function: DrFunction, observability: DrObservability, heartbeat: int
    ) -> None:
        """Run the health check on a schedule, count its failures, and guard drills with them."""
        function.run_every(Duration.seconds(heartbeat))
        logs.MetricFilter(
            self,
            "HealthCheckFailures",
            log_group=function.log_group,
            # The handler logs every report; one that is not "ok" at WARNING level.
            filter_pattern=logs.FilterPattern.all_terms("WARNING", "health check report"),
            metric_namespace=METRIC_NAMESPACE,
            metric_name=HEALTH_CHECK_FAILURES,
            metric_value="1",
        )
        period = Duration.minutes(1)
        #: Health-check failures (reports not ok, plus invocation errors) per minute.
        self.health_check_failures = cloudwatch.MathExpression(
            expression="FILL(reports, 0) + FILL(errors, 0)",
            using_metrics={
                "reports": cloudwatch.Metric(
                    namespace=METRIC_NAMESPACE, metric_name=HEALTH_CHECK_FAILURES, statistic="Sum",
                    period=period,
                ),
                "errors": function.function.metric_errors(period=period, statistic="Sum"),
            },
            label="Health-check failures per minute",
            period=period,
        )  # fmt: skip
        minutes = min(math.ceil(self.az_loss_rto_seconds / _MINUTE), MAX_GUARD_MINUTES)
        #: Stops every drill: the health check failed in each minute for the AZ-loss RTO.
        self.guard_alarm = observability.add_alarm(
            "DrillGuard",
            self.health_check_failures,
            threshold=0,
            evaluation_periods=minutes,
            description=(
                f"The health check failed in each of the last {minutes} minutes (the AZ-loss "
                f"RTO objective, at most {MAX_GUARD_MINUTES} minutes): a running FIS drill "
                "stops itself"
            ),
        )
        self._graph_health_check(function, observability, period)

    def _graph_health_check(
        self, function: DrFunction, observability: DrObservability, period: Duration
    ) -> None:
        """The drills' dashboard row: the objective, the failures and the latency."""
        observability.dashboard.add_widgets(
            cloudwatch.TextWidget(
                markdown=(
                    f"## Drills\nAZ-loss RTO objective: **{self._rto_text}**. "
                    "After a drill, read the failure graph: the run of minutes with failures "
                    "is the failover time the health check saw; it must be shorter than the "
                    "objective. FIS and RDS failover events on the topic give the exact times."
                ),
                width=24,
                height=2,
            ),
            cloudwatch.GraphWidget(
                title="Health-check failures per minute (drills)",
                left=[self.health_check_failures],
                width=12,
            ),
            cloudwatch.GraphWidget(
                title="Health-check latency (ms, p99)",
                left=[function.function.metric_duration(period=period, statistic="p99")],
                width=12,
            ),
        )

    def _log_group(self, logs_key: kms.IKey | None, removal_policy: RemovalPolicy) -> logs.LogGroup:
        key = logs_key or logs_encryption_key(
            self, "LogsKey", description=f"DR drills logs ({self.suffix})",
            removal_policy=removal_policy,
        )  # fmt: skip
        return encrypted_log_group(
            self, "ExperimentLogs", name=f"/aws/fis/dr-{self.suffix}", key=key,
            removal_policy=removal_policy,
        )  # fmt: skip

    def _role(self) -> iam.Role:
        """The experiments' role: fail over this cluster, swap this VPC's subnet ACLs, log."""
        role, policy = service_role(
            self, "", service="fis.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            description="AWS FIS: run the DR drills on this stack's cluster and subnets only",
            policy_description="AWS FIS: what the DR drills need, on this stack's resources only",
            statements=self._statements(),
        )  # fmt: skip
        acknowledge(
            policy,
            DESCRIBE_REASON,
            f"{AWS_SOLUTIONS}-IAM5[Resource::*]",
            f"{AWS_SOLUTIONS}-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:"
            "<AWS::AccountId>:network-acl/*]",
        )
        return role

    def _statements(self) -> list[iam.PolicyStatement]:
        acls = arn_in_account("ec2", "network-acl/*")
        vpc = arn_in_account("ec2", f"vpc/{self._network.vpc.vpc_id}")
        subnets = [arn_in_account("ec2", f"subnet/{s.subnet_id}") for s in self._subnets]
        fis_tag = {"aws:RequestTag/managedByFIS": "true"}
        return [
            iam.PolicyStatement(
                sid="FailOverCluster",
                actions=["rds:FailoverDBCluster", "rds:DescribeDBClusters"],
                resources=[self._cluster.cluster_arn],
            ),
            iam.PolicyStatement(
                sid="CreateFisNetworkAcl",
                actions=["ec2:CreateNetworkAcl"],
                resources=[acls],
                conditions={"StringEquals": fis_tag},
            ),
            iam.PolicyStatement(
                sid="CreateFisNetworkAclInVpc",
                actions=["ec2:CreateNetworkAcl"],
                resources=[vpc],
            ),
            iam.PolicyStatement(
                sid="TagFisNetworkAcl",
                actions=["ec2:CreateTags"],
                resources=[acls],
                conditions={"StringEquals": {"ec2:CreateAction": "CreateNetworkAcl", **fis_tag}},
            ),
            iam.PolicyStatement(
                sid="ChangeFisNetworkAcl",
                actions=["ec2:CreateNetworkAclEntry", "ec2:DeleteNetworkAcl"],
                resources=[acls, vpc],
                conditions={"StringEquals": {"ec2:ResourceTag/managedByFIS": "true"}},
            ),
            iam.PolicyStatement(
                sid="SwapSubnetNetworkAcl",
                actions=["ec2:ReplaceNetworkAclAssociation"],
                resources=[acls, *subnets],
            ),
            iam.PolicyStatement(
                sid="DescribeTargetsAndLog",
                actions=[
                    "ec2:DescribeNetworkAcls",
                    "ec2:DescribeSubnets",
                    "ec2:DescribeVpcs",
                    "ec2:DescribeManagedPrefixLists",
                    "ec2:GetManagedPrefixListEntries",
                    "tag:GetResources",
                    "logs:CreateLogDelivery",
                    "logs:DescribeLogGroups",
                    "logs:DescribeResourcePolicies",
                    "logs:PutResourcePolicy",
                ],
                resources=["*"],
            ),
        ]

    def _add_experiments(self) -> None:
        cluster_target = ("aws:rds:cluster", [self._cluster.cluster_arn])
        failover: tuple[str, str, Mapping[str, str]] = (
            "aws:rds:failover-db-cluster",
            "Cluster",
            {},
        )
        self.add_experiment(
            AURORA_FAILOVER_DRILL,
            description="DR drill: fail the Aurora cluster over to a reader in another AZ",
            actions={"Failover": failover},
            targets={"Cluster": cluster_target},
        )
        self._add_az_experiments(cluster_target, failover)
        every_subnet = ("aws:ec2:subnet", [self._subnet_arn(s) for s in self._subnets])
        for service in ("dynamodb", "s3"):
            self.add_experiment(
                f"{service}-unreachable",
                description=(
                    f"DR drill: {service} unreachable from the data and Lambda subnets for "
                    f"{self._disruption_text}"
                ),
                actions={
                    "DisruptNetwork": (
                        "aws:network:disrupt-connectivity",
                        "Subnets",
                        {"duration": self._disruption, "scope": service},
                    )
                },
                targets={"Subnets": every_subnet},
            )

    def _add_az_experiments(
        self,
        cluster_target: tuple[str, list[str]],
        failover: tuple[str, str, Mapping[str, str]],
    ) -> None:
        """One AZ-loss drill per AZ: its subnets cut off, Aurora failed over if the writer is
        there."""
        for index, zone in enumerate(self._zones):
            arns = [self._subnet_arn(s) for s in self._subnets if s.availability_zone == zone]
            targets = {"Subnets": ("aws:ec2:subnet", arns), "Cluster": cluster_target}
            name = az_drill(zone)
            self._template(
                name,
                # an AZ known at synth names its template; a Fn::GetAZs pick, its position
                f"Az{index + 1}Experiment"
                if Token.is_unresolved(zone)
                else "".join(part.title() for part in name.split("-")) + "Experiment",
                description=(
                    f"DR drill: lose AZ {zone} - cut its data and Lambda subnets off for "
                    f"{self._disruption_text} and fail Aurora over if the writer is there"
                ),
                actions=self._actions(
                    Checks(self, "DrDrills"),
                    {
                        "DisruptNetwork": (
                            "aws:network:disrupt-connectivity",
                            "Subnets",
                            {"duration": self._disruption, "scope": "all"},
                        ),
                        "Failover": failover,
                    },
                    targets,
                ),
                targets=targets,
                # Fail over only while the writer is in this AZ, as AWS's AZ Power
                # Interruption scenario does; otherwise the network part runs alone.
                target_parameters={"Cluster": {"writerAvailabilityZoneIdentifiers": zone}},
                skip_empty_targets=True,
            )

    def _notify_run_events(self, observability: DrObservability) -> None:
        """FIS experiment state changes and RDS failover events to the topic: a run's times."""
        experiments = events.Rule(
            self,
            "ExperimentEvents",
            description="AWS FIS experiment state changes of the DR drills to the topic",
            event_pattern=events.EventPattern(
                source=["aws.fis"], detail_type=["FIS Experiment State Change"]
            ),
        )
        failovers = events.Rule(
            self,
            "FailoverEvents",
            description="Aurora failover started/completed events of the DR cluster to the topic",
            event_pattern=events.EventPattern(
                source=["aws.rds"],
                detail_type=["RDS DB Cluster Event"],
                detail={"EventCategories": ["failover"]},
                resources=[self._cluster.cluster_arn],
            ),
        )
        observability.notify_from(experiments, failovers)

    def _subnet_arn(self, subnet: ec2.ISubnet) -> str:
        return Stack.of(self).format_arn(
            service="ec2", resource="subnet", resource_name=subnet.subnet_id
        )


def _published_writer_zone(cluster: rds.DatabaseCluster) -> str | None:
    """The writer's AZ that the cluster's :class:`DrDatabase` publishes, if it is one's."""
    database = cluster.node.scope
    return database.writer_availability_zone if isinstance(database, DrDatabase) else None


# --- checks ----------------------------------------------------------------------------------


def _check_collaborators(
    check: Checks,
    network: DrNetwork,
    function: DrFunction,
    observability: DrObservability,
    cluster: rds.DatabaseCluster,
    logs_key: kms.IKey | None,
) -> None:
    check.instance_of("network", network, DrNetwork, "the stack's DrNetwork")
    check.instance_of("function", function, DrFunction, "the stack's DrFunction")
    check.instance_of(
        "observability", observability, DrObservability, "the stack's DrObservability"
    )
    check.has("cluster", cluster, "cluster_identifier", "cluster_arn",
              accepted="an rds.DatabaseCluster")  # fmt: skip
    check.key("logs_key", logs_key)


def _check_timing(
    check: Checks,
    disruption_duration: Duration,
    heartbeat_interval: Duration,
    stop_alarms: Sequence[cloudwatch.IAlarm],
) -> tuple[int, int]:
    """The disruption and the heartbeat interval in seconds, after checking the stop alarms."""
    disruption = check.whole_duration(
        "disruption_duration", disruption_duration, 60, 12 * 3600, step=_MINUTE,
        accepted="whole minutes from 1 minute to 12 hours",
    )  # fmt: skip
    heartbeat = check.whole_duration(
        "heartbeat_interval", heartbeat_interval, 60, 3600, step=_MINUTE,
        accepted="whole minutes from 1 to 60",
    )  # fmt: skip
    for alarm in stop_alarms:
        check.has("stop_alarms", alarm, "alarm_arn",
                  accepted="a sequence of cloudwatch.IAlarm (e.g. an alarm of "
                  "DrObservability.alarms)")  # fmt: skip
    return disruption, heartbeat


def _check_zones(
    check: Checks, subnets: Sequence[ec2.ISubnet], availability_zones: Sequence[str] | None
) -> list[str]:
    used = list(dict.fromkeys(s.availability_zone for s in subnets))
    shown = [z if not Token.is_unresolved(z) else "(an Fn::GetAZs pick)" for z in used]
    accepted = "AZs the stack's subnets are in: " + ", ".join(shown)
    if availability_zones is None:
        return used  # every AZ: the writer may be in any of them after a failover
    if isinstance(availability_zones, str) or not availability_zones:
        check.fail("availability_zones", availability_zones, accepted)
    for zone in availability_zones:
        if zone not in used:
            check.fail("availability_zones", zone, accepted)
    return list(dict.fromkeys(availability_zones))

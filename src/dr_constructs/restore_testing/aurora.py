"""AuroraDataProof: the Step Functions state machine that reads the data of a restored cluster.

A cluster that AWS Backup restores has no DB instance ("you must create the primary instance",
AWS Backup guide, "Restoring an Amazon Aurora cluster"), so nothing can query it. For each
Aurora restore test that completes, the restore-test validator starts this state machine,
which:

1. adds an instance to the restored cluster (``CreateInstance``: ``aurora-postgresql``, the
   class of the stack's writer, not public; the cluster already sits in the stack's DB subnet
   group and security group, from the selection's restore metadata), and waits until it is
   ``available`` (``WaitForInstance``), at most :data:`INSTANCE_POLLS` polls;
2. reads the cluster's endpoint (``DescribeCluster``) and asks the health check, the one step
   inside the VPC, to read the restored heartbeat row as ``dr_restore_validator`` over TLS
   (``VerifyCanary``); the function also measures the data age and the time to usable from
   the times it is given (ASL has no date arithmetic);
3. deletes the instance and waits until the cluster has no instance left (``DeleteInstance``,
   ``WaitForDeletion``), so AWS Backup can delete the restored cluster when the validation
   window ends;
4. publishes ``RestoreTime``, ``DataAge``, ``TimeToUsable`` and ``ValidationFailed`` for
   ``ResourceType=Aurora`` and reports SUCCESSFUL to AWS Backup (``ReportResult``).

Every task has a Catch: a failure names its step and reason, still deletes the instance when
one was created, publishes ``ValidationFailed=1``, reports FAILED with that step and reason,
and fails the execution. The AWS calls run as Step Functions' own tasks, outside the VPC (its
isolated subnets have no route to AWS's APIs but through billed interface endpoints).
"""

from __future__ import annotations

from typing import Any, cast

from aws_cdk import CfnResource, Duration, RemovalPolicy
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_rds as rds
from aws_cdk import aws_stepfunctions as sfn
from aws_cdk import aws_stepfunctions_tasks as tasks
from constructs import Construct

from ..compliance import AWS_SOLUTIONS, acknowledge, drop_redundant_dependency
from ..contract import (
    DATA_AGE,
    RESTORE_TESTING_NAMESPACE,
    RESTORE_TIME,
    RESTORED_NAME_PREFIXES,
    TIME_TO_USABLE,
    VALIDATION_FAILED,
    VERIFY_RESTORED_CLUSTER,
)
from ..database import WRITER_ID, DrDatabase
from ..function import DrFunction
from ..parts import arn_in_account, encrypted_log_group, service_role

#: The engine of the instance added (the stack's cluster is Aurora PostgreSQL).
ENGINE = "aurora-postgresql"
#: Tag on the instance a restore test adds, valued with the restore job's id.
RESTORE_TEST_TAG = "dr-constructs:restore-test"
#: How often and how many times the new instance's status is read: 30 minutes at most (AWS
#: documents no start time for an instance; a real account shows it: see the docs).
INSTANCE_POLL, INSTANCE_POLLS = Duration.seconds(60), 30
#: How often and how many times the cluster is read until the instance is gone: 10 minutes.
DELETION_POLL, DELETION_POLLS = Duration.seconds(30), 20
#: DB instance statuses that end a new instance's creation in failure (RDS User Guide,
#: "Viewing Amazon RDS DB instance status"), as ``dr-constructs restore`` has them.
FAILED_INSTANCE_STATUSES = (
    "failed", "inaccessible-encryption-credentials", "incompatible-network",
    "incompatible-option-group", "incompatible-parameters", "incompatible-restore",
    "insufficient-capacity", "storage-full",
)  # fmt: skip
#: Why the state machine's policy names restored copies by prefix (AwsSolutions-IAM5).
RESTORED_CLUSTERS_REASON = (
    "The restore test adds an instance to the cluster AWS Backup restores, whose identifier is "
    "a random value starting with 'awsbackup-restore-test' (AWS Backup guide, restore testing "
    "inferred metadata); the instance is named after it. Neither exists before the restore, so "
    "the policy names them by that prefix, in this account and region only. Instances get the "
    "default parameter and option groups of aurora-postgresql. Step Functions' log delivery "
    "(logs:*LogDelivery*, resource policies) and X-Ray support no resource-level permissions; "
    "backup:PutRestoreValidationResult neither; cloudwatch:PutMetricData is limited to the "
    "restore tests' namespace."
)

_FAILURE = "$.failure"


class AuroraDataProof(Construct):
    """The state machine that proves a restored Aurora cluster holds the data (module doc).

    Args:
        scope: parent construct.
        id: construct id.
        database: the :class:`DrDatabase` whose cluster is restored.
        health_check: the packaged health check :class:`DrFunction` (reads the copy).
        key: the key of the state machine's log group.
        timeout: the execution's limit, the selection's validation window.
        suffix: names the state machine ``dr-restore-test-aurora-{suffix}``.
        removal_policy: for the log group.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        database: DrDatabase,
        health_check: DrFunction,
        key: kms.IKey,
        timeout: Duration,
        suffix: str,
        removal_policy: RemovalPolicy,
    ) -> None:
        super().__init__(scope, id)
        self._database = database
        #: The state machine's name.
        self.name = f"dr-restore-test-aurora-{suffix}"
        role, self.policy = service_role(
            self, "", service="states.amazonaws.com",
            description=f"{self.name}: add an instance to restored clusters, read, clean up",
            policy_description=f"{self.name}: what the Aurora restore test needs, nothing more",
            statements=self._statements(health_check),
        )  # fmt: skip
        _acknowledge(self.policy)
        log_group = encrypted_log_group(
            self, "Logs", name=f"/aws/vendedlogs/states/{self.name}", key=key,
            removal_policy=removal_policy,
        )  # fmt: skip
        #: The state machine.
        self.state_machine = sfn.StateMachine(
            self, "StateMachine", state_machine_name=self.name,
            definition_body=sfn.DefinitionBody.from_chainable(self._definition(health_check)),
            # the managed policy holds every permission: tasks' grants add none inline
            role=role.without_policy_updates(), timeout=timeout, tracing_enabled=True,
            logs=sfn.LogOptions(destination=log_group, level=sfn.LogLevel.ALL,
                                include_execution_data=True),
            comment="DR restore test of Aurora: add an instance, read the canary, clean up",
        )  # fmt: skip
        # created once its policy exists; its role is ordered by RoleArn alone (cfn-lint W3005)
        cfn_machine = self.state_machine.node.default_child
        assert isinstance(cfn_machine, sfn.CfnStateMachine)
        cfn_machine.add_dependency(cast(CfnResource, self.policy.node.default_child))
        drop_redundant_dependency(cfn_machine, cast(CfnResource, role.node.default_child))

    # --- the definition ------------------------------------------------------------------

    def _definition(self, health_check: DrFunction) -> sfn.IChainable:
        """Built from the end: the reports, the cleanup, then the steps that lead to them."""
        self._fail = sfn.Fail(
            self, "Failed", error="RestoreTestFailed", cause_path="$.failure.message"
        )
        report_failed = self._task(
            "ReportFailure", "putRestoreValidationResult", {
                "RestoreJobId.$": "$.restore_job_id", "ValidationStatus": "FAILED",
                "ValidationStatusMessage.$": "$.failure.message",
            }, service="backup", catch=(self._fail, "$.report_error"),
        )  # fmt: skip
        report_failed.next(self._fail)
        self._publish_failure = self._task(
            "PublishFailure", "putMetricData", _metrics(
                (RESTORE_TIME, "$.restore_time_seconds", "Seconds"),
                (VALIDATION_FAILED, 1, "Count"),
            ), service="cloudwatch", catch=(report_failed, "$.report_error"),
        )  # fmt: skip
        self._publish_failure.next(report_failed)
        report = (
            sfn.Choice(self, "AnyFailure")
            .when(sfn.Condition.is_present(_FAILURE), self._publish_failure)
            .otherwise(self._report_success())
        )
        self._cleanup = self._delete_instance(report)
        self._instance_created = (
            sfn.Choice(self, "InstanceCreated")
            .when(sfn.Condition.is_present("$.instance"), self._cleanup)
            .otherwise(self._publish_failure)
        )
        return self._create_instance(self._verify(health_check, self._cleanup))

    def _create_instance(self, then: sfn.IChainable) -> sfn.IChainable:
        """``CreateInstance``, then ``WaitForInstance`` until it is available."""
        writer = self._database.cluster.node.find_child(WRITER_ID).node.default_child
        assert isinstance(writer, rds.CfnDBInstance)
        create = self._task(
            "CreateInstance", "createDBInstance", {
                "DbInstanceIdentifier.$": "$.instance_identifier",
                "DbClusterIdentifier.$": "$.cluster_identifier",
                "Engine": ENGINE, "DbInstanceClass": writer.db_instance_class,
                "PubliclyAccessible": False,
                "Tags": [{"Key": RESTORE_TEST_TAG, "Value.$": "$.restore_job_id"}],
            },
            selector={"status.$": "$.DbInstance.DbInstanceStatus"}, result_path="$.instance",
        )  # fmt: skip
        describe = self._task(
            "DescribeInstance", "describeDBInstances",
            {"DbInstanceIdentifier.$": "$.instance_identifier"},
            selector={"status.$": _first("$.DbInstances[*].DbInstanceStatus")},
            result_path="$.instance",
        )  # fmt: skip
        status = "$.instance.status"
        failed = sfn.Condition.or_(
            *(sfn.Condition.string_equals(status, s) for s in FAILED_INSTANCE_STATUSES)
        )
        wait = sfn.Wait(self, "WaitForInstance", time=sfn.WaitTime.duration(INSTANCE_POLL))
        available = (
            sfn.Choice(self, "InstanceAvailable")
            .when(sfn.Condition.string_equals(status, "available"), then)
            .when(failed, self._found_failure(
                "WaitForInstance", "InstanceFailed", "States.Format('the instance is {}', "
                "$.instance.status)"))
            .when(sfn.Condition.number_greater_than_equals("$.polls.count", INSTANCE_POLLS),
                  self._found_failure(
                      "WaitForInstance", "InstanceNotAvailable", "States.Format('the instance "
                      f"is still {{}} after {INSTANCE_POLLS} polls', $.instance.status)"))
            .otherwise(wait)
        )  # fmt: skip
        wait.next(describe).next(_count(self, "CountInstancePolls")).next(available)
        return create.next(_zero(self, "StartInstancePolls")).next(wait)

    def _verify(self, health_check: DrFunction, then: sfn.IChainable) -> sfn.IChainable:
        """``DescribeCluster`` for the endpoint, then ``VerifyCanary`` in the health check."""
        endpoint = self._task(
            "DescribeCluster", "describeDBClusters",
            {"DbClusterIdentifier.$": "$.cluster_identifier"},
            selector={"endpoint.$": _first("$.DbClusters[*].Endpoint"),
                      "port.$": _first("$.DbClusters[*].Port")},
            result_path="$.cluster",
        )  # fmt: skip
        invoke = tasks.LambdaInvoke(
            self, "VerifyCanary", lambda_function=health_check.function,
            payload=sfn.TaskInput.from_object({VERIFY_RESTORED_CLUSTER: {
                "endpoint": sfn.JsonPath.string_at("$.cluster.endpoint"),
                "port": sfn.JsonPath.number_at("$.cluster.port"),
                "restored_at": sfn.JsonPath.string_at("$.restored_at"),
                "job_created_at": sfn.JsonPath.string_at("$.job_created_at"),
            }}),
            result_selector={"status.$": "$.Payload.status", "canary.$": "$.Payload.canary"},
            result_path="$.verify",
        )  # fmt: skip
        invoke.add_catch(self._caught("VerifyCanary"), result_path="$.error")
        read = (
            sfn.Choice(self, "CanaryRead")
            .when(sfn.Condition.string_equals("$.verify.status", "ok"), then)
            .otherwise(self._found_failure("VerifyCanary", "CanaryNotRead",
                                           "$.verify.canary.error"))
        )  # fmt: skip
        return endpoint.next(invoke).next(read)

    def _delete_instance(self, then: sfn.IChainable) -> sfn.IChainable:
        """``DeleteInstance``, then ``WaitForDeletion`` until the cluster has no instance (a
        restored cluster has none but the one added); a failure here is reported unless an
        earlier step failed (its reason is kept; the cleanup's is in the history)."""
        keep_first = (
            sfn.Choice(self, "CleanupFailed")
            .when(sfn.Condition.is_present(_FAILURE), then)
            .otherwise(_record(self, "RecordCleanupFailure", "$.cleanup_error.step",
                               "$.cleanup_error").next(then))
        )  # fmt: skip

        def catch(step: str) -> sfn.State:
            caught = sfn.Pass(
                self, f"{step}Failed", result_path="$.cleanup_error",
                parameters={"step": step, "Error.$": "$.caught.Error",
                            "Cause.$": "$.caught.Cause"},
            )  # fmt: skip
            caught.next(keep_first)
            return caught

        delete = self._task(
            "DeleteInstance", "deleteDBInstance",
            {"DbInstanceIdentifier.$": "$.instance_identifier"},
            catch=(catch("DeleteInstance"), "$.caught"),
        )  # fmt: skip
        # an instance still being created or modified cannot be deleted yet: try again
        delete.add_retry(
            errors=["Rds.InvalidDbInstanceStateException"], interval=Duration.minutes(1),
            max_attempts=10, backoff_rate=1,
        )  # fmt: skip
        instances = _first("$.DbClusters[*].DbClusterMembers")
        members = self._task(
            "DescribeMembers", "describeDBClusters",
            {"DbClusterIdentifier.$": "$.cluster_identifier"},
            selector={"count.$": f"States.ArrayLength({instances})"},
            result_path="$.cluster_members", catch=(catch("DescribeMembers"), "$.caught"),
        )  # fmt: skip
        timed_out = sfn.Pass(
            self, "InstanceNotDeleted", result_path="$.cleanup_error", parameters={
                "step": "WaitForDeletion", "Error": "InstanceNotDeleted",
                "Cause": f"the instance is still in the cluster after {DELETION_POLLS} polls",
            },
        )  # fmt: skip
        timed_out.next(keep_first)
        wait = sfn.Wait(self, "WaitForDeletion", time=sfn.WaitTime.duration(DELETION_POLL))
        gone = (
            sfn.Choice(self, "InstanceGone")
            .when(sfn.Condition.number_equals("$.cluster_members.count", 0), then)
            .when(sfn.Condition.number_greater_than_equals("$.polls.count", DELETION_POLLS),
                  timed_out)
            .otherwise(wait)
        )  # fmt: skip
        wait.next(members).next(_count(self, "CountDeletionPolls")).next(gone)
        return delete.next(_zero(self, "StartDeletionPolls")).next(wait)

    def _report_success(self) -> sfn.IChainable:
        """The measurements, and SUCCESSFUL to AWS Backup."""
        failed = (self._publish_failure, None)
        publish = self._task(
            "PublishMeasurements", "putMetricData", _metrics(
                (RESTORE_TIME, "$.restore_time_seconds", "Seconds"),
                (DATA_AGE, "$.verify.canary.data_age_seconds", "Seconds"),
                (TIME_TO_USABLE, "$.verify.canary.time_to_usable_seconds", "Seconds"),
                (VALIDATION_FAILED, 0, "Count"),
            ), service="cloudwatch", catch=failed, step=True,
        )  # fmt: skip
        report = self._task(
            "ReportResult", "putRestoreValidationResult", {
                "RestoreJobId.$": "$.restore_job_id", "ValidationStatus": "SUCCESSFUL",
                "ValidationStatusMessage.$": "States.Format('the restored cluster {} holds "
                "the heartbeat row of {}', $.cluster_identifier, $.verify.canary.checked_at)",
            }, service="backup", catch=failed, step=True,
        )  # fmt: skip
        return publish.next(report).next(sfn.Succeed(self, "Passed"))

    # --- the failure branch --------------------------------------------------------------

    def _caught(self, step: str, then: sfn.IChainable | None = None) -> sfn.State:
        """``{step}Failed``: a Catch's ``$.error`` recorded as the failure of ``step``; then
        the instance is deleted if one was created (or ``then``)."""
        record = _record(self, f"{step}Failed", step, "$.error")
        record.next(then or self._instance_created)
        return record

    def _found_failure(self, step: str, error: str, cause: str) -> sfn.State:
        """``{error}``: a failure a Choice finds (``cause``: a path or an intrinsic), recorded
        as the failure of ``step``; then the instance is deleted."""
        found = sfn.Pass(
            self, error, result_path="$.error", parameters={"Error": error, "Cause.$": cause}
        )
        found.next(_record(self, f"{error}Failed", step, "$.error")).next(self._instance_created)
        return found

    def _task(
        self, id: str, action: str, parameters: dict[str, Any], *,
        service: str = "rds", selector: dict[str, Any] | None = None,
        result_path: str = sfn.JsonPath.DISCARD,
        catch: tuple[sfn.IChainable, str | None] | None = None, step: bool = False,
    ) -> tasks.CallAwsService:  # fmt: skip
        """An AWS SDK task. Its errors go to ``{id}Failed`` (then cleanup), or with ``catch``
        to that state, recorded as the failure of ``id`` first when ``step``."""
        task = tasks.CallAwsService(
            self, id, service=service, action=action, parameters=parameters,
            iam_resources=["*"],  # unused: the role's managed policy holds scoped statements
            result_selector=selector, result_path=result_path,
        )  # fmt: skip
        if catch is None:
            task.add_catch(self._caught(id), result_path="$.error")
        elif step:
            task.add_catch(self._caught(id, catch[0]), result_path="$.error")
        else:
            task.add_catch(catch[0], result_path=catch[1])
        return task

    # --- permissions -----------------------------------------------------------------------

    def _statements(self, health_check: DrFunction) -> list[iam.PolicyStatement]:
        restored = f"{RESTORED_NAME_PREFIXES['Aurora']}*"
        return [
            iam.PolicyStatement(
                sid="AddInstanceToRestoredCluster",
                actions=["rds:CreateDBInstance", "rds:AddTagsToResource"],
                resources=[
                    arn_in_account("rds", f"db:{restored}"),
                    arn_in_account("rds", f"cluster:{restored}"),
                    arn_in_account("rds", "pg:default.aurora-postgresql*"),
                    arn_in_account("rds", "og:default:aurora-postgresql*"),
                    arn_in_account(
                        "rds", f"subgrp:{self._database.subnet_group.subnet_group_name}"
                    ),
                ],
            ),
            iam.PolicyStatement(
                sid="FollowAndDeleteRestoredInstance",
                actions=["rds:DescribeDBInstances", "rds:DeleteDBInstance"],
                resources=[arn_in_account("rds", f"db:{restored}")],
            ),
            iam.PolicyStatement(
                sid="DescribeRestoredCluster",
                actions=["rds:DescribeDBClusters"],
                resources=[arn_in_account("rds", f"cluster:{restored}")],
            ),
            iam.PolicyStatement(
                sid="ReadTheCopyInTheVpc",
                actions=["lambda:InvokeFunction"],
                resources=[health_check.function.function_arn],
            ),
            iam.PolicyStatement(
                sid="ReportToAwsBackup",
                actions=["backup:PutRestoreValidationResult"],
                resources=["*"],  # no resource-level permissions
            ),
            iam.PolicyStatement(
                sid="PublishMeasurements",
                actions=["cloudwatch:PutMetricData"],
                resources=["*"],
                conditions={"StringEquals": {"cloudwatch:namespace": RESTORE_TESTING_NAMESPACE}},
            ),
            iam.PolicyStatement(
                sid="DeliverLogs",  # Step Functions' logging to CloudWatch Logs (its user guide)
                actions=[
                    "logs:CreateLogDelivery",
                    "logs:GetLogDelivery",
                    "logs:UpdateLogDelivery",
                    "logs:DeleteLogDelivery",
                    "logs:ListLogDeliveries",
                    "logs:PutResourcePolicy",
                    "logs:DescribeResourcePolicies",
                    "logs:DescribeLogGroups",
                ],
                resources=["*"],
            ),
            iam.PolicyStatement(
                sid="Trace",
                actions=[
                    "xray:PutTraceSegments",
                    "xray:PutTelemetryRecords",
                    "xray:GetSamplingRules",
                    "xray:GetSamplingTargets",
                ],
                resources=["*"],
            ),
        ]


def _metrics(*metrics: tuple[str, str | int, str]) -> dict[str, Any]:
    """PutMetricData's parameters: each (name, a path or a value, unit) for Aurora."""
    return {
        "Namespace": RESTORE_TESTING_NAMESPACE,
        "MetricData": [
            {
                "MetricName": name,
                "Dimensions": [{"Name": "ResourceType", "Value": "Aurora"}],
                **({"Value.$": value} if isinstance(value, str) else {"Value": value}),
                "Unit": unit,
            }
            for name, value, unit in metrics
        ],
    }


def _first(path: str) -> str:
    """The first value at ``path`` (a ``[*]`` path): ``States.ArrayGetItem`` of it. A path that
    indexes an array mid-way (``$.DbInstances[0].DbInstanceStatus``) means the same on AWS
    but not in every interpreter (moto wraps it in a list); this form means one thing."""
    return f"States.ArrayGetItem({path}, 0)"


def _zero(scope: Construct, id: str) -> sfn.Pass:
    return sfn.Pass(scope, id, result=sfn.Result.from_object({"count": 0}), result_path="$.polls")


def _count(scope: Construct, id: str) -> sfn.Pass:
    return sfn.Pass(
        scope, id, parameters={"count.$": "States.MathAdd($.polls.count, 1)"},
        result_path="$.polls",
    )  # fmt: skip


def _record(scope: Construct, id: str, step: str, error: str) -> sfn.Pass:
    """``$.failure``: the failed step (a name, or a path to it), the error and the message
    AWS Backup is told, from ``error`` (``{Error, Cause}``)."""
    step_key = "step.$" if step.startswith("$") else "step"
    where = "{}" if step.startswith("$") else step
    args = f"{step}, " if step.startswith("$") else ""
    return sfn.Pass(
        scope, id, result_path=_FAILURE, parameters={
            step_key: step, "error.$": f"{error}.Error",
            "message.$": f"States.Format('{where} failed: {{}}: {{}}', {args}{error}.Error, "
            f"{error}.Cause)",
        },
    )  # fmt: skip


def _acknowledge(policy: iam.ManagedPolicy) -> None:
    in_account = "arn:<AWS::Partition>:rds:<AWS::Region>:<AWS::AccountId>:{}"
    restored = f"{RESTORED_NAME_PREFIXES['Aurora']}*"
    acknowledge(
        policy, RESTORED_CLUSTERS_REASON, f"{AWS_SOLUTIONS}-IAM5[Resource::*]",
        *(f"{AWS_SOLUTIONS}-IAM5[Resource::{in_account.format(r)}]" for r in (
            f"db:{restored}", f"cluster:{restored}", "pg:default.aurora-postgresql*",
            "og:default:aurora-postgresql*",
        )),
    )  # fmt: skip


__all__ = ["AuroraDataProof"]

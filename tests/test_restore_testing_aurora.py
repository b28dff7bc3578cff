"""AuroraDataProof: the Aurora restore test's state machine, its definition and its runs.

The definition synthesized for DrPlatform is run end to end by moto's Step Functions
interpreter (``execute_state_machine``): its AWS SDK tasks call moto's RDS and CloudWatch with
botocore's parameter validation on, AWS Backup is botocore's Stubber on the real service model
(moto has no restore jobs), the health check Lambda is the packaged handler run in-process
against a real PostgreSQL standing in for the restored instance, and Wait states return at once
(the seconds they would wait are recorded and asserted).
"""

from __future__ import annotations

import fnmatch
import json
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import boto3
import botocore.session
import pg8000.native
import pytest
from aws_cdk.assertions import Template
from botocore.config import Config
from botocore.stub import ANY, Stubber
from moto import mock_aws
from moto.awslambda.models import LambdaBackend
from moto.rds.models import RDSBackend
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service import (
    state_task_service_aws_sdk as aws_sdk_task,
)
from moto.stepfunctions.parser.asl.component.state.exec.state_task.service.state_task_service import (  # noqa: E501
    StateTaskService,
)
from moto.stepfunctions.parser.asl.component.state.wait.wait_function.wait_function import (
    WaitFunction,
)

from dr_constructs import DrPlatform
from dr_constructs.health_check.runtime import handler as hc
from dr_constructs.restore_testing import METRIC_NAMESPACE
from dr_constructs.restore_testing import aurora as proof
from dr_constructs.restore_testing.runtime import handler as validation

from . import postgres_server
from .alarm_evaluation import alarm_state
from .conftest import (
    ACCOUNT,
    PSEUDO_PARAMETERS,
    new_stack,
    normalised,
    resources_of,
)  # fmt: skip
from .test_health_check_runtime import DB_PASSWORD, DB_USER, _fresh_database, _serve
from .test_restore_testing import JOB_ID, RESTORED, _as_list

REGION = "us-east-1"
#: The restored cluster AWS Backup names (AWS Backup guide, restore testing inferred
#: metadata; see tests/test_restore_testing.py RESTORED) and the instance a test adds.
CLUSTER = RESTORED["Aurora"].rsplit(":", 1)[1]
INSTANCE = validation.instance_name(CLUSTER)
#: The health check's function ARN (Lambda API reference, FunctionArn form).
HEALTH_CHECK_ARN = f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:dr-function-prod"
#: When the restore job started; the point in time it restored (a snapshot's time).
JOB_CREATED = datetime.now(UTC).replace(microsecond=0) - timedelta(minutes=20)
RESTORED_AT = JOB_CREATED - timedelta(hours=1)


@pytest.fixture(scope="module")
def template() -> Template:
    stack = new_stack()
    DrPlatform(stack, "Dr", environment_suffix="prod")
    return Template.from_stack(stack)


def _state_machine(template: Template) -> dict[str, Any]:
    (machine,) = resources_of(template, "AWS::StepFunctions::StateMachine").values()
    return machine["Properties"]  # type: ignore[no-any-return]


def _definition(template: Template) -> dict[str, Any]:
    """The ASL as CloudFormation resolves it in the test account (the health check's ARN
    standing for its ``Fn::GetAtt``)."""
    _, parts = _state_machine(template)["DefinitionString"]["Fn::Join"]
    text = "".join(
        p if isinstance(p, str)
        else PSEUDO_PARAMETERS[p["Ref"]] if "Ref" in p
        else HEALTH_CHECK_ARN if p["Fn::GetAtt"][0].startswith("DrFunction")
        else pytest.fail(f"unexpected token {p}")
        for p in parts
    )  # fmt: skip
    return json.loads(text)  # type: ignore[no-any-return]


# --- the definition --------------------------------------------------------------------------


def test_snapshot(template: Template, snapshot_json: Any) -> None:
    body = normalised(template)["Resources"]
    assert {k: v for k, v in body.items() if k.startswith("DrRestoreTestingAuroraProof")} == (
        snapshot_json
    )


def test_every_task_has_a_catch(template: Template) -> None:
    states = _definition(template)["States"]
    tasks = {name: s for name, s in states.items() if s["Type"] == "Task"}
    assert set(tasks) >= {
        "CreateInstance", "DescribeInstance", "DescribeCluster", "VerifyCanary",
        "DeleteInstance", "DescribeMembers", "PublishMeasurements", "ReportResult",
        "PublishFailure", "ReportFailure",
    }  # fmt: skip
    for name, task in tasks.items():
        assert [c["ErrorEquals"] for c in task["Catch"]] == [["States.ALL"]], name


def _reachable(states: dict[str, Any], start: str, *, avoid: str = "") -> set[str]:
    """The states reachable from ``start`` (through Next, Choices, Default and Catch)."""
    seen, todo = set(), [start]
    while todo:
        name = todo.pop()
        if name in seen or name == avoid:
            continue
        seen.add(name)
        state = states[name]
        todo += [state[k] for k in ("Next", "Default") if k in state]
        todo += [c["Next"] for c in state.get("Choices", []) + state.get("Catch", [])]
    return seen


def test_every_failure_after_the_instance_exists_passes_through_its_deletion(
    template: Template,
) -> None:
    """From every step's failure state: the instance is deleted (when created) before the
    failure is reported, and the execution fails; the report cannot be reached around it
    except from before the instance exists."""
    states = _definition(template)["States"]
    for step in ("DescribeInstance", "DescribeCluster", "VerifyCanary"):
        reachable = _reachable(states, f"{step}Failed")
        assert {"DeleteInstance", "ReportFailure", "Failed"} <= reachable, step
    # a recorded failure is reported as FAILED, never as SUCCESSFUL
    assert states["AnyFailure"]["Choices"] == [
        {"Variable": "$.failure", "IsPresent": True, "Next": "PublishFailure"}
    ]
    for found in ("InstanceFailed", "InstanceNotAvailable", "CanaryNotRead"):
        assert "DeleteInstance" in _reachable(states, found), found
    # the report is reachable without the deletion only from a failed CreateInstance
    around = _reachable(states, "CreateInstanceFailed", avoid="DeleteInstance")
    assert "ReportFailure" in around
    assert states["InstanceCreated"]["Choices"] == [
        {"Variable": "$.instance", "IsPresent": True, "Next": "DeleteInstance"}
    ]


def test_the_passing_path_deletes_the_instance_before_reporting(template: Template) -> None:
    states = _definition(template)["States"]
    assert states["CanaryRead"]["Choices"][0]["Next"] == "DeleteInstance"
    assert "ReportResult" not in _reachable(states, "CanaryRead", avoid="DeleteInstance")
    assert states["ReportResult"]["Parameters"]["ValidationStatus"] == "SUCCESSFUL"
    assert states["ReportFailure"]["Parameters"]["ValidationStatus"] == "FAILED"


def test_the_instance_is_the_stacks_class_private_and_tagged(template: Template) -> None:
    create = _definition(template)["States"]["CreateInstance"]
    writer = next(
        r["Properties"] for r in resources_of(template, "AWS::RDS::DBInstance").values()
        if r["Properties"].get("PromotionTier", 0) == 0
    )  # fmt: skip
    assert create["Resource"] == "arn:aws:states:::aws-sdk:rds:createDBInstance"
    assert create["Parameters"] == {
        "DbInstanceIdentifier.$": "$.instance_identifier",
        "DbClusterIdentifier.$": "$.cluster_identifier", "Engine": "aurora-postgresql",
        "DbInstanceClass": writer["DBInstanceClass"], "PubliclyAccessible": False,
        "Tags": [{"Key": "dr-constructs:restore-test", "Value.$": "$.restore_job_id"}],
    }  # fmt: skip


def test_the_deletion_waits_out_an_instance_still_being_created(template: Template) -> None:
    """RDS refuses to delete an instance in some states (InvalidDBInstanceState, botocore's RDS
    model; Step Functions names it Rds.InvalidDbInstanceStateException): the deletion is
    tried again for 10 minutes before it counts as failed."""
    delete = _definition(template)["States"]["DeleteInstance"]
    assert delete["Retry"] == [{
        "ErrorEquals": ["Rds.InvalidDbInstanceStateException"], "IntervalSeconds": 60,
        "MaxAttempts": 10, "BackoffRate": 1,
    }]  # fmt: skip


def test_waits_are_bounded_and_the_execution_ends_within_the_validation_window(
    template: Template,
) -> None:
    definition = _definition(template)
    states = definition["States"]
    assert states["WaitForInstance"]["Seconds"] == 60
    assert states["WaitForDeletion"]["Seconds"] == 30
    worst = 60 * proof.INSTANCE_POLLS + 30 * proof.DELETION_POLLS + 10 * 60 + 5 * 60
    assert worst < definition["TimeoutSeconds"] == 2 * 3600


def _statements(template: Template) -> dict[str, dict[str, Any]]:
    policies = resources_of(template, "AWS::IAM::ManagedPolicy")
    (policy,) = [
        p for k, p in policies.items() if k.startswith("DrRestoreTestingAuroraProofPolicy")
    ]
    return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def _pattern(resource: Any) -> str:
    """An IAM resource as a glob in the test account; a resource's Ref as ``<logical id>``."""
    if isinstance(resource, dict) and "Fn::Join" in resource:
        return "".join(_pattern(p) for p in resource["Fn::Join"][1])
    if isinstance(resource, dict):
        return str(PSEUDO_PARAMETERS.get(resource["Ref"], f"<{resource['Ref']}>"))
    return str(resource)


def test_the_role_acts_on_restored_copies_only(template: Template) -> None:
    """Each RDS statement matches AWS's documented names of restored clusters and the instance
    named after them, never the stack's own cluster or instances."""
    statements = _statements(template)
    own = (f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:dr-aurora-prod",
           f"arn:aws:rds:{REGION}:{ACCOUNT}:db:dr-aurora-prod-writer")  # fmt: skip
    restored_cluster = RESTORED["Aurora"]
    restored_instance = f"arn:aws:rds:{REGION}:{ACCOUNT}:db:{INSTANCE}"
    expected = {
        "AddInstanceToRestoredCluster": (restored_cluster, restored_instance),
        "FollowAndDeleteRestoredInstance": (restored_instance,),
        "DescribeRestoredCluster": (restored_cluster,),
    }
    for sid, arns in expected.items():
        patterns = [_pattern(r) for r in _as_list(statements[sid]["Resource"])]
        for arn in arns:
            assert any(fnmatch.fnmatchcase(arn, p) for p in patterns), (sid, arn)
        for arn in own:
            assert not any(fnmatch.fnmatchcase(arn, p) for p in patterns), (sid, arn)
    assert statements["PublishMeasurements"]["Condition"] == {
        "StringEquals": {"cloudwatch:namespace": METRIC_NAMESPACE}
    }
    (invoke,) = [statements["ReadTheCopyInTheVpc"]["Resource"]]
    assert invoke["Fn::GetAtt"][0].startswith("DrFunction")
    # the tasks add nothing inline: every permission is in the managed policy
    assert not [
        k for k in resources_of(template, "AWS::IAM::Policy") if k.startswith("DrRestoreTesting")
    ]
    # the validator may start this state machine and no other
    validator = next(
        p for k, p in resources_of(template, "AWS::IAM::ManagedPolicy").items()
        if k.startswith("DrRestoreTestingPolicy")
    )["Properties"]["PolicyDocument"]["Statement"]  # fmt: skip
    (start,) = [s for s in validator if s["Sid"] == "StartAuroraRestoreTest"]
    assert start["Action"] == "states:StartExecution"
    assert start["Resource"]["Ref"].startswith("DrRestoreTestingAuroraProofStateMachine")


def test_logs_and_traces(template: Template) -> None:
    machine = _state_machine(template)
    assert machine["TracingConfiguration"] == {"Enabled": True}
    assert machine["LoggingConfiguration"]["Level"] == "ALL"
    groups = resources_of(template, "AWS::Logs::LogGroup")
    (group,) = [g for k, g in groups.items() if k.startswith("DrRestoreTestingAuroraProofLogs")]
    assert "KmsKeyId" in group["Properties"]
    assert (
        group["Properties"]["LogGroupName"] == "/aws/vendedlogs/states/dr-restore-test-aurora-prod"
    )


# --- the runs: moto executes the definition -------------------------------------------------


class World:
    """moto's RDS, CloudWatch and Step Functions (executing), with the restored cluster, the
    health check running in-process against ``server``, and AWS Backup stubbed."""

    def __init__(self, definition: dict[str, Any], server: postgres_server.PostgresServer):
        self.server = server
        self.waited: list[int] = []
        self.reported: list[dict[str, Any]] = []
        self.token = "validator-stand-in-for-iam"  # PostgreSQL has no IAM: the token's stand-in
        self.rds = boto3.client("rds", region_name=REGION)
        self.cloudwatch = boto3.client("cloudwatch", region_name=REGION)
        self.sfn = boto3.client("stepfunctions", region_name=REGION)
        self.secrets = boto3.client("secretsmanager", region_name=REGION)
        self.rds.create_db_cluster(
            DBClusterIdentifier=CLUSTER, Engine="aurora-postgresql",
            MasterUsername="dradmin", MasterUserPassword="not-a-real-password-1",
        )  # fmt: skip
        self.endpoint = self.rds.describe_db_clusters(DBClusterIdentifier=CLUSTER)["DBClusters"][0][
            "Endpoint"
        ]
        self.machine = self.sfn.create_state_machine(
            name="dr-restore-test-aurora-prod", definition=json.dumps(definition),
            roleArn=f"arn:aws:iam::{ACCOUNT}:role/dr-restore-test-aurora-prod",
        )["stateMachineArn"]  # fmt: skip
        self.database = ""
        self.rds_error: Any = None  # a stubbed RDS client, when a test makes RDS fail
        self.backup = boto3.client("backup", region_name=REGION)
        self.stub = Stubber(self.backup)
        self.backup.meta.events.register(
            "provide-client-params.backup.PutRestoreValidationResult",
            lambda params, **_: self.reported.append(dict(params)),
        )

    def client(self, region: str, service: str, state_credentials: Any = None) -> Any:
        """What moto's AWS SDK tasks call: botocore clients that validate parameters against
        the service model (moto's own do not), AWS Backup stubbed."""
        if service == "backup":
            return self.backup
        if service == "rds" and self.rds_error is not None:
            return self.rds_error
        return boto3.client(service, region_name=region, config=Config(parameter_validation=True))

    def invoke(self, function_name: str, qualifier: Any, body: Any, *_: Any) -> bytes:
        """The health check's handler, as Lambda runs it, for the state machine's invoke."""
        assert function_name == HEALTH_CHECK_ARN
        secret = self.secrets.create_secret(
            Name=f"dr-aurora-prod-{len(self.reported)}-{time.monotonic_ns()}",
            SecretString=json.dumps({
                "engine": "postgres", "username": DB_USER, "password": DB_PASSWORD,
                "dbname": self.database, "port": 5432,
                # the stack's cluster: the same account and Region as the restored copy
                "host": "dr-aurora-prod." + self.endpoint.split(".", 1)[1],
            }),
        )["ARN"]  # fmt: skip
        world = self

        class Rds:  # IAM database authentication's token, for the validator
            def generate_db_auth_token(self, **request: Any) -> str:
                assert request == {"DBHostname": world.endpoint, "Port": 5432,
                                   "DBUsername": "dr_restore_validator"}  # fmt: skip
                return world.token

        report = hc.handler(
            json.loads(body), None,
            environ={"DB_SECRET_ARN": secret, "AWS_LAMBDA_FUNCTION_NAME": "dr-function-prod"},
            clients={"secretsmanager": self.secrets, "rds": Rds()},
            connect=self.connect,
        )  # fmt: skip
        return json.dumps(report).encode()

    def connect(self, **kwargs: Any) -> Any:
        """pg8000, the restored cluster's endpoint resolved to the local server."""
        assert kwargs["host"] == self.endpoint
        return pg8000.native.Connection(
            **{**kwargs, "host": self.server.host, "port": self.server.port}
        )

    def run(self, expected: str, *, job_created: datetime = JOB_CREATED) -> dict[str, Any]:
        """Start an execution as the validator does and wait for its end; AWS Backup must be
        told ``expected``."""
        self.stub.add_response(
            "put_restore_validation_result", {},
            {"RestoreJobId": JOB_ID, "ValidationStatus": expected,
             "ValidationStatusMessage": ANY},
        )  # fmt: skip
        request = {
            "restore_job_id": JOB_ID, "cluster_identifier": CLUSTER,
            "instance_identifier": INSTANCE, "restored_at": RESTORED_AT.isoformat(),
            "job_created_at": job_created.isoformat(), "restore_time_seconds": 720.0,
        }  # fmt: skip
        with self.stub:
            arn = self.sfn.start_execution(
                stateMachineArn=self.machine, name=JOB_ID, input=json.dumps(request)
            )["executionArn"]
            deadline = time.monotonic() + 60
            while (found := self.sfn.describe_execution(executionArn=arn))["status"] == "RUNNING":
                assert time.monotonic() < deadline, "the execution did not end"
                time.sleep(0.05)
            self.stub.assert_no_pending_responses()
        events = self.sfn.get_execution_history(executionArn=arn, maxResults=1000)["events"]
        found["path"] = [
            e["stateEnteredEventDetails"]["name"] for e in events
            if e["type"].endswith("StateEntered")
        ]  # fmt: skip
        return found

    def metrics(self) -> dict[str, float]:
        found = {}
        for name in ("RestoreTime", "DataAge", "TimeToUsable", "ValidationFailed"):
            points = self.cloudwatch.get_metric_statistics(
                Namespace=METRIC_NAMESPACE, MetricName=name,
                Dimensions=[{"Name": "ResourceType", "Value": "Aurora"}],
                StartTime=datetime.now(UTC) - timedelta(hours=1),
                EndTime=datetime.now(UTC) + timedelta(hours=1), Period=86400,
                Statistics=["Maximum"],
            )["Datapoints"]  # fmt: skip
            if points:
                found[name] = points[0]["Maximum"]
        return found

    def instance_gone(self) -> bool:
        return not self.rds.describe_db_instances(
            Filters=[{"Name": "db-cluster-id", "Values": [CLUSTER]}]
        )["DBInstances"]


@pytest.fixture(scope="module")
def pg() -> Iterator[postgres_server.PostgresServer]:
    yield from _serve(tls=True)


@pytest.fixture
def world(
    template: Template, pg: postgres_server.PostgresServer, monkeypatch: pytest.MonkeyPatch
) -> Iterator[World]:
    for name, value in {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing",
                        "AWS_DEFAULT_REGION": REGION}.items():  # fmt: skip
        monkeypatch.setenv(name, value)
    with mock_aws(config={"stepfunctions": {"execute_state_machine": True}}):
        world = World(_definition(template), pg)
        monkeypatch.setattr(aws_sdk_task, "boto_client_for", world.client)
        _with_step_functions_casing(monkeypatch)
        monkeypatch.setattr(LambdaBackend, "invoke", lambda _, *a: world.invoke(*a))
        monkeypatch.setattr(
            WaitFunction, "_wait_interval", lambda _, env, wait_seconds: world.waited.append(
                wait_seconds)
        )  # fmt: skip
        yield world


def _with_step_functions_casing(monkeypatch: pytest.MonkeyPatch) -> None:
    """AWS SDK tasks name parameters and results in the PascalCase of the SDK's member names
    (Step Functions guide, "API naming conventions"; for RDS ``DbInstanceIdentifier`` and
    ``DbInstances[0].DbInstanceStatus``, as public definitions use them). moto's interpreter
    has the translation to and from botocore's names (``_to_boto_request``,
    ``_from_boto_response``) but leaves it unwired for AWS SDK tasks; wired here as its
    upstream interpreter wires it, so the definition runs with the names AWS uses."""
    sdk = aws_sdk_task.StateTaskServiceAwsSdk

    def operation(task: Any) -> Any:
        model = botocore.session.get_session().get_service_model(task._get_boto_service_name())
        return model.operation_model(
            model.operation_names[
                [n.lower() for n in model.operation_names].index(task.resource.api_action.lower())
            ]
        )

    def parameters(task: Any, parameters: dict[str, Any], *_: Any) -> None:
        StateTaskService._to_boto_request(task, parameters, operation(task).input_shape)

    def response(task: Any, response: Any, *_: Any) -> None:
        shape = operation(task).output_shape
        if shape is not None:
            StateTaskService._from_boto_response(task, response, shape)

    monkeypatch.setattr(sdk, "_normalise_parameters", parameters)
    monkeypatch.setattr(sdk, "_normalise_response", response)


def _copy_with_heartbeat(world: World, *, keep_row: bool = True) -> datetime | None:
    """A database in which the health check wrote its heartbeat (the restored copy's data),
    and the validator role's stand-in password; without ``keep_row``, the row is deleted."""
    database = _fresh_database(world.server)
    world.database = database
    secret = world.secrets.create_secret(
        Name=f"writer-{database}", SecretString=json.dumps({
            "engine": "postgres", "host": world.server.host, "port": world.server.port,
            "username": DB_USER, "password": DB_PASSWORD, "dbname": database,
        }),
    )["ARN"]  # fmt: skip
    report = hc.handler({}, None, environ={"DB_SECRET_ARN": secret,
                        "AWS_LAMBDA_FUNCTION_NAME": "dr-function-prod"},
                        clients={"secretsmanager": world.secrets, "dynamodb": object(),
                                 "s3": object()})  # fmt: skip
    assert report["checks"]["database"]["ok"], report
    admin = world.server.admin_connection()
    try:
        admin.run(f"ALTER ROLE {hc.VALIDATOR_ROLE} PASSWORD 'validator-stand-in-for-iam'")
    finally:
        admin.close()
    written = datetime.fromisoformat(report["checks"]["database"]["heartbeat"]["written_at"])
    if not keep_row:
        owner = pg8000.native.Connection(
            user=DB_USER, password=DB_PASSWORD, host=world.server.host,
            port=world.server.port, database=database,
            ssl_context=hc.build_ssl_context(None),
        )  # fmt: skip
        try:
            owner.run("DELETE FROM dr_constructs.heartbeat")
        finally:
            owner.close()
        return None
    return written


PASSING_PATH = [
    "CreateInstance", "StartInstancePolls", "WaitForInstance", "DescribeInstance",
    "CountInstancePolls", "InstanceAvailable", "DescribeCluster", "VerifyCanary", "CanaryRead",
    "DeleteInstance", "StartDeletionPolls", "WaitForDeletion", "DescribeMembers",
    "CountDeletionPolls", "InstanceGone", "AnyFailure", "PublishMeasurements", "ReportResult",
    "Passed",
]  # fmt: skip
FAILING_TAIL = [
    "InstanceCreated", "DeleteInstance", "StartDeletionPolls", "WaitForDeletion",
    "DescribeMembers", "CountDeletionPolls", "InstanceGone", "AnyFailure", "PublishFailure",
    "ReportFailure", "Failed",
]  # fmt: skip


@pytest.mark.slow
def test_a_copy_holding_the_canary_passes_with_its_data_age_and_time_to_usable(
    world: World,
) -> None:
    written = _copy_with_heartbeat(world)
    assert written is not None
    started = datetime.now(UTC)
    execution = world.run("SUCCESSFUL")
    assert execution["status"] == "SUCCEEDED", execution
    assert execution["path"] == PASSING_PATH
    assert world.waited == [60, 30]
    (reported,) = world.reported
    assert reported["ValidationStatusMessage"] == (
        f"the restored cluster {CLUSTER} holds the heartbeat row of "
        f"{written.isoformat().replace('+00:00', 'Z')}"
    )
    measured = world.metrics()
    assert measured.pop("RestoreTime") == 720.0 and measured.pop("ValidationFailed") == 0.0
    # the row was written just now, an hour after the point restored: no data age
    assert measured.pop("DataAge") == 0.0
    usable = measured.pop("TimeToUsable")
    assert (started - JOB_CREATED).total_seconds() <= usable
    assert usable <= (datetime.now(UTC) - JOB_CREATED).total_seconds()
    assert world.instance_gone()


@pytest.mark.slow
def test_the_data_age_is_the_point_restored_minus_the_rows_time(world: World) -> None:
    written = _copy_with_heartbeat(world)
    assert written is not None
    admin = world.server.admin_connection()
    try:  # the copy's row, as it was at a snapshot 7 minutes 30 s after it was written
        admin.run(f"ALTER ROLE {hc.VALIDATOR_ROLE} PASSWORD 'validator-stand-in-for-iam'")
    finally:
        admin.close()
    owner = pg8000.native.Connection(
        user=DB_USER, password=DB_PASSWORD, host=world.server.host, port=world.server.port,
        database=world.database, ssl_context=hc.build_ssl_context(None),
    )  # fmt: skip
    try:
        owner.run("UPDATE dr_constructs.heartbeat SET checked_at = :at",
                  at=RESTORED_AT - timedelta(minutes=7, seconds=30))  # fmt: skip
    finally:
        owner.close()
    assert world.run("SUCCESSFUL")["status"] == "SUCCEEDED"
    assert world.metrics()["DataAge"] == 450.0


@pytest.mark.slow
def test_a_copy_without_the_row_fails_naming_the_step_and_deletes_the_instance(
    world: World,
) -> None:
    _copy_with_heartbeat(world, keep_row=False)
    execution = world.run("FAILED")
    assert execution["status"] == "FAILED"
    assert execution["path"] == [*PASSING_PATH[:9], "CanaryNotRead", "CanaryNotReadFailed",
                                 *FAILING_TAIL]  # fmt: skip
    (reported,) = world.reported
    assert reported["ValidationStatusMessage"] == (
        "VerifyCanary failed: CanaryNotRead: HealthCheckError: dr_constructs.heartbeat has no "
        "row in the restored copy"
    )
    assert execution["cause"] == reported["ValidationStatusMessage"]
    assert execution["error"] == "RestoreTestFailed"
    assert world.metrics() == {"RestoreTime": 720.0, "ValidationFailed": 1.0}
    assert world.instance_gone()


@pytest.mark.slow
def test_a_wrong_credential_fails_naming_the_step_and_deletes_the_instance(
    world: World,
) -> None:
    _copy_with_heartbeat(world)
    world.token = "not-the-validators-token"
    execution = world.run("FAILED")
    assert execution["status"] == "FAILED"
    (reported,) = world.reported
    message = reported["ValidationStatusMessage"]
    assert message.startswith("VerifyCanary failed: CanaryNotRead: ")
    assert "28P01" in message  # invalid_password, PostgreSQL's error code
    assert "DeleteInstance" in execution["path"]
    assert world.metrics()["ValidationFailed"] == 1.0
    assert world.instance_gone()


@pytest.fixture
def stuck(monkeypatch: pytest.MonkeyPatch) -> Callable[[str], None]:
    """Instances moto creates stay in ``status`` (moto makes them available at once)."""

    def stay(status: str) -> None:
        create = RDSBackend.create_db_instance

        def creating(self: RDSBackend, db_kwargs: dict[str, Any]) -> Any:
            instance = create(self, db_kwargs)
            instance.status = status
            return instance

        monkeypatch.setattr(RDSBackend, "create_db_instance", creating)

    return stay


@pytest.mark.slow
def test_an_instance_that_never_becomes_available_fails_after_the_bounded_polls(
    world: World, stuck: Callable[[str], None]
) -> None:
    stuck("creating")
    execution = world.run("FAILED")
    assert execution["status"] == "FAILED"
    polls = execution["path"].count("DescribeInstance")
    assert polls == proof.INSTANCE_POLLS
    assert world.waited == [60] * proof.INSTANCE_POLLS + [30]
    (reported,) = world.reported
    assert reported["ValidationStatusMessage"] == (
        "WaitForInstance failed: InstanceNotAvailable: the instance is still creating after "
        f"{proof.INSTANCE_POLLS} polls"
    )
    assert "VerifyCanary" not in execution["path"]
    assert execution["path"][-len(FAILING_TAIL) :] == FAILING_TAIL
    assert world.instance_gone()


@pytest.mark.slow
def test_an_instance_in_a_failed_status_fails_at_once(
    world: World, stuck: Callable[[str], None]
) -> None:
    stuck("incompatible-parameters")
    execution = world.run("FAILED")
    assert execution["path"].count("DescribeInstance") == 1
    (reported,) = world.reported
    assert reported["ValidationStatusMessage"] == (
        "WaitForInstance failed: InstanceFailed: the instance is incompatible-parameters"
    )
    assert world.instance_gone()


@pytest.mark.slow
def test_a_failed_create_reports_without_a_deletion(world: World) -> None:
    """RDS refuses the instance (here: the restored cluster is gone; the error as botocore's
    RDS model has it): nothing was created, so nothing is deleted, and FAILED names the step."""
    rds = boto3.client("rds", region_name=REGION)
    stub = Stubber(rds)
    stub.add_client_error(
        "create_db_instance", service_error_code="DBClusterNotFoundFault",
        service_message=f"DBCluster {CLUSTER} not found.", http_status_code=404,
        response_meta={"RequestId": "7c1f8e38-1d7b-4d4b-9f5e-0c6a0c7f5a01"},
    )  # fmt: skip
    stub.activate()
    world.rds_error = rds
    execution = world.run("FAILED")
    assert execution["path"] == [
        "CreateInstance",
        "CreateInstanceFailed",
        "InstanceCreated",
        "PublishFailure",
        "ReportFailure",
        "Failed",
    ]
    (reported,) = world.reported
    assert reported["ValidationStatusMessage"].startswith("CreateInstance failed: ")
    assert f"DBCluster {CLUSTER} not found." in reported["ValidationStatusMessage"]
    stub.assert_no_pending_responses()


@pytest.mark.slow
@pytest.mark.parametrize(("hours_ago", "state"), [(5, "ALARM"), (1, "OK")])
def test_the_rto_alarm_holds_the_time_to_usable_against_the_rto(
    world: World, template: Template, hours_ago: int, state: str
) -> None:
    """The synthesized RestoreTimeAboveRto alarm (corruption RTO, 4 hours), evaluated as
    CloudWatch does over what a run published: the restore job alone took 12 minutes, but the
    copy was usable only ``hours_ago`` hours after the job started."""
    _copy_with_heartbeat(world)
    world.run("SUCCESSFUL", job_created=datetime.now(UTC) - timedelta(hours=hours_ago))
    assert world.metrics()["RestoreTime"] == 720.0
    (alarm,) = [a["Properties"] for k, a in resources_of(template, "AWS::CloudWatch::Alarm")
                .items() if "RestoreTimeAboveRto" in k]  # fmt: skip
    assert alarm["Threshold"] == 4 * 3600
    now = datetime.now(UTC) + timedelta(seconds=1)
    assert alarm_state(alarm, world.cloudwatch, now) == state

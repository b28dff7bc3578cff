"""DrBackupVault under the DESTROY opt-in: deleting the stack after backups have run leaves no
vault behind.

The deletion is replayed against a moto server on 127.0.0.1. moto 5.2.5's AWS Backup has vaults,
plans, tags and Vault Lock, but **no recovery points and no backup jobs**:
ListRecoveryPointsByBackupVault, DeleteRecoveryPoint and ListBackupJobs answer 404 there, and its
DeleteBackupVault deletes a vault whatever it holds. This module adds those three operations to
the server it runs, over a recovery-point store of its own (moto parses each request from
botocore's service model and serializes each answer from it), and makes DeleteBackupVault refuse
a vault that holds recovery points, as AWS documents ("A vault can be deleted only if it is
empty", botocore ``backup`` DeleteBackupVault). Every request the handler sends to those
operations and every answer it gets is checked against botocore's model with the validator
botocore's Stubber uses (``botocore.validate``).

AWS's deletion is asynchronous: a point whose deletion has started stays listed with status
``DELETING`` until AWS has finished (botocore ``RecoveryPointStatus``); here it goes after the
handler has listed it twice more.

Recovery point ARNs, in the forms AWS documents or shows (the handler passes them back as
listed; the forms matter for the request path, which holds ``:`` and ``/``):
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import boto3
import botocore.session
import pytest
import requests
from aws_cdk import App, Environment, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from botocore.exceptions import ClientError
from botocore.validate import ParamValidator, validate_parameters
from moto.backup import urls as backup_urls
from moto.backup.exceptions import InvalidRequestException, ResourceNotFoundException
from moto.backup.models import BackupBackend
from moto.backup.responses import BackupResponse
from moto.core.exceptions import JsonRESTError
from moto.core.responses import ActionResult, EmptyResult
from moto.server import ThreadedMotoServer

from dr_constructs import DrBackupVault
from dr_constructs.deletion import DELETE_WITH_STACK_TAG

from .conftest import ACCOUNT, REGION
from .custom_resources import run_delete

pytestmark = pytest.mark.slow

VAULT = "dr-vault-prod"
#: An AWS Backup recovery point (S3 snapshot and continuous points, DynamoDB with AWS Backup's
#: advanced features): botocore ``backup`` model, RecoveryPointByBackupVault.RecoveryPointArn.
BACKUP_POINT = (
    f"arn:aws:backup:{REGION}:{ACCOUNT}:recovery-point:1EB3B5E7-9EB0-435A-A80B-108B488B0D45"
)
#: An Aurora snapshot taken by AWS Backup: AWS Backup guide, "Amazon EventBridge events",
#: Recovery Point State Change (COMPLETED), resourceType Aurora.
AURORA_SNAPSHOT = (
    f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster-snapshot:"
    "awsbackup:job-4ece7121-d60e-00c2-5c3b-49960142d03b"
)
#: A DynamoDB backup (without advanced features): the table-backup ARN form of the Service
#: Authorization Reference for DynamoDB (``table/${TableName}/backup/${BackupName}``).
DYNAMODB_BACKUP = (
    f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/dr-table-prod/backup/01489173575360-b308cd7d"
)
#: A continuous recovery point: AWS documents no form beyond AWS Backup's recovery-point ARN;
#: public code shows ``recovery-point:continuous:<id>`` (accepted too).
CONTINUOUS_POINT = (
    f"arn:aws:backup:{REGION}:{ACCOUNT}:recovery-point:continuous:cluster-abcdefghijklmnop"
)

MODEL = botocore.session.get_session().get_service_model("backup")
#: The operations this module adds to moto's AWS Backup.
ADDED = ("ListRecoveryPointsByBackupVault", "DeleteRecoveryPoint", "ListBackupJobs")


@dataclass
class Point:
    arn: str
    resource_type: str
    resource_arn: str
    status: str = "COMPLETED"
    #: listings left until AWS has finished deleting it (once DELETING)
    listings_left: int = 2
    #: DeleteRecoveryPoint answers InvalidResourceStateException this many more times
    busy: int = 0

    def listed(self) -> dict[str, Any]:
        return {
            "RecoveryPointArn": self.arn,
            "BackupVaultName": VAULT,
            "BackupVaultArn": f"arn:aws:backup:{REGION}:{ACCOUNT}:backup-vault:{VAULT}",
            "ResourceArn": self.resource_arn,
            "ResourceType": self.resource_type,
            "Status": self.status,
            "CreationDate": datetime(2026, 12, 1, 10, tzinfo=UTC),
        }


@dataclass
class Store:
    """What the vault holds in this test world, and what the handler asked for."""

    points: dict[str, Point] = field(default_factory=dict)
    jobs: list[dict[str, Any]] = field(default_factory=list)
    calls: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    answers: list[tuple[str, dict[str, Any]]] = field(default_factory=list)
    #: run after each listing of the vault's points (time passing in AWS)
    on_list: list[Callable[[Store], None]] = field(default_factory=list)

    def add(self, *points: Point) -> None:
        self.points.update({p.arn: p for p in points})


STORE = Store()


def _params(response: BackupResponse, operation: str) -> dict[str, Any]:
    """The request as moto parses it from botocore's model, checked against the model."""
    response._get_action()  # matches the route: fills uri_match from the path
    response.parse_parameters(response.normalized_request)
    params = {k: v for k, v in dict(response.params).items() if v is not None}
    validate_parameters(params, MODEL.operation_model(operation).input_shape)
    STORE.calls.append((operation, params))
    return params


def _answer(operation: str, answer: dict[str, Any]) -> ActionResult:
    report = ParamValidator().validate(answer, MODEL.operation_model(operation).output_shape)
    assert not report.has_errors(), report.generate_report()
    STORE.answers.append((operation, answer))
    return ActionResult(answer)


def list_recovery_points_by_backup_vault(self: BackupResponse) -> ActionResult:
    params = _params(self, "ListRecoveryPointsByBackupVault")
    self.backup_backend.describe_backup_vault(params["BackupVaultName"])  # 404 if gone
    listed = [p.listed() for p in STORE.points.values()]
    for point in list(STORE.points.values()):
        if point.status == "DELETING":
            point.listings_left -= 1
            if point.listings_left < 0:
                del STORE.points[point.arn]
    for hook in list(STORE.on_list):
        hook(STORE)
    # two pages, as the API pages its answers
    token = params.get("NextToken")
    page, rest = (
        (listed[1:], None) if token else (listed[:1], "page-2" if len(listed) > 1 else None)
    )
    return _answer(
        "ListRecoveryPointsByBackupVault",
        {"RecoveryPoints": page, **({"NextToken": rest} if rest else {})},
    )


def delete_recovery_point(self: BackupResponse) -> EmptyResult:
    params = _params(self, "DeleteRecoveryPoint")
    point = STORE.points.get(params["RecoveryPointArn"])
    if point is None:
        raise ResourceNotFoundException(params["RecoveryPointArn"])
    if point.busy or point.status in ("DELETING", "CREATING"):
        point.busy = max(point.busy - 1, 0)
        raise JsonRESTError(
            "InvalidResourceStateException",
            "AWS Backup is already performing an action on this recovery point",
        )
    point.status = "DELETING"
    return EmptyResult()


def list_backup_jobs(self: BackupResponse) -> ActionResult:
    params = _params(self, "ListBackupJobs")
    jobs = [
        j for j in STORE.jobs
        if j["BackupVaultName"] == params.get("ByBackupVaultName")
        and j["State"] == params.get("ByState")
    ]  # fmt: skip
    return _answer("ListBackupJobs", {"BackupJobs": jobs})


def list_tags(self: BackupResponse) -> ActionResult:
    """moto reads the ARN from the path's second-last part (botocore sends a trailing "/");
    the JavaScript SDK sends none: read it as the model says instead."""
    params = _params(self, "ListTags")
    tags = self.backup_backend.list_tags(resource_arn=params["ResourceArn"])
    return _answer("ListTags", {"Tags": tags})


def delete_backup_vault(self: BackupBackend, backup_vault_name: str) -> None:
    """AWS: a vault can be deleted only if it is empty."""
    if backup_vault_name == VAULT and STORE.points:
        raise InvalidRequestException(
            f"Backup vault cannot be deleted (contains {len(STORE.points)} recovery points)"
        )
    return _moto_delete_backup_vault(self, backup_vault_name)


_moto_delete_backup_vault = BackupBackend.delete_backup_vault


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    patch = pytest.MonkeyPatch()
    paths = {
        "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/$": BackupResponse.dispatch,
        "{0}/backup-vaults/(?P<name>[^/]+)/recovery-points/(?P<arn>.+)$": BackupResponse.dispatch,
        "{0}/backup-jobs/$": BackupResponse.dispatch,
    }
    for path, handler in paths.items():
        patch.setitem(backup_urls.url_paths, path, handler)
    for function in (
        list_recovery_points_by_backup_vault,
        delete_recovery_point,
        list_backup_jobs,
        list_tags,
    ):
        patch.setattr(BackupResponse, function.__name__, function, raising=False)
    patch.setattr(BackupBackend, "delete_backup_vault", delete_backup_vault)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()
    patch.undo()


@pytest.fixture
def client(endpoint: str) -> Any:
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
    STORE.__init__()  # type: ignore[misc]
    return boto3.client(
        "backup", endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip


# --- the stack -----------------------------------------------------------------------------------


@dataclass
class Synthesized:
    assembly: Path
    template: dict[str, Any]

    @property
    def resources(self) -> dict[str, Any]:
        return self.template["Resources"]  # type: ignore[no-any-return]

    def of_type(self, type_: str) -> list[str]:
        return [k for k, r in self.resources.items() if r["Type"] == type_]


def _synthesize(outdir: Path, **props: Any) -> Synthesized:
    app = App(outdir=str(outdir), analytics_reporting=False)
    stack = Stack(app, "Test", env=Environment(account=ACCOUNT, region=REGION))
    vault = DrBackupVault(stack, "Backup", environment_suffix="prod", **props)
    table = dynamodb.Table(
        stack,
        "Table",
        partition_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
    )
    vault.protect(table)
    app.synth()
    return Synthesized(outdir, json.loads((outdir / "Test.template.json").read_text()))


@pytest.fixture(scope="module")
def destroy(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return _synthesize(tmp_path_factory.mktemp("destroy"), removal_policy=RemovalPolicy.DESTROY)


def deploy_vault(synth: Synthesized, client: Any) -> None:
    """Create the vault as the template defines it (name, tags)."""
    (vault,) = synth.of_type("AWS::Backup::BackupVault")
    props = synth.resources[vault]["Properties"]
    client.create_backup_vault(
        BackupVaultName=props["BackupVaultName"], BackupVaultTags=props.get("BackupVaultTags", {})
    )


def fill(store: Store) -> None:
    """A vault a day after deploy: a recovery point of each kind the stack's plan makes."""
    table = f"arn:aws:dynamodb:{REGION}:{ACCOUNT}:table/dr-table-prod"
    cluster = f"arn:aws:rds:{REGION}:{ACCOUNT}:cluster:dr-aurora-prod"
    bucket = "arn:aws:s3:::dr-data-bucket"
    store.add(
        Point(AURORA_SNAPSHOT, "Aurora", cluster),
        Point(CONTINUOUS_POINT, "Aurora", cluster),
        Point(BACKUP_POINT, "S3", bucket),
        Point(BACKUP_POINT.replace("1EB3B5E7", "2FC4C6F8"), "S3", bucket, status="EXPIRED"),
        Point(DYNAMODB_BACKUP, "DynamoDB", table),
        Point(
            DYNAMODB_BACKUP.replace("b308cd7d", "c419de8e"), "DynamoDB", table, status="DELETING"
        ),
        Point(AURORA_SNAPSHOT.replace("4ece7121", "5fdf8232"), "Aurora", cluster, busy=1),
    )


def delete_stack(synth: Synthesized, client: Any, endpoint: str) -> str | None:
    """Delete what the template holds of AWS Backup in CloudFormation's order (a resource before
    those it depends on: selections, plan, the custom resource, the vault); the first failure."""
    order = [
        *synth.of_type("AWS::Backup::BackupSelection"),
        *synth.of_type("AWS::Backup::BackupPlan"),
        *synth.of_type("Custom::DrVaultDeletion"),
        *synth.of_type("AWS::Backup::BackupVault"),
    ]
    for logical_id in order:
        resource = synth.resources[logical_id]
        if resource["Type"] == "Custom::DrVaultDeletion":
            run = empty_vault(synth, endpoint)
            if run.returncode != 0:
                return f"{logical_id}: {run.stderr.strip()}"
        elif resource["Type"] == "AWS::Backup::BackupVault":
            try:
                client.delete_backup_vault(BackupVaultName=VAULT)
            except ClientError as error:
                return f"{logical_id}: {error.response['Error']['Code']}"
    return None


def empty_vault(
    synth: Synthesized, endpoint: str, *, remaining_ms: int = 900_000
) -> subprocess.CompletedProcess[str]:
    """Run the vault-emptying handler for CloudFormation's Delete request."""
    (deletion,) = synth.of_type("Custom::DrVaultDeletion")
    return run_delete(
        synth.assembly, synth.template, deletion, {"BackupVaultName": VAULT},
        endpoint=endpoint, region=REGION, remaining_ms=remaining_ms,
    )  # fmt: skip


def vaults(client: Any) -> list[str]:
    return [v["BackupVaultName"] for v in client.list_backup_vaults()["BackupVaultList"]]


# --- the defect ---------------------------------------------------------------------------------


def test_without_emptying_the_vault_delete_fails(
    client: Any, endpoint: str, tmp_path: Path
) -> None:
    """What happened before: no custom resource, CloudFormation's DeleteBackupVault refused."""
    retain = _synthesize(tmp_path, removal_policy=RemovalPolicy.DESTROY)
    for logical_id in retain.of_type("Custom::DrVaultDeletion"):
        del retain.template["Resources"][logical_id]  # the old template had none
    deploy_vault(retain, client)
    fill(STORE)
    failure = delete_stack(retain, client, endpoint)
    assert failure is not None and failure.endswith(": InvalidRequestException")
    assert vaults(client) == [VAULT]


# --- DrBackupVault ------------------------------------------------------------------------------


def test_the_plan_and_selections_go_before_the_vault_is_emptied(destroy: Synthesized) -> None:
    (deletion,) = destroy.of_type("Custom::DrVaultDeletion")
    for logical_id in (
        *destroy.of_type("AWS::Backup::BackupPlan"),
        *destroy.of_type("AWS::Backup::BackupSelection"),
    ):
        assert deletion in destroy.resources[logical_id]["DependsOn"], logical_id
    (vault,) = destroy.of_type("AWS::Backup::BackupVault")
    assert destroy.resources[deletion]["Properties"]["BackupVaultName"] == {
        "Fn::GetAtt": [vault, "BackupVaultName"]
    }
    assert destroy.resources[vault]["Properties"]["BackupVaultTags"] == {
        DELETE_WITH_STACK_TAG: "true"
    }


def test_every_recovery_point_is_deleted_and_the_vault_goes(
    destroy: Synthesized, client: Any, endpoint: str
) -> None:
    deploy_vault(destroy, client)
    fill(STORE)
    kinds = {p.arn.split(":")[2] for p in STORE.points.values()}
    assert kinds == {"rds", "backup", "dynamodb"}

    assert delete_stack(destroy, client, endpoint) is None

    assert STORE.points == {} and vaults(client) == []
    deleted = {
        params["RecoveryPointArn"] for op, params in STORE.calls if op == "DeleteRecoveryPoint"
    }
    assert CONTINUOUS_POINT in deleted and AURORA_SNAPSHOT in deleted and DYNAMODB_BACKUP in deleted
    # the point AWS was already deleting is waited for, not deleted again
    assert DYNAMODB_BACKUP.replace("b308", "c419") not in deleted
    # every request and every answer of the added operations fit botocore's model
    assert {op for op, _ in STORE.calls} == {*ADDED, "ListTags"}
    assert all(p["BackupVaultName"] == VAULT for op, p in STORE.calls if op in ADDED[:2])


def test_a_point_that_appears_while_it_works_is_deleted_too(
    destroy: Synthesized, client: Any, endpoint: str
) -> None:
    """A backup job started before the plan was deleted ends while the handler works: its point
    lands after the first listing; the handler waits for the job and deletes its point."""
    deploy_vault(destroy, client)
    fill(STORE)
    late = Point(BACKUP_POINT.replace("1EB3B5E7", "3AD5D7A9"), "DynamoDB", "arn:late-table")
    STORE.jobs.append(
        {"BackupJobId": "job-1", "BackupVaultName": VAULT, "State": "RUNNING",
         "ResourceType": "DynamoDB"}
    )  # fmt: skip
    listings = []

    def job_ends(store: Store) -> None:
        listings.append(1)
        if len(listings) == 4:  # a few rounds in: the job ends with a new point
            store.jobs.clear()
            store.add(late)

    STORE.on_list.append(job_ends)

    assert delete_stack(destroy, client, endpoint) is None

    assert vaults(client) == [] and STORE.points == {}
    deleted = [
        params["RecoveryPointArn"] for op, params in STORE.calls if op == "DeleteRecoveryPoint"
    ]
    assert late.arn in deleted
    job_checks = [p for op, p in STORE.calls if op == "ListBackupJobs"]
    assert {p["ByState"] for p in job_checks} == {"CREATED", "PENDING", "RUNNING"}


def test_gives_up_before_the_lambda_times_out_while_points_remain(
    destroy: Synthesized, client: Any, endpoint: str
) -> None:
    deploy_vault(destroy, client)
    fill(STORE)
    for point in STORE.points.values():
        point.listings_left = 10**6  # AWS never finishes

    run = empty_vault(destroy, endpoint, remaining_ms=60_000)

    assert run.returncode == 1
    assert f"{VAULT} still holds 7 recovery points" in run.stderr
    assert "delete the stack again to resume" in run.stderr
    assert vaults(client) == [VAULT]  # DELETE_FAILED: a second destroy resumes


def test_a_vault_without_the_opt_in_tag_is_kept(
    destroy: Synthesized, client: Any, endpoint: str
) -> None:
    """An update that drops the DESTROY opt-in removes the tag, then the custom resource."""
    deploy_vault(destroy, client)
    fill(STORE)
    arn = client.describe_backup_vault(BackupVaultName=VAULT)["BackupVaultArn"]
    client.untag_resource(ResourceArn=arn, TagKeyList=[DELETE_WITH_STACK_TAG])
    run = empty_vault(destroy, endpoint)

    assert run.returncode == 0, run.stderr
    assert "not tagged" in run.stdout
    assert len(STORE.points) == 7 and not any(op == "DeleteRecoveryPoint" for op, _ in STORE.calls)


def test_a_locked_vault_is_kept(destroy: Synthesized, client: Any, endpoint: str) -> None:
    deploy_vault(destroy, client)
    fill(STORE)
    client.put_backup_vault_lock_configuration(BackupVaultName=VAULT, MinRetentionDays=1)
    run = empty_vault(destroy, endpoint)

    assert run.returncode == 0, run.stderr
    assert "is locked (Vault Lock)" in run.stdout
    assert len(STORE.points) == 7


def test_a_vault_already_gone_counts_as_deleted(
    destroy: Synthesized, client: Any, endpoint: str
) -> None:
    run = empty_vault(destroy, endpoint)
    assert run.returncode == 0, run.stderr
    assert "is already gone" in run.stdout

"""DrBucket under the DESTROY opt-in: deleting the stack leaves no bucket behind.

The deletion is replayed against a moto S3 server on 127.0.0.1, whose S3 writes a server
access-log object into the log bucket for each request to a logged bucket, at once:

* both buckets are created as the synthesized template defines them (versioning, tags,
  policies, the data bucket's logging into the log bucket), with objects in them;
* the template's resources are then deleted in an order CloudFormation may choose (each order
  that the template's dependencies allow), the way CloudFormation deletes them: a bucket with
  DeleteBucket (a bucket already gone counts as deleted), a bucket policy with
  DeleteBucketPolicy, a custom resource by running the Lambda code from the cloud assembly
  (CDK's auto-delete handler, and ours) under node with the AWS SDK the Lambda runtime ships.

moto's CloudFormation cannot run custom resources without Docker, hence the replay.
"""

from __future__ import annotations

import json
import re
import subprocess
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import boto3
import pytest
import requests
from aws_cdk import App, Environment, RemovalPolicy, Stack
from aws_cdk import aws_s3 as s3
from botocore.exceptions import ClientError
from moto.s3.models import S3Backend
from moto.server import ThreadedMotoServer

from dr_constructs import DrBucket
from dr_constructs.storage import BUCKET_DELETION_TAG

from .conftest import ACCOUNT, REGION
from .custom_resources import run_delete

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parents[1]
#: Deleted by CloudFormation with an S3 call, or by a Lambda: the resources the replay runs.
_REPLAYED = ("AWS::S3::Bucket", "AWS::S3::BucketPolicy")


class OldDrBucket(Stack):
    """What DrBucket did before: CDK's auto_delete_objects on both buckets (aws-cdk 21776)."""

    def __init__(self, app: App) -> None:
        super().__init__(app, "Old", env=Environment(account=ACCOUNT, region=REGION))
        self.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
        logs = s3.Bucket(
            self, "AccessLogs", versioned=True, enforce_ssl=True,
            removal_policy=RemovalPolicy.DESTROY, auto_delete_objects=True,
        )  # fmt: skip
        s3.Bucket(
            self, "Bucket", versioned=True, enforce_ssl=True,
            server_access_logs_bucket=logs, server_access_logs_prefix="data-bucket/",
            removal_policy=RemovalPolicy.DESTROY, auto_delete_objects=True,
        )  # fmt: skip


class Synthesized:
    def __init__(self, build: Callable[[App], Stack], outdir: Path) -> None:
        app = App(outdir=str(outdir), analytics_reporting=False)
        stack = build(app)
        app.synth()
        self.assembly = outdir
        self.template: dict[str, Any] = json.loads(
            (outdir / f"{stack.artifact_id}.template.json").read_text()
        )
        self.resources: dict[str, dict[str, Any]] = self.template["Resources"]
        #: physical names the replay gives the buckets
        self.names = {k: k.lower() for k, r in self.resources.items() if _is(r, "Bucket")}

    def logical_id(self, prefix: str, type_: str) -> str:
        (found,) = (k for k, r in self.resources.items() if k.startswith(prefix) and _is(r, type_))
        return found

    def depends_on(self, logical_id: str) -> set[str]:
        """Every resource ``logical_id`` depends on, directly or not (DependsOn, Ref, GetAtt)."""
        seen: set[str] = set()
        todo = [logical_id]
        while todo:
            for dep in _direct_dependencies(self.resources[todo.pop()], self.resources):
                if dep not in seen:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    def deletion_orders(self) -> list[list[str]]:
        """Every order in which CloudFormation may delete the replayed resources: a resource
        goes before everything it depends on."""
        replayed = [k for k, r in self.resources.items() if _replayed(r)]
        after = {k: self.depends_on(k) & set(replayed) for k in replayed}
        orders: list[list[str]] = []

        def extend(order: list[str], left: set[str]) -> None:
            if not left:
                orders.append(order)
            for k in sorted(left):
                # k may go now if nothing still left depends on it
                if not any(k in after[other] for other in left - {k}):
                    extend([*order, k], left - {k})

        extend([], set(replayed))
        return orders

    def resolve(self, value: Any) -> Any:
        """``value`` with the intrinsic functions CDK wrote resolved for the replay."""
        if isinstance(value, list):
            return [self.resolve(v) for v in value]
        if not isinstance(value, dict):
            return value
        if "Ref" in value:
            return self.names.get(value["Ref"]) or _PSEUDO.get(value["Ref"], value["Ref"])
        if "Fn::GetAtt" in value:
            target, _ = value["Fn::GetAtt"]
            if target in self.names:
                return f"arn:aws:s3:::{self.names[target]}"
            return f"arn:aws:iam::{ACCOUNT}:role/{target}"
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(self.resolve(p) for p in parts)
        if "Fn::Sub" in value:
            return re.sub(r"\$\{([^}]+)\}", lambda m: _PSEUDO[m[1]], value["Fn::Sub"])
        return {k: self.resolve(v) for k, v in value.items()}


_PSEUDO = {"AWS::Partition": "aws", "AWS::AccountId": ACCOUNT, "AWS::Region": REGION}


def _is(resource: dict[str, Any], kind: str) -> bool:
    return resource["Type"] == f"AWS::S3::{kind}"  # type: ignore[no-any-return]


def _replayed(resource: dict[str, Any]) -> bool:
    return resource["Type"] in _REPLAYED or resource["Type"].startswith("Custom::")


def _direct_dependencies(resource: dict[str, Any], resources: dict[str, Any]) -> set[str]:
    depends_on = resource.get("DependsOn", [])
    found = set([depends_on] if isinstance(depends_on, str) else depends_on)

    def walk(value: Any) -> None:
        if isinstance(value, dict):
            if isinstance(value.get("Ref"), str) and value["Ref"] in resources:
                found.add(value["Ref"])
            if "Fn::GetAtt" in value:
                found.add(value["Fn::GetAtt"][0])
            for v in value.values():
                walk(v)
        elif isinstance(value, list):
            for v in value:
                walk(v)

    walk(resource.get("Properties", {}))
    return found


# --- the moto server and the replay ------------------------------------------------------------


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def reset(endpoint: str) -> None:
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()


@pytest.fixture
def client(endpoint: str) -> Any:
    reset(endpoint)
    return boto3.client(
        "s3", endpoint_url=endpoint, region_name=REGION,
        aws_access_key_id="testing", aws_secret_access_key="testing",
    )  # fmt: skip


@pytest.fixture(scope="module")
def new(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    def build(app: App) -> Stack:
        stack = Stack(app, "Test", env=Environment(account=ACCOUNT, region=REGION))
        DrBucket(stack, "Storage", removal_policy=RemovalPolicy.DESTROY)
        return stack

    return Synthesized(build, tmp_path_factory.mktemp("new"))


@pytest.fixture(scope="module")
def old(tmp_path_factory: pytest.TempPathFactory) -> Synthesized:
    return Synthesized(OldDrBucket, tmp_path_factory.mktemp("old"))


def deploy(synth: Synthesized, client: Any) -> None:
    """Create the buckets as the template defines them, then use the data bucket."""
    buckets = {k: r.get("Properties", {}) for k, r in synth.resources.items() if _is(r, "Bucket")}
    for logical_id, props in buckets.items():
        name = synth.names[logical_id]
        client.create_bucket(Bucket=name)
        if "VersioningConfiguration" in props:
            client.put_bucket_versioning(
                Bucket=name, VersioningConfiguration=props["VersioningConfiguration"]
            )
        if "Tags" in props:
            client.put_bucket_tagging(Bucket=name, Tagging={"TagSet": props["Tags"]})
    for policy in (r["Properties"] for r in synth.resources.values() if _is(r, "BucketPolicy")):
        document = synth.resolve(policy["PolicyDocument"])
        # the replay speaks plain HTTP to 127.0.0.1: leave out the TLS-only denials, which
        # every call passes in AWS (the SDKs and the Lambda handlers use TLS)
        document["Statement"] = [s for s in document["Statement"] if not _tls_only(s)]
        client.put_bucket_policy(
            Bucket=synth.resolve(policy["Bucket"]), Policy=json.dumps(document)
        )
    for logical_id, props in buckets.items():
        if logging := props.get("LoggingConfiguration"):
            client.put_bucket_logging(
                Bucket=synth.names[logical_id],
                BucketLoggingStatus={
                    "LoggingEnabled": {
                        "TargetBucket": synth.resolve(logging["DestinationBucketName"]),
                        "TargetPrefix": logging["LogFilePrefix"],
                    }
                },
            )
    (data,) = (synth.names[k] for k, props in buckets.items() if "LoggingConfiguration" in props)
    for key in ("a", "b", "c"):
        client.put_object(Bucket=data, Key=key, Body=b"v1")
    client.put_object(Bucket=data, Key="a", Body=b"v2")  # a second version
    client.delete_object(Bucket=data, Key="b")  # a delete marker


def _tls_only(statement: dict[str, Any]) -> bool:
    conditions = json.dumps(statement.get("Condition", {}))
    return statement["Effect"] == "Deny" and (
        "aws:SecureTransport" in conditions or "s3:TlsVersion" in conditions
    )


def run_handler(
    synth: Synthesized, endpoint: str, logical_id: str, *, remaining_ms: int = 900_000
) -> subprocess.CompletedProcess[str]:
    """Run the Lambda code behind a custom resource for CloudFormation's Delete request."""
    properties = synth.resolve(synth.resources[logical_id]["Properties"])
    return run_delete(
        synth.assembly, synth.template, logical_id, properties,
        endpoint=endpoint, region=REGION, remaining_ms=remaining_ms,
    )  # fmt: skip


def delete_stack(synth: Synthesized, client: Any, endpoint: str, order: list[str]) -> str | None:
    """Delete the replayed resources in ``order`` as CloudFormation does; the first failure
    (what CloudFormation reports as DELETE_FAILED), or None."""
    for logical_id in order:
        resource = synth.resources[logical_id]
        if resource["Type"].startswith("Custom::"):
            run = run_handler(synth, endpoint, logical_id)
            if run.returncode != 0:
                return f"{logical_id}: {run.stderr.strip()}"
            continue
        try:
            if _is(resource, "Bucket"):
                client.delete_bucket(Bucket=synth.names[logical_id])
            else:
                client.delete_bucket_policy(Bucket=synth.resolve(resource["Properties"]["Bucket"]))
        except ClientError as error:
            if error.response["Error"]["Code"] != "NoSuchBucket":  # already gone: deleted
                return f"{logical_id}: {error.response['Error']['Code']}"
    return None


def buckets(client: Any) -> list[str]:
    return sorted(b["Name"] for b in client.list_buckets()["Buckets"])


def versions(client: Any, bucket: str) -> int:
    listed = client.list_object_versions(Bucket=bucket)
    return len(listed.get("Versions", [])) + len(listed.get("DeleteMarkers", []))


def _custom(synth: Synthesized, prefix: str) -> str:
    (found,) = (
        k
        for k, r in synth.resources.items()
        if k.startswith(prefix) and r["Type"].startswith("Custom::")
    )
    return found


# --- the defect: CDK's auto-delete on both buckets ----------------------------------------------


def test_old_behaviour_leaves_the_access_log_bucket_behind(
    old: Synthesized, client: Any, endpoint: str
) -> None:
    logs = old.logical_id("AccessLogs", "Bucket")
    emptied_logs, emptied_data = _custom(old, "AccessLogs"), _custom(old, "Bucket")
    # nothing orders the two auto-delete resources: CloudFormation runs them side by side
    order = next(o for o in old.deletion_orders() if o.index(emptied_logs) < o.index(emptied_data))
    deploy(old, client)

    failure = delete_stack(old, client, endpoint, order)

    assert failure == f"{logs}: BucketNotEmpty"
    assert buckets(client) == [old.names[logs]]
    # what is left: the access logs of the data bucket's emptying and deletion
    left = client.list_object_versions(Bucket=old.names[logs])["Versions"]
    assert left and all(v["Key"].startswith("data-bucket/") for v in left)


# --- DrBucket ------------------------------------------------------------------------------------


def test_the_log_bucket_is_deleted_after_the_data_bucket_in_every_order(new: Synthesized) -> None:
    data, logs = (
        new.logical_id("StorageBucket", "Bucket"),
        new.logical_id("StorageAccessLogs", "Bucket"),
    )
    logs_policy = new.logical_id("StorageAccessLogsPolicy", "BucketPolicy")
    emptied_data, deletion = (
        _custom(new, "StorageBucketAutoDelete"),
        _custom(new, "StorageAccessLogsDeletion"),
    )
    assert new.resources[deletion]["Type"] == "Custom::DrBucketDeletion"
    assert [r["Type"] for r in new.resources.values()].count("Custom::S3AutoDeleteObjects") == 1
    orders = new.deletion_orders()
    assert len(orders) > 1
    for order in orders:
        position = order.index
        assert position(emptied_data) < position(data) < position(deletion) < position(logs)
        assert position(logs_policy) < position(deletion)


def test_every_deletion_order_leaves_nothing_behind(
    new: Synthesized, client: Any, endpoint: str
) -> None:
    logs = new.names[new.logical_id("StorageAccessLogs", "Bucket")]
    for order in new.deletion_orders():
        reset(endpoint)
        deploy(new, client)
        assert versions(client, logs) > 0  # the data bucket's access logs

        assert delete_stack(new, client, endpoint, order) is None, order
        assert buckets(client) == [], order


@pytest.fixture
def late_deliveries(
    new: Synthesized, monkeypatch: pytest.MonkeyPatch
) -> Callable[[int], list[str]]:
    """Make access-log objects land in the log bucket right before each of the next ``n``
    DeleteBucket calls on it: after its emptying, as S3's best-effort delivery can."""
    logs = new.names[new.logical_id("StorageAccessLogs", "Bucket")]
    delete_bucket = S3Backend.delete_bucket

    def arm(n: int) -> list[str]:
        delivered: list[str] = []

        def deliver_then_delete(backend: S3Backend, bucket_name: str) -> Any:
            if bucket_name == logs and len(delivered) < n:
                key = f"data-bucket/late-{len(delivered)}"
                backend.put_object(logs, key, b"a late log record")
                delivered.append(key)
            return delete_bucket(backend, bucket_name)

        monkeypatch.setattr(S3Backend, "delete_bucket", deliver_then_delete)
        return delivered

    return arm


def test_access_logs_landing_after_the_emptying_are_deleted_too(
    new: Synthesized, client: Any, endpoint: str, late_deliveries: Callable[[int], list[str]]
) -> None:
    deploy(new, client)
    delivered = late_deliveries(3)

    assert delete_stack(new, client, endpoint, new.deletion_orders()[0]) is None

    assert len(delivered) == 3  # three DeleteBucket calls met a late object, the fourth none
    assert buckets(client) == []


def test_gives_up_before_the_lambda_times_out_if_objects_never_stop(
    new: Synthesized, client: Any, endpoint: str, late_deliveries: Callable[[int], list[str]]
) -> None:
    logs = new.logical_id("StorageAccessLogs", "Bucket")
    deploy(new, client)
    late_deliveries(10**6)

    # 60 s left: the handler keeps a minute to answer CloudFormation
    run = run_handler(new, endpoint, _custom(new, "StorageAccessLogsDeletion"), remaining_ms=60_000)

    assert run.returncode == 1
    assert f"{new.names[logs]} still receives objects after 1 attempts" in run.stderr
    assert new.names[logs] in buckets(client)  # DELETE_FAILED: a second destroy resumes


def test_a_log_bucket_without_the_opt_in_tag_is_kept(
    new: Synthesized, client: Any, endpoint: str
) -> None:
    """An update that drops the DESTROY opt-in removes the tag, then the custom resource."""
    logs = new.names[new.logical_id("StorageAccessLogs", "Bucket")]
    deploy(new, client)
    assert client.get_bucket_tagging(Bucket=logs)["TagSet"] == [
        {"Key": BUCKET_DELETION_TAG, "Value": "true"}
    ]
    client.delete_bucket_tagging(Bucket=logs)
    before = versions(client, logs)

    run = run_handler(new, endpoint, _custom(new, "StorageAccessLogsDeletion"))

    assert run.returncode == 0, run.stderr
    assert versions(client, logs) == before > 0


def test_a_log_bucket_already_gone_counts_as_deleted(
    new: Synthesized, client: Any, endpoint: str
) -> None:
    run = run_handler(new, endpoint, _custom(new, "StorageAccessLogsDeletion"))
    assert run.returncode == 0, run.stderr
    assert "is already gone" in run.stdout

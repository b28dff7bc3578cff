"""A deployed dr-constructs stack for the operator command's tests, on a moto server.

moto's server runs on 127.0.0.1 (a free port). It holds a CloudFormation stack of the
resource types its CloudFormation supports (VPC, subnets, the data and access-log buckets,
the backup and function roles, the health-check function; the objectives in the template's
Metadata), and, created through their own APIs, what its CloudFormation cannot hold or
configure: the DynamoDB table (PITR, SSE-KMS), the subnet group, the security group, the KMS
key, the Aurora cluster and its writer and reader, the backup vault, the alarms and the FIS
experiment templates. The CloudFormation client the command gets answers
``list_stack_resources`` with moto's own summaries plus those resources, through botocore's
Stubber (every stubbed answer is checked against the service model).
"""

from __future__ import annotations

import json
import logging
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import boto3
import pytest
import requests
from botocore.stub import Stubber
from moto.server import ThreadedMotoServer

REGION = "us-east-1"
ACCOUNT = "123456789012"
STACK = "DrStack-test"
SUFFIX = "test"
TABLE = f"dr-table-{SUFFIX}"
FUNCTION = f"dr-function-{SUFFIX}"
VAULT = f"dr-vault-{SUFFIX}"
CLUSTER = "drstack-test-drdatabaseclustere30ed098-abc123"
WRITER, READER = f"{CLUSTER}-writer", f"{CLUSTER}-reader"
DRILL_TAG = "dr-constructs:drill"
#: A stack's objectives, as DrPlatform writes them into the template's Metadata.
OBJECTIVES = {
    "az_loss": {"rpo_seconds": 300, "rto_seconds": 900},
    "corruption": {"rpo_seconds": 3600, "rto_seconds": 14400},
    "stack_deletion": {"rpo_seconds": 3600, "rto_seconds": 14400},
}


def _template(with_metadata: bool = True, recovery: dict[str, Any] | None = None) -> dict[str, Any]:
    """The stack's template: CDK's logical ids, only resource types moto's CFN supports."""
    template: dict[str, Any] = {
        "Resources": {
            "DrNetworkVpc7FB7348F": {"Type": "AWS::EC2::VPC",
                                     "Properties": {"CidrBlock": "10.0.0.0/16"}},
            "DrNetworkSubnetA": {"Type": "AWS::EC2::Subnet", "Properties": {
                "VpcId": {"Ref": "DrNetworkVpc7FB7348F"}, "CidrBlock": "10.0.1.0/24",
                "AvailabilityZone": "us-east-1a"}},
            "DrNetworkSubnetB": {"Type": "AWS::EC2::Subnet", "Properties": {
                "VpcId": {"Ref": "DrNetworkVpc7FB7348F"}, "CidrBlock": "10.0.2.0/24",
                "AvailabilityZone": "us-east-1b"}},
            "DrStorageBucket3D84E985": {"Type": "AWS::S3::Bucket"},
            "DrStorageAccessLogs87B9FE97": {"Type": "AWS::S3::Bucket"},
            "DrBackupRole4C5F470A": {"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Action": "sts:AssumeRole",
                    "Principal": {"Service": "backup.amazonaws.com"}}]}}},
            "DrFunctionRole66479D35": {"Type": "AWS::IAM::Role", "Properties": {
                "AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [{
                    "Effect": "Allow", "Action": "sts:AssumeRole",
                    "Principal": {"Service": "lambda.amazonaws.com"}}]}}},
            "DrFunction6D082E49": {"Type": "AWS::Lambda::Function", "Properties": {
                "FunctionName": FUNCTION, "Runtime": "python3.12", "Handler": "index.handler",
                "Role": {"Fn::GetAtt": ["DrFunctionRole66479D35", "Arn"]},
                "Code": {"ZipFile": "def handler(event, context):\n    return {}\n"}}},
        }
    }  # fmt: skip
    if with_metadata:
        template["Metadata"] = {"dr-constructs": {"objectives": OBJECTIVES}}
    if recovery is not None:  # DrPlatform(recovery_region=...) states both
        template["Metadata"] = {"dr-constructs": recovery}
    return template


@dataclass
class World:
    """The moto server's endpoint and what was created there."""

    endpoint: str
    key_arn: str = ""
    bucket: str = ""
    access_logs_bucket: str = ""
    role_name: str = ""
    role_arn: str = ""
    subnet_group: str = ""
    security_group: str = ""
    cluster_arn: str = ""
    vault_arn: str = ""
    alarms: list[str] = field(default_factory=list)
    templates: dict[str, str] = field(default_factory=dict)
    summaries: list[dict[str, Any]] = field(default_factory=list)
    template_body: str = ""

    def client(self, service: str) -> Any:
        return boto3.client(
            service, region_name=REGION, endpoint_url=self.endpoint,
            aws_access_key_id="testing", aws_secret_access_key="testing",
        )  # fmt: skip

    def cloudformation(self) -> tuple[Any, Stubber]:
        """A CloudFormation client answering with the whole stack (moto's + the rest)."""
        client = self.client("cloudformation")
        stubber = Stubber(client)
        stubber.add_response(
            "list_stack_resources",
            {"StackResourceSummaries": self.summaries},
            {"StackName": STACK},
        )
        stubber.add_response(
            "get_template", {"TemplateBody": self.template_body}, {"StackName": STACK}
        )
        stubber.activate()
        return client, stubber


class FakeTime:
    """Injected ``clock`` and ``sleep``: polls advance time instead of waiting."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []
        self.on_sleep: Any = None

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds
        if self.on_sleep is not None:
            self.on_sleep(len(self.sleeps))


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    logging.getLogger("werkzeug").setLevel(logging.ERROR)  # one line per request otherwise
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


@pytest.fixture
def aws_env(moto_endpoint: str, monkeypatch: pytest.MonkeyPatch) -> str:
    """The command's own boto3 session reaches the moto server (and nothing else)."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ENDPOINT_URL", moto_endpoint)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", "/dev/null")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
    return moto_endpoint


def build_world(endpoint: str, recovery: dict[str, Any] | None = None) -> World:
    """Reset the moto server and deploy the stack there (``recovery``: the template's
    ``dr-constructs`` Metadata of a stack with a recovery region)."""
    requests.post(f"{endpoint}/moto-api/reset", timeout=10).raise_for_status()
    world = World(endpoint)
    world.key_arn = world.client("kms").create_key(Description="DR data")["KeyMetadata"]["Arn"]
    cloudformation = world.client("cloudformation")
    world.template_body = json.dumps(_template(recovery=recovery))
    cloudformation.create_stack(StackName=STACK, TemplateBody=world.template_body)
    resources = {
        r["LogicalResourceId"]: r
        for r in cloudformation.list_stack_resources(StackName=STACK)["StackResourceSummaries"]
    }
    world.bucket = resources["DrStorageBucket3D84E985"]["PhysicalResourceId"]
    world.access_logs_bucket = resources["DrStorageAccessLogs87B9FE97"]["PhysicalResourceId"]
    world.role_name = resources["DrBackupRole4C5F470A"]["PhysicalResourceId"]
    world.role_arn = world.client("iam").get_role(RoleName=world.role_name)["Role"]["Arn"]
    vpc = resources["DrNetworkVpc7FB7348F"]["PhysicalResourceId"]
    subnets = [resources[f"DrNetworkSubnet{z}"]["PhysicalResourceId"] for z in "AB"]

    # moto's CloudFormation keeps neither PITR nor SSE of a table, nor a subnet group's name
    dynamodb = world.client("dynamodb")
    dynamodb.create_table(
        TableName=TABLE, BillingMode="PAY_PER_REQUEST",
        AttributeDefinitions=[{"AttributeName": "pk", "AttributeType": "S"}],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}],
        SSESpecification={"Enabled": True, "SSEType": "KMS", "KMSMasterKeyId": world.key_arn},
    )  # fmt: skip
    dynamodb.update_continuous_backups(
        TableName=TABLE, PointInTimeRecoverySpecification={"PointInTimeRecoveryEnabled": True}
    )
    world.subnet_group = "drstack-test-drdatabaseclustersubnets55e4aaca-x1"
    world.client("rds").create_db_subnet_group(
        DBSubnetGroupName=world.subnet_group, DBSubnetGroupDescription="isolated subnets",
        SubnetIds=subnets,
    )  # fmt: skip

    world.client("s3").put_bucket_encryption(
        Bucket=world.bucket,
        ServerSideEncryptionConfiguration={"Rules": [{"ApplyServerSideEncryptionByDefault": {
            "SSEAlgorithm": "aws:kms", "KMSMasterKeyID": world.key_arn}}]},
    )  # fmt: skip

    ec2 = world.client("ec2")
    world.security_group = ec2.create_security_group(
        GroupName="DrDatabaseClusterSecurityGroup", Description="cluster", VpcId=vpc
    )["GroupId"]
    rds = world.client("rds")
    cluster = rds.create_db_cluster(
        DBClusterIdentifier=CLUSTER, Engine="aurora-postgresql", EngineVersion="17.4",
        MasterUsername="dradmin", MasterUserPassword="not-a-secret-1",
        DBSubnetGroupName=world.subnet_group, VpcSecurityGroupIds=[world.security_group],
        StorageEncrypted=True, KmsKeyId=world.key_arn, BackupRetentionPeriod=7,
    )["DBCluster"]  # fmt: skip
    world.cluster_arn = cluster["DBClusterArn"]
    for instance, zone in ((WRITER, "us-east-1a"), (READER, "us-east-1b")):
        rds.create_db_instance(
            DBInstanceIdentifier=instance, DBClusterIdentifier=CLUSTER,
            Engine="aurora-postgresql", DBInstanceClass="db.t4g.medium", AvailabilityZone=zone,
        )  # fmt: skip

    world.vault_arn = world.client("backup").create_backup_vault(BackupVaultName=VAULT)[
        "BackupVaultArn"
    ]
    cloudwatch = world.client("cloudwatch")
    for name in (f"dr-{SUFFIX}-AuroraHighCpu", f"dr-{SUFFIX}-DrillGuard"):
        cloudwatch.put_metric_alarm(
            AlarmName=name, Namespace="AWS/RDS", MetricName="CPUUtilization", Statistic="Average",
            Period=300, EvaluationPeriods=2, Threshold=80,
            ComparisonOperator="GreaterThanThreshold",
        )  # fmt: skip
        world.alarms.append(name)
    fis = world.client("fis")
    guard_arn = f"arn:aws:cloudwatch:{REGION}:123456789012:alarm:dr-{SUFFIX}-DrillGuard"
    for name in ("aurora-failover", "az-us-east-1a"):
        world.templates[name] = fis.create_experiment_template(
            clientToken=name,
            description=f"DR drill: {name}",
            roleArn=world.role_arn,
            stopConditions=[{"source": "aws:cloudwatch:alarm", "value": guard_arn}],
            targets={"Cluster": {"resourceType": "aws:rds:cluster",
                                 "resourceArns": [world.cluster_arn], "selectionMode": "ALL"}},
            actions={"Failover": {"actionId": "aws:rds:failover-db-cluster",
                                  "targets": {"Clusters": "Cluster"}}},
            tags={DRILL_TAG: name, "Name": f"dr-{SUFFIX}-{name}"},
        )["experimentTemplate"]["id"]  # fmt: skip

    extra = [
        ("DrDatabaseTable9C8704CD", "AWS::DynamoDB::Table", TABLE),
        ("DrDatabaseClusterSubnets55E4AACA", "AWS::RDS::DBSubnetGroup", world.subnet_group),
        ("DrDatabaseClusterE30ED098", "AWS::RDS::DBCluster", CLUSTER),
        ("DrBackupVault822A05CD", "AWS::Backup::BackupVault", VAULT),
        *((f"DrObservabilityAlarm{i}", "AWS::CloudWatch::Alarm", a)
          for i, a in enumerate(world.alarms)),
        *((f"DrDrills{n.title().replace('-', '')}Experiment", "AWS::FIS::ExperimentTemplate", t)
          for n, t in world.templates.items()),
    ]  # fmt: skip
    updated = datetime.now(UTC)
    world.summaries = [
        {k: r[k] for k in ("LogicalResourceId", "PhysicalResourceId", "ResourceType",
                           "LastUpdatedTimestamp", "ResourceStatus")}
        for r in resources.values()
    ] + [
        {"LogicalResourceId": logical, "PhysicalResourceId": physical, "ResourceType": kind,
         "LastUpdatedTimestamp": updated, "ResourceStatus": "CREATE_COMPLETE"}
        for logical, kind, physical in extra
    ]  # fmt: skip
    return world


#: An answer on the wire: HTTP status, headers, body.
Answer = tuple[int, dict[str, str], bytes]


def aws_json_error(code: str, message: str, status: int = 400) -> Answer:
    """An AWS error as a rest-json service (AWS Backup) sends it: the code in the
    ``x-amzn-ErrorType`` header, the message in the JSON body. AWS Backup API reference, Common
    Errors: AccessDeniedException and ThrottlingException are "HTTP Status Code: 400"."""
    body = json.dumps({"Message": message}).encode()
    return status, {"x-amzn-ErrorType": code, "Content-Type": "application/json"}, body


def aws_json_answer(document: dict[str, Any]) -> Answer:
    """A rest-json answer; datetimes as epoch seconds (the protocol's default timestamp)."""
    body = json.dumps(document, default=lambda t: t.timestamp()).encode()
    return 200, {"Content-Type": "application/json"}, body


class BackupEndpoint:
    """An AWS Backup endpoint on 127.0.0.1 in front of the moto server.

    ``answers`` maps a request path (``/restore-jobs/``) to the answer sent on the wire, for
    what moto's AWS Backup lacks or to inject an error; every other request goes to moto as it
    is (moto answers the AWS Backup calls it does not implement with a 404 HTML page). The
    operator command reaches it through ``AWS_ENDPOINT_URL_BACKUP``, botocore's
    service-specific endpoint setting.
    """

    def __init__(self, moto_endpoint: str) -> None:
        self.moto = moto_endpoint
        self.answers: dict[str, Answer] = {}
        self.requests: list[str] = []
        endpoint = self

        class Handler(BaseHTTPRequestHandler):
            def _handle(self) -> None:
                path = self.path.split("?", 1)[0]
                endpoint.requests.append(f"{self.command} {path}")
                size = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(size) if size else b""
                if path in endpoint.answers:
                    status, headers, payload = endpoint.answers[path]
                else:
                    answer = requests.request(
                        self.command, endpoint.moto + self.path, data=body, timeout=30,
                        headers={k: v for k, v in self.headers.items() if k.lower() != "host"},
                    )  # fmt: skip
                    status, payload = answer.status_code, answer.content
                    headers = {k: v for k, v in answer.headers.items()
                               if k.lower() in ("content-type", "x-amzn-errortype")}  # fmt: skip
                self.send_response(status)
                for key, value in headers.items():
                    self.send_header(key, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = _handle

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self._server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        host, port = self._server.server_address[:2]
        self.url = f"http://{host}:{port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()

    def close(self) -> None:
        self._server.shutdown()
        self._server.server_close()


def _resolve(value: Any, zones: list[str]) -> Any:
    """A synthesized template's value with the intrinsic functions CloudFormation would resolve
    here: ``Fn::GetAZs`` (the account's AZs, ``zones``), ``Fn::Select``, ``Fn::Join`` and the
    pseudo parameters; any other reference becomes a placeholder naming its logical id."""
    if isinstance(value, list):
        return [_resolve(v, zones) for v in value]
    if not isinstance(value, dict):
        return value
    if "Fn::GetAZs" in value:
        return zones
    if "Fn::Select" in value:
        index, items = value["Fn::Select"]
        return _resolve(items, zones)[int(_resolve(index, zones))]
    if "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(str(_resolve(p, zones)) for p in parts)
    if "Ref" in value:
        return {"AWS::Region": REGION, "AWS::Partition": "aws", "AWS::AccountId": ACCOUNT,
                "AWS::URLSuffix": "amazonaws.com"}.get(value["Ref"], value["Ref"])  # fmt: skip
    if "Fn::GetAtt" in value:
        return ".".join(value["Fn::GetAtt"])
    return {k: _resolve(v, zones) for k, v in value.items()}


def deploy_experiment_templates(
    world: World, template: dict[str, Any], zones: list[str] | None = None
) -> dict[str, str]:
    """Replace the world's hand-made FIS templates with the ones of a synthesized template,
    created in moto's FIS as CloudFormation would create them (tags, description, actions,
    targets with this world's cluster, stop conditions); returns drill tag -> template id."""
    zones = zones or [f"{REGION}{letter}" for letter in "abc"]
    fis = world.client("fis")
    world.summaries = [
        s for s in world.summaries if s["ResourceType"] != "AWS::FIS::ExperimentTemplate"
    ]
    created = {}
    for logical_id, resource in template["Resources"].items():
        if resource["Type"] != "AWS::FIS::ExperimentTemplate":
            continue
        props = _resolve(resource["Properties"], zones)
        targets = {
            name: {
                "resourceType": t["ResourceType"],
                "resourceArns": [world.cluster_arn]
                if t["ResourceType"] == "aws:rds:cluster"
                else [f"arn:aws:ec2:{REGION}:{ACCOUNT}:subnet/{a.split('/')[-1]}"
                      for a in t["ResourceArns"]],
                "selectionMode": t["SelectionMode"],
                **({"parameters": t["Parameters"]} if "Parameters" in t else {}),
            }
            for name, t in props["Targets"].items()
        }  # fmt: skip
        actions = {
            name: {
                "actionId": a["ActionId"],
                "targets": a["Targets"],
                **({"parameters": a["Parameters"]} if "Parameters" in a else {}),
            }
            for name, a in props["Actions"].items()
        }
        template_id = fis.create_experiment_template(
            clientToken=logical_id,
            description=props["Description"],
            roleArn=world.role_arn,
            stopConditions=[
                {"source": "aws:cloudwatch:alarm",
                 "value": f"arn:aws:cloudwatch:{REGION}:{ACCOUNT}:alarm:dr-{SUFFIX}-DrillGuard"}
            ],
            targets=targets,
            actions=actions,
            tags=props["Tags"],
        )["experimentTemplate"]["id"]  # fmt: skip
        created[props["Tags"]["dr-constructs:drill"]] = template_id
        world.summaries.append(
            {"LogicalResourceId": logical_id, "PhysicalResourceId": template_id,
             "ResourceType": "AWS::FIS::ExperimentTemplate",
             "LastUpdatedTimestamp": datetime.now(UTC), "ResourceStatus": "CREATE_COMPLETE"}
        )  # fmt: skip
    world.templates = created
    return created

"""DrFunction: the VPC Lambda, its least-privilege role, DLQ and custom code."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_s3 as s3
from aws_cdk import aws_secretsmanager as secretsmanager
from aws_cdk.assertions import Template

from dr_constructs import DrConfigurationError, DrFunction, DrNetwork

from .conftest import new_stack, normalised, resources_of


def _function(**props: Any) -> tuple[DrFunction, Template]:
    stack = new_stack()
    key = kms.Key(stack, "Key", enable_key_rotation=True)
    table = dynamodb.Table(stack, "Table", encryption_key=key,
                           encryption=dynamodb.TableEncryption.CUSTOMER_MANAGED,
                           partition_key=dynamodb.Attribute(
                               name="pk", type=dynamodb.AttributeType.STRING))  # fmt: skip
    fn = DrFunction(
        stack,
        "Fn",
        network=DrNetwork(stack, "Network"),
        secret=secretsmanager.Secret(stack, "Secret", encryption_key=key),
        table=table,
        bucket=s3.Bucket(stack, "Bucket", encryption_key=key),
        encryption_key=key,
        environment_suffix="qa",
        **props,
    )
    return fn, Template.from_stack(stack)


@pytest.fixture(scope="module")
def template() -> Template:
    return _function(code=lambda_.Code.from_inline("def h(e, c): return {}"), handler="index.h")[1]


def test_snapshot(template: Template, snapshot_json: Any) -> None:
    assert normalised(template) == snapshot_json


def test_custom_code_replaces_the_health_check(template: Template) -> None:
    fn = next(
        f["Properties"]
        for f in resources_of(template, "AWS::Lambda::Function").values()
        if f["Properties"].get("FunctionName") == "dr-function-qa"
    )
    assert fn["Handler"] == "index.h" and "ZipFile" in fn["Code"]
    assert fn["Architectures"] == ["arm64"]
    assert "KmsKeyArn" in fn and "DeadLetterConfig" in fn


def _statements(template: Template) -> dict[str, Any]:
    (policy,) = [
        p for p in resources_of(template, "AWS::IAM::ManagedPolicy").values()
        if "health check needs" in p["Properties"].get("Description", "")
    ]  # fmt: skip
    return {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def test_only_the_packaged_health_check_may_read_restored_copies(template: Template) -> None:
    """The operator's restore asks the packaged health check to read a restored copy's
    heartbeat as ``dr_restore_validator``: ``rds-db:connect`` as that user only, to any
    cluster (a copy's resource id is new) in the stack's account and Region. Custom code
    does not read copies, and does not get it."""
    statement = _statements(_function()[1])["ReadRestoredCopies"]
    assert statement["Action"] == "rds-db:connect" and statement["Effect"] == "Allow"
    assert statement["Resource"] == {
        "Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":rds-db:", {"Ref": "AWS::Region"},
                          ":", {"Ref": "AWS::AccountId"}, ":dbuser:cluster-*/dr_restore_validator"]]
    }  # fmt: skip
    assert "ReadRestoredCopies" not in _statements(template)


def test_dead_letter_queue_is_marked_as_one(template: Template) -> None:
    """A RedriveAllowPolicy marks the queue as a dead-letter queue (AWS Control Tower
    CT.SQS.PR.1): allowAll, SQS's behaviour without one, since denyAll reads as "not a DLQ"."""
    (queue_id, queue) = next(iter(resources_of(template, "AWS::SQS::Queue").items()))
    assert queue["Properties"]["RedriveAllowPolicy"] == {"redrivePermission": "allowAll"}
    fn = next(
        f["Properties"]
        for f in resources_of(template, "AWS::Lambda::Function").values()
        if f["Properties"].get("FunctionName") == "dr-function-qa"
    )
    assert fn["DeadLetterConfig"] == {"TargetArn": {"Fn::GetAtt": [queue_id, "Arn"]}}


def test_egress_only_https_and_postgresql(template: Template) -> None:
    groups = resources_of(template, "AWS::EC2::SecurityGroup")
    fn_group = next(g["Properties"] for k, g in groups.items() if k.startswith("FnSecurityGroup"))
    assert [(r["FromPort"], r["ToPort"]) for r in fn_group["SecurityGroupEgress"]] == [(443, 443)]


def test_kms_grant_is_two_actions_through_the_services_only(template: Template) -> None:
    policies = resources_of(template, "AWS::IAM::ManagedPolicy")
    policy = next(p for k, p in policies.items() if k.startswith("FnPolicy"))
    statements = policy["Properties"]["PolicyDocument"]["Statement"]
    kms = [s for s in statements if any(str(a).startswith("kms:") for a in _list(s["Action"]))]
    assert kms and all(sorted(_list(s["Action"])) == ["kms:Decrypt", "kms:GenerateDataKey"]
                       for s in kms)  # fmt: skip
    assert all("kms:ViaService" in json.dumps(s.get("Condition")) for s in kms)


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else [value]


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"memory_size": 64}, r"memory_size=64; accepted: an integer from 128 to 10240"),
        ({"reserved_concurrency": 0}, r"reserved_concurrency=0"),
        ({"handler": "index.h"}, r"handler='index.h'; accepted: given together with code"),
        ({"name": "Canary"}, r"name='Canary'; accepted: 1-20 lower-case letters"),
        ({"name": "canary-"}, r"name='canary-'"),
        ({"name": "a" * 21}, r"name='a{21}'"),
    ],
)
def test_bad_props(props: dict[str, Any], message: str) -> None:
    with pytest.raises(DrConfigurationError, match=message):
        _function(**props)


def test_same_suffix_twice_in_one_environment_is_reported_at_synth() -> None:
    fn, _ = _function()
    stack = Stack.of(fn)
    network = stack.node.find_child("Network")
    table = stack.node.find_child("Table")
    assert isinstance(network, DrNetwork) and isinstance(table, dynamodb.Table)
    with pytest.raises(DrConfigurationError, match=r"environment_suffix='qa'.*'dr-function-qa'"):
        DrFunction(
            stack, "Again", network=network, secret=secretsmanager.Secret(stack, "Secret2"),
            table=table, bucket=s3.Bucket(stack, "Bucket2"), environment_suffix="qa",
        )  # fmt: skip


def test_a_second_function_is_named_apart_with_its_own_canary() -> None:
    fn, template = _function(name="canary")
    assert fn.runs_health_check
    assert (fn.canary_item_key, fn.canary_object_key) == (
        "health-check#dr-canary-qa", "health-check/dr-canary-qa.json",
    )  # fmt: skip
    names = {f["Properties"].get("FunctionName")
             for f in resources_of(template, "AWS::Lambda::Function").values()}  # fmt: skip
    assert "dr-canary-qa" in names and "dr-function-qa" not in names

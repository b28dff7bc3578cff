"""DrDatabase: Aurora PostgreSQL Multi-AZ and the DynamoDB table, standalone."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import App, Duration, Environment, RemovalPolicy, Stack
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template

from dr_constructs import DrBucket, DrConfigurationError, DrDatabase, DrFunction, DrNetwork

from .conftest import ACCOUNT, REGION, new_stack, normalised, only, resources_of


@pytest.fixture(scope="module")
def template() -> Template:
    stack = new_stack()
    network = DrNetwork(stack, "Network")
    client = ec2.SecurityGroup(stack, "AppClient", vpc=network.vpc)
    DrDatabase(
        stack,
        "Data",
        network=network,
        environment_suffix="qa",
        instance_type=ec2.InstanceType("r6g.large"),
        readers=2,
        partition_key=dynamodb.Attribute(name="id", type=dynamodb.AttributeType.NUMBER),
        clients=[client],
    )
    return Template.from_stack(stack)


def test_snapshot(template: Template, snapshot_json: Any) -> None:
    assert normalised(template) == snapshot_json


def test_writer_and_two_readers_each_in_its_own_az(template: Template) -> None:
    instances = [i["Properties"] for i in resources_of(template, "AWS::RDS::DBInstance").values()]
    assert sorted(i["AvailabilityZone"] for i in instances) == [
        "us-east-1a", "us-east-1b", "us-east-1c",
    ]  # fmt: skip
    assert {i["DBInstanceClass"] for i in instances} == {"db.r6g.large"}
    assert all(i["MonitoringInterval"] == 60 for i in instances)


def test_security_group_admits_only_the_named_client(template: Template) -> None:
    groups = resources_of(template, "AWS::EC2::SecurityGroup")
    db_group = next(g for k, g in groups.items() if k.startswith("DataClusterSecurityGroup"))
    assert "SecurityGroupIngress" not in db_group["Properties"]
    sources = [
        json.dumps(r["Properties"]["SourceSecurityGroupId"])
        for r in resources_of(template, "AWS::EC2::SecurityGroupIngress").values()
    ]
    assert any("AppClient" in s for s in sources)
    assert all("AppClient" in s or "RotationSingleUser" in s for s in sources)


def test_table_schema_comes_from_props(template: Template) -> None:
    table = only(template, "AWS::DynamoDB::Table")
    assert table["TableName"] == "dr-table-qa"
    assert table["KeySchema"] == [{"AttributeName": "id", "KeyType": "HASH"}]
    assert table["AttributeDefinitions"] == [{"AttributeName": "id", "AttributeType": "N"}]


def test_exported_logs_land_in_our_encrypted_log_group(template: Template) -> None:
    cluster = only(template, "AWS::RDS::DBCluster")
    assert cluster["EnableCloudwatchLogsExports"] == ["postgresql"]
    groups = resources_of(template, "AWS::Logs::LogGroup").values()
    names = [g["Properties"].get("LogGroupName") for g in groups]
    assert "/aws/rds/cluster/dr-aurora-qa/postgresql" in names


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"instance_type": ec2.InstanceType("t3.micro")}, r"instance_type='t3.micro'"),
        ({"instance_type": ec2.InstanceType("m5.large")}, r"instance_type='m5.large'"),
        ({"readers": 0}, r"readers=0; accepted: an integer from 1 to 15"),
        ({"backup_retention": Duration.days(36)}, r"backup_retention=.*from 1 to 35"),
        ({"port": 80}, r"port=80"),
        ({"environment_suffix": "Prod_1"}, r"environment_suffix='Prod_1'"),
        ({"removal_policy": RemovalPolicy.SNAPSHOT}, r"removal_policy=.*RETAIN.*DESTROY"),
    ],
)
def test_bad_props_name_the_prop_and_what_is_accepted(props: dict[str, Any], message: str) -> None:
    stack = new_stack()
    network = DrNetwork(stack, "Network")
    with pytest.raises(DrConfigurationError, match=message):
        DrDatabase(stack, "Data", network=network, **props)


def test_sort_key_named_like_the_default_partition_key_is_reported() -> None:
    stack = new_stack()
    network = DrNetwork(stack, "Network")
    with pytest.raises(DrConfigurationError, match=r"sort_key.name='pk'.*partition key"):
        DrDatabase(
            stack, "Data", network=network,
            sort_key=dynamodb.Attribute(name="pk", type=dynamodb.AttributeType.STRING),
        )  # fmt: skip


def test_same_suffix_twice_in_one_environment_is_reported_at_synth() -> None:
    """Same account and region: the second table and cluster names would fail at deploy."""
    app = App(analytics_reporting=False)
    env = Environment(account=ACCOUNT, region=REGION)
    first, second = Stack(app, "First", env=env), Stack(app, "Second", env=env)
    DrDatabase(first, "Data", network=DrNetwork(first, "Network"), environment_suffix="prod")
    taken = r"'dr-aurora-prod' is already First/Data's in account 123456789012, us-east-1"
    with pytest.raises(DrConfigurationError, match=rf"environment_suffix='prod'.*{taken}"):
        DrDatabase(second, "Data", network=DrNetwork(second, "Network"), environment_suffix="prod")
    again = DrNetwork(first, "Network2")
    with pytest.raises(DrConfigurationError, match=r"environment_suffix='prod'"):
        DrDatabase(first, "Data2", network=again, environment_suffix="prod")


@pytest.fixture(scope="module")
def three_stacks() -> dict[str, dict[str, Any]]:
    """Network, data and the Lambda each in their own stack of one app."""
    app = App(analytics_reporting=False)
    env = Environment(account=ACCOUNT, region=REGION)
    network_stack, data_stack, app_stack = (Stack(app, n, env=env) for n in ("Net", "Data", "App"))
    network = DrNetwork(network_stack, "Network")
    data = DrDatabase(data_stack, "Data", network=network)
    bucket = DrBucket(data_stack, "Storage").bucket
    assert data.secret is not None
    function = DrFunction(
        app_stack, "Function", network=network, secret=data.secret, table=data.table,
        bucket=bucket, code=lambda_.Code.from_inline("def h(e, c): pass"), handler="index.h",
    )  # fmt: skip
    data.allow_from(function.function)
    data.allow_from(function.security_group)  # twice: admitted once
    # A client in a stack the data stack depends on keeps CDK's placement (in the data stack).
    data.allow_from(ec2.SecurityGroup(network_stack, "Bastion", vpc=network.vpc))
    assembly = app.synth()  # raised DependencyCycle before
    return {s.stack_name: s.template for s in assembly.stacks}


def test_lambda_in_its_own_stack_reaches_the_cluster_without_a_cycle(
    three_stacks: dict[str, dict[str, Any]],
) -> None:
    app = three_stacks["App"]
    # Only the app stack refers to the others; nothing refers back to it.
    assert not any("Export" in o for o in app.get("Outputs", {}).values())
    assert '"Fn::ImportValue": "App' not in json.dumps(three_stacks["Data"])
    ingress = [
        r["Properties"] for r in app["Resources"].values()
        if r["Type"] == "AWS::EC2::SecurityGroupIngress"
    ]  # fmt: skip
    (function_group,) = [
        r["Properties"] for r in app["Resources"].values()
        if r["Type"] == "AWS::EC2::SecurityGroup"
    ]  # fmt: skip
    egress = [e for e in function_group["SecurityGroupEgress"] if e["FromPort"] == 5432]
    assert len(ingress) == 1 and len(egress) == 1
    (rule,) = ingress
    assert (rule["FromPort"], rule["ToPort"], rule["IpProtocol"]) == (5432, 5432, "tcp")
    assert "DataClusterSecurityGroup" in json.dumps(rule["GroupId"])  # imported from Data
    assert "FunctionSecurityGroup" in json.dumps(rule["SourceSecurityGroupId"])
    assert "DataClusterSecurityGroup" in json.dumps(egress[0]["DestinationSecurityGroupId"])
    assert egress[0]["FromPort"] == 5432
    data_ingress = [
        json.dumps(r["Properties"]["SourceSecurityGroupId"])
        for r in three_stacks["Data"]["Resources"].values()
        if r["Type"] == "AWS::EC2::SecurityGroupIngress"
    ]
    assert sum("Bastion" in source for source in data_ingress) == 1

"""DrDatabase: Aurora PostgreSQL Multi-AZ and the DynamoDB table, standalone."""

from __future__ import annotations

import json
from typing import Any

import pytest
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_dynamodb as dynamodb
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template

from dr_constructs import DrConfigurationError, DrDatabase, DrNetwork

from .conftest import new_stack, normalised, only, resources_of


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

"""DrNetwork: 3 pinned AZs, public + isolated subnets, no NAT, endpoints, flow logs."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template

from dr_constructs import DrConfigurationError, DrNetwork
from dr_constructs.network import default_availability_zones

from .conftest import new_stack, normalised, only, resources_of


@pytest.fixture(scope="module")
def template() -> Template:
    stack = new_stack()
    DrNetwork(stack, "Network")
    return Template.from_stack(stack)


def test_snapshot(template: Template, snapshot_json: Any) -> None:
    assert normalised(template) == snapshot_json


def test_real_azs_never_placeholders(template: Template) -> None:
    azs = {
        s["Properties"]["AvailabilityZone"]
        for s in resources_of(template, "AWS::EC2::Subnet").values()
    }
    assert azs == {"us-east-1a", "us-east-1b", "us-east-1c"}


def test_isolated_tier_has_no_route_out_and_public_tier_no_public_ips(template: Template) -> None:
    template.resource_count_is("AWS::EC2::NatGateway", 0)
    routes = [r["Properties"] for r in resources_of(template, "AWS::EC2::Route").values()]
    assert len(routes) == 3 and all("GatewayId" in r for r in routes)  # public subnets -> IGW


def test_flow_log_group_encrypted_and_retained(template: Template) -> None:
    group = only(template, "AWS::Logs::LogGroup")
    assert "KmsKeyId" in group and group["RetentionInDays"] == 365
    template.has_resource("AWS::Logs::LogGroup", {"DeletionPolicy": "Retain"})


def test_default_security_group_is_restricted(template: Template) -> None:
    template.resource_count_is("Custom::VpcRestrictDefaultSG", 1)


@pytest.mark.parametrize(
    ("region", "expected"),
    [
        ("us-east-1", ["us-east-1a", "us-east-1b", "us-east-1c"]),
        ("ap-northeast-1", ["ap-northeast-1a", "ap-northeast-1c", "ap-northeast-1d"]),
    ],
)
def test_default_azs_per_region(region: str, expected: list[str]) -> None:
    assert default_availability_zones(new_stack(region)) == expected


def test_environment_agnostic_stack_resolves_azs_at_deploy_time() -> None:
    azs = default_availability_zones(new_stack(region=None))
    resolved = [Stack.of(new_stack(region=None)).resolve(az) for az in azs]
    assert resolved == [{"Fn::Select": [i, {"Fn::GetAZs": ""}]} for i in range(3)]


def test_existing_vpc_is_used_not_replaced() -> None:
    stack = new_stack()
    vpc = ec2.Vpc(stack, "Mine", availability_zones=["us-east-1a", "us-east-1b"], nat_gateways=0,
                  subnet_configuration=[ec2.SubnetConfiguration(
                      name="iso", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])  # fmt: skip
    network = DrNetwork(stack, "Network", vpc=vpc)
    assert network.vpc is vpc
    Template.from_stack(stack).resource_count_is("AWS::EC2::VPC", 1)


@pytest.mark.parametrize(
    "azs",
    [
        ["us-east-1a"],  # fewer than 2
        ["us-east-1a", "us-east-1a"],  # duplicates
        ["eu-west-1a", "eu-west-1b"],  # another region
        ["dummy1a", "dummy1b"],  # CDK's placeholders
    ],
)
def test_bad_availability_zones_are_rejected(azs: list[str]) -> None:
    with pytest.raises(DrConfigurationError, match=r"availability_zones=.*accepted: at least 2"):
        DrNetwork(new_stack(), "Network", availability_zones=azs)

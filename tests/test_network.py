"""DrNetwork: 3 pinned AZs, public + isolated subnets, no NAT, endpoints, flow logs."""

from __future__ import annotations

import json
from typing import Any

import boto3
import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk.assertions import Template

from dr_constructs import DrConfigurationError, DrDatabase, DrNetwork
from dr_constructs.network import AZ_LETTERS, default_availability_zones

from .conftest import ACCOUNT, new_stack, normalised, only, resources_of


def looked_up(region: str, *azs: str) -> dict[str, list[str]]:
    """CDK context as ``cdk synth`` writes it after looking up the account's AZs."""
    return {f"availability-zones:account={ACCOUNT}:region={region}": list(azs)}


def subnet_azs(stack: Stack) -> list[Any]:
    subnets = resources_of(Template.from_stack(stack), "AWS::EC2::Subnet").values()
    return sorted({json.dumps(s["Properties"]["AvailabilityZone"]) for s in subnets})


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


def get_azs(count: int) -> list[dict[str, Any]]:
    return [{"Fn::Select": [i, {"Fn::GetAZs": ""}]} for i in range(count)]


@pytest.mark.parametrize(
    ("region", "count"),
    [
        ("us-west-1", 2),  # two AZs per account, letters vary by account (a/b, b/c)
        ("cn-north-1", 3),  # a, b, d: never cn-north-1c
        ("eu-west-1", 3),  # a region without a pinned letter set
    ],
)
def test_default_azs_are_the_accounts_own_where_letters_are_not_known(
    region: str, count: int
) -> None:
    stack = new_stack(region)
    DrNetwork(stack, "Network")
    assert subnet_azs(stack) == sorted(json.dumps(az) for az in get_azs(count))


@pytest.mark.parametrize("region", sorted(AZ_LETTERS))
def test_pinned_letters_exist_in_the_region(region: str) -> None:
    """Every AZ pinned without a lookup exists in moto's model of the region's AZs."""
    from moto import mock_aws

    with mock_aws():
        zones = boto3.client("ec2", region_name=region).describe_availability_zones()
    names = {z["ZoneName"] for z in zones["AvailabilityZones"]}
    assert set(default_availability_zones(new_stack(region))) <= names


@pytest.mark.parametrize(
    ("region", "azs"),
    [
        ("us-west-1", ["us-west-1b", "us-west-1c"]),  # the region's two AZs
        ("cn-north-1", ["cn-north-1a", "cn-north-1b", "cn-north-1d"]),  # letters skip c
        ("us-east-1", ["us-east-1b", "us-east-1d", "us-east-1e", "us-east-1f"]),
    ],
)
def test_looked_up_azs_are_used_even_two(region: str, azs: list[str]) -> None:
    stack = new_stack(region, **looked_up(region, *azs))
    network = DrNetwork(stack, "Network")
    DrDatabase(stack, "Data", network=network)
    assert subnet_azs(stack) == sorted(json.dumps(az) for az in azs[:3])
    instances = resources_of(Template.from_stack(stack), "AWS::RDS::DBInstance").values()
    assert sorted(i["Properties"]["AvailabilityZone"] for i in instances) == azs[:2]


def test_azs_not_among_the_looked_up_ones_are_rejected() -> None:
    stack = new_stack("us-west-1", **looked_up("us-west-1", "us-west-1a", "us-west-1b"))
    with pytest.raises(DrConfigurationError, match=r"availability_zones=.*looked up.*us-west-1a"):
        DrNetwork(stack, "Network", availability_zones=["us-west-1b", "us-west-1c"])


def test_a_lookup_of_one_az_is_reported_not_used() -> None:
    stack = new_stack("us-west-1", **looked_up("us-west-1", "us-west-1a"))
    with pytest.raises(DrConfigurationError, match=r"availability_zones=\['us-west-1a'\]"):
        DrNetwork(stack, "Network")


@pytest.mark.parametrize(
    ("region", "expected"),
    [("us-east-1", ["us-east-1a", "us-east-1b", "us-east-1c"]), ("us-west-1", get_azs(2))],
)
def test_stack_with_a_region_but_no_account(region: str, expected: list[Any]) -> None:
    """As the example app synthesizes without credentials (no CDK_DEFAULT_ACCOUNT)."""
    stack = Stack(App(analytics_reporting=False), "Test", env=Environment(region=region))
    assert [stack.resolve(az) for az in default_availability_zones(stack)] == expected


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
        [],  # empty is not "default"
    ],
)
def test_bad_availability_zones_are_rejected(azs: list[str]) -> None:
    with pytest.raises(DrConfigurationError, match=r"availability_zones=.*accepted: at least 2"):
        DrNetwork(new_stack(), "Network", availability_zones=azs)


def test_one_interface_endpoint_instead_of_a_list_is_reported() -> None:
    with pytest.raises(DrConfigurationError, match=r"interface_endpoints=.*a sequence of"):
        DrNetwork(
            new_stack(),
            "Network",
            interface_endpoints=ec2.InterfaceVpcEndpointAwsService.KMS,  # type: ignore[arg-type]
        )


def endpoint_ingress(stack: Stack) -> list[Any]:
    groups = resources_of(Template.from_stack(stack), "AWS::EC2::SecurityGroup")
    return [
        rule["CidrIp"]
        for key, group in groups.items()
        if "SecretsmanagerEndpoint" in key
        for rule in group["Properties"].get("SecurityGroupIngress", [])
    ]


def test_own_vpc_in_the_app_endpoint_admits_its_literal_range() -> None:
    """A literal, not the VPC's CidrBlock attribute: rule packs cannot check a token."""
    stack = new_stack()
    vpc = ec2.Vpc(stack, "Mine", ip_addresses=ec2.IpAddresses.cidr("10.20.0.0/16"),
                  max_azs=2, nat_gateways=0, subnet_configuration=[ec2.SubnetConfiguration(
                      name="iso", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED)])  # fmt: skip
    DrNetwork(stack, "Network", vpc=vpc)
    assert endpoint_ingress(stack) == ["10.20.0.0/16"]


def test_imported_vpc_needs_its_route_tables_and_range() -> None:
    stack = new_stack()
    attributes: dict[str, Any] = {
        "vpc_id": "vpc-1234",
        "availability_zones": ["us-east-1a", "us-east-1b"],
        "isolated_subnet_ids": ["subnet-1", "subnet-2"],
    }
    no_routes = ec2.Vpc.from_vpc_attributes(stack, "NoRoutes", **attributes)
    with pytest.raises(DrConfigurationError, match=r"vpc='Test/NoRoutes'.*route_table_ids="):
        DrNetwork(stack, "Network", vpc=no_routes)
    attributes["isolated_subnet_route_table_ids"] = ["rtb-1", "rtb-2"]
    without = ec2.Vpc.from_vpc_attributes(stack, "Without", **attributes)
    with pytest.raises(DrConfigurationError, match=r"vpc='Test/Without'.*vpc_cidr_block="):
        DrNetwork(stack, "Network1", vpc=without)
    with_range = ec2.Vpc.from_vpc_attributes(
        stack, "With", vpc_cidr_block="10.30.0.0/16", **attributes
    )
    DrNetwork(stack, "Network2", vpc=with_range)
    assert endpoint_ingress(stack) == ["10.30.0.0/16"]


def test_isolated_only_network_has_no_public_tier_and_no_interface_endpoint() -> None:
    """The recovery region's network: isolated subnets, gateway endpoints, no internet."""
    stack = new_stack()
    DrNetwork(stack, "Network", public_subnets=False, secrets_manager_endpoint=False)
    template = Template.from_stack(stack)
    subnets = resources_of(template, "AWS::EC2::Subnet")
    assert len(subnets) == 3 and all(
        s["Properties"]["MapPublicIpOnLaunch"] is False for s in subnets.values()
    )
    for absent in (
        "AWS::EC2::InternetGateway",
        "AWS::EC2::VPCGatewayAttachment",
        "AWS::EC2::Route",
    ):
        assert resources_of(template, absent) == {}, absent
    endpoints = resources_of(template, "AWS::EC2::VPCEndpoint").values()
    assert sorted(e["Properties"]["VpcEndpointType"] for e in endpoints) == ["Gateway", "Gateway"]


@pytest.mark.parametrize("prop", ["public_subnets", "secrets_manager_endpoint"])
def test_the_tier_switches_are_booleans(prop: str) -> None:
    with pytest.raises(DrConfigurationError, match=rf"DrNetwork: invalid {prop}='no'"):
        DrNetwork(new_stack(), "Network", **{prop: "no"})

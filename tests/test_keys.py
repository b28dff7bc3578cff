"""keys: customer-managed keys, and the service principals their policies name in every
partition."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from aws_cdk import RemovalPolicy
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Template
from aws_cdk.region_info import Default, RegionInfo

from dr_constructs import DrPlatform
from dr_constructs.keys import logs_encryption_key

from .conftest import new_stack, resources_of


def logs_principal(region: str | None) -> Any:
    stack = new_stack(region)
    logs_encryption_key(stack, "Key", description="logs", removal_policy=RemovalPolicy.RETAIN)
    (key,) = resources_of(Template.from_stack(stack), "AWS::KMS::Key").values()
    (statement,) = [
        s
        for s in key["Properties"]["KeyPolicy"]["Statement"]
        if s.get("Sid") == "AllowCloudWatchLogs"
    ]
    return statement["Principal"]["Service"]


@pytest.mark.parametrize("region", ["us-east-1", "cn-north-1", "cn-northwest-1", "us-gov-west-1"])
def test_logs_principal_is_the_regional_one_of_the_partition(region: str) -> None:
    # aws-cdk-lib's region-info rule for CloudWatch Logs: logs.{region}.{the partition's suffix}
    expected = Default.service_principal(
        "logs.amazonaws.com", region, RegionInfo.get(region).domain_suffix or ""
    )
    assert logs_principal(region) == expected
    if region.startswith("cn-"):
        assert expected == f"logs.{region}.amazonaws.com.cn"


def test_logs_principal_of_an_environment_agnostic_stack_follows_the_partition() -> None:
    assert logs_principal(None) == {
        "Fn::Join": ["", ["logs.", {"Ref": "AWS::Region"}, ".", {"Ref": "AWS::URLSuffix"}]]
    }


@pytest.fixture(scope="module")
def china() -> dict[str, Any]:
    stack = new_stack("cn-north-1")
    DrPlatform(
        stack, "Dr", function_code=lambda_.Code.from_inline("def h(e, c): pass"),
        function_handler="index.h", removal_policy=RemovalPolicy.DESTROY,
    )  # fmt: skip
    return Template.from_stack(stack).to_json()  # type: ignore[no-any-return]


def service_principals(value: Any) -> list[Any]:
    found: list[Any] = []
    if isinstance(value, dict):
        for key, item in value.items():
            if key == "Principal" and isinstance(item, dict) and "Service" in item:
                services = item["Service"]
                found += services if isinstance(services, list) else [services]
            else:
                found += service_principals(item)
    elif isinstance(value, list):
        for item in value:
            found += service_principals(item)
    return found


def test_every_service_principal_in_china_is_valid_there(china: dict[str, Any]) -> None:
    """In aws-cn: CloudWatch Logs' regional principal ends in amazonaws.com.cn; every other
    principal is a global ``{service}.amazonaws.com`` (as ``iam.ServicePrincipal`` renders
    them for every partition), never with a region of another partition baked in."""
    principals = service_principals(china)
    assert "logs.cn-north-1.amazonaws.com.cn" in principals
    assert "logs.cn-north-1.amazonaws.com" not in principals
    for principal in principals:
        assert isinstance(principal, str), json.dumps(principal)
        assert principal == "logs.cn-north-1.amazonaws.com.cn" or re.fullmatch(
            r"[a-z0-9-]+(\.[a-z0-9-]+)*\.amazonaws\.com", principal
        ), principal
        assert "us-east-1" not in principal

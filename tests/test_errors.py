"""DrPlatform input validation: the library's own error, naming prop, value and what is accepted."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2

from dr_constructs import DrConfigurationError, DrPlatform

from .conftest import new_stack


@pytest.mark.parametrize(
    ("props", "message"),
    [
        ({"environment_suffix": ""}, r"environment_suffix=''"),
        ({"environment_suffix": "UPPER"}, r"environment_suffix='UPPER'"),
        ({"environment_suffix": "a" * 21}, r"1-20 characters"),
        ({"environment_suffix": "has space"}, r"lower-case letters"),
        ({"removal_policy": RemovalPolicy.SNAPSHOT}, r"removal_policy="),
        ({"backup_retention": Duration.days(0)}, r"backup_retention=.*1 to 35"),
        ({"availability_zones": ["us-east-1a"]}, r"availability_zones=\['us-east-1a'\]"),
        ({"instance_type": ec2.InstanceType("t4g.micro")}, r"instance_type='t4g.micro'"),
        ({"reserved_concurrency": 5000}, r"reserved_concurrency=5000"),
    ],
)
def test_bad_input_raises_dr_configuration_error(props: dict[str, Any], message: str) -> None:
    with pytest.raises(DrConfigurationError, match=message) as raised:
        DrPlatform(new_stack(), "Dr", **props)
    assert "accepted:" in str(raised.value)


def test_error_carries_structured_fields() -> None:
    with pytest.raises(DrConfigurationError) as raised:
        DrPlatform(new_stack(), "Dr", environment_suffix="Bad")
    assert (raised.value.prop, raised.value.value) == ("environment_suffix", "Bad")
    assert isinstance(raised.value, ValueError)

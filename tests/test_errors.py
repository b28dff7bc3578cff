"""DrPlatform input validation: the library's own error, naming prop, value and what is accepted."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_ec2 as ec2

from dr_constructs import DrConfigurationError, DrDatabase, DrNetwork, DrPlatform

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


#: Every boolean switch of every construct, with how to build it around the bad value.
SWITCHES = {
    "DrPlatform(proxy)": lambda v: DrPlatform(new_stack(), "Dr", proxy=v),
    "DrPlatform(resilience_hub)": lambda v: DrPlatform(new_stack(), "Dr", resilience_hub=v),
    "DrPlatform(restore_tests)": lambda v: DrPlatform(new_stack(), "Dr", restore_tests=v),
    "DrPlatform(drills)": lambda v: DrPlatform(new_stack(), "Dr", drills=v),
    "DrPlatform(audit_reports)": lambda v: DrPlatform(new_stack(), "Dr", audit_reports=v),
    "DrDatabase(proxy)": lambda v: DrDatabase(
        (stack := new_stack()), "Data", network=DrNetwork(stack, "Network"), proxy=v
    ),
}


@pytest.mark.parametrize("switch", SWITCHES)
@pytest.mark.parametrize("value", [1, 0, "yes", "False", 1.0])
def test_every_boolean_switch_refuses_non_booleans(switch: str, value: Any) -> None:
    """``DrPlatform(resilience_hub=1)`` was accepted (issue 18): a switch takes True or False."""
    construct, prop = switch.rstrip(")").split("(")
    with pytest.raises(DrConfigurationError) as raised:
        SWITCHES[switch](value)
    assert (raised.value.construct, raised.value.prop, raised.value.value) == (
        construct, prop, value
    )  # fmt: skip
    assert raised.value.accepted.startswith("True or False")


@pytest.mark.parametrize("switch", [s for s in SWITCHES if "restore_tests" not in s])
def test_none_is_not_a_switch_value(switch: str) -> None:
    with pytest.raises(
        DrConfigurationError, match=r"invalid \w+='NoneType'; accepted: True or False$"
    ):
        SWITCHES[switch](None)


def test_restore_tests_none_means_the_regions_default() -> None:
    assert DrPlatform(new_stack(), "Dr", restore_tests=None).restore_testing is not None

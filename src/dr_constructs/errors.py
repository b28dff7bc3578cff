"""The one error type the library raises for bad input, and the checks that raise it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Token


class DrConfigurationError(ValueError):
    """A construct prop has a value the library cannot turn into a deployable template.

    Raised while the construct tree is built (at synth time, before any deployment); the
    message names the prop, the rejected value and what is accepted.
    """

    def __init__(self, construct: str, prop: str, value: Any, accepted: str) -> None:
        self.construct = construct
        self.prop = prop
        self.value = value
        self.accepted = accepted
        super().__init__(f"{construct}: invalid {prop}={value!r}; accepted: {accepted}")


#: Accepted ``removal_policy`` values: keep stateful data, or opt in to deleting it.
REMOVAL_POLICIES = (RemovalPolicy.RETAIN, RemovalPolicy.DESTROY)

# dr-table-{suffix}, dr-function-{suffix}, S3 bucket names: lower case, digits, hyphens.
_SUFFIX = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?$")


def check_removal_policy(construct: str, value: RemovalPolicy) -> RemovalPolicy:
    if value not in REMOVAL_POLICIES:
        raise DrConfigurationError(
            construct,
            "removal_policy",
            value,
            "RemovalPolicy.RETAIN (default: keep data) or RemovalPolicy.DESTROY (explicit opt-in)",
        )
    return value


def check_environment_suffix(construct: str, value: str) -> str:
    if not isinstance(value, str) or Token.is_unresolved(value) or not _SUFFIX.match(value):
        raise DrConfigurationError(
            construct,
            "environment_suffix",
            value,
            "1-20 characters of lower-case letters, digits and inner hyphens "
            "(it names S3 buckets, DynamoDB tables and Lambda functions), e.g. 'dev' or 'prod'",
        )
    return value


def check_int_range(construct: str, prop: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DrConfigurationError(construct, prop, value, f"an integer from {low} to {high}")
    return value


def check_days(construct: str, prop: str, value: Duration, low: int, high: int) -> int:
    """Return ``value`` in whole days, or raise unless it is ``low``..``high`` days."""
    accepted = f"a Duration of whole days from {low} to {high}"
    if not isinstance(value, Duration):
        raise DrConfigurationError(construct, prop, value, accepted)
    hours = value.to_hours()
    if hours % 24 or not low <= hours // 24 <= high:
        raise DrConfigurationError(construct, prop, value.to_human_string(), accepted)
    return int(hours // 24)


def check_choice(construct: str, prop: str, value: Any, choices: Iterable[Any]) -> Any:
    options = list(choices)
    if value not in options:
        raise DrConfigurationError(
            construct, prop, value, "one of " + ", ".join(repr(o) for o in options)
        )
    return value

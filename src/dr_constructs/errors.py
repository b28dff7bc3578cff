"""The one error type the library raises for bad input, and the checks that raise it."""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from aws_cdk import Duration, RemovalPolicy, Stack, Token
from constructs import IConstruct


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

# dr-table-{suffix}, dr-function-{suffix}, dr-aurora-{suffix} (RDS identifiers allow no "--"):
# lower case, digits, single inner hyphens.
_SUFFIX = re.compile(r"^(?!.*--)[a-z0-9](?:[a-z0-9-]{0,18}[a-z0-9])?$")


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
            "1-20 characters of lower-case letters, digits and single inner hyphens "
            "(it names the Aurora cluster, DynamoDB table, Lambda function and backup vault), "
            "e.g. 'dev' or 'prod'",
        )
    return value


def check_instance_of(construct: str, prop: str, value: Any, type_: type, accepted: str) -> Any:
    """Return ``value`` if it is a ``type_``, else raise naming ``accepted``."""
    if not isinstance(value, type_):
        shown = value if isinstance(value, str | int | float) else type(value).__name__
        raise DrConfigurationError(construct, prop, shown, accepted)
    return value


def check_bool(construct: str, prop: str, value: Any, *, none: str | None = None) -> Any:
    """Return ``value`` if it is ``True`` or ``False`` (or ``None`` when ``none`` says what
    None means), else raise: a switch given ``1``, ``"yes"`` or ``"false"`` is a mistake."""
    if isinstance(value, bool) or (value is None and none is not None):
        return value
    accepted = "True or False" + (f", or None for {none}" if none is not None else "")
    shown = value if isinstance(value, str | int | float) else type(value).__name__
    raise DrConfigurationError(construct, prop, shown, accepted)


def check_key(construct: str, prop: str, value: Any) -> Any:
    """``None`` or a KMS key (``kms.IKey``: recognised by its ARN and grant methods)."""
    if value is not None and not (hasattr(value, "key_arn") and hasattr(value, "grant")):
        raise DrConfigurationError(
            construct, prop, type(value).__name__, "a kms.IKey, or None for a new key"
        )
    return value


def check_duration(construct: str, prop: str, value: Any, low: int, high: int) -> int:
    """Return ``value`` in whole seconds, or raise unless it is ``low``..``high`` seconds."""
    accepted = f"a Duration of whole seconds from {low} to {high} seconds"
    if not isinstance(value, Duration):
        raise DrConfigurationError(construct, prop, type(value).__name__, accepted)
    try:
        seconds = value.to_seconds()
    except RuntimeError:  # e.g. Duration.millis(1500): jsii refuses a fractional conversion
        raise DrConfigurationError(construct, prop, value.to_human_string(), accepted) from None
    if seconds != int(seconds) or not low <= seconds <= high:
        raise DrConfigurationError(construct, prop, value.to_human_string(), accepted)
    return int(seconds)


def check_int_range(construct: str, prop: str, value: Any, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise DrConfigurationError(construct, prop, value, f"an integer from {low} to {high}")
    return value


def check_days(construct: str, prop: str, value: Duration, low: int, high: int) -> int:
    """Return ``value`` in whole days, or raise unless it is ``low``..``high`` days."""
    accepted = f"a Duration of whole days from {low} to {high}"
    if not isinstance(value, Duration):
        raise DrConfigurationError(construct, prop, value, accepted)
    try:
        hours = value.to_hours()
    except RuntimeError:  # e.g. Duration.minutes(90): jsii refuses a fractional conversion
        raise DrConfigurationError(construct, prop, value.to_human_string(), accepted) from None
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


def check_binding(construct: str, value: Any) -> Any:
    """``None`` or recovery objectives (recognised by their ``bind`` method)."""
    if value is not None and not callable(getattr(value, "bind", None)):
        raise DrConfigurationError(
            construct, "objectives", type(value).__name__,
            "a dr_constructs.RecoveryObjectives, or None",
        )  # fmt: skip
    return value


def claim_physical_name(
    scope: IConstruct,
    construct: str,
    prop: str,
    value: Any,
    kind: str,
    name: str,
    *,
    per_account: bool = False,
) -> str:
    """Record that ``scope`` names a ``kind`` of resource ``name``, and return ``name``.

    Physical names collide at deployment only, so the library keeps its own register of them
    across the whole app (every stack and stage), keyed by the stack's account and region (or
    the account alone, with ``per_account``, for names unique per account such as CloudWatch
    dashboards); environment-agnostic stacks count as one unknown environment. Raises naming
    ``prop`` (the prop that chose the name, ``value``) when the name is taken there already.
    """
    stack = Stack.of(scope)
    account = "an unknown account" if Token.is_unresolved(stack.account) else stack.account
    if per_account:
        where = f"account {account} (in every region)"
    elif Token.is_unresolved(stack.region):
        where = f"account {account}, an unknown region"
    else:
        where = f"account {account}, {stack.region}"
    root = scope.node.root
    register: dict[tuple[str, str, str], str] = root.__dict__.setdefault(
        "_dr_constructs_physical_names", {}
    )
    owner = register.setdefault((where, kind, name), scope.node.path)
    if owner != scope.node.path:
        raise DrConfigurationError(
            construct,
            prop,
            value,
            f"a value that gives names not used elsewhere in the app for the same environment: "
            f"{kind} {name!r} is already {owner}'s in {where}",
        )
    return name

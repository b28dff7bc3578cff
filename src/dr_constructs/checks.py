"""The checks of one construct's props, bound to the construct: one line per prop.

::

    check = Checks(self, "DrDatabase")
    suffix = check.environment_suffix(environment_suffix)
    check.removal_policy(removal_policy)
    check.int_range("readers", readers, 1, 15)
    check.claim("table", table_name(suffix))

Each check returns the value (converted where it says) or raises
:class:`~dr_constructs.errors.DrConfigurationError` naming the construct, the prop, the value
and what is accepted, with the messages of :mod:`dr_constructs.errors`. Checks that need the
construct's place in the app (the physical names claimed there, what its region offers) use
the scope the checker is bound to.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any, NoReturn

from aws_cdk import Duration, RemovalPolicy
from aws_cdk import aws_events as events
from constructs import IConstruct

from .errors import (
    DrConfigurationError,
    check_binding,
    check_bool,
    check_choice,
    check_days,
    check_duration,
    check_environment_suffix,
    check_instance_of,
    check_int_range,
    check_key,
    check_removal_policy,
    claim_physical_name,
)
from .regions import require


class Checks:
    """The checks of the construct ``name`` (as error messages call it) built in ``scope``."""

    def __init__(self, scope: IConstruct, name: str) -> None:
        self.scope = scope
        self.name = name
        self._suffix: str | None = None

    def fail(self, prop: str, value: Any, accepted: str) -> NoReturn:
        """Raise for ``prop``: ``value`` is not what is ``accepted``."""
        raise DrConfigurationError(self.name, prop, value, accepted)

    def removal_policy(self, value: RemovalPolicy) -> RemovalPolicy:
        return check_removal_policy(self.name, value)

    def environment_suffix(self, value: str) -> str:
        """The suffix, also the value :meth:`claim` names as the prop that chose a name."""
        self._suffix = check_environment_suffix(self.name, value)
        return self._suffix

    def instance_of(self, prop: str, value: Any, type_: type, accepted: str) -> Any:
        return check_instance_of(self.name, prop, value, type_, accepted)

    def has(self, prop: str, value: Any, *attributes: str, accepted: str) -> Any:
        """``value`` if it has every one of ``attributes`` (how a jsii interface such as
        ``rds.IDatabaseProxy`` is recognised), else raise naming its type."""
        if not all(hasattr(value, attribute) for attribute in attributes):
            self.fail(prop, type(value).__name__, accepted)
        return value

    def switch(self, prop: str, value: Any, *, none: str | None = None) -> Any:
        """``True`` or ``False`` (or ``None`` when ``none`` says what None means)."""
        return check_bool(self.name, prop, value, none=none)

    def key(self, prop: str, value: Any) -> Any:
        """``None`` or a KMS key."""
        return check_key(self.name, prop, value)

    def objectives(self, value: Any) -> Any:
        """``None`` or recovery objectives (``objectives=``)."""
        return check_binding(self.name, value)

    def duration(self, prop: str, value: Any, low: int, high: int) -> int:
        """``value`` in whole seconds, ``low``..``high``."""
        return check_duration(self.name, prop, value, low, high)

    def whole_duration(
        self, prop: str, value: Any, low: int, high: int, *, step: int, accepted: str
    ) -> int:
        """``value`` in seconds, ``low``..``high`` and a whole number of ``step`` seconds
        (e.g. whole minutes); else raise with ``accepted``."""
        seconds = self.duration(prop, value, low, high)
        if seconds % step:
            self.fail(prop, value.to_human_string(), accepted)
        return seconds

    def days(self, prop: str, value: Duration, low: int, high: int) -> int:
        """``value`` in whole days, ``low``..``high``."""
        return check_days(self.name, prop, value, low, high)

    def int_range(self, prop: str, value: Any, low: int, high: int) -> int:
        return check_int_range(self.name, prop, value, low, high)

    def choice(self, prop: str, value: Any, choices: Iterable[Any]) -> Any:
        return check_choice(self.name, prop, value, choices)

    def cron(self, prop: str, value: Any, accepted: str) -> events.Schedule:
        """An ``events.Schedule.cron(...)``: AWS Backup and its restore testing take cron
        expressions only."""
        if not isinstance(value, events.Schedule) or not value.expression_string.startswith(
            "cron("
        ):
            self.fail(prop, getattr(value, "expression_string", value), accepted)
        return value

    def claim(self, kind: str, name: str, *, per_account: bool = False) -> str:
        """Claim the physical name ``name`` of a ``kind`` of resource in the app (see
        :func:`~dr_constructs.errors.claim_physical_name`), chosen by the environment suffix
        checked with :meth:`environment_suffix`."""
        assert self._suffix is not None, "check the environment_suffix first"
        return claim_physical_name(
            self.scope, self.name, "environment_suffix", self._suffix, kind, name,
            per_account=per_account,
        )  # fmt: skip

    def require(self, prop: str, value: Any = True, feature: str | None = None) -> None:
        """Raise unless the stack's region has ``feature`` (default: ``prop``) asked for with
        ``prop=value`` (see :func:`~dr_constructs.regions.require`)."""
        require(self.scope, self.name, prop, value, feature or prop)

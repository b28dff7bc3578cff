"""Recovery objectives as code: declare RPO/RTO per failure mode, hold data stores to them (a
breach fails synth), report the posture.

An assurance module: the core layers never import it; they receive a
:class:`RecoveryObjectives` (``objectives=``) and call its ``bind``, which adds the stores to
the stack's posture report. What a store achieves is computed by the engine in
:mod:`dr_constructs.posture` and written by :mod:`dr_constructs.posture_report`; their public
names stay importable from here. The figures and their sources are in ``docs/objectives.md``.
"""

from __future__ import annotations

import importlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from aws_cdk import Duration
from constructs import Construct

from .contract import SPEC_RPO_SECONDS, SPEC_RTO_SECONDS
from .errors import DrConfigurationError, check_duration
from .posture import (
    AURORA_FAILOVER_SECONDS,
    AURORA_REBUILD_SECONDS,
    BACKUP_RESOURCE_TYPE,
    CONTINUOUS_LAG_SECONDS,
    COPY_BASELINE_SECONDS,
    DEFAULT_COMPLETION_WINDOW_MINUTES,
    DEFAULT_START_WINDOW_MINUTES,
    MULTI_AZ_CLUSTER_FAILOVER_SECONDS,
    PROXY_FAILOVER_SECONDS,
    RDS_MULTI_AZ_FAILOVER_SECONDS,
    RESTORE_BASELINE_SECONDS,
    FailureMode,
    Posture,
    RecoveryPoints,
    Templates,
    assess,
    assess_templates,
    backup_alarm_windows,
    copy_arrival_window,
    recovery_points,
    stores_of,
)
from .posture_report import (
    PostureReport,
    _describe,
    posture_markdown,
    posture_table,
    summary_markdown,
    write_posture_report,
)
from .schedules import schedule_interval_seconds

#: The spec's objectives: RPO 1 hour, RTO 4 hours.
DEFAULT_RPO = Duration.hours(SPEC_RPO_SECONDS // 3600)
DEFAULT_RTO = Duration.hours(SPEC_RTO_SECONDS // 3600)
_MAX_TARGET = 35 * 24 * 3600  # the longest recovery window AWS offers (35 days)


@dataclass(frozen=True)
class Target:
    """An override of the objectives for one failure mode; what it leaves out (None) is the
    overall ``rpo`` / ``rto``.

    ``RecoveryObjectives(rto=Duration.hours(1), az_loss=Target(rto=Duration.minutes(1)))``
    """

    rpo: Duration | None = None
    rto: Duration | None = None


class RecoveryObjectives:
    """The declared recovery point and time objectives, per failure mode.

    Args:
        rpo: most data (as time) a failure may lose. Default - 1 hour (the spec).
        rto: longest time to recover. Default - 4 hours (the spec).
        az_loss: override for the loss of one AZ. Default - ``rpo``/``rto``.
        corruption: override for logical corruption or deletion. Default - ``rpo``/``rto``.
        stack_deletion: override for accidental deletion of the stack. Default - ``rpo``/``rto``.
        region_loss: the objectives for the loss of the whole region, a ``Target`` (what it
            leaves out is ``rpo``/``rto``). Met only by copies in another region:
            ``DrPlatform(..., recovery_region=DrRecoveryRegion(...))``, which refuses it
            without one (docs/recovery-region.md). Default - not assessed.
        restore_time: your estimate (better: a measurement) of how long restoring the largest
            data store takes, until it answers; used wherever a restore is the way back. For
            Aurora, the time to usable that ``dr-constructs restore aurora --yes`` prints (the
            restore job, the writer it adds, the first query). Default - 1 hour, the
            library's assumption for a small data set (the report says so).
        copy_time: your estimate (better: a measurement) of how long a copy of a recovery
            point takes to reach the recovery region; added to the region-loss RPO.
            Default - 1 hour, the library's assumption (the report says so).
    """

    def __init__(
        self,
        *,
        rpo: Duration = DEFAULT_RPO,
        rto: Duration = DEFAULT_RTO,
        az_loss: Target | None = None,
        corruption: Target | None = None,
        stack_deletion: Target | None = None,
        region_loss: Target | None = None,
        restore_time: Duration | None = None,
        copy_time: Duration | None = None,
    ) -> None:
        self.rpo_seconds = check_duration("RecoveryObjectives", "rpo", rpo, 0, _MAX_TARGET)
        self.rto_seconds = check_duration("RecoveryObjectives", "rto", rto, 0, _MAX_TARGET)
        #: Target (rpo_seconds, rto_seconds) per failure mode (as Durations: :meth:`rpo`,
        #: :meth:`rto`).
        self.targets: dict[FailureMode, tuple[int, int]] = {}
        overrides = [
            (FailureMode.AZ_LOSS, az_loss),
            (FailureMode.CORRUPTION, corruption),
            (FailureMode.STACK_DELETION, stack_deletion),
        ]
        if region_loss is not None:  # assessed only when stated: it needs a second region
            overrides.append((FailureMode.REGION_LOSS, region_loss))
        for mode, override in overrides:
            prop = mode.name.lower()
            if override is not None and not isinstance(override, Target):
                raise DrConfigurationError(
                    "RecoveryObjectives", prop, type(override).__name__,
                    "a Target(rpo=..., rto=...), or None for the overall rpo/rto",
                )  # fmt: skip
            over = override or Target()
            self.targets[mode] = (
                self.rpo_seconds
                if over.rpo is None
                else check_duration("RecoveryObjectives", f"{prop}.rpo", over.rpo, 0, _MAX_TARGET),
                self.rto_seconds
                if over.rto is None
                else check_duration("RecoveryObjectives", f"{prop}.rto", over.rto, 0, _MAX_TARGET),
            )
        #: The restore time in seconds the user estimated, or None (the baseline is used).
        self.restore_time_seconds = (
            None
            if restore_time is None
            else check_duration("RecoveryObjectives", "restore_time", restore_time, 1, _MAX_TARGET)
        )
        #: The copy time in seconds the user estimated, or None (the baseline is used).
        self.copy_time_seconds = (
            None
            if copy_time is None
            else check_duration("RecoveryObjectives", "copy_time", copy_time, 1, _MAX_TARGET)
        )

    def rpo(self, mode: FailureMode) -> Duration:
        """The RPO target of the failure ``mode`` (its override, else the overall ``rpo``)."""
        return Duration.seconds(self.targets[mode][0])

    def rto(self, mode: FailureMode) -> Duration:
        """The RTO target of the failure ``mode`` (its override, else the overall ``rto``)."""
        return Duration.seconds(self.targets[mode][1])

    def bind(self, layer: Construct, *stores: Construct) -> None:
        """Hold ``stores`` to these objectives: checked when the app is synthesized (a breach
        fails synthesis) and listed in the stack's posture report. Data layers call this when
        given ``objectives=``; :class:`DrPlatform` checks at once instead (:meth:`check`)."""
        PostureReport.of(layer).add(self, stores, check_at_synth=True)

    def check(
        self, stores: Iterable[Construct], *, templates: Templates | None = None
    ) -> list[Posture]:
        """The postures of ``stores``; raises :class:`DrConfigurationError` on the first breach.
        ``templates`` keeps the stacks' templates rendered for later calls (see :func:`assess`)."""
        postures = assess(self, stores, templates=templates)
        for posture in postures:
            breach = posture.breach()
            if breach is not None:
                raise breach
        return postures

    def describe(self) -> str:
        """One line, e.g. ``RPO 1 h, RTO 4 h (az-loss: RTO 1 min)``."""
        return _describe(self.to_dict())

    def to_dict(self) -> dict[str, Any]:
        return {
            "rpo_seconds": self.rpo_seconds,
            "rto_seconds": self.rto_seconds,
            "per_failure": {
                mode.value: {"rpo_seconds": rpo, "rto_seconds": rto}
                for mode, (rpo, rto) in self.targets.items()
            },
            "restore_time_seconds": self.restore_time_seconds,
            **(
                {"copy_time_seconds": self.copy_time_seconds}
                if self.copy_time_seconds is not None
                else {}
            ),
        }


# --- Helpers ---------------------------------------------------------------------------------


def _target_text(target: Any) -> str:
    if isinstance(target, Target):
        parts = [
            f"{name}={value.to_human_string()}"
            for name, value in (("rpo", target.rpo), ("rto", target.rto))
            if value is not None
        ]
        return f"Target({', '.join(parts)})"
    return type(target).__name__


#: Moved to :mod:`dr_constructs.resilience_hub`; still importable from here (loaded on first use:
#: that module builds on this one).
_MOVED = {
    "ResilienceHubApp": "resilience_hub",
    "RESILIENCE_HUB_INVOKER_POLICY": "resilience_hub",
    "RESILIENCE_HUB_TIERS": "resilience_hub",
}


def __getattr__(name: str) -> Any:
    if name in _MOVED:
        return getattr(importlib.import_module(f".{_MOVED[name]}", __package__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "AURORA_FAILOVER_SECONDS",
    "AURORA_REBUILD_SECONDS",
    "BACKUP_RESOURCE_TYPE",
    "CONTINUOUS_LAG_SECONDS",
    "COPY_BASELINE_SECONDS",
    "DEFAULT_COMPLETION_WINDOW_MINUTES",
    "DEFAULT_RPO",
    "DEFAULT_RTO",
    "DEFAULT_START_WINDOW_MINUTES",
    "MULTI_AZ_CLUSTER_FAILOVER_SECONDS",
    "PROXY_FAILOVER_SECONDS",
    "RDS_MULTI_AZ_FAILOVER_SECONDS",
    "RESTORE_BASELINE_SECONDS",
    "FailureMode",
    "Posture",
    "PostureReport",
    "RecoveryObjectives",
    "RecoveryPoints",
    "ResilienceHubApp",  # noqa: F822 - moved, served by __getattr__
    "Target",
    "Templates",
    "assess",
    "assess_templates",
    "backup_alarm_windows",
    "copy_arrival_window",
    "posture_markdown",
    "posture_table",
    "recovery_points",
    "schedule_interval_seconds",
    "stores_of",
    "summary_markdown",
    "write_posture_report",
]

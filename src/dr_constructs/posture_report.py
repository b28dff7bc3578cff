"""The posture report: every store held to objectives, written beside the template as
``{stack}.dr-posture.json`` and ``.md`` when the app is synthesized, and the dashboard's summary
of it."""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jsii
from aws_cdk import Stack, Stage
from constructs import Construct, IConstruct, IValidation

from .posture import (
    FailureMode,
    Objectives,
    Posture,
    RecoveryPoints,
    Templates,
    _human,
    _in_templates,
    _inf,
    _points,
    assess,
)


@jsii.implements(IValidation)
class _Validation:
    def __init__(self, report: PostureReport) -> None:
        self._report = report

    def validate(self) -> list[str]:
        return self._report._validate()


class PostureReport(Construct):
    """The stack's posture: every store held to objectives, written beside the template as
    ``{stack}.dr-posture.json`` and ``.md`` when the app is synthesized.

    One per stack (:meth:`of`). The files are written into the stage's assembly directory
    during synthesis. Stores bound with ``check_at_synth`` are assessed then, after the tree is
    complete, and fail synthesis on a breach; stores added with the postures a constructor's
    check computed (``checked``, as :class:`DrPlatform` does) are reported with those, the
    figures that check held them to and the dashboard shows, not computed a second time.
    """

    ID = "DrPostureReport"

    def __init__(self, scope: Construct, id: str) -> None:
        super().__init__(scope, id)
        self._entries: list[_Entry] = []
        self._assurance: list[dict[str, Any]] = []
        self.node.add_validation(_Validation(self))

    @classmethod
    def of(cls, scope: IConstruct) -> PostureReport:
        stack = Stack.of(scope)
        found = stack.node.try_find_child(cls.ID)
        return found if isinstance(found, PostureReport) else cls(stack, cls.ID)

    def add(
        self,
        objectives: Objectives,
        stores: Sequence[Construct],
        *,
        check_at_synth: bool,
        checked: tuple[list[Posture], Templates] | None = None,
    ) -> None:
        """Report ``stores`` against ``objectives``: assessed at synthesis, or with the postures
        of a check already made and the templates it read (``checked``)."""
        postures, templates = checked if checked is not None else (None, None)
        kept = None if postures is None else tuple(postures)
        self._entries.append(_Entry(objectives, tuple(stores), check_at_synth, kept, templates))

    def add_assurance(self, construct: str, feature: str, enabled: bool, reason: str) -> None:
        """Record whether an assurance feature (restore tests, drills, ...) of ``construct``
        (a construct path) is built, and why: the report says what proves the posture."""
        self._assurance.append(
            {"construct": construct, "feature": feature, "enabled": enabled, "reason": reason}
        )

    @property
    def postures(self) -> list[Posture]:
        return self._postures({})

    def _postures(self, templates: Templates) -> list[Posture]:
        seen: set[str] = set()
        postures: list[Posture] = []
        for entry in self._entries:
            found = entry.postures
            if found is None:
                found = tuple(assess(entry.objectives, entry.stores, templates=templates))
            for posture in found:
                key = f"{posture.resource}|{posture.failure}"
                if key not in seen:
                    seen.add(key)
                    postures.append(posture)
        return postures

    @property
    def file_stem(self) -> str:
        """``{artifact}`` of ``{artifact}.template.json``: the posture files sit beside it."""
        return Stack.of(self).template_file.removesuffix(".template.json")

    @property
    def recovery_points(self) -> dict[str, list[RecoveryPoints]]:
        """Per store (construct path), the AWS Backup recovery points its plan rules make."""
        return self._recovery_points({})

    def _recovery_points(self, templates: Templates) -> dict[str, list[RecoveryPoints]]:
        found: dict[str, list[RecoveryPoints]] = {}
        for entry in self._entries:
            read = templates if entry.templates is None else entry.templates
            for app, store in _in_templates(entry.stores, read):
                found.setdefault(store.path, _points(app, store, []))
        return found

    def to_dict(self) -> dict[str, Any]:
        return self._to_dict({})

    def _to_dict(self, templates: Templates) -> dict[str, Any]:
        return {
            "stack": Stack.of(self).stack_name,
            "objectives": [o.to_dict() for o in _unique(e.objectives for e in self._entries)],
            "postures": [p.to_dict() for p in self._postures(templates)],
            "recovery_points": {
                store: [p.to_dict() for p in points]
                for store, points in self._recovery_points(templates).items()
            },
            "assurance": list(self._assurance),
        }

    def to_markdown(self) -> str:
        return posture_markdown(self.to_dict())

    def _validate(self) -> list[str]:
        """Write the report and check the stores bound ``check_at_synth``, from one rendering of
        each stack's template (none when every store was checked already)."""
        templates: Templates = {}
        out = Path(Stage.of(self).outdir)  # type: ignore[union-attr]
        write_posture_report(out, self.file_stem, self._to_dict(templates))
        errors: list[str] = []
        for entry in self._entries:
            if entry.check_at_synth:
                postures = assess(entry.objectives, entry.stores, templates=templates)
                errors += [str(b) for p in postures if (b := p.breach())]
        return errors


@dataclass(frozen=True)
class _Entry:
    """Stores held to objectives, with the postures of a check already made (else None)."""

    objectives: Objectives
    stores: tuple[Construct, ...]
    check_at_synth: bool
    postures: tuple[Posture, ...] | None = None
    #: The templates that check read, for the stores' recovery points.
    templates: Templates | None = None


def posture_markdown(report: Mapping[str, Any]) -> str:
    """The markdown of a posture report (``PostureReport.to_dict()``'s form)."""
    objectives = "; ".join(_describe(o) for o in report["objectives"]) or "none"
    lines = [
        f"# DR posture of {report['stack']}",
        "",
        f"Declared objectives: {objectives}.",
        "",
        posture_table(report["postures"]) if report["postures"] else "No data store.",
    ]
    if "recovery_points" in report:
        lines += ["", "## AWS Backup recovery points", ""]
        lines += [
            f"- {store}: "
            + ("; ".join(_describe_points(p) for p in points) or "none (no backup plan selects it)")
            for store, points in report["recovery_points"].items()
        ]
    if report.get("assurance"):
        lines += ["", "## Assurance features", "", "| construct | feature | built | why |",
                  "| --- | --- | --- | --- |"]  # fmt: skip
        lines += [
            f"| {a['construct']} | {a['feature']} | {'yes' if a['enabled'] else 'no'} | "
            f"{a['reason']} |"
            for a in report["assurance"]
        ]
    return "\n".join(lines) + "\n"


def _describe_points(points: Mapping[str, Any]) -> str:
    """:meth:`RecoveryPoints.describe` of a ``to_dict()`` row."""
    return RecoveryPoints(
        points["type"], points["rule"], points["vault"], points["schedule"],
        points["interval_seconds"],
    ).describe()  # fmt: skip


def write_posture_report(directory: Path, stem: str, report: Mapping[str, Any]) -> None:
    """Write ``{stem}.dr-posture.json`` and ``.md`` (``report`` in ``to_dict()``'s form)."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / f"{stem}.dr-posture.json"
    path.write_text(json.dumps(report, indent=2) + "\n")
    path.with_suffix(".md").write_text(posture_markdown(report))


def posture_table(postures: Iterable[Posture | Mapping[str, Any]]) -> str:
    """A markdown table of postures (or their ``to_dict()`` rows)."""
    lines = [
        "| resource | failure | RPO | RTO | target RPO | target RTO | evidence |",
        "| --- | --- | --- | --- | --- | --- | --- |",
    ]
    for posture in postures:
        row = posture.to_dict() if isinstance(posture, Posture) else posture
        evidence = row["evidence"] + "".join(
            f"; not counted: {note}" for note in row.get("not_counted") or []
        )
        lines.append(
            f"| {row['resource']} | {row['failure']} | {_human(row['rpo_seconds'])} | "
            f"{_human(row['rto_seconds'])} | {_human(row['target_rpo_seconds'])} | "
            f"{_human(row['target_rto_seconds'])} | {evidence} |"
        )
    return "\n".join(lines)


def summary_markdown(objectives: Objectives, postures: Sequence[Posture]) -> str:
    """The dashboard's text: declared objectives and, per failure mode, the worst store."""
    lines = [f"**Objectives** {objectives.describe()}. **Achievable** (worst store):"]
    for mode in FailureMode:
        rows = [p for p in postures if p.failure == mode]
        if not rows:
            continue
        rpo = max((p.rpo_seconds for p in rows), key=_inf)
        rto = max((p.rto_seconds for p in rows), key=_inf)
        lines.append(f"{mode.label}: RPO {_human(rpo)}, RTO {_human(rto)}.")
    return " ".join(lines)


# --- Helpers ---------------------------------------------------------------------------------


def _unique(items: Iterable[Objectives]) -> list[Objectives]:
    out: list[Objectives] = []
    for item in items:
        if all(item is not o for o in out):
            out.append(item)
    return out


def _describe(objectives: Mapping[str, Any]) -> str:
    """:meth:`Objectives.describe` of its ``to_dict()``."""
    rpo, rto = objectives["rpo_seconds"], objectives["rto_seconds"]
    overrides = [
        f"{mode}: RPO {_human(t['rpo_seconds'])}, RTO {_human(t['rto_seconds'])}"
        for mode, t in objectives["per_failure"].items()
        if (t["rpo_seconds"], t["rto_seconds"]) != (rpo, rto)
    ]
    text = f"RPO {_human(rpo)}, RTO {_human(rto)}"
    return text + (f" ({'; '.join(overrides)})" if overrides else "")

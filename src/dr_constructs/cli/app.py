"""The ``dr-constructs`` console script: click commands, rich output, ``--json`` for machines.

Exit codes: 0 fine, 1 an objective is breached or a job failed, 2 bad usage (unknown stack,
a stack not built with dr-constructs, ``--to`` outside the window, no recovery point yet),
3 partial: ``status`` could not read every section (and found no breach in what it read).
"""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any, TypeVar

import click
from rich.console import Console
from rich.progress import BarColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from .aws import (
    AWS_ERRORS,
    EXIT_BREACHED,
    EXIT_PARTIAL,
    EXIT_USAGE,
    Aws,
    OperatorError,
    Poll,
    aws_error_message,
)
from .discovery import DrStack, discover, human
from .drill import DRILL_FAILURE_MODE, DRILLS, plan_drill, run_drill
from .restore import KINDS, plan_restore, run_restore
from .status import collect_status

F = TypeVar("F", bound=Callable[..., Any])


class IsoTime(click.ParamType[datetime]):
    """An ISO 8601 time (``2026-11-29T21:30:00Z``); without an offset it is UTC."""

    name = "TIME"

    def convert(
        self, value: Any, param: click.Parameter | None, ctx: click.Context | None
    ) -> datetime:
        if isinstance(value, datetime):
            return value
        try:
            moment = datetime.fromisoformat(str(value))
        except ValueError:
            self.fail(f"{value!r} is not an ISO 8601 time, e.g. 2026-11-29T21:30:00Z", param, ctx)
        return moment.replace(tzinfo=UTC) if moment.tzinfo is None else moment.astimezone(UTC)


def _common(command: F) -> F:
    """--stack, --region, --profile, --json; errors become one line and an exit code."""

    def wrapper(ctx: click.Context, /, **kwargs: Any) -> Any:
        settings = dict(ctx.obj or {})
        aws = Aws(region=kwargs.pop("region"), profile=kwargs.pop("profile"), **settings)
        try:
            stack = discover(aws, kwargs.pop("stack_name"))
            code = command(aws, stack, **kwargs)
        except OperatorError as exc:
            click.echo(f"error: {exc}", err=True)
            ctx.exit(exc.exit_code)
        except AWS_ERRORS as exc:
            click.echo(f"error: {aws_error_message(exc)}", err=True)
            ctx.exit(EXIT_USAGE)
        ctx.exit(code)

    wrapper.__name__, wrapper.__doc__ = command.__name__, command.__doc__
    decorated: Any = click.pass_context(wrapper)
    for option in (
        click.option("--json", "as_json", is_flag=True, help="Print JSON for machines."),
        click.option("--profile", default=None, help="AWS named profile. Default - the default."),
        click.option("--region", default=None, help="AWS region. Default - the profile's."),
        click.option("--stack", "stack_name", required=True, help="The CloudFormation stack."),
    ):
        decorated = option(decorated)
    return decorated  # type: ignore[no-any-return]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(package_name="dr-constructs", prog_name="dr-constructs")
def cli() -> None:
    """Operate a stack built with dr-constructs: status, restore, drill.

    Resources are found in the stack by type (CloudFormation), the recovery objectives in the
    template's Metadata "dr-constructs". Exit codes: 0 fine, 1 an objective is breached or a
    job failed, 2 bad usage, 3 status could read only part of the stack.
    """


def main() -> None:
    """Console-script entry point."""
    cli(prog_name="dr-constructs")


def _console() -> Console:
    console = Console(file=sys.stdout, highlight=False, soft_wrap=True)
    if not console.is_terminal:
        console.width = max(console.width, 120)  # a file or a pipe: no 80-column wrapping
    return console


def _print_json(document: dict[str, Any]) -> None:
    click.echo(json.dumps(document, indent=2, default=str))


# --- status ---------------------------------------------------------------------------------


@cli.command()
@_common
def status(aws: Aws, stack: DrStack, as_json: bool) -> int:
    """Recovery points against the RPO, PITR, the cluster's instances, the last restore test
    against the RTO, and the alarms in ALARM. Each section is read on its own. Exit 1 when an
    objective is breached, 3 when a section could not be read (and none is breached)."""
    report = collect_status(aws, stack)
    code = EXIT_BREACHED if report["breaches"] else EXIT_PARTIAL if report["unreadable"] else 0
    if as_json:
        _print_json(report)
        return code
    out = _console()
    objective = stack.objective(report["measured_against"])
    out.print(f"[bold]{stack.name}[/] ({report['region']}), checked {report['checked_at']}")
    out.print(
        f"Objectives ({report['measured_against']}): RPO {human(objective.rpo_seconds)}, "
        f"RTO {human(objective.rto_seconds)} - {stack.objectives_note}"
    )
    out.print(_points_table(report["resources"]))
    for resource in report["resources"]:
        if resource["kind"] == "aurora":
            out.print(_topology_line(resource), markup=False)
    out.print(_tests_table(report["resources"], objective.rto_seconds, objective.rpo_seconds))
    out.print(_copies_table(report))
    alarms = report["alarms_in_alarm"]
    out.print(
        "Alarms in ALARM: "
        + ("[yellow]not read[/]" if alarms is None
           else f"[red]{', '.join(alarms)}[/]" if alarms else "[green]none[/]")
    )  # fmt: skip
    for missing in report["unreadable"]:
        out.print(
            f"[yellow]Not read:[/] {missing['section']} ({missing['call']}: {missing['error']})"
        )
    if report["breaches"]:
        out.print("[red bold]Objective breached:[/] " + "; ".join(report["breaches"]))
    return code


def _points_table(resources: list[dict[str, Any]]) -> Table:
    table = Table(title="Recovery points")
    for column in ("resource", "name", "latest snapshot", "continuous", "newest restorable",
                   "age"):  # fmt: skip
        # times and ages on one line; names and states fold
        table.add_column(column, overflow="fold", no_wrap=column in ("latest snapshot", "age"))
    for resource in resources:
        point, continuous = resource["latest_recovery_point"], resource["continuous_recovery_point"]
        restorable = resource.get("latest_restorable")
        if resource["kind"] == "table":
            pitr = resource.get("pitr")
            shown = f"PITR {pitr}" + (f", {restorable}" if restorable else "")
            restorable = "[yellow]not read[/]" if pitr is None else shown
        age, met = resource["age_seconds"], resource["rpo_met"]
        colour = {True: "green", False: "red", None: "yellow"}[met]
        verdict = {True: "within RPO", False: "beyond RPO", None: "not read"}[met]
        table.add_row(
            resource["kind"],
            resource["name"],
            _cell(point, lambda p: p["created"]),
            _cell(continuous, lambda p: f"{p['status']} since {p['since']}", "-"),
            restorable or "-",
            f"[{colour}]{human(age) if age is not None else 'none'} ({verdict})[/]",
        )
    return table


def _copies_table(report: dict[str, Any]) -> Table | str:
    """The newest copy of each store in the recovery region, against the region-loss RPO."""
    recovery = report["recovery_region"]
    if recovery is None:
        return "Recovery region: not configured (every backup stays in this region)"
    rpo = recovery["rpo_seconds"]
    objective = f"region-loss RPO {human(rpo)}" if rpo is not None else "no region-loss RPO stated"
    table = Table(
        title=f"Copies in the recovery region {recovery['region']} (vault {recovery['vault']}, "
        f"{objective})"
    )
    for column in ("resource", "name", "newest copy", "age"):
        table.add_column(column, overflow="fold", no_wrap=column in ("newest copy", "age"))
    for resource in report["resources"]:
        copy = resource["recovery_copy"]
        if not isinstance(copy, dict):
            table.add_row(resource["kind"], resource["name"], _cell(copy, str), "-")
            continue
        met = copy["rpo_met"]
        colour = {True: "green", False: "red", None: "yellow"}[met]
        verdict = {True: "within RPO", False: "beyond RPO", None: "no objective"}[met]
        table.add_row(
            resource["kind"], resource["name"], copy["created"],
            f"[{colour}]{human(copy['age_seconds'])} ({verdict})[/]",
        )  # fmt: skip
    return table


def _cell(value: Any, show: Callable[[dict[str, Any]], str], none: str = "[red]none yet[/]") -> str:
    if value == "not read":
        return "[yellow]not read[/]"
    return show(value) if value else none


def _topology_line(resource: dict[str, Any]) -> str:
    if "writer" not in resource:
        return f"Aurora {resource['name']}: writer and readers not read"
    writer = resource["writer"]
    readers = ", ".join(f"{r['id']} ({r['az']})" for r in resource["readers"]) or "none"
    head = f"Aurora {resource['name']} ({resource['state']}): "
    return (
        head
        + (f"writer {writer['id']} ({writer['az']})" if writer else "no writer")
        + (f"; readers {readers}")
    )


def _tests_table(resources: list[dict[str, Any]], rto_seconds: int, rpo_seconds: int) -> Table:
    """The last restore test per store: the time it took until usable (Aurora, when measured:
    the job, an instance added, the first query; otherwise the restore job) against the RTO,
    the restored data's age against the RPO, and AWS Backup's validation."""
    tests = Table(title="Last restore test (AWS Backup restore testing)")
    for column in ("resource", "job", "started", f"time (RTO {human(rto_seconds)})",
                   f"data age (RPO {human(rpo_seconds)})", "validation"):  # fmt: skip
        tests.add_column(column)
    notes = []
    for resource in resources:
        test = resource["last_restore_test"]
        if not isinstance(test, dict):
            shown = "[yellow]not read[/]" if test == "not read" else "[yellow]none yet[/]"
            tests.add_row(resource["kind"], shown, "-", "-", "-", "-")
            continue
        duration, usable = test["duration_seconds"], test.get("time_to_usable_seconds")
        took = human(duration) if duration is not None else "running"
        if isinstance(usable, float):
            took = f"usable {human(round(usable))} (job {took})"
        age = test.get("data_age_seconds")
        met = test.get("data_age_met")
        age_colour = "yellow" if met is None else "green" if met else "red"
        tests.add_row(
            resource["kind"], f"{test['job_id']} {test['status']}", test["started"],
            f"[{'green' if test['rto_met'] else 'red'}]{took}[/]",
            f"[{age_colour}]{_measure(age)}[/]",
            test["validation"] or "-",
        )  # fmt: skip
        if test.get("validation_message"):
            notes.append(f"{resource['kind']}: {test['validation_message']}")
    if notes:
        tests.caption = "\n".join(notes)
    return tests


def _measure(seconds: Any) -> str:
    if isinstance(seconds, float):
        return human(round(seconds))
    return "not read" if seconds == "not read" else "not measured"


# --- restore --------------------------------------------------------------------------------


@cli.command()
@click.argument("kind", type=click.Choice(KINDS))
@click.option(
    "--to", "to", type=IsoTime(), default=None,
    help="Restore to this time (ISO 8601, UTC unless an offset is given), from the "
    "continuous backup; with --from-region, the newest copy at or before it. Default - the "
    "latest recovery point.",
)  # fmt: skip
@click.option(
    "--from-region", "from_region", default=None, metavar="REGION",
    help="Restore from the newest copy (at or before --to) in the stack's recovery region, "
    "into that region's network and key. Must be the recovery region the stack states. "
    "Default - restore in the stack's own region.",
)  # fmt: skip
@click.option("--yes", is_flag=True, help="Start the restore. Default - only show it.")
@click.option(
    "--no-instance", "no_instance", is_flag=True,
    help="Aurora: stop when the cluster is restored and print the create-db-instance command. "
    "Default - add the writer (the source writer's class), wait until it is available and "
    "measure the time to a usable cluster.",
)  # fmt: skip
@click.option("--timeout", type=click.IntRange(1), default=6 * 3600, show_default=True,
              help="Seconds to follow the job before giving up (it goes on in AWS).")  # fmt: skip
@click.option("--interval", type=click.FloatRange(0), default=15.0, show_default=True,
              help="Seconds between polls.")  # fmt: skip
@_common
def restore(
    aws: Aws, stack: DrStack, kind: str, to: datetime | None, from_region: str | None, yes: bool,
    no_instance: bool, timeout: int, interval: float, as_json: bool,
) -> int:  # fmt: skip
    """Restore the Aurora cluster, the DynamoDB table or the data bucket to a NEW resource.

    Shows the complete request and the equivalent aws CLI command; starts it only with --yes,
    then follows the job (for Aurora, also the writer it adds) and prints the time to a usable
    resource against the RTO objective. The original resources are never touched.
    """
    plan = plan_restore(aws, stack, kind, to, from_region)
    out = _console()
    if not as_json:
        where = f" in the recovery region {plan.region}, from its copy" if plan.region else ""
        out.print(
            f"Restore {kind} [bold]{plan.source}[/] to a new {_NOUN[kind]} "
            f"[bold]{plan.target}[/]{where} (the original is not touched)"
        )
        point = plan.recovery_point
        out.print(f"Recovery point: {json.dumps(point)}")
        if plan.left_out:
            out.print(
                "Left out of the recovery point's restore metadata (not among the keys AWS "
                f"documents for this restore): {', '.join(plan.left_out)}",
                markup=False,
            )
        out.print(f"Request ({plan.service} {plan.operation}):")
        out.print_json(data=plan.to_dict()["request"])
        out.print("Equivalent aws CLI command:")
        out.print(plan.cli_display, markup=False)
    if not yes:
        return _dry_run(out, stack, plan.to_dict(), as_json)
    with _progress(as_json) as progress:
        task = progress.add_task(f"restore {kind}", total=100)

        def on_progress(percent: float | None, state: str) -> None:
            progress.update(task, completed=percent or 0, description=f"restore {kind}: {state}")

        result = run_restore(
            aws, stack, plan, poll=Poll(aws, interval, timeout), on_progress=on_progress,
            instance=not no_instance,
        )  # fmt: skip
    code = 0 if result["rto_met"] else EXIT_BREACHED
    if as_json:
        _print_json({"stack": stack.name, "executed": True, **plan.to_dict(), "result": result})
        return code
    _print_restore_result(out, result)
    return code


def _print_restore_result(out: Console, result: dict[str, Any]) -> None:
    """The restore's time against the RTO, what it created and, for Aurora, the writer, the
    endpoint and the canary row read in the copy."""
    colour = "green" if result["rto_met"] else "red"
    verdict = (
        f"{'within' if result['rto_met'] else 'BEYOND'} the {result['failure_mode']} RTO of "
        f"{human(result['rto_seconds'])}"
    )
    if "time_to_usable_seconds" in result:
        out.print(
            f"[{colour}]Usable in {human(result['time_to_usable_seconds'])} (restore job "
            f"{human(result['duration_seconds'])}, then the writer and the first query): "
            f"{verdict}[/]"
        )
    else:
        out.print(f"[{colour}]Restored in {human(result['duration_seconds'])}: {verdict}[/]")
    out.print(f"Created: {result['created']}", markup=False)
    if "endpoint" in result:
        out.print(
            f"Writer: {result['instance']} ({result['instance_class']}); point clients at "
            f"{result['endpoint']}:{result['port']}",
            markup=False,
        )
    canary = result.get("canary")
    if canary and canary["verified"]:
        age = canary["data_age_seconds"]
        out.print(
            f"Canary row: written by {canary['writer']} at {canary['checked_at']}"
            + ("" if age is None else f", {human(age)} before the point in time restored"),
            markup=False,
        )
    elif canary:
        out.print(f"Canary row not read: {canary['reason']}", markup=False)
    if "next_step" in result:
        out.print(f"Next: {result['next_step']}", markup=False)


_NOUN = {"aurora": "cluster", "table": "table", "bucket": "bucket"}


def _dry_run(out: Console, stack: DrStack, plan: dict[str, Any], as_json: bool) -> int:
    """What a command without --yes ends with: the plan, and nothing started."""
    if as_json:
        _print_json({"stack": stack.name, "executed": False, **plan})
    else:
        out.print("Dry run: nothing was started. Run again with --yes to start it.")
    return 0


# --- drill ----------------------------------------------------------------------------------


@cli.command()
@click.argument("drill", type=click.Choice(DRILLS))
@click.option("--az", default=None,
              help="The AZ to lose (drill az). Default - the writer's AZ.")  # fmt: skip
@click.option("--yes", is_flag=True, help="Start the experiment. Default - only show it.")
@click.option("--timeout", type=click.IntRange(1), default=3600, show_default=True,
              help="Seconds to follow the experiment before giving up.")  # fmt: skip
@click.option("--interval", type=click.FloatRange(0), default=5.0, show_default=True,
              help="Seconds between polls (writer and health check).")  # fmt: skip
@_common
def drill(
    aws: Aws, stack: DrStack, drill: str, az: str | None, yes: bool, timeout: int,
    interval: float, as_json: bool,
) -> int:  # fmt: skip
    """Run the stack's AWS FIS drill (loss of an AZ, or an Aurora failover) and measure it.

    Records when the writer moved and when the health check recovered, and reports the
    failover time against the AZ-loss RTO objective. Starts only with --yes.
    """
    if az is not None and drill != "az":
        raise click.UsageError("--az goes with the drill az only")
    plan = plan_drill(aws, stack, drill, az)
    out = _console()
    if not as_json:
        out.print(f"Drill [bold]{plan.drill}[/]: {plan.description}")
        out.print(f"Template {plan.template_id}; stops on: {', '.join(plan.stop_conditions)}")
        out.print("Equivalent aws CLI command:")
        out.print(plan.cli_display, markup=False)
    if not yes:
        return _dry_run(out, stack, plan.to_dict(), as_json)
    with _progress(as_json) as progress:
        task = progress.add_task(f"drill {plan.drill}", total=None)

        def on_tick(elapsed: float, state: str, writer: str | None, health: str | None) -> None:
            progress.update(
                task, description=f"drill {plan.drill}: {state}, writer {writer}, health {health}"
            )

        result = run_drill(aws, stack, plan, poll=Poll(aws, interval, timeout), on_tick=on_tick)
    code = EXIT_BREACHED if result["problems"] else 0
    if as_json:
        _print_json({"stack": stack.name, "executed": True, **plan.to_dict(), "result": result})
        return code
    moved = result["writer_moved_after_seconds"]
    out.print(
        f"Experiment {result['experiment_id']}: {result['state']}. Writer "
        + (f"moved {result['writer_before']} -> {result['writer_after']} after {human(moved)}"
           if moved is not None else f"stayed {result['writer_before']}")
    )  # fmt: skip
    recovered = result["health_check_recovered_after_seconds"]
    out.print(
        "Health check "
        + (f"failed, recovered after {human(recovered)}" if recovered is not None
           else "never failed")
    )  # fmt: skip
    colour = "green" if result["rto_met"] else "red"
    out.print(
        f"[{colour}]Failover {human(result['failover_seconds'])}: "
        f"{'within' if result['rto_met'] else 'BEYOND'} the {DRILL_FAILURE_MODE} RTO of "
        f"{human(result['rto_seconds'])}[/]"
    )
    for problem in result["problems"]:
        out.print(f"[red]{problem}[/]")
    return code


def _progress(quiet: bool) -> Progress:
    return Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TextColumn("{task.percentage:>3.0f}%"),
        TimeElapsedColumn(),
        console=Console(file=sys.stderr),
        disable=quiet,
        transient=False,
    )


__all__ = ["cli", "main"]

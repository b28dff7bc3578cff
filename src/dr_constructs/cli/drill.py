"""``drill``: start a stack's FIS drill, follow it, and measure the failover it causes.

While the experiment runs, each poll reads the cluster's writer (``describe_db_clusters``)
and invokes the health-check function (its report's ``status``); the measured failover time
is when the writer moved or, if the health check failed, when it was ``ok`` again, whichever
is later, against the AZ-loss RTO objective.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from ..contract import AURORA_FAILOVER_DRILL, AZ_DRILL_PREFIX, AZ_LOSS, DRILL_TAG, az_drill
from .aws import AWS_ERRORS, EXIT_BREACHED, Aws, OperatorError, Poll, aws_error_message
from .commands import aws_cli_command
from .discovery import DrStack

DRILLS = ("az", AURORA_FAILOVER_DRILL)
DRILL_FAILURE_MODE = AZ_LOSS
_FINAL = {"completed", "stopped", "failed", "cancelled"}


@dataclass
class DrillPlan:
    """The experiment template to start and the request that starts it."""

    drill: str
    template_id: str
    description: str
    stop_conditions: list[str]
    request: dict[str, Any]
    cli: str = ""
    #: The same command, one parameter a line, for people.
    cli_display: str = ""

    def to_dict(self) -> dict[str, Any]:
        return {
            "drill": self.drill,
            "experiment_template_id": self.template_id,
            "description": self.description,
            "stop_conditions": self.stop_conditions,
            "request": self.request,
            "aws_cli": self.cli,
        }


@dataclass
class _Observations:
    writer_before: str | None
    writer_after: str | None = None
    writer_moved_at: float | None = None
    health_failed_at: float | None = None
    health_recovered_at: float | None = None
    health: list[str] = field(default_factory=list)
    state: str = "pending"


def plan_drill(aws: Aws, stack: DrStack, drill: str, az: str | None) -> DrillPlan:
    """Find the drill's template by its ``dr-constructs:drill`` tag.

    Raises:
        OperatorError: no such drill in the stack (the ones it has are named).
    """
    writers_az = drill == "az" and az is None
    try:
        templates = _templates(aws, stack)
        if writers_az:
            az = _writer(aws, stack)[1]
    except AWS_ERRORS as exc:
        raise OperatorError(aws_error_message(exc)) from None
    name = az_drill(str(az)) if drill == "az" else drill
    if name not in templates:
        have = ", ".join(sorted(templates)) or "none (DrPlatform(..., drills=True) adds them)"
        why = f" (the writer is in {az} now)" if writers_az else ""
        hint = (
            "; DrDrills builds an AZ drill for every AZ the stack uses: a stack deployed with "
            "an older dr-constructs, or with DrDrills(availability_zones=...), has fewer"
            if drill == "az" and any(t.startswith(AZ_DRILL_PREFIX) for t in templates)
            else ""
        )
        raise OperatorError(
            f"stack {stack.name} has no drill {name!r}{why}; its drills: {have}{hint}"
        )
    template = templates[name]
    plan = DrillPlan(
        drill=name,
        template_id=template["id"],
        description=template.get("description", ""),
        stop_conditions=[
            c.get("value", c.get("source", "")) for c in template.get("stopConditions", [])
        ],
        request={
            "experimentTemplateId": template["id"],
            "clientToken": f"{name}-{aws.now().strftime('%Y%m%d%H%M%S')}",
            "tags": {DRILL_TAG: name, "started-by": "dr-constructs"},
        },
    )
    plan.cli = aws_cli_command(aws, "fis", "StartExperiment", plan.request)
    plan.cli_display = aws_cli_command(aws, "fis", "StartExperiment", plan.request, multiline=True)
    return plan


def run_drill(
    aws: Aws,
    stack: DrStack,
    plan: DrillPlan,
    *,
    poll: Poll,
    on_tick: Callable[[float, str, str | None, str | None], None] | None = None,
) -> dict[str, Any]:
    """Start the experiment and follow it until it ends and the health check is ok.

    Raises:
        OperatorError: (exit 1) the poll's timeout passed first.
    """
    rto = stack.objective(DRILL_FAILURE_MODE).rto_seconds
    fis = aws.client("fis")
    try:
        seen = _Observations(writer_before=_writer(aws, stack)[0])
        experiment_id = fis.start_experiment(**plan.request)["experiment"]["id"]
        started = aws.clock()

        def check() -> _Observations | None:
            elapsed = aws.clock() - started
            seen.state = fis.get_experiment(id=experiment_id)["experiment"]["state"]["status"]
            writer = _writer(aws, stack)[0]
            if writer != seen.writer_before and seen.writer_moved_at is None:
                seen.writer_after, seen.writer_moved_at = writer, elapsed
            health = _health(aws, stack)
            seen.health.append(health)
            if health != "ok" and seen.health_failed_at is None:
                seen.health_failed_at = elapsed
            elif health == "ok" and seen.health_failed_at is not None:
                seen.health_recovered_at = seen.health_recovered_at or elapsed
            if on_tick is not None:
                on_tick(elapsed, seen.state, writer, health)
            return seen if seen.state in _FINAL and health == "ok" else None

        poll.until(check)
    except AWS_ERRORS as exc:
        raise OperatorError(aws_error_message(exc), exit_code=EXIT_BREACHED) from None
    failover = max(seen.writer_moved_at or 0.0, seen.health_recovered_at or 0.0)
    problems = []
    if seen.state != "completed":
        problems.append(f"the experiment ended {seen.state}")
    if plan.drill == AURORA_FAILOVER_DRILL and seen.writer_moved_at is None:
        problems.append("the writer did not move")
    if failover > rto:
        problems.append(f"failover took longer than the AZ-loss RTO ({rto}s)")
    return {
        "experiment_id": experiment_id,
        "state": seen.state,
        "writer_before": seen.writer_before,
        "writer_after": seen.writer_after,
        "writer_moved_after_seconds": _round(seen.writer_moved_at),
        "health_check_failed_after_seconds": _round(seen.health_failed_at),
        "health_check_recovered_after_seconds": _round(seen.health_recovered_at),
        "failover_seconds": round(failover, 1),
        "rto_seconds": rto,
        "rto_met": failover <= rto,
        "problems": problems,
    }


def _templates(aws: Aws, stack: DrStack) -> dict[str, dict[str, Any]]:
    fis = aws.client("fis")
    found: dict[str, dict[str, Any]] = {}
    for template_id in stack.experiment_templates:
        template = fis.get_experiment_template(id=template_id)["experimentTemplate"]
        name = (template.get("tags") or {}).get(DRILL_TAG)
        if name:
            found[name] = template
    return found


def _writer(aws: Aws, stack: DrStack) -> tuple[str | None, str | None]:
    """The writer instance's id and AZ."""
    cluster_id = stack.require("cluster_id", "Aurora cluster (AWS::RDS::DBCluster)")
    rds = aws.client("rds")
    cluster = rds.describe_db_clusters(DBClusterIdentifier=cluster_id)["DBClusters"][0]
    for member in cluster.get("DBClusterMembers", []):
        if member.get("IsClusterWriter"):
            instance_id = member["DBInstanceIdentifier"]
            instance = rds.describe_db_instances(DBInstanceIdentifier=instance_id)
            return instance_id, instance["DBInstances"][0].get("AvailabilityZone")
    return None, None


def _health(aws: Aws, stack: DrStack) -> str:
    """The health check's report ``status`` (``ok``, ``degraded``, ``failed``), or ``error``."""
    if not stack.function_name:
        return "ok"  # no health check to ask: the writer alone tells
    response = aws.client("lambda").invoke(FunctionName=stack.function_name, Payload=b"{}")
    if response.get("FunctionError"):
        return "error"
    try:
        return str(json.loads(response["Payload"].read()).get("status", "error"))
    except (ValueError, AttributeError):
        return "error"


def _round(value: float | None) -> float | None:
    return None if value is None else round(value, 1)

"""Cron schedules as AWS Backup reads them: the longest gap between two runs.

Pure Python: the backup vault records its schedule's interval with it, the posture computation
reads the interval of every backup rule in a template, and neither depends on the other.
"""

from __future__ import annotations

import re


def schedule_interval_seconds(expression: str) -> int | None:
    """The longest gap between two runs of an AWS Backup ``cron(...)`` schedule, or None when
    the expression is not one this reads (then its snapshots are not counted)."""
    match = re.fullmatch(r"cron\((.+)\)", expression.strip())
    fields = match.group(1).split() if match else []
    if len(fields) != 6:
        return None
    minute, hour, day_of_month, _month, day_of_week, _year = fields
    every_day = day_of_month in ("*", "?") and day_of_week in ("*", "?")
    if not every_day:
        return 7 * 86400 if day_of_month in ("*", "?") else 31 * 86400
    step = re.fullmatch(r"(?:\*|\d+)/(\d+)", hour)
    if not re.fullmatch(r"\d+(,\d+)*", minute):
        return None
    if hour == "*":
        return 3600
    if step:
        return 3600 * int(step.group(1))
    if re.fullmatch(r"\d+(,\d+)*", hour):
        hours = sorted({int(h) for h in hour.split(",")})
        gaps = [b - a for a, b in zip(hours, [*hours[1:], hours[0] + 24], strict=True)]
        return 3600 * max(gaps)
    return None

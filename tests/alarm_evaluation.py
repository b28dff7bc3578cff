"""The state CloudWatch gives a synthesized alarm, from the datapoints a CloudWatch API holds.

No emulator here evaluates the library's metric-math alarms: moto stores alarms without
evaluating them, and LocalStack's alarm scheduler evaluates single-metric alarms only
(``alarm_scheduler._is_alarm_supported``). So :func:`alarm_state` reads an
``AWS::CloudWatch::Alarm`` as the template defines it (its metric queries and expression,
threshold, comparison, evaluation periods, datapoints to alarm, missing-data treatment),
fetches each metric query's datapoints with the real ``GetMetricData`` request (against moto),
and applies the rules of the Amazon CloudWatch User Guide:

* "Using Amazon CloudWatch alarms", alarm evaluation: *Evaluation Periods* "is the number of the
  most recent periods, or data points, to evaluate when determining alarm state"; *Datapoints
  to Alarm* "is the number of data points within the Evaluation Periods that must be breaching
  to cause the alarm to go to the ALARM state" (by default, all of them).
* Same page, "Configuring how CloudWatch alarms treat missing data": ``notBreaching`` "Missing
  data points are treated as 'good' and within the threshold"; ``breaching`` "treated as 'bad'
  and breaching the threshold"; ``missing`` "If all data points in the alarm evaluation range
  are missing, the alarm transitions to INSUFFICIENT_DATA"; ``ignore`` "The current alarm state
  is maintained".
* "Metric math syntax and functions": "The MAX value of an array of time series returns a
  single time series" (one value per timestamp, the highest of the series there).

Only what the library's alarms use is implemented; anything else raises, so that a new kind
of alarm fails its test instead of being evaluated wrongly.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta
from typing import Any

COMPARISONS = {
    "GreaterThanThreshold": lambda value, threshold: value > threshold,
    "GreaterThanOrEqualToThreshold": lambda value, threshold: value >= threshold,
    "LessThanThreshold": lambda value, threshold: value < threshold,
    "LessThanOrEqualToThreshold": lambda value, threshold: value <= threshold,
}
_MAX_OF_ARRAY = re.compile(r"MAX\(\[\s*([a-z][\w]*(?:\s*,\s*[a-z][\w]*)*)\s*\]\)")


def alarm_state(alarm: dict[str, Any], cloudwatch: Any, now: datetime) -> str:
    """``ALARM``, ``OK`` or ``INSUFFICIENT_DATA`` for ``alarm`` (the template's Properties),
    evaluated at ``now`` over the datapoints ``cloudwatch`` (a boto3 client) returns."""
    periods = alarm["EvaluationPeriods"]
    to_alarm = alarm.get("DatapointsToAlarm", periods)
    values = _series(alarm, cloudwatch, now, periods)
    treatment = alarm.get("TreatMissingData", "missing")
    compare = COMPARISONS[alarm["ComparisonOperator"]]
    if all(v is None for v in values):
        states = {"notBreaching": "OK", "breaching": "ALARM", "missing": "INSUFFICIENT_DATA"}
        return states[treatment]  # "ignore" (keep the state) is not used by the library
    if treatment not in ("notBreaching", "breaching"):
        raise NotImplementedError(f"TreatMissingData {treatment!r} with some data missing")
    breaching = sum(
        (treatment == "breaching") if v is None else compare(v, alarm["Threshold"]) for v in values
    )
    return "ALARM" if breaching >= to_alarm else "OK"


def _series(
    alarm: dict[str, Any], cloudwatch: Any, now: datetime, periods: int
) -> list[float | None]:
    """One value (or None, missing) per evaluation period, oldest first."""
    if "Metrics" not in alarm:
        query = {
            "Id": "m",
            "MetricStat": {
                "Metric": {
                    "Namespace": alarm["Namespace"],
                    "MetricName": alarm["MetricName"],
                    "Dimensions": alarm.get("Dimensions", []),
                },
                "Period": alarm["Period"],
                "Stat": alarm["Statistic"],
            },
        }
        return [v["m"] for v in _per_period([query], cloudwatch, now, periods)]
    queries = [q for q in alarm["Metrics"] if "MetricStat" in q]
    (expression,) = [q for q in alarm["Metrics"] if q.get("ReturnData", True) and "Expression" in q]
    match = _MAX_OF_ARRAY.fullmatch(expression["Expression"].strip())
    if match is None:
        raise NotImplementedError(f"metric math {expression['Expression']!r}")
    ids = [i.strip() for i in match.group(1).split(",")]
    assert sorted(ids) == sorted(q["Id"] for q in queries), (ids, queries)
    rows = _per_period(queries, cloudwatch, now, periods)
    return [max((row[i] for i in ids if row[i] is not None), default=None) for row in rows]


def _per_period(
    queries: list[dict[str, Any]], cloudwatch: Any, now: datetime, periods: int
) -> list[dict[str, float | None]]:
    """For each of the last ``periods`` periods (oldest first), each query's value there."""
    (period,) = {q["MetricStat"]["Period"] for q in queries}
    rows = []
    for index in reversed(range(periods)):
        end = now - timedelta(seconds=index * period)
        results = cloudwatch.get_metric_data(
            MetricDataQueries=[
                {"Id": q["Id"], "MetricStat": q["MetricStat"], "ReturnData": True} for q in queries
            ],
            StartTime=end - timedelta(seconds=period),
            EndTime=end,
        )["MetricDataResults"]
        rows.append({r["Id"]: (r["Values"][0] if r["Values"] else None) for r in results})
    return rows

"""The aws CLI command equivalent to a boto3 request, every value filled in."""

from __future__ import annotations

import json
import shlex
from datetime import UTC, datetime
from typing import Any

from botocore import xform_name  # type: ignore[import-untyped]

from .aws import Aws


def iso(moment: datetime) -> str:
    """ISO 8601 in UTC with a ``Z``, to the second."""
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def aws_cli_command(
    aws: Aws, service: str, operation: str, request: dict[str, Any], *, multiline: bool = False
) -> str:
    """``aws <service> <operation> --region ... --param value ...`` for ``request``.

    Scalars are passed as they are, datetimes in ISO 8601, booleans as ``--flag`` or
    ``--no-flag``, structures and maps as JSON (which the aws CLI accepts for any parameter).
    ``multiline`` puts each parameter on its own line, continued with backslashes.
    """
    parts = [f"aws {service} {xform_name(operation, '-')} {aws.cli_flags()}"]
    for name, value in request.items():
        option = "--" + xform_name(name, "-")
        if isinstance(value, bool):
            parts.append(option if value else "--no-" + option[2:])
        elif isinstance(value, datetime):
            parts.append(f"{option} {iso(value)}")
        elif isinstance(value, dict | list):
            parts.append(f"{option} {shlex.quote(json.dumps(value, separators=(',', ':')))}")
        else:
            parts.append(f"{option} {shlex.quote(str(value))}")
    return (" \\\n  " if multiline else " ").join(parts)

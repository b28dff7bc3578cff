"""AWS access for the operator command: clients, errors, and polling with a bounded timeout."""

from __future__ import annotations

import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import boto3  # type: ignore[import-untyped]
from botocore.exceptions import (  # type: ignore[import-untyped]
    BotoCoreError,
    ClientError,
    NoCredentialsError,
    NoRegionError,
)

#: Exit codes: 0 fine, 1 an objective breached or a job failed, 2 bad usage, 3 partial
#: (``status`` could not read every section and found no breach in what it read).
EXIT_OK, EXIT_BREACHED, EXIT_USAGE, EXIT_PARTIAL = 0, 1, 2, 3


class OperatorError(Exception):
    """A problem the operator can act on: printed as one line, never a traceback."""

    def __init__(self, message: str, exit_code: int = EXIT_USAGE) -> None:
        super().__init__(message)
        self.exit_code = exit_code


def error_code(exc: Exception) -> str:
    """The service's error code (``AccessDeniedException``, ``ThrottlingException``; the HTTP
    status, e.g. ``404``, when the answer was not an AWS error), or the botocore error's name."""
    if isinstance(exc, ClientError):
        return str(exc.response.get("Error", {}).get("Code") or "Error")
    return type(exc).__name__


def aws_error_message(exc: Exception) -> str:
    """One line for a botocore error: the service's code and message. A message that is an
    HTML or XML body (an endpoint that does not serve the API answers with a web page, which
    botocore passes on as the message) is replaced by the HTTP status."""
    if isinstance(exc, ClientError):
        error = exc.response.get("Error", {})
        operation = getattr(exc, "operation_name", "the call")
        message = str(error.get("Message") or "").strip()
        if not message or message.startswith("<"):
            status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            message = f"HTTP {status}" if status else "no message"
        return f"{operation}: {error_code(exc)}: {' '.join(message.split())}"
    if isinstance(exc, NoRegionError):
        return "no AWS region: pass --region or set AWS_REGION"
    if isinstance(exc, NoCredentialsError):
        return "no AWS credentials: pass --profile or configure credentials"
    return str(exc)


AWS_ERRORS: tuple[type[Exception], ...] = (ClientError, BotoCoreError)


@dataclass
class Aws:
    """boto3 clients for one region and profile; ``overrides`` replaces some (tests): a
    service's name for this region's client, ``service@region`` for :meth:`in_region`'s.

    ``sleep`` and ``clock`` drive every poll, so tests follow a job without waiting.
    """

    region: str | None = None
    profile: str | None = None
    overrides: Mapping[str, Any] = field(default_factory=dict)
    sleep: Callable[[float], None] = time.sleep
    clock: Callable[[], float] = time.monotonic
    now: Callable[[], datetime] = lambda: datetime.now(UTC)
    _session: Any = None
    _clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        if service in self.overrides:
            return self.overrides[service]
        if service not in self._clients:
            if self._session is None:
                self._session = boto3.Session(profile_name=self.profile, region_name=self.region)
            self._clients[service] = self._session.client(service)
        return self._clients[service]

    def in_region(self, region: str) -> Aws:
        """The same profile and clocks, with clients for ``region`` (the recovery region)."""
        suffix = f"@{region}"
        return Aws(
            region=region,
            profile=self.profile,
            overrides={
                key.removesuffix(suffix): client
                for key, client in self.overrides.items()
                if key.endswith(suffix)
            },
            sleep=self.sleep,
            clock=self.clock,
            now=self.now,
        )

    @property
    def region_name(self) -> str:
        """The region the clients use (from --region, the profile or the environment)."""
        region = self.region or self.client("cloudformation").meta.region_name
        return str(region)

    @property
    def partition(self) -> str:
        """The AWS partition of the region, for ARNs the command builds (S3 buckets)."""
        region = self.region_name
        if region.startswith("cn-"):
            return "aws-cn"
        return "aws-us-gov" if region.startswith("us-gov-") else "aws"

    def cli_flags(self) -> str:
        """``--region R [--profile P]`` for the equivalent aws CLI commands."""
        flags = f"--region {self.region_name}"
        return flags + (f" --profile {self.profile}" if self.profile else "")


@dataclass
class Poll:
    """Poll ``check`` until it returns a final value or ``timeout`` seconds have passed."""

    aws: Aws
    interval: float
    timeout: float

    def until(
        self, check: Callable[[], Any | None], on_tick: Callable[[float], None] | None = None
    ) -> tuple[Any, float]:
        """Return (the first non-None result of ``check``, seconds it took).

        Raises:
            OperatorError: (exit 1) the timeout passed first.
        """
        started = self.aws.clock()
        while True:
            result = check()
            elapsed = self.aws.clock() - started
            if on_tick is not None:
                on_tick(elapsed)
            if result is not None:
                return result, elapsed
            if elapsed >= self.timeout:
                raise OperatorError(
                    f"still not finished after {int(self.timeout)} s (--timeout); it goes on "
                    "in AWS: follow it with the aws command above",
                    exit_code=EXIT_BREACHED,
                )
            self.aws.sleep(self.interval)

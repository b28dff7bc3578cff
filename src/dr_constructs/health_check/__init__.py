"""The DR platform Lambda's default code: a health check of the database, DynamoDB and S3.

:func:`health_check_code` returns a ``aws_lambda.Code`` asset built on the synthesizing
machine, without Docker: ``runtime/handler.py`` plus the pure-Python distributions it needs
(pg8000 and its dependencies), copied from the current Python environment. boto3 is not
bundled; the Lambda Python runtime provides it.

Usage::

    from aws_cdk import aws_lambda as lambda_
    from dr_constructs.health_check import HANDLER, RUNTIME, health_check_code

    lambda_.Function(scope, "Fn", code=health_check_code(), handler=HANDLER, runtime=RUNTIME)

The function reads its configuration from environment variables (``DB_SECRET_ARN``,
``TABLE_NAME``, ``BUCKET_NAME`` and optional ones); see ``docs/health-check.md``.
"""

from __future__ import annotations

import os
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import aws_cdk as cdk
import jsii
from aws_cdk import aws_lambda as lambda_

from dr_constructs.health_check.bundling import (
    BUNDLED_ROOTS,
    RUNTIME_DIR,
    BundlingError,
    bundle_health_check,
    runtime_distributions,
)

__all__ = [
    "BUNDLED_ROOTS",
    "HANDLER",
    "RUNTIME",
    "RUNTIME_DIR",
    "BundlingError",
    "HealthCheckBundler",
    "bundle_health_check",
    "health_check_code",
    "runtime_distributions",
]

HANDLER: Final = "handler.handler"
"""The Lambda handler string for :func:`health_check_code`."""

RUNTIME: Final = lambda_.Runtime.PYTHON_3_14
"""The Lambda runtime the health check is written and bundled for."""


@jsii.implements(cdk.ILocalBundling)
class HealthCheckBundler:
    """Local (Docker-free) bundling for the health check asset.

    CDK calls :meth:`try_bundle` before it would run Docker; it always bundles and returns
    True (or raises :class:`BundlingError`), so Docker is never used.
    """

    def __init__(
        self,
        *,
        source_dir: str | os.PathLike[str] = RUNTIME_DIR,
        distributions: Sequence[str] | None = None,
    ) -> None:
        self._source_dir = Path(source_dir)
        self._distributions = None if distributions is None else tuple(distributions)

    def try_bundle(self, output_dir: str, *, image: cdk.DockerImage, **_options: object) -> bool:
        """Bundle into ``output_dir``; ``image`` and the other options are not used."""
        del image
        bundle_health_check(
            output_dir, source_dir=self._source_dir, distributions=self._distributions
        )
        return True


def health_check_code() -> lambda_.Code:
    """The health check as a Lambda code asset, bundled locally (no Docker).

    The asset hash is computed from the bundle's output, so it changes when the handler or a
    bundled distribution's version changes, and only then.
    """
    local: cdk.ILocalBundling = HealthCheckBundler()  # mypy checks the jsii protocol here
    return lambda_.Code.from_asset(
        str(RUNTIME_DIR),
        asset_hash_type=cdk.AssetHashType.OUTPUT,
        # The image is only a placeholder: local bundling always succeeds or raises.
        bundling=cdk.BundlingOptions(image=RUNTIME.bundling_image, local=local),
    )

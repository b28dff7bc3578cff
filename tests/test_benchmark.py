"""Benchmark: how long a warm process takes to build and synthesize DrPlatform.

It backs the test layout's claim (one synthesis per module, not per test) with a figure;
pytest-benchmark prints min/mean/max. It asserts what was built, never a time.
"""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk.assertions import Template

from dr_constructs import DrPlatform

from .conftest import new_stack


def _synthesize_platform() -> Template:
    stack = new_stack()
    DrPlatform(stack, "Dr")
    return Template.from_stack(stack)


@pytest.mark.slow
def test_benchmark_drplatform_synthesis(benchmark: Any) -> None:
    _synthesize_platform()  # warm jsii (the first synthesis in a process loads the modules)
    template = benchmark.pedantic(_synthesize_platform, rounds=3, iterations=1)
    template.resource_count_is("AWS::RDS::DBCluster", 1)

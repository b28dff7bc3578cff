"""Shared test helpers: build a stack once per module, normalise templates for snapshots."""

from __future__ import annotations

import json
import os
import re
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

# jsii spawns `node` from PATH: the venv's (node 24 from PyPI, linked by ./dev) also when
# pytest runs outside ./dev, e.g. `.venv/bin/pytest tests/test_x.py`.
os.environ["PATH"] = os.pathsep.join([str(Path(sys.prefix, "bin")), os.environ["PATH"]])

import pytest
from aws_cdk import App, Environment, Stack
from aws_cdk.assertions import Template
from syrupy.extensions.json import JSONSnapshotExtension

ROOT = Path(__file__).resolve().parent.parent
#: The feature flags `cdk init` writes for the pinned CDK CLI, as the example app carries them.
RECOMMENDED_FLAGS: dict[str, Any] = json.loads((ROOT / "examples" / "cdk.json").read_text())[
    "context"
]
ACCOUNT = "123456789012"
REGION = "us-east-1"
#: Resource types holding data (or the keys to it) that must never be deleted by default.
STATEFUL_TYPES = (
    "AWS::RDS::DBCluster",
    "AWS::DynamoDB::Table",
    "AWS::S3::Bucket",
    "AWS::Backup::BackupVault",
    "AWS::KMS::Key",
    "AWS::Logs::LogGroup",
    "AWS::SecretsManager::Secret",
)
_HASH = re.compile(r"\b[0-9a-f]{64}\b")


def new_stack(region: str | None = REGION, **context: Any) -> Stack:
    """A stack in an explicit account/region (or environment-agnostic with region=None)."""
    app = App(analytics_reporting=False, context=context or None)
    env = Environment(account=ACCOUNT, region=region) if region else None
    return Stack(app, "Test", env=env)


def template_of(build: Callable[[Stack], object], region: str | None = REGION) -> Template:
    """Synthesize ``build(stack)`` and return the assertions Template."""
    stack = new_stack(region)
    build(stack)
    return Template.from_stack(stack)


def normalised(template: Template) -> dict[str, Any]:
    """The template as JSON, with what churns without meaning (asset hashes) replaced."""

    def walk(value: Any) -> Any:
        if isinstance(value, dict):
            return {k: walk(v) for k, v in value.items()}
        if isinstance(value, list):
            return [walk(v) for v in value]
        if isinstance(value, str):
            return _HASH.sub("<asset-hash>", value)
        return value

    body = template.to_json()
    body.get("Parameters", {}).pop("BootstrapVersion", None)
    body.get("Rules", {}).pop("CheckBootstrapVersion", None)
    return walk(body)  # type: ignore[no-any-return]


def resources_of(template: Template, type_: str) -> dict[str, dict[str, Any]]:
    return template.find_resources(type_)  # type: ignore[no-any-return]


def only(template: Template, type_: str) -> dict[str, Any]:
    """The properties of the one resource of ``type_``."""
    found = resources_of(template, type_)
    assert len(found) == 1, f"expected one {type_}, found {sorted(found)}"
    return next(iter(found.values())).get("Properties", {})  # type: ignore[no-any-return]


def ref_of(value: Any) -> str:
    """The logical id a ``Ref``/``Fn::GetAtt`` in ``value`` points at (an ARN joined around a
    Ref included), ignoring pseudo parameters such as ``AWS::Partition``."""
    found = re.findall(r'"(?:Ref|Fn::GetAtt)": \[?"([^"]+)"', json.dumps(value))
    (logical_id,) = {f for f in found if not f.startswith("AWS::")}
    return logical_id


#: Pseudo parameters as AWS resolves them in the test stacks' environment (aws partition).
PSEUDO_PARAMETERS = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::URLSuffix": "amazonaws.com",
}


def resolved(value: Any) -> Any:
    """``value`` (an ``Fn::Join`` of strings and pseudo-parameter ``Ref``s) as a string, as
    CloudFormation resolves it in the test stacks' environment; anything else unchanged."""
    if isinstance(value, dict) and "Fn::Join" in value:
        separator, parts = value["Fn::Join"]
        return separator.join(resolved(p) for p in parts)
    if isinstance(value, dict) and set(value) == {"Ref"} and value["Ref"] in PSEUDO_PARAMETERS:
        return PSEUDO_PARAMETERS[value["Ref"]]
    return value


#: The modules that take longest, longest first (seconds of one worker, measured with
#: ``--durations`` on this project's 2-core machine: regions ~230, properties ~130, release ~90,
#: compliance ~85, objectives ~45, example ~40, docs ~35). ``./dev test`` runs the suite on
#: every core with whole modules per worker; handing these out first keeps one worker from
#: starting the longest module when the other is nearly done.
LONGEST_FIRST = (
    "test_regions", "test_properties", "test_release", "test_compliance",
    "test_objectives", "test_example", "test_docs",
)  # fmt: skip


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Run the longest modules first (a stable sort: the order within a module is kept)."""

    def rank(item: pytest.Item) -> int:
        name = item.path.stem
        return LONGEST_FIRST.index(name) if name in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)


@pytest.fixture
def snapshot_json(snapshot: Any) -> Any:
    return snapshot.use_extension(JSONSnapshotExtension)

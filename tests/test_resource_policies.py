"""Every resource policy the library writes lets an AWS service in only under the confused-deputy
conditions AWS documents for that service, or for a named reason why none can exist.

The test walks the synthesized templates (every property holding a policy document, on every
resource but IAM's own, and every Lambda permission), so a resource policy added later is
checked without being listed here. Two templates: ``DrPlatform`` with every feature on, and the
example app. A condition on a key the service does not send drops its every call silently (an
alarm that never notifies), so each accepted key is one AWS documents for that service, and a
statement AWS says cannot carry one must carry none.
"""

from __future__ import annotations

import json
import re
import runpy
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from aws_cdk import Duration, Stack
from aws_cdk.assertions import Template

from dr_constructs import DrPlatform

from .conftest import new_stack

ROOT = Path(__file__).resolve().parents[1]

#: Condition keys AWS documents for a service principal's calls to a resource, with the source.
DOCUMENTED_CONDITIONS: dict[str, tuple[set[str], str]] = {
    "cloudwatch.amazonaws.com": (
        {"aws:SourceArn", "aws:SourceAccount"},
        "SNS developer guide, 'Enable compatibility between event sources from AWS services and "
        "encrypted topics', step 3 (key policy: aws:SourceAccount and aws:SourceArn); AWS re:Post "
        "Knowledge Center, 'Why didn't I receive an SNS notification for my CloudWatch alarm "
        "trigger?' (topic policy: ArnLike aws:SourceArn, the alarm's ARN)",
    ),
    "events.amazonaws.com": (
        {"aws:SourceArn"},
        "EventBridge user guide, 'Cross-service confused deputy prevention', Event buses: 'For "
        "EventBridge event bus rule targets, the value of aws:SourceArn must be the rule ARN'",
    ),
    "logging.s3.amazonaws.com": (
        {"aws:SourceArn", "aws:SourceAccount"},
        "S3 user guide, 'Enabling Amazon S3 server access logging', bucket policy for the "
        "logging service principal (aws:SourceArn: the source bucket, aws:SourceAccount)",
    ),
    "logs.<region>.amazonaws.com": (
        {"kms:EncryptionContext:aws:logs:arn"},
        "CloudWatch Logs user guide, 'Encrypt log data in CloudWatch Logs using AWS KMS', step 2 "
        "(key policy: ArnLike kms:EncryptionContext:aws:logs:arn)",
    ),
    "resiliencehub.amazonaws.com": (
        {"aws:SourceAccount"},
        "IAM user guide, 'AWS global condition context keys', aws:SourceAccount (sent when a "
        "service calls another on the resource owner's behalf); the Resilience Hub guide shows "
        "no topic policy of its own: confirm with a drift notification in a real account",
    ),
}
#: Allows to a service principal that AWS says cannot carry a source condition, by
#: (resource type, service), with the reason and its source.
NO_CONDITION: dict[tuple[str, str], str] = {
    ("AWS::KMS::Key", "events.amazonaws.com"): (
        "SNS developer guide, 'Enable compatibility between event sources from AWS services and "
        "encrypted topics', Important: 'Adding the aws:SourceAccount, aws:SourceArn, and "
        "aws:SourceOrgID to a AWS KMS policy is not supported for EventBridge-to-encrypted "
        "topics'. The topic policy names the rules (aws:SourceArn) instead."
    ),
}
#: A Lambda permission's properties and the condition keys AWS turns them into (Lambda API
#: reference, AddPermission: SourceArn, SourceAccount).
LAMBDA_PERMISSION_CONDITIONS = {"SourceArn": "aws:SourceArn", "SourceAccount": "aws:SourceAccount"}
SOURCE_KEYS = re.compile(r"^aws:Source", re.IGNORECASE)


def _everything_on() -> dict[str, Any]:
    stack = new_stack()
    DrPlatform(
        stack, "Dr", environment_suffix="prod", proxy=True, resilience_hub=True, drills=True,
        audit_reports=True, air_gapped_retention=Duration.days(30),
    )  # fmt: skip
    return Template.from_stack(stack).to_json()  # type: ignore[no-any-return]


def _example() -> dict[str, Any]:
    """The example app as ``cdk synth`` runs it (its module builds the app and synthesizes)."""
    app = runpy.run_path(str(ROOT / "examples" / "app.py"))["app"]
    (stack,) = [c for c in app.node.children if isinstance(c, Stack)]
    return app.synth().get_stack_by_name(stack.stack_name).template  # type: ignore[no-any-return]


@pytest.fixture(scope="module", params=["everything_on", "example"])
def template(request: pytest.FixtureRequest) -> dict[str, Any]:
    return _everything_on() if request.param == "everything_on" else _example()


def _documents(value: Any) -> Iterator[dict[str, Any]]:
    """Every policy document (a mapping with a ``Statement`` list) inside ``value``."""
    if isinstance(value, dict):
        if isinstance(value.get("Statement"), list):
            yield value
            return
        for item in value.values():
            yield from _documents(item)
    elif isinstance(value, list):
        for item in value:
            yield from _documents(item)


def _services(principal: Any) -> list[str]:
    if not isinstance(principal, dict):
        return []
    found = principal.get("Service", [])
    return [_service_name(s) for s in (found if isinstance(found, list) else [found])]


def _service_name(service: Any) -> str:
    text = service if isinstance(service, str) else json.dumps(service)
    return re.sub(r"^logs\.[a-z0-9-]+\.amazonaws\.com$", "logs.<region>.amazonaws.com", text)


def service_grants(template: dict[str, Any]) -> list[tuple[str, str, str, set[str]]]:
    """(logical id, resource type, service, condition keys) of every Allow to a service."""
    grants = []
    for logical_id, resource in template["Resources"].items():
        type_, properties = resource["Type"], resource.get("Properties", {})
        if type_.startswith("AWS::IAM::"):
            continue  # identity policies and trust policies: not resource policies of a resource
        if type_ == "AWS::Lambda::Permission":
            keys = {key for prop, key in LAMBDA_PERMISSION_CONDITIONS.items() if prop in properties}
            grants.append((logical_id, type_, _service_name(properties["Principal"]), keys))
            continue
        for document in _documents(properties):
            for statement in document["Statement"]:
                if statement.get("Effect") != "Allow":
                    continue
                keys = {k for block in statement.get("Condition", {}).values() for k in block}
                for service in _services(statement.get("Principal")):
                    grants.append((logical_id, type_, service, keys))
    return grants


def test_every_service_principal_allow_carries_a_documented_condition_or_a_reason(
    template: dict[str, Any],
) -> None:
    grants = [g for g in service_grants(template) if g[2].endswith(".amazonaws.com")]
    # not vacuous: the alerts topic, its key, the logs key, the access-log bucket, Lambda
    assert {type_ for _, type_, _, _ in grants} >= {
        "AWS::SNS::TopicPolicy",
        "AWS::KMS::Key",
        "AWS::S3::BucketPolicy",
        "AWS::Lambda::Permission",
    }
    problems = []
    for logical_id, type_, service, keys in grants:
        where = f"{logical_id} ({type_}) lets {service} in"
        if (type_, service) in NO_CONDITION:
            if any(SOURCE_KEYS.match(k) for k in keys):
                problems.append(f"{where} with {sorted(keys)}, which AWS says drops its calls")
            continue
        if service not in DOCUMENTED_CONDITIONS:
            problems.append(f"{where}: no documented condition known for this service")
            continue
        documented = DOCUMENTED_CONDITIONS[service][0]
        if not keys & documented:
            problems.append(f"{where} with no condition (documented: {sorted(documented)})")
        if undocumented := {k for k in keys if SOURCE_KEYS.match(k)} - documented:
            problems.append(f"{where} on {sorted(undocumented)}, which AWS does not document")
    assert problems == []


def test_the_walk_finds_a_statement_without_a_condition() -> None:
    """The check is not vacuous: an unconditioned grant to a service is reported."""
    template = {
        "Resources": {
            "Topic": {
                "Type": "AWS::SNS::TopicPolicy",
                "Properties": {
                    "PolicyDocument": {
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "events.amazonaws.com"},
                                "Action": "sns:Publish",
                                "Resource": "*",
                            }
                        ]
                    }
                },
            }
        }
    }
    assert service_grants(template) == [
        ("Topic", "AWS::SNS::TopicPolicy", "events.amazonaws.com", set())
    ]


def test_every_table_entry_names_its_source() -> None:
    for service, (keys, source) in DOCUMENTED_CONDITIONS.items():
        assert keys and len(source) > 60, service
    assert all(len(reason) > 60 for reason in NO_CONDITION.values())

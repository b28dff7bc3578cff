"""DrBucket: versioned, SSE-KMS, private, TLS-only, access-logged, lifecycle for old versions."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration
from aws_cdk.assertions import Template

from dr_constructs import DrBucket, DrConfigurationError

from .conftest import new_stack, normalised, resources_of


@pytest.fixture(scope="module")
def template() -> Template:
    stack = new_stack()
    DrBucket(stack, "Storage")
    return Template.from_stack(stack)


def _buckets(template: Template) -> tuple[dict[str, Any], dict[str, Any]]:
    buckets = resources_of(template, "AWS::S3::Bucket")
    data = next(b for k, b in buckets.items() if k.startswith("StorageBucket"))
    logs = next(b for k, b in buckets.items() if k.startswith("StorageAccessLogs"))
    return data, logs


def test_snapshot(template: Template, snapshot_json: Any) -> None:
    assert normalised(template) == snapshot_json


def test_access_logs_go_to_a_bucket_granted_by_policy_not_acl(template: Template) -> None:
    data, logs = _buckets(template)
    assert data["Properties"]["LoggingConfiguration"]["LogFilePrefix"] == "data-bucket/"
    assert "AccessControl" not in logs["Properties"]
    assert "logging.s3.amazonaws.com" in str(resources_of(template, "AWS::S3::BucketPolicy"))


def test_old_versions_move_to_ia_then_expire(template: Template) -> None:
    data, _ = _buckets(template)
    (rule,) = data["Properties"]["LifecycleConfiguration"]["Rules"]
    assert rule["NoncurrentVersionTransitions"] == [
        {"StorageClass": "STANDARD_IA", "TransitionInDays": 30}
    ]
    assert rule["NoncurrentVersionExpiration"] == {"NoncurrentDays": 90}
    assert rule["AbortIncompleteMultipartUpload"] == {"DaysAfterInitiation": 7}


def test_both_buckets_send_their_events_to_eventbridge(template: Template) -> None:
    """Natively (no custom resource); AWS Control Tower CT.S3.PR.4 wants it on every bucket."""
    for bucket in _buckets(template):
        assert bucket["Properties"]["NotificationConfiguration"] == {
            "EventBridgeConfiguration": {"EventBridgeEnabled": True}
        }
    template.resource_count_is("Custom::S3BucketNotifications", 0)


def test_both_buckets_retained_by_default(template: Template) -> None:
    assert [b["DeletionPolicy"] for b in _buckets(template)] == ["Retain", "Retain"]
    template.resource_count_is("Custom::S3AutoDeleteObjects", 0)


@pytest.mark.parametrize("days", [0, 30, 3651])
def test_noncurrent_expiration_must_outlast_the_ia_transition(days: int) -> None:
    with pytest.raises(DrConfigurationError, match=r"noncurrent_version_expiration=.*31 to 3650"):
        DrBucket(new_stack(), "Storage", noncurrent_version_expiration=Duration.days(days))

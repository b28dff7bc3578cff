"""DrBucket: versioned, SSE-KMS, private, TLS-only, access-logged, lifecycle for old versions."""

from __future__ import annotations

from typing import Any

import pytest
from aws_cdk import Duration, RemovalPolicy
from aws_cdk.assertions import Template

from dr_constructs import DrBucket, DrConfigurationError
from dr_constructs.storage import BUCKET_DELETION_TAG

from .conftest import new_stack, normalised, resources_of


@pytest.fixture(scope="module")
def template() -> Template:
    stack = new_stack()
    DrBucket(stack, "Storage")
    return Template.from_stack(stack)


@pytest.fixture(scope="module")
def destroyed() -> Template:
    stack = new_stack()
    DrBucket(stack, "Storage", removal_policy=RemovalPolicy.DESTROY)
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
    template.resource_count_is("Custom::DrBucketDeletion", 0)
    assert "Tags" not in _buckets(template)[1]["Properties"]


def _logical_id(template: Template, type_: str) -> str:
    (logical_id,) = resources_of(template, type_)
    return logical_id


def test_destroy_deletes_the_log_bucket_after_the_data_bucket(destroyed: Template) -> None:
    data, logs = _buckets(destroyed)
    assert [data["DeletionPolicy"], logs["DeletionPolicy"]] == ["Delete", "Delete"]
    buckets = resources_of(destroyed, "AWS::S3::Bucket")
    data_id = next(k for k in buckets if k.startswith("StorageBucket"))
    logs_id = next(k for k in buckets if k.startswith("StorageAccessLogs"))
    deletion_id = _logical_id(destroyed, "Custom::DrBucketDeletion")
    # CDK's auto-delete empties the data bucket only; the log bucket is deleted by our resource
    (emptying,) = resources_of(destroyed, "Custom::S3AutoDeleteObjects").values()
    assert emptying["Properties"]["BucketName"] == {"Ref": data_id}
    deletion = destroyed.to_json()["Resources"][deletion_id]
    assert deletion["Properties"]["BucketName"] == {"Ref": logs_id}
    assert logs["Properties"]["Tags"] == [{"Key": BUCKET_DELETION_TAG, "Value": "true"}]
    # what orders the deletion: the data bucket depends on the deletion resource, so
    # CloudFormation deletes the data bucket first; the log bucket's policy names the data
    # bucket (the log-delivery grant), so it goes before the data bucket
    assert data["DependsOn"] == [deletion_id]
    assert "DependsOn" not in deletion
    (logs_policy,) = (
        p["Properties"]
        for p in resources_of(destroyed, "AWS::S3::BucketPolicy").values()
        if p["Properties"]["Bucket"] == {"Ref": logs_id}
    )
    assert {"Fn::GetAtt": [data_id, "Arn"]} in [
        s.get("Condition", {}).get("ArnLike", {}).get("aws:SourceArn")
        for s in logs_policy["PolicyDocument"]["Statement"]
    ]


def test_the_log_bucket_deletion_handler_may_delete_that_bucket_only(destroyed: Template) -> None:
    logs_id = next(
        k for k in resources_of(destroyed, "AWS::S3::Bucket") if k.startswith("StorageAccessLogs")
    )
    deletion = destroyed.to_json()["Resources"][_logical_id(destroyed, "Custom::DrBucketDeletion")]
    handler_id = deletion["Properties"]["ServiceToken"]["Fn::GetAtt"][0]
    handler = destroyed.to_json()["Resources"][handler_id]
    assert handler["Properties"]["Handler"] == "__entrypoint__.handler"  # CDK's entrypoint
    assert handler["Properties"]["Timeout"] == 900
    assert "DependsOn" not in handler  # Role: Fn::GetAtt orders them (cfn-lint W3005)
    role_id = handler["Properties"]["Role"]["Fn::GetAtt"][0]
    (policy,) = destroyed.to_json()["Resources"][role_id]["Properties"]["Policies"]
    arn = {"Fn::GetAtt": [logs_id, "Arn"]}
    assert policy["PolicyDocument"]["Statement"] == [
        {
            "Effect": "Allow",
            "Action": ["s3:GetBucketTagging", "s3:ListBucketVersions", "s3:DeleteBucket"],
            "Resource": arn,
        },
        {
            "Effect": "Allow",
            "Action": ["s3:DeleteObjectVersion"],
            "Resource": {"Fn::Join": ["", [arn, "/*"]]},
        },
    ]


@pytest.mark.parametrize("days", [0, 30, 3651])
def test_noncurrent_expiration_must_outlast_the_ia_transition(days: int) -> None:
    with pytest.raises(DrConfigurationError, match=r"noncurrent_version_expiration=.*31 to 3650"):
        DrBucket(new_stack(), "Storage", noncurrent_version_expiration=Duration.days(days))

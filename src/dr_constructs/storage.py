"""DrBucket: the versioned, KMS-encrypted S3 bucket of the DR stack, with its access-log bucket."""

from __future__ import annotations

from pathlib import Path

from aws_cdk import CfnResource, Duration, RemovalPolicy, Stack
from aws_cdk import aws_kms as kms
from aws_cdk import aws_s3 as s3
from constructs import Construct

from .checks import Checks
from .compliance import acknowledge, in_packs, skip_checkov, tidy_cdk_provider
from .contract import ACCESS_LOGS_ID, DATA_BUCKET_ID
from .deletion import DELETE_WITH_STACK_TAG, delete_with_stack
from .hooks import ObjectivesBinding
from .keys import customer_managed_key

#: Old object versions move to Infrequent Access after 30 days and expire after 90.
DEFAULT_NONCURRENT_EXPIRATION = Duration.days(90)
_NONCURRENT_TO_IA = Duration.days(30)
#: The handler that deletes the access-log bucket under the DESTROY opt-in, and its provider.
_BUCKET_DELETION_CODE = Path(__file__).parent / "bucket_deletion"
_BUCKET_DELETION = "Custom::DrBucketDeletion"
#: Only buckets carrying this tag are deleted by the handler.
BUCKET_DELETION_TAG = DELETE_WITH_STACK_TAG


class DrBucket(Construct):
    """A versioned S3 bucket: SSE-KMS with a customer-managed key, all public access blocked,
    TLS 1.2+ required, EventBridge notifications on (AWS Backup's continuous backup needs
    them), server access logs to a second bucket, and lifecycle rules for old versions.

    Args:
        scope: parent construct.
        id: construct id.
        encryption_key: the bucket's key. Default - a new key with rotation.
        noncurrent_version_expiration: how long old versions are kept, 31-3650 days
            (they move to Infrequent Access after 30 days). Default - 90 days.
        removal_policy: ``RETAIN`` (default) keeps both buckets and the key; ``DESTROY``
            empties and deletes them with the stack: the data bucket first, then the
            access-log bucket, emptied and deleted again while late log deliveries land.
        objectives: recovery objectives (``dr_constructs.RecoveryObjectives``) the bucket
            must meet, checked when the app is synthesized and written to the posture report.
            Default - none (DrPlatform checks its own).
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        encryption_key: kms.IKey | None = None,
        noncurrent_version_expiration: Duration = DEFAULT_NONCURRENT_EXPIRATION,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
        objectives: ObjectivesBinding | None = None,
    ) -> None:
        super().__init__(scope, id)
        check = Checks(self, "DrBucket")
        check.objectives(objectives)
        # Grant S3 log delivery through a bucket policy, never the legacy ACL (whatever the
        # app's feature flags say): ACLs stay disabled on both buckets.
        self.node.set_context("@aws-cdk/aws-s3:serverAccessLogsUseBucketPolicy", True)
        check.removal_policy(removal_policy)
        check.key("encryption_key", encryption_key)
        expiration_days = check.days(
            "noncurrent_version_expiration", noncurrent_version_expiration, 31, 3650
        )
        destroy = removal_policy == RemovalPolicy.DESTROY

        self.encryption_key = encryption_key or customer_managed_key(
            self, "Key", description="DR data bucket", removal_policy=removal_policy
        )
        self.access_logs_bucket = self._access_logs_bucket(removal_policy)
        self.bucket = self._data_bucket(expiration_days, removal_policy)
        self._notify_eventbridge()
        if destroy:
            self._delete_access_logs_last()
        self._record_review(destroy)
        if objectives is not None:
            objectives.bind(self, self.bucket)

    # --- steps ---------------------------------------------------------------------------

    def _access_logs_bucket(self, removal_policy: RemovalPolicy) -> s3.Bucket:
        """The server access logs' bucket: SSE-S3 (S3 delivers access logs to no other), a
        year of logs."""
        return s3.Bucket(
            self,
            ACCESS_LOGS_ID,
            encryption=s3.BucketEncryption.S3_MANAGED,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            versioned=True,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="ExpireAccessLogs",
                    expiration=Duration.days(365),
                    noncurrent_version_expiration=Duration.days(30),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                )
            ],
            removal_policy=removal_policy,
        )

    def _data_bucket(self, expiration_days: int, removal_policy: RemovalPolicy) -> s3.Bucket:
        """Versioned, SSE-KMS with the key, access logs to the log bucket, old versions to
        Infrequent Access after 30 days and expired after ``expiration_days``."""
        return s3.Bucket(
            self,
            DATA_BUCKET_ID,
            encryption=s3.BucketEncryption.KMS,
            encryption_key=self.encryption_key,
            bucket_key_enabled=True,
            versioned=True,
            block_public_access=s3.BlockPublicAccess.BLOCK_ALL,
            object_ownership=s3.ObjectOwnership.BUCKET_OWNER_ENFORCED,
            enforce_ssl=True,
            minimum_tls_version=1.2,
            server_access_logs_bucket=self.access_logs_bucket,
            server_access_logs_prefix="data-bucket/",
            lifecycle_rules=[
                s3.LifecycleRule(
                    id="OldVersions",
                    noncurrent_version_transitions=[
                        s3.NoncurrentVersionTransition(
                            storage_class=s3.StorageClass.INFREQUENT_ACCESS,
                            transition_after=_NONCURRENT_TO_IA,
                        )
                    ],
                    noncurrent_version_expiration=Duration.days(expiration_days),
                    abort_incomplete_multipart_upload_after=Duration.days(7),
                    expired_object_delete_marker=True,
                )
            ],
            removal_policy=removal_policy,
            auto_delete_objects=removal_policy == RemovalPolicy.DESTROY,
        )

    def _notify_eventbridge(self) -> None:
        """EventBridge notifications set natively in CloudFormation (the L2's
        ``event_bridge_enabled`` would add a custom-resource Lambda to do the same); on the log
        bucket too (AWS Control Tower CT.S3.PR.4): free on the default bus, unused until a
        rule asks for them."""
        for bucket in (self.bucket, self.access_logs_bucket):
            cfn_bucket = bucket.node.default_child
            assert isinstance(cfn_bucket, s3.CfnBucket)
            cfn_bucket.notification_configuration = s3.CfnBucket.NotificationConfigurationProperty(
                event_bridge_configuration=s3.CfnBucket.EventBridgeConfigurationProperty(
                    event_bridge_enabled=True
                )
            )

    def _delete_access_logs_last(self) -> None:
        """Under DESTROY, delete the access-log bucket after the data bucket, and tolerate late
        log deliveries: CDK's auto-delete only empties a bucket, and S3 delivers access logs
        (those of the data bucket's own emptying included) minutes later, so CloudFormation's
        DeleteBucket would find it non-empty.

        A custom resource deletes the log bucket itself: it empties it and deletes it, again
        while objects keep arriving, until it is gone (bucket_deletion/index.js). Deletion
        runs in reverse order of creation: the log bucket's policy (its log-delivery grant names
        the data bucket), the data bucket (emptied by CDK's auto-delete), then this resource,
        then CloudFormation's delete of the log bucket, which finds it gone.
        """
        logs = self.access_logs_bucket
        deletion = delete_with_stack(
            self,
            "AccessLogsDeletion",
            target=logs,
            resource_type=_BUCKET_DELETION,
            code_directory=_BUCKET_DELETION_CODE,
            description="Deletes dr-constructs access-log buckets when their stack is deleted",
            purpose="deletes the access-log bucket at stack deletion, after the DESTROY opt-in",
            statements=[
                {
                    "Effect": "Allow",
                    "Action": ["s3:GetBucketTagging", "s3:ListBucketVersions", "s3:DeleteBucket"],
                    "Resource": logs.bucket_arn,
                },
                {
                    "Effect": "Allow",
                    "Action": ["s3:DeleteObjectVersion"],
                    "Resource": logs.arn_for_objects("*"),
                },
            ],
            properties={"BucketName": logs.bucket_name},
        )
        # The data bucket waits for this resource at creation, so CloudFormation deletes it (once
        # CDK's auto-delete has emptied it) before this resource runs. The log bucket's policy
        # names the data bucket (its log-delivery grant), so it goes even earlier.
        data, cfn_deletion = self.bucket.node.default_child, deletion.node.default_child
        assert isinstance(data, s3.CfnBucket) and isinstance(cfn_deletion, CfnResource)
        data.add_resource_dependency(cfn_deletion)

    def _record_review(self, destroy: bool) -> None:
        """Why the rule packs' remaining findings on the two buckets cannot apply."""
        for bucket in (self.bucket, self.access_logs_bucket):
            acknowledge(
                bucket,
                "dr-constructs is a single-region design (the spec's DR is Multi-AZ within one "
                "region): S3 already stores objects across at least three AZs, the data bucket "
                "is versioned and protected by AWS Backup with continuous backup, and "
                "cross-region replication would copy the data out of the region the design "
                "confines it to.",
                *in_packs("S3BucketReplicationEnabled"),
            )
            acknowledge(
                bucket,
                "Object Lock makes objects undeletable for a retention period, which this "
                "design rules out: lifecycle rules expire old versions and old access logs, "
                "and under the DESTROY opt-in the stack empties and deletes the bucket. "
                "Immutable copies live in the backup vault instead (AWS Backup's recovery "
                "points of the data bucket, WORM with DrBackupVault's optional Vault Lock). "
                "Object Lock without a default retention would only satisfy the check, and "
                "cannot be turned off again.",
                "CT.S3.PR.9",
            )
        acknowledge(
            self.access_logs_bucket,
            "This bucket receives S3 server access logs, and S3 delivers those only to buckets "
            "whose default encryption is SSE-S3 (AES256): SSE-KMS is not supported for the "
            "target bucket. It is private, TLS-only, versioned and holds no application data.",
            *in_packs("S3DefaultEncryptionKMS"),
            "CT.S3.PR.10",
        )
        log_target = (
            "This is the access-log target bucket: logging it into itself would log every log "
            "delivery, without end"
        )
        acknowledge(self.access_logs_bucket, f"{log_target}.", "CT.S3.PR.2")
        cfn_logs = self.access_logs_bucket.node.default_child
        assert isinstance(cfn_logs, s3.CfnBucket)
        skip_checkov(cfn_logs, [("CKV_AWS_18", log_target)])
        if destroy:
            tidy_cdk_provider(
                Stack.of(self),
                "Custom::S3AutoDeleteObjectsCustomResourceProvider",
                "empties the data bucket when the stack is deleted, after the DESTROY opt-in",
            )

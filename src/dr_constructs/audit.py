"""DrBackupAudit: AWS Backup Audit Manager evidence that backups and restores meet the targets.

Opt-in, because AWS Backup Audit Manager evaluates its controls with AWS Config: the account
and region must record the resource types involved (AWS Config recording on). aws-cdk-lib has
the framework and the report plan as L1 only (``CfnFramework``, ``CfnReportPlan``).
"""

from __future__ import annotations

import math

from aws_cdk import CfnTag, Duration, RemovalPolicy, Stack, Tags
from aws_cdk import aws_backup as backup
from aws_cdk import aws_iam as iam
from constructs import Construct, IConstruct

from .backup import DrBackupVault
from .checks import Checks
from .parts import via_service
from .storage import DrBucket

#: The tag that scopes the controls to the stack's resources and backup plan.
AUDIT_TAG = "dr-constructs:audit"
#: The service-linked role AWS Backup Audit Manager delivers reports with, as AWS's sample
#: bucket policy names it (AWS Backup developer guide, "Creating report plans using the AWS
#: Backup console"). AWS Backup creates it with the account's first framework or report plan
#: ("Using roles for AWS Backup Audit Manager"); until then S3 rejects a policy naming it
#: ("Invalid principal", the same console page) and so does KMS.
REPORTS_ROLE = "aws-service-role/reports.backup.amazonaws.com/AWSServiceRoleForBackupReports"
#: What the key policy must let the reports role do (AWS Backup developer guide, "Creating report
#: plans using the AWS Backup API": "kms:GenerateDataKey and kms:Decrypt at minimum").
REPORTS_KEY_ACTIONS = ("kms:GenerateDataKey", "kms:Decrypt")
#: The report templates delivered, in the order they are created.
REPORT_TEMPLATES = ("RESTORE_JOB_REPORT", "CONTROL_COMPLIANCE_REPORT")
#: Where in the bucket the reports land (AWS Backup adds Backup/{account}/{region}/...).
REPORT_PREFIX = "backup-reports"


class DrBackupAudit(Construct):
    """An AWS Backup Audit Manager framework and the reports that prove it, for the stack.

    Controls, evaluated daily or on change by AWS Config:

    * ``BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN``: the audited resources are in a plan;
    * ``BACKUP_RECOVERY_POINT_ENCRYPTED``: recovery points are encrypted (AWS scopes this
      control by tag or not at all: every recovery point of the account and region);
    * ``BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK``: the stack's plan backs up at least
      as often as its schedule and keeps recovery points as long as its retention;
    * ``RESTORE_TIME_FOR_RESOURCES_MEET_TARGET``: the latest restore (restore tests included)
      of each audited resource finished within ``max_restore_time`` (the RTO objective).

    Two report plans deliver the restore-job report and the control-compliance report (CSV
    and JSON) daily to a :class:`DrBucket` of their own (versioned, SSE-KMS with its own key,
    TLS only, access-logged), which only AWS Backup's reports role
    (``AWSServiceRoleForBackupReports``) may write to. Bucket and key policies name that role
    as AWS documents, and are created after the framework, whose creation makes the role in an
    account that has none yet; an account that has it already deploys the same way.

    Args:
        scope: parent construct.
        id: construct id.
        vault: the :class:`DrBackupVault` whose plan is audited.
        resources: the resources audited (they get the tag ``dr-constructs:audit``).
        max_restore_time: the longest acceptable restore, whole minutes. Default - 4 hours.
        environment_suffix: names the framework ``dr_audit_{suffix}``. Default - ``dev``.
        removal_policy: for the report bucket and its key. Default - ``RETAIN``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vault: DrBackupVault,
        resources: list[IConstruct],
        max_restore_time: Duration = Duration.hours(4),  # noqa: B008 - an immutable value
        environment_suffix: str = "dev",
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, id)
        check = Checks(self, "DrBackupAudit")
        check.require("audit_reports")
        suffix = check.environment_suffix(environment_suffix)
        check.removal_policy(removal_policy)
        check.instance_of("vault", vault, DrBackupVault, "the stack's DrBackupVault")
        if not resources or not all(hasattr(r, "node") for r in resources):
            check.fail("resources", resources, "a non-empty list of constructs to audit")
        seconds = check.duration("max_restore_time", max_restore_time, 60, 366 * 86400)
        #: The restore-time target of the framework, in minutes.
        self.max_restore_minutes = math.ceil(seconds / 60)
        underscored = suffix.replace("-", "_")
        check.claim("backup audit framework", f"dr_audit_{underscored}")
        check.claim("backup report plan", f"dr_restore_jobs_{underscored}")
        check.claim("backup report plan", f"dr_control_compliance_{underscored}")
        tag = CfnTag(key=AUDIT_TAG, value=suffix)
        for resource in (*resources, vault.plan):
            Tags.of(resource).add(AUDIT_TAG, suffix)
        self.framework = self._framework(vault, underscored, tag)
        self.reports = DrBucket(self, "Reports", removal_policy=removal_policy)
        self._let_backup_deliver_reports()
        self.report_plans = self._report_plans(underscored)

    def _framework(self, vault: DrBackupVault, suffix: str, tag: CfnTag) -> backup.CfnFramework:
        interval = vault.schedule_interval_seconds
        if interval is not None and interval <= 24 * 3600:
            unit, value = "hours", max(1, interval // 3600)
        else:
            unit, value = "days", max(1, math.ceil((interval or 86400) / 86400))
        by_tag = {"Tags": [{"Key": tag.key, "Value": tag.value}]}

        def control(
            control_name: str, parameters: dict[str, str], scoped: bool = True
        ) -> backup.CfnFramework.FrameworkControlProperty:
            return backup.CfnFramework.FrameworkControlProperty(
                control_name=control_name,
                control_input_parameters=[
                    backup.CfnFramework.ControlInputParameterProperty(
                        parameter_name=k, parameter_value=v
                    )
                    for k, v in parameters.items()
                ]
                or None,
                control_scope=by_tag if scoped else None,
            )

        return backup.CfnFramework(
            self,
            "Framework",
            framework_name=f"dr_audit_{suffix}",
            framework_description="dr-constructs: the DR stack's backups and restores meet "
            "their targets",
            framework_controls=[
                control("BACKUP_RESOURCES_PROTECTED_BY_BACKUP_PLAN", {}),
                control("BACKUP_RECOVERY_POINT_ENCRYPTED", {}, scoped=False),
                control(
                    "BACKUP_PLAN_MIN_FREQUENCY_AND_MIN_RETENTION_CHECK",
                    {
                        "requiredFrequencyUnit": unit,
                        "requiredFrequencyValue": str(value),
                        "requiredRetentionDays": str(vault.retention_days),
                    },
                ),
                control(
                    "RESTORE_TIME_FOR_RESOURCES_MEET_TARGET",
                    {"maxRestoreTime": str(self.max_restore_minutes)},
                ),
            ],
        )

    def _let_backup_deliver_reports(self) -> None:
        """AWS Backup's reports role may put objects (bucket-owner-full-control) under the
        report prefix, and use the bucket's key through S3: the policies AWS's report plan
        pages give. The role's own policy (AWSServiceRolePolicyForBackupReports) grants neither
        ``s3:PutObject`` nor KMS, so the account's root as principal would not do: the
        policies name the role, and wait for the framework that creates it."""
        stack = Stack.of(self)
        reports_role = iam.ArnPrincipal(
            f"arn:{stack.partition}:iam::{stack.account}:role/{REPORTS_ROLE}"
        )
        bucket = self.reports.bucket
        bucket.add_to_resource_policy(
            iam.PolicyStatement(
                sid="BackupReportsDelivery",
                principals=[reports_role],
                actions=["s3:PutObject"],
                resources=[bucket.arn_for_objects(f"{REPORT_PREFIX}/*")],
                conditions={"StringEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}},
            )
        )
        key = self.reports.encryption_key
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid="BackupReportsEncrypt",
                principals=[reports_role],
                actions=list(REPORTS_KEY_ACTIONS),
                resources=["*"],  # in a key policy, "*" means this key
                # only as S3 encrypts a report (AWS KMS developer guide, kms:ViaService)
                conditions={"StringEquals": {"kms:ViaService": via_service(self, "s3")}},
            )
        )
        for policy_holder in (key, bucket.policy):
            if policy_holder is not None:
                policy_holder.node.add_dependency(self.framework)

    def _report_plans(self, suffix: str) -> list[backup.CfnReportPlan]:
        plans = []
        for template in REPORT_TEMPLATES:
            compliance = template == "CONTROL_COMPLIANCE_REPORT"
            plans.append(
                backup.CfnReportPlan(
                    self,
                    "".join(w.title() for w in template.split("_")) + "Plan",
                    report_plan_name=(
                        f"dr_control_compliance_{suffix}" if compliance
                        else f"dr_restore_jobs_{suffix}"
                    ),
                    report_plan_description=f"dr-constructs: {template.lower()} of the DR stack",
                    report_delivery_channel={
                        "S3BucketName": self.reports.bucket.bucket_name,
                        "S3KeyPrefix": REPORT_PREFIX,
                        "Formats": ["CSV", "JSON"],
                    },
                    report_setting={
                        "ReportTemplate": template,
                        **(
                            {"FrameworkArns": [self.framework.attr_framework_arn]}
                            if compliance
                            else {}
                        ),
                    },
                )
            )  # fmt: skip
        return plans

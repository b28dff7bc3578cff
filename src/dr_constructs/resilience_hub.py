"""ResilienceHubApp: the recovery objectives handed to AWS Resilience Hub, for its own
assessment of the deployed stack."""

from __future__ import annotations

import json
import re

from aws_cdk import Aws
from aws_cdk import aws_iam as iam
from aws_cdk import aws_resiliencehub as resiliencehub
from aws_cdk import aws_sns as sns
from constructs import Construct

from .checks import Checks
from .compliance import AWS_SOLUTIONS, acknowledge
from .objectives import FailureMode, RecoveryObjectives

#: The app template of an application whose resources come from its CloudFormation stack.
_APP_TEMPLATE = {
    "resources": [],
    "appComponents": [
        {"name": "appcommon", "type": "AWS::ResilienceHub::AppCommonAppComponent",
         "resourceNames": []}
    ],
    "excludedResources": {"logicalResourceIds": []},
    "version": 2.0,
}  # fmt: skip
#: The AWS-managed policy AWS's Resilience Hub guide attaches to an application's invoker role
#: ("Invoker role": "AWSResilienceHubAsssessmentExecutionPolicy", AWS's spelling, three s).
RESILIENCE_HUB_INVOKER_POLICY = "AWSResilienceHubAsssessmentExecutionPolicy"
RESILIENCE_HUB_TIERS = ("MissionCritical", "Critical", "Important", "CoreServices", "NonCritical")


class ResilienceHubApp(Construct):
    """The objectives handed to AWS Resilience Hub for its own assessment (L1 only).

    A resiliency policy (:attr:`policy`) from the same objectives: ``AZ`` and ``Hardware``
    take the AZ-loss targets, ``Software`` the corruption targets; no ``Region`` (a
    single-region design). An application (:attr:`app`) mapped to the deployed stack
    (``CfnStack``, the stack's ARN), assessed daily, that sends drift and failed scheduled
    assessments to ``topic`` (let ``resiliencehub.amazonaws.com`` publish to it, e.g.
    ``DrObservability.allow_service_to_publish``). Resilience Hub runs the daily assessment as
    the application's invoker role (:attr:`invoker_role`, ``PermissionModel`` ``RoleBased``):
    a role trusting ``resiliencehub.amazonaws.com`` with AWS's read-only assessment policy
    (Resilience Hub user guide, "Invoker role"); without it a scheduled assessment has no
    identity to run as.

    Args:
        scope: parent construct.
        id: construct id.
        objectives: the :class:`RecoveryObjectives` to hand over.
        name: names the policy and the application (letters, digits, ``-``, ``_``).
        topic: the SNS topic for drift and assessment-failure notifications.
        tier: the policy's tier. Default - ``Critical``.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        objectives: RecoveryObjectives,
        name: str,
        topic: sns.ITopic,
        tier: str = "Critical",
    ) -> None:
        super().__init__(scope, id)
        check = Checks(self, "ResilienceHubApp")
        check.require("resilience_hub")
        check.choice("tier", tier, RESILIENCE_HUB_TIERS)
        if not isinstance(name, str) or not re.fullmatch(r"[A-Za-z0-9][A-Za-z0-9_-]{1,59}", name):
            check.fail("name", name, "2-60 letters, digits, '-' or '_'")

        def failure(mode: FailureMode) -> resiliencehub.CfnResiliencyPolicy.FailurePolicyProperty:
            rpo, rto = objectives.targets[mode]
            return resiliencehub.CfnResiliencyPolicy.FailurePolicyProperty(
                rpo_in_secs=rpo, rto_in_secs=rto
            )

        self.policy = resiliencehub.CfnResiliencyPolicy(
            self, "Policy", policy_name=name, tier=tier,
            policy_description=f"dr-constructs objectives: {objectives.describe()}",
            policy={
                "AZ": failure(FailureMode.AZ_LOSS),
                "Hardware": failure(FailureMode.AZ_LOSS),
                "Software": failure(FailureMode.CORRUPTION),
                # optional in the policy map: only when the objectives state the region's loss
                **({"Region": failure(FailureMode.REGION_LOSS)}
                   if FailureMode.REGION_LOSS in objectives.targets else {}),
            },
        )  # fmt: skip
        self.invoker_role = self._invoker_role()
        self.app = resiliencehub.CfnApp(
            self, "App", name=name,
            description="The DR stack, assessed against its declared recovery objectives",
            app_template_body=json.dumps(_APP_TEMPLATE, separators=(",", ":")),
            resiliency_policy_arn=self.policy.attr_policy_arn,
            permission_model=resiliencehub.CfnApp.PermissionModelProperty(
                type="RoleBased", invoker_role_name=self.invoker_role.role_name
            ),
            resource_mappings=[
                resiliencehub.CfnApp.ResourceMappingProperty(
                    mapping_type="CfnStack",
                    physical_resource_id=resiliencehub.CfnApp.PhysicalResourceIdProperty(
                        identifier=Aws.STACK_ID, type="Arn"
                    ),
                )
            ],
            app_assessment_schedule="Daily",
            event_subscriptions=[
                resiliencehub.CfnApp.EventSubscriptionProperty(
                    event_type=event, name=f"{name}-{event}", sns_topic_arn=topic.topic_arn
                )
                for event in ("DriftDetected", "ScheduledAssessmentFailure")
            ],
        )  # fmt: skip

    def _invoker_role(self) -> iam.Role:
        """The role Resilience Hub assumes to read the stack's resources for an assessment,
        as the Resilience Hub guide's "Invoker role" page builds it: trust in
        ``resiliencehub.amazonaws.com`` (no condition: the guide documents none) and
        ``AWSResilienceHubAsssessmentExecutionPolicy``."""
        policy = iam.ManagedPolicy.from_aws_managed_policy_name(RESILIENCE_HUB_INVOKER_POLICY)
        role = iam.Role(
            self,
            "InvokerRole",
            assumed_by=iam.ServicePrincipal("resiliencehub.amazonaws.com"),
            description="AWS Resilience Hub assesses the DR stack as this role (read-only)",
            managed_policies=[policy],
        )
        acknowledge(
            role,
            "AWS's Resilience Hub guide (Invoker role) attaches this AWS-maintained policy to the "
            "invoker role: read-only describe/list calls on the resource types Resilience Hub "
            "assesses, which AWS extends as the service assesses more; a copy of it would go "
            "stale and a missing permission fails the daily assessment.",
            f"{AWS_SOLUTIONS}-IAM4[Policy::arn:<AWS::Partition>:iam::aws:policy/"
            f"{RESILIENCE_HUB_INVOKER_POLICY}]",
        )
        return role


__all__ = ["RESILIENCE_HUB_INVOKER_POLICY", "RESILIENCE_HUB_TIERS", "ResilienceHubApp"]

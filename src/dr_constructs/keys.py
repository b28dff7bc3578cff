"""Customer-managed KMS keys: one factory so every key rotates, is retained and is guarded alike.

Every key's policy denies ``kms:CreateGrant`` unless an AWS service asks for it: on behalf of
an AWS resource (``kms:GrantIsForAWSResource``: RDS, DynamoDB, Lambda, AWS Backup creating a
grant for the resource they encrypt) or as a service principal (``aws:PrincipalIsAWSService``).
A principal that may use the key cannot hand that use on to someone else with a grant
(AWS Control Tower proactive control CT.KMS.PR.3).
"""

from __future__ import annotations

from aws_cdk import Duration, RemovalPolicy, Stack, Token
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk.region_info import RegionInfo
from constructs import Construct, IConstruct


def customer_managed_key(
    scope: Construct, id: str, *, description: str, removal_policy: RemovalPolicy
) -> kms.Key:
    """A symmetric KMS key with yearly automatic rotation, whose grants only AWS services
    may create (see the module's docstring).

    ``RemovalPolicy.RETAIN`` keeps the key when the stack is deleted; ``DESTROY``
    schedules its deletion after the shortest waiting period (7 days).
    """
    key = kms.Key(
        scope,
        id,
        description=description,
        enable_key_rotation=True,
        removal_policy=removal_policy,
        pending_window=Duration.days(7 if removal_policy == RemovalPolicy.DESTROY else 30),
    )
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="DenyGrantsExceptForAwsServices",
            effect=iam.Effect.DENY,
            principals=[iam.AnyPrincipal()],
            actions=["kms:CreateGrant"],
            resources=["*"],  # in a key policy, "*" means this key
            conditions={
                "BoolIfExists": {
                    "kms:GrantIsForAWSResource": "false",
                    "aws:PrincipalIsAWSService": "false",
                }
            },
        )
    )
    return key


def logs_encryption_key(
    scope: Construct, id: str, *, description: str, removal_policy: RemovalPolicy
) -> kms.Key:
    """A :func:`customer_managed_key` that CloudWatch Logs may use for log groups."""
    key = customer_managed_key(scope, id, description=description, removal_policy=removal_policy)
    allow_cloudwatch_logs(key)
    return key


def allow_cloudwatch_logs(key: kms.IKey) -> None:
    """Let CloudWatch Logs in this account and region encrypt log groups with ``key``."""
    stack = Stack.of(key)
    key.add_to_resource_policy(
        iam.PolicyStatement(
            sid="AllowCloudWatchLogs",
            principals=[iam.ServicePrincipal(logs_service_principal(key))],
            actions=[
                "kms:Encrypt",
                "kms:Decrypt",
                "kms:ReEncryptFrom",
                "kms:ReEncryptTo",
                "kms:GenerateDataKey",
                "kms:GenerateDataKeyWithoutPlaintext",
                "kms:DescribeKey",
            ],
            resources=["*"],
            conditions={
                "ArnLike": {
                    "kms:EncryptionContext:aws:logs:arn": (
                        f"arn:{stack.partition}:logs:{stack.region}:{stack.account}:log-group:*"
                    )
                }
            },
        )
    )


def logs_service_principal(scope: IConstruct) -> str:
    """CloudWatch Logs' regional service principal in the stack's partition, as aws-cdk-lib's
    region info derives it: ``logs.{region}.{domain suffix}`` (``amazonaws.com``,
    ``amazonaws.com.cn``, ...), with ``AWS::Region``/``AWS::URLSuffix`` in an
    environment-agnostic stack. The other principals the library names are global
    ``{service}.amazonaws.com``, which ``iam.ServicePrincipal`` renders for every partition.
    """
    stack = Stack.of(scope)
    region = stack.region
    suffix = None if Token.is_unresolved(region) else RegionInfo.get(region).domain_suffix
    return f"logs.{region}.{suffix or stack.url_suffix}"


#: The two AWS services that publish to the DR alerts topic: CloudWatch alarm actions and
#: EventBridge rule targets.
TOPIC_PUBLISHERS = ("cloudwatch.amazonaws.com", "events.amazonaws.com")


def alarm_arns(scope: IConstruct) -> str:
    """Every CloudWatch alarm of the stack's account and region, in the form AWS names an
    alarm as the source of a publish (``arn:aws:cloudwatch:us-east-1:111122223333:alarm:NAME``,
    AWS re:Post Knowledge Center, "Why didn't I receive an SNS notification for my CloudWatch
    alarm trigger?")."""
    stack = Stack.of(scope)
    return f"arn:{stack.partition}:cloudwatch:{stack.region}:{stack.account}:alarm:*"


def allow_topic_publishers(key: kms.IKey) -> None:
    """Let CloudWatch alarms and EventBridge rules publish to a topic encrypted with ``key``;
    without this, their messages to an encrypted SNS topic are dropped silently.

    Each under the confused-deputy conditions AWS documents for it (SNS developer guide, "Enable
    compatibility between event sources from AWS services and encrypted topics", step 3):
    CloudWatch only for the alarms of this account and region (``aws:SourceAccount``,
    ``aws:SourceArn``). EventBridge with none: the same page says "Adding the
    ``aws:SourceAccount``, ``aws:SourceArn``, and ``aws:SourceOrgID`` to a AWS KMS policy is
    not supported for EventBridge-to-encrypted topics" (such a condition drops every event);
    the topic policy names the rules instead.
    """
    cloudwatch, events = TOPIC_PUBLISHERS
    for sid, service, conditions in (
        (
            "AllowCloudWatchAlarms",
            cloudwatch,
            {
                "StringEquals": {"aws:SourceAccount": Stack.of(key).account},
                "ArnLike": {"aws:SourceArn": alarm_arns(key)},
            },
        ),
        ("AllowEventBridgeRules", events, None),
    ):
        key.add_to_resource_policy(
            iam.PolicyStatement(
                sid=sid,
                principals=[iam.ServicePrincipal(service)],
                actions=["kms:Decrypt", "kms:GenerateDataKey"],
                resources=["*"],  # in a key policy, "*" means this key
                conditions=conditions,
            )
        )

"""The parts every layer builds alike, written once: each function builds in the caller's scope
under the caller's ids, so a construct that uses them synthesizes the same logical ids as if it
wrote them out.

* :func:`encrypted_log_group`: a log group under a customer-managed key, kept a year.
* :func:`service_role`: a role an AWS service assumes, with its one customer-managed policy.
* :func:`dead_letter_queue`: a Lambda function's encrypted dead-letter queue.
* :func:`private_lambda`: a Lambda function with all of the above: its log group, dead-letter
  queue, role and policy, in the VPC's isolated subnets (the ENI permissions, narrowed and
  acknowledged) or, with the reason, outside the VPC.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from aws_cdk import Aws, Duration, RemovalPolicy, Stack
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from .compliance import (
    AWS_SOLUTIONS,
    acknowledge,
    drop_redundant_dependency,
    in_packs,
    skip_checkov,
)

#: Why a VPC Lambda's ENI actions name no single network interface (AwsSolutions-IAM5).
ENI_REASON = (
    "Lambda creates and deletes the function's network interfaces itself, with the execution "
    "role, and their ids exist only then: CreateNetworkInterface is limited to the function's "
    "own subnets and security group plus network-interface/* in this account and region, the "
    "other ENI actions to network-interface/* there, and DescribeNetworkInterfaces/"
    "DescribeSubnets support no resource-level permissions at all (AWS's "
    "AWSLambdaVPCAccessExecutionRole grants all six on '*')."
)


def arn_in_account(service: str, resource: str) -> str:
    """``arn:{partition}:{service}:{region}:{account}:{resource}`` in the deploying account and
    region (CloudFormation pseudo parameters)."""
    return f"arn:{Aws.PARTITION}:{service}:{Aws.REGION}:{Aws.ACCOUNT_ID}:{resource}"


def via_service(scope: IConstruct, service: str) -> str:
    """The ``kms:ViaService`` value of ``service`` in the stack's region: ``s3.us-east-1.
    amazonaws.com``."""
    stack = Stack.of(scope)
    return f"{service}.{stack.region}.{stack.url_suffix}"


def encrypted_log_group(
    scope: Construct,
    id: str,
    *,
    key: kms.IKey,
    removal_policy: RemovalPolicy,
    name: str | None = None,
    retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
) -> logs.LogGroup:
    """A log group encrypted with ``key`` (CloudWatch Logs must be allowed to use it), kept
    ``retention`` (default one year), named ``name`` (default: a generated name)."""
    return logs.LogGroup(
        scope,
        id,
        log_group_name=name,
        encryption_key=key,
        retention=retention,
        removal_policy=removal_policy,
    )


def service_role(
    scope: Construct,
    name: str,
    *,
    service: str,
    description: str,
    policy_description: str,
    statements: list[iam.PolicyStatement] | None = None,
    conditions: Mapping[str, Any] | None = None,
) -> tuple[iam.Role, iam.ManagedPolicy]:
    """The role ``{name}Role`` that ``service`` (e.g. ``lambda.amazonaws.com``) assumes, under
    ``conditions`` if given, and its one customer-managed policy ``{name}Policy`` (every
    permission the role has: a managed policy, not the inline one the HIPAA/NIST/PCI packs
    report)."""
    role = iam.Role(
        scope,
        f"{name}Role",
        assumed_by=iam.ServicePrincipal(service, conditions=conditions),
        description=description,
    )
    policy = iam.ManagedPolicy(
        scope, f"{name}Policy", description=policy_description, roles=[role], statements=statements
    )
    return role, policy


def dead_letter_queue(
    scope: Construct, id: str, *, encryption_key: kms.IKey, removal_policy: RemovalPolicy
) -> sqs.Queue:
    """A Lambda function's dead-letter queue for failed asynchronous invocations: KMS-encrypted,
    TLS only, messages kept 14 days."""
    return sqs.Queue(
        scope,
        id,
        encryption=sqs.QueueEncryption.KMS,
        encryption_master_key=encryption_key,
        enforce_ssl=True,
        retention_period=Duration.days(14),
        # Marks the queue as a dead-letter queue (AWS Control Tower CT.SQS.PR.1), which it
        # is: Lambda's, for failed asynchronous invocations. allowAll is what SQS does
        # without the policy (source queues of this account and region may use it), so it
        # widens nothing; denyAll would be stricter, but the control reads denyAll as "not
        # a dead-letter queue" and then demands a dead-letter queue for this one.
        redrive_allow_policy=sqs.RedriveAllowPolicy(
            redrive_permission=sqs.RedrivePermission.ALLOW_ALL
        ),
        removal_policy=removal_policy,
    )


@dataclass(frozen=True)
class VpcPlacement:
    """Where a private Lambda runs: the VPC's subnets of ``subnets``, with ``security_group``."""

    vpc: ec2.IVpc
    subnets: ec2.SubnetSelection
    security_group: ec2.ISecurityGroup


@dataclass(frozen=True)
class PrivateLambda:
    """What :func:`private_lambda` built."""

    function: lambda_.Function
    role: iam.Role
    #: Every permission the function has; add to it (``policy.add_statements``).
    policy: iam.ManagedPolicy
    log_group: logs.LogGroup
    dead_letter_queue: sqs.Queue


def private_lambda(
    scope: Construct,
    *,
    function_name: str,
    description: str,
    role_description: str,
    policy_description: str,
    code: lambda_.Code,
    handler: str,
    runtime: lambda_.Runtime,
    key: kms.IKey,
    removal_policy: RemovalPolicy,
    environment: Mapping[str, str],
    timeout: Duration,
    memory_size: int = 128,
    reserved_concurrency: int | None = None,
    log_retention: logs.RetentionDays = logs.RetentionDays.ONE_YEAR,
    placement: VpcPlacement | None = None,
    outside_vpc_reason: str | None = None,
    statements: list[iam.PolicyStatement] | None = None,
) -> PrivateLambda:
    """A Lambda function ``function_name`` (Arm) in ``scope``: ``Function``, its log group
    ``Logs`` (``/aws/lambda/{function_name}``) and dead-letter queue ``DeadLetterQueue`` under
    ``key`` (also its environment's key), and the role ``Role`` with its policy ``Policy``:
    write its own logs, send to its queue, and, with a ``placement``, the ENI actions of a VPC
    Lambda on the narrowest resources there are. Without a placement it runs outside the VPC,
    which ``outside_vpc_reason`` explains to the rule packs. ``statements`` open the policy, before
    those. The function is created after its policy, so it can create its network interfaces
    from the start."""
    log_group = encrypted_log_group(
        scope, "Logs", name=f"/aws/lambda/{function_name}", key=key, retention=log_retention,
        removal_policy=removal_policy,
    )  # fmt: skip
    queue = dead_letter_queue(
        scope, "DeadLetterQueue", encryption_key=key, removal_policy=removal_policy
    )
    role, policy = service_role(
        scope, "", service="lambda.amazonaws.com", description=role_description,
        policy_description=policy_description, statements=statements,
    )  # fmt: skip
    if placement is not None:
        policy.add_statements(*_network_interface_statements(placement))
        _acknowledge_network_interfaces(policy)
    policy.add_statements(
        iam.PolicyStatement(
            sid="WriteOwnLogs",
            actions=["logs:CreateLogStream", "logs:PutLogEvents"],
            resources=[log_group.log_group_arn],
        ),
        iam.PolicyStatement(
            sid="DeadLetters", actions=["sqs:SendMessage"], resources=[queue.queue_arn]
        ),
    )
    function = lambda_.Function(
        scope, "Function", function_name=function_name, description=description,
        runtime=runtime, architecture=lambda_.Architecture.ARM_64, code=code, handler=handler,
        memory_size=memory_size, timeout=timeout, role=role, log_group=log_group,
        environment=dict(environment), environment_encryption=key,
        reserved_concurrent_executions=reserved_concurrency,
        **_vpc_properties(placement),
    )  # fmt: skip
    _order_and_dead_letters(function, role, policy, queue)
    if placement is None:
        assert outside_vpc_reason, "a Lambda outside the VPC needs the reason"
        _acknowledge_outside_vpc(function, outside_vpc_reason)
    return PrivateLambda(function, role, policy, log_group, queue)


def _acknowledge_network_interfaces(policy: iam.ManagedPolicy) -> None:
    acknowledge(
        policy,
        ENI_REASON,
        f"{AWS_SOLUTIONS}-IAM5[Resource::*]",
        f"{AWS_SOLUTIONS}-IAM5[Resource::arn:<AWS::Partition>:ec2:<AWS::Region>:"
        "<AWS::AccountId>:network-interface/*]",
    )


def _acknowledge_outside_vpc(function: lambda_.Function, reason: str) -> None:
    acknowledge(function, reason, *in_packs("LambdaInsideVPC"), "CT.LAMBDA.PR.3")
    cfn_function = function.node.default_child
    assert isinstance(cfn_function, lambda_.CfnFunction)
    skip_checkov(cfn_function, [("CKV_AWS_117", reason)])


def _vpc_properties(placement: VpcPlacement | None) -> dict[str, Any]:
    if placement is None:
        return {}
    return {
        "vpc": placement.vpc,
        "vpc_subnets": placement.subnets,
        "security_groups": [placement.security_group],
    }


def _network_interface_statements(placement: VpcPlacement) -> list[iam.PolicyStatement]:
    """A VPC Lambda's ENI actions (AWSLambdaVPCAccessExecutionRole's six), each on the narrowest
    resource there is."""
    enis = arn_in_account("ec2", "network-interface/*")
    subnets = placement.vpc.select_subnets(subnet_type=placement.subnets.subnet_type).subnet_ids
    group = placement.security_group.security_group_id
    return [
        iam.PolicyStatement(
            sid="DescribeVpcNetworking",
            actions=["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
            resources=["*"],  # these actions support no resource-level permissions
        ),
        iam.PolicyStatement(
            sid="CreateFunctionNetworkInterfaces",
            actions=["ec2:CreateNetworkInterface"],
            resources=[
                enis,
                *(arn_in_account("ec2", f"subnet/{subnet}") for subnet in subnets),
                arn_in_account("ec2", f"security-group/{group}"),
            ],
        ),
        iam.PolicyStatement(
            sid="ManageFunctionNetworkInterfaces",
            actions=[
                "ec2:DeleteNetworkInterface",
                "ec2:AssignPrivateIpAddresses",
                "ec2:UnassignPrivateIpAddresses",
            ],
            resources=[enis],
        ),
    ]


def _order_and_dead_letters(
    function: lambda_.Function, role: iam.Role, policy: iam.ManagedPolicy, queue: sqs.IQueue
) -> None:
    """The queue on the L1 (the L2 prop would add its grant to an inline policy); the function
    waits for its policy (a VPC function is created only if its role may create ENIs already),
    and its role is ordered by ``Role: Fn::GetAtt`` alone (cfn-lint W3005)."""
    cfn_function = function.node.default_child
    cfn_role, cfn_policy = role.node.default_child, policy.node.default_child
    assert isinstance(cfn_function, lambda_.CfnFunction)
    assert isinstance(cfn_role, iam.CfnRole) and isinstance(cfn_policy, iam.CfnManagedPolicy)
    cfn_function.dead_letter_config = lambda_.CfnFunction.DeadLetterConfigProperty(
        target_arn=queue.queue_arn
    )
    cfn_function.add_resource_dependency(cfn_policy)
    drop_redundant_dependency(cfn_function, cfn_role)

"""DrNetwork: the VPC of the DR stack (3 AZs, public + isolated subnets, no NAT)."""

from __future__ import annotations

import ipaddress
from collections.abc import Sequence

from aws_cdk import Fn, RemovalPolicy, Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from .compliance import acknowledge, ignore_cfn_lint, in_packs, tidy_cdk_provider
from .errors import DrConfigurationError, check_instance_of, check_key, check_removal_policy
from .keys import logs_encryption_key

#: Regions whose first three AZ letters are not a, b, c.
_AZ_LETTERS = {"ap-northeast-1": "acd", "ca-central-1": "abd"}
#: Flow-log retention: one year, long enough for a post-incident review.
FLOW_LOG_RETENTION = logs.RetentionDays.ONE_YEAR
#: Subnet sizes of a new VPC, in the order CDK allocates them: a /24 public and a /22
#: isolated subnet per AZ.
_SUBNET_PREFIXES = (24, 22)

#: Why a pinned AZ name is not a portability bug here (cfn-lint W3010).
PINNED_AZ_REASON = (
    "AZs are pinned on purpose: DrNetwork synthesizes real AZ names of the stack's region "
    "(or the ones the caller passed), never CDK's dummy placeholders, so the writer/reader "
    "placement is reviewable before deployment"
)


def default_availability_zones(stack: Stack, count: int = 3) -> list[str]:
    """The AZs DrNetwork uses when none are given.

    * Region known at synth time: the AZ names from the CDK context when the app has looked
      them up, else ``{region}a/b/c`` (with the letters known to exist in that region).
    * Environment-agnostic stack: ``Fn::Select`` over ``Fn::GetAZs``, resolved by
      CloudFormation to the region's real AZs at deploy time.

    Never the ``dummy1a`` placeholders that CDK synthesizes without credentials.
    """
    region = stack.region
    if Token.is_unresolved(region):
        return [Fn.select(i, Fn.get_azs()) for i in range(count)]
    looked_up = [az for az in stack.availability_zones if not az.startswith("dummy")]
    if len(looked_up) >= count:
        return looked_up[:count]
    return [f"{region}{letter}" for letter in _AZ_LETTERS.get(region, "abcdef")[:count]]


class DrNetwork(Construct):
    """A VPC for the DR stack: public and isolated subnets in each AZ, no NAT gateways.

    The isolated tier reaches AWS through endpoints only: gateway endpoints for S3 and
    DynamoDB, interface endpoints (private DNS) for Secrets Manager and whatever
    ``interface_endpoints`` adds. All traffic is recorded in VPC flow logs, encrypted with a
    customer-managed key.

    Args:
        scope: parent construct.
        id: construct id.
        vpc: bring your own VPC instead of creating one; it must have isolated (or private)
            subnets. Default - a new VPC as described above.
        availability_zones: AZ names for a new VPC, at least 2. Default - three AZs of the
            stack's region (see :func:`default_availability_zones`).
        cidr: IPv4 range of a new VPC, a network address with a /16 to /28 prefix that
            leaves room for a /24 public and a /22 isolated subnet per AZ (/20 for three AZs).
            Default - ``10.0.0.0/16``.
        interface_endpoints: extra interface endpoints for the isolated tier. Default - none
            beyond Secrets Manager.
        flow_logs_key: key for the flow-log group. Default - a new key with rotation.
        removal_policy: ``RETAIN`` (default) keeps the flow-log group and key when the stack
            is deleted; ``DESTROY`` deletes them.
    """

    def __init__(
        self,
        scope: Construct,
        id: str,
        *,
        vpc: ec2.IVpc | None = None,
        availability_zones: Sequence[str] | None = None,
        cidr: str = "10.0.0.0/16",
        interface_endpoints: Sequence[ec2.InterfaceVpcEndpointAwsService] = (),
        flow_logs_key: kms.IKey | None = None,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, id)
        check_removal_policy("DrNetwork", removal_policy)
        check_key("DrNetwork", "flow_logs_key", flow_logs_key)
        for service in interface_endpoints:
            check_instance_of(
                "DrNetwork",
                "interface_endpoints",
                service,
                ec2.InterfaceVpcEndpointAwsService,
                "a sequence of ec2.InterfaceVpcEndpointAwsService, e.g. "
                "[InterfaceVpcEndpointAwsService.KMS]",
            )
        stack = Stack.of(self)

        if vpc is not None:
            if not hasattr(vpc, "vpc_id") or not hasattr(vpc, "isolated_subnets"):
                raise DrConfigurationError(
                    "DrNetwork", "vpc", type(vpc).__name__, "an ec2.IVpc, or None for a new VPC"
                )
            if not (vpc.isolated_subnets or vpc.private_subnets):
                raise DrConfigurationError(
                    "DrNetwork",
                    "vpc",
                    vpc.node.path,
                    "a VPC with isolated or private subnets (the data tier never runs in "
                    "public subnets)",
                )
            if availability_zones is not None:
                raise DrConfigurationError(
                    "DrNetwork",
                    "availability_zones",
                    availability_zones,
                    "None when an existing vpc is given (its subnets fix the AZs)",
                )
            self.vpc: ec2.IVpc = vpc
            #: The range the interface endpoints admit HTTPS from.
            self.cidr: str = vpc.vpc_cidr_block
        else:
            if isinstance(availability_zones, str):
                availability_zones = [availability_zones]  # reported as the list it is
            azs = list(availability_zones or default_availability_zones(stack))
            self._check_availability_zones(stack, azs)
            self.cidr = self._check_cidr(cidr, len(azs))
            self.vpc = ec2.Vpc(
                self,
                "Vpc",
                ip_addresses=ec2.IpAddresses.cidr(cidr),
                availability_zones=azs,
                nat_gateways=0,
                restrict_default_security_group=True,
                subnet_configuration=[
                    ec2.SubnetConfiguration(
                        name="Public",
                        subnet_type=ec2.SubnetType.PUBLIC,
                        cidr_mask=24,
                        map_public_ip_on_launch=False,
                    ),
                    ec2.SubnetConfiguration(
                        name="Private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22
                    ),
                ],
            )
            self._review_new_vpc(self.vpc)

        #: The subnets the data tier and the Lambda run in.
        self.private_subnets = ec2.SubnetSelection(
            subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
            if self.vpc.isolated_subnets
            else ec2.SubnetType.PRIVATE_WITH_EGRESS
        )

        self.s3_endpoint = self.vpc.add_gateway_endpoint(
            "S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3
        )
        self.dynamodb_endpoint = self.vpc.add_gateway_endpoint(
            "DynamoDbEndpoint", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB
        )
        #: Interface endpoints by service name, Secrets Manager first.
        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        for service in [ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER, *interface_endpoints]:
            self.add_interface_endpoint(service)

        self.flow_logs_key = flow_logs_key or logs_encryption_key(
            self, "FlowLogsKey", description="DR VPC flow logs", removal_policy=removal_policy
        )
        self.flow_log_group = logs.LogGroup(
            self,
            "FlowLogs",
            encryption_key=self.flow_logs_key,
            retention=FLOW_LOG_RETENTION,
            removal_policy=removal_policy,
        )
        #: The role VPC Flow Logs assumes; its one policy is customer-managed, not inline.
        self.flow_log_role = iam.Role(
            self,
            "FlowLogRole",
            assumed_by=iam.ServicePrincipal(
                "vpc-flow-logs.amazonaws.com",
                conditions={"StringEquals": {"aws:SourceAccount": stack.account}},
            ),
            description="VPC Flow Logs: deliver the DR VPC's flow logs to its log group",
        )
        iam.ManagedPolicy(
            self,
            "FlowLogPolicy",
            description="VPC Flow Logs: write to the DR VPC's flow-log group only",
            roles=[self.flow_log_role],
            statements=[
                iam.PolicyStatement(
                    actions=[
                        "logs:CreateLogStream",
                        "logs:PutLogEvents",
                        "logs:DescribeLogStreams",
                    ],
                    resources=[self.flow_log_group.log_group_arn],
                )
            ],
        )
        self.flow_log = ec2.FlowLog(
            self,
            "FlowLog",
            resource_type=ec2.FlowLogResourceType.from_vpc(self.vpc),
            # The immutable view keeps CDK from adding the same grant again as an inline policy.
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(
                self.flow_log_group, self.flow_log_role.without_policy_updates()
            ),
            traffic_type=ec2.FlowLogTrafficType.ALL,
        )

    def add_interface_endpoint(
        self, service: ec2.InterfaceVpcEndpointAwsService
    ) -> ec2.InterfaceVpcEndpoint:
        """Add an interface endpoint (private DNS, HTTPS from inside the VPC only)."""
        existing = self.interface_endpoints.get(service.name)
        if existing is not None:
            return existing
        name = service.short_name.title().replace("-", "").replace(".", "")
        # Endpoints answer requests and never start connections: no egress at all.
        security_group = ec2.SecurityGroup(
            self,
            f"{name}EndpointSecurityGroup",
            vpc=self.vpc,
            description=f"{service.short_name} endpoint: HTTPS in from the VPC, nothing out",
            allow_all_outbound=False,
        )
        endpoint = self.vpc.add_interface_endpoint(
            f"{name}Endpoint",
            service=service,
            subnets=self.private_subnets,
            private_dns_enabled=True,
            open=False,
            security_groups=[security_group],
        )
        # The literal range of a new VPC (not a token), so rule packs can verify the ingress.
        endpoint.connections.allow_from(
            ec2.Peer.ipv4(self.cidr),
            ec2.Port.tcp(443),
            f"HTTPS to {service.short_name} from inside the VPC",
        )
        self.interface_endpoints[service.name] = endpoint
        return endpoint

    def _review_new_vpc(self, vpc: ec2.Vpc) -> None:
        """Record, next to the resources, why the rule packs' remaining findings on a new VPC
        cannot apply, and tidy the CDK-managed default-security-group provider."""
        for subnet in vpc.public_subnets + vpc.isolated_subnets:
            cfn_subnet = subnet.node.default_child
            assert isinstance(cfn_subnet, ec2.CfnSubnet)
            if not Token.is_unresolved(cfn_subnet.availability_zone):
                ignore_cfn_lint(cfn_subnet, "W3010")  # see PINNED_AZ_REASON
        for subnet in vpc.public_subnets:
            acknowledge(
                subnet,
                "The spec's public subnets exist for internet-facing entry points (e.g. a load "
                "balancer) and are public only through this default route to the internet "
                "gateway. dr-constructs runs nothing in them and launches no public IPs "
                "(MapPublicIpOnLaunch false); the database, the Lambda and the endpoints sit "
                "in isolated subnets that have no route out of the VPC at all.",
                *in_packs("VPCNoUnrestrictedRouteToIGW"),
            )
        tidy_cdk_provider(
            Stack.of(vpc),
            "Custom::VpcRestrictDefaultSGCustomResourceProvider",
            "removes every rule from the VPC's default security group at deployment",
        )

    @staticmethod
    def _check_availability_zones(stack: Stack, azs: list[str]) -> None:
        accepted = (
            "at least 2 distinct AZ names of the stack's region, e.g. "
            "['us-east-1a', 'us-east-1b', 'us-east-1c']"
        )
        if len(azs) < 2 or not all(isinstance(az, str) for az in azs):
            raise DrConfigurationError("DrNetwork", "availability_zones", azs, accepted)
        names = [az for az in azs if not Token.is_unresolved(az)]
        if len(set(names)) != len(names):
            raise DrConfigurationError("DrNetwork", "availability_zones", azs, accepted)
        region = stack.region
        for az in names:
            wrong_region = not Token.is_unresolved(region) and not (
                az.startswith(region) and len(az) == len(region) + 1 and az[-1].isalpha()
                and az[-1].islower()
            )  # fmt: skip
            if az.startswith("dummy") or wrong_region:
                raise DrConfigurationError("DrNetwork", "availability_zones", azs, accepted)

    @staticmethod
    def _check_cidr(cidr: str, az_count: int) -> str:
        """Return ``cidr`` if it is an IPv4 network AWS accepts for a VPC (/16 to /28) with room
        for a /24 public and a /22 isolated subnet in each of ``az_count`` AZs."""
        accepted = (
            "an IPv4 network address with a /16 to /28 prefix and room for a /24 public and a "
            f"/22 isolated subnet in each of the {az_count} AZs, e.g. '10.0.0.0/16'"
        )
        try:
            if not isinstance(cidr, str) or Token.is_unresolved(cidr):
                raise ValueError(cidr)
            network = ipaddress.IPv4Network(cidr, strict=True)
        except ValueError:
            raise DrConfigurationError("DrNetwork", "cidr", cidr, accepted) from None
        # CDK allocates each subnet at the next boundary of its own size, in this order.
        end = 0
        for prefix in _SUBNET_PREFIXES:
            size = 2 ** (32 - prefix)
            for _ in range(az_count):
                end = -(-end // size) * size + size
        if not 16 <= network.prefixlen <= 28 or end > network.num_addresses:
            raise DrConfigurationError("DrNetwork", "cidr", cidr, accepted)
        return cidr

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
from jsii.errors import JSIIError

from .checks import Checks
from .compliance import acknowledge, ignore_cfn_lint, in_packs, tidy_cdk_provider
from .errors import DrConfigurationError
from .keys import logs_encryption_key
from .parts import encrypted_log_group, service_role

#: Regions where dr-constructs pins AZ names without a lookup: letters that exist in every
#: account there (AZ names map to physical AZs per account, and in some regions the letters an
#: account sees differ too). us-east-1 is the spec's region (a to f); ap-northeast-1 has no
#: "b" and ca-central-1 no "c" for new accounts (as moto's EC2 model of both regions).
#: Every other region gets ``Fn::GetAZs``: right for whichever account deploys it.
AZ_LETTERS = {"us-east-1": "abc", "ap-northeast-1": "acd", "ca-central-1": "abd"}
#: Regions where an account sees only two AZs (us-west-1: two of a, b and c, by account).
TWO_AZ_REGIONS = frozenset({"us-west-1"})
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
    """The AZs DrNetwork uses when none are given: up to ``count``, never one the region lacks.

    * The AZs looked up for the stack's account and region (CDK context
      ``availability-zones:account=...:region=...``, written by ``cdk synth`` with
      credentials into ``cdk.context.json``): the first ``count`` of them, even if only two.
    * Else, in a region of :data:`AZ_LETTERS`: ``{region}a/b/c`` with the letters that exist
      in every account there.
    * Else (other regions, environment-agnostic stacks): ``Fn::Select`` over ``Fn::GetAZs``,
      resolved by CloudFormation to the deploying account's AZs; two in
      :data:`TWO_AZ_REGIONS`.

    Never the ``dummy1a`` placeholders that CDK synthesizes without credentials.

    Raises:
        DrConfigurationError: the lookup found fewer than two AZs.
    """
    region = stack.region
    if Token.is_unresolved(region):
        return [Fn.select(i, Fn.get_azs()) for i in range(count)]
    looked_up = looked_up_availability_zones(stack)
    if looked_up:
        if len(looked_up) < 2:
            raise DrConfigurationError(
                "DrNetwork", "availability_zones", looked_up,
                f"at least 2 AZs: the CDK context lists only these for {region}",
            )  # fmt: skip
        return looked_up[:count]
    if region in AZ_LETTERS:
        return [f"{region}{letter}" for letter in AZ_LETTERS[region][:count]]
    return [Fn.select(i, Fn.get_azs()) for i in range(min(count, _az_count(region)))]


def looked_up_availability_zones(stack: Stack) -> list[str]:
    """The AZ names the app has looked up for the stack's account and region; none while
    they are not looked up or the account is unknown (CDK then answers with ``dummy1a``
    placeholders or ``Fn::GetAZs`` tokens)."""
    return [
        az
        for az in stack.availability_zones
        if not Token.is_unresolved(az) and not az.startswith("dummy")
    ]


def _route_table_known(subnet: ec2.ISubnet) -> bool:
    try:
        return bool(subnet.route_table.route_table_id)
    except (JSIIError, RuntimeError):  # an imported subnet without its route table id
        return False


def _az_count(region: str) -> int:
    return 2 if region in TWO_AZ_REGIONS else 3


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
            subnets and a known IPv4 range (``vpc_cidr_block`` when imported with
            ``Vpc.from_vpc_attributes``). Default - a new VPC as described above.
        availability_zones: AZ names for a new VPC, at least 2 (of the looked-up AZs when the
            app has looked them up). Default - up to three AZs of the stack's region, never
            one it lacks (see :func:`default_availability_zones`).
        cidr: IPv4 range of a new VPC, a network address with a /16 to /28 prefix that
            leaves room for a /24 public and a /22 isolated subnet per AZ (/20 for three AZs).
            Default - ``10.0.0.0/16``.
        interface_endpoints: extra interface endpoints for the isolated tier. Default - none
            beyond Secrets Manager.
        flow_logs_key: key for the flow-log group. Default - a new key with rotation.
        public_subnets: a new VPC's public subnets (the spec's, for internet-facing entry
            points); False for isolated subnets only, without an internet gateway.
            Default - True.
        secrets_manager_endpoint: the Secrets Manager interface endpoint (the database secret
            for the Lambda); False where nothing in the VPC reads secrets, as in the
            recovery region. Default - True.
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
        public_subnets: bool = True,
        secrets_manager_endpoint: bool = True,
        removal_policy: RemovalPolicy = RemovalPolicy.RETAIN,
    ) -> None:
        super().__init__(scope, id)
        check = Checks(self, "DrNetwork")
        check.removal_policy(removal_policy)
        check.key("flow_logs_key", flow_logs_key)
        check.switch("public_subnets", public_subnets)
        check.switch("secrets_manager_endpoint", secrets_manager_endpoint)
        _check_interface_endpoints(check, interface_endpoints)
        if vpc is not None:
            _check_vpc(check, vpc, availability_zones)
            self.vpc: ec2.IVpc = vpc
            #: The range the interface endpoints admit HTTPS from.
            self.cidr: str = _range_of(check, vpc)
        else:
            self.vpc = self._new_vpc(check, availability_zones, cidr, public_subnets)
        #: The subnets the data tier and the Lambda run in.
        self.private_subnets = ec2.SubnetSelection(
            subnet_type=ec2.SubnetType.PRIVATE_ISOLATED
            if self.vpc.isolated_subnets
            else ec2.SubnetType.PRIVATE_WITH_EGRESS
        )
        self._endpoints(interface_endpoints, secrets_manager_endpoint)
        self._flow_logs(flow_logs_key, removal_policy)

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

    # --- steps ---------------------------------------------------------------------------

    def _new_vpc(
        self, check: Checks, availability_zones: Sequence[str] | None, cidr: str, public: bool
    ) -> ec2.Vpc:
        """A VPC in ``availability_zones`` (default: the region's), a /24 public (unless not
        ``public``) and a /22 isolated subnet in each, no NAT."""
        stack = Stack.of(self)
        azs = _check_availability_zones(
            check,
            stack,
            default_availability_zones(stack) if availability_zones is None else availability_zones,
        )
        self.cidr = _check_cidr(check, cidr, len(azs))
        vpc = ec2.Vpc(
            self,
            "Vpc",
            ip_addresses=ec2.IpAddresses.cidr(cidr),
            availability_zones=azs,
            nat_gateways=0,
            restrict_default_security_group=True,
            subnet_configuration=[
                *(
                    [
                        ec2.SubnetConfiguration(
                            name="Public",
                            subnet_type=ec2.SubnetType.PUBLIC,
                            cidr_mask=24,
                            map_public_ip_on_launch=False,
                        )
                    ]
                    if public
                    else []
                ),
                ec2.SubnetConfiguration(
                    name="Private", subnet_type=ec2.SubnetType.PRIVATE_ISOLATED, cidr_mask=22
                ),
            ],
        )
        self._review_new_vpc(vpc)
        return vpc

    def _endpoints(
        self,
        interface_endpoints: Sequence[ec2.InterfaceVpcEndpointAwsService],
        secrets_manager: bool,
    ) -> None:
        """Gateway endpoints for S3 and DynamoDB, interface endpoints for Secrets Manager
        (unless not ``secrets_manager``) and ``interface_endpoints``."""
        self.s3_endpoint = self.vpc.add_gateway_endpoint(
            "S3Endpoint", service=ec2.GatewayVpcEndpointAwsService.S3
        )
        self.dynamodb_endpoint = self.vpc.add_gateway_endpoint(
            "DynamoDbEndpoint", service=ec2.GatewayVpcEndpointAwsService.DYNAMODB
        )
        #: Interface endpoints by service name, Secrets Manager first.
        self.interface_endpoints: dict[str, ec2.InterfaceVpcEndpoint] = {}
        secrets = [ec2.InterfaceVpcEndpointAwsService.SECRETS_MANAGER] if secrets_manager else []
        for service in [*secrets, *interface_endpoints]:
            self.add_interface_endpoint(service)

    def _flow_logs(self, flow_logs_key: kms.IKey | None, removal_policy: RemovalPolicy) -> None:
        """Every packet's record in an encrypted log group, delivered by a role that may write
        there only."""
        self.flow_logs_key = flow_logs_key or logs_encryption_key(
            self, "FlowLogsKey", description="DR VPC flow logs", removal_policy=removal_policy
        )
        self.flow_log_group = encrypted_log_group(
            self, "FlowLogs", key=self.flow_logs_key, retention=FLOW_LOG_RETENTION,
            removal_policy=removal_policy,
        )  # fmt: skip
        #: The role VPC Flow Logs assumes; its one policy is customer-managed, not inline.
        self.flow_log_role, _ = service_role(
            self, "FlowLog", service="vpc-flow-logs.amazonaws.com",
            conditions={"StringEquals": {"aws:SourceAccount": Stack.of(self).account}},
            description="VPC Flow Logs: deliver the DR VPC's flow logs to its log group",
            policy_description="VPC Flow Logs: write to the DR VPC's flow-log group only",
            statements=[
                iam.PolicyStatement(
                    actions=["logs:CreateLogStream", "logs:PutLogEvents",
                             "logs:DescribeLogStreams"],
                    resources=[self.flow_log_group.log_group_arn],
                )
            ],
        )  # fmt: skip
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


# --- checks ----------------------------------------------------------------------------------


def _range_of(check: Checks, vpc: ec2.IVpc) -> str:
    """The IPv4 range of an existing VPC: the literal range when the VPC is defined in this
    app (so rule packs can verify the endpoint's ingress), else its ``vpc_cidr_block``."""
    cfn_vpc = vpc.node.default_child
    literal = cfn_vpc.cidr_block if isinstance(cfn_vpc, ec2.CfnVPC) else None
    if isinstance(literal, str) and not Token.is_unresolved(literal):
        return literal
    try:
        return vpc.vpc_cidr_block
    except RuntimeError:  # CannotPerformOperationVpcCidr: imported without its range
        raise DrConfigurationError(
            check.name,
            "vpc",
            vpc.node.path,
            "a VPC whose IPv4 range is known (the interface endpoints admit HTTPS from "
            "it): an ec2.Vpc, Vpc.from_lookup(...), or Vpc.from_vpc_attributes(..., "
            "vpc_cidr_block='10.0.0.0/16')",
        ) from None


def _check_availability_zones(check: Checks, stack: Stack, value: object) -> list[str]:
    """Return ``value`` as a list if it names 2 or more distinct AZs of the stack's region
    (of the looked-up ones, when the app has looked them up)."""
    accepted = (
        "at least 2 distinct AZ names of the stack's region, e.g. "
        "['us-east-1a', 'us-east-1b', 'us-east-1c']"
    )
    if isinstance(value, str):
        value = [value]  # reported as the list it is
    if not isinstance(value, Sequence):
        check.fail("availability_zones", value, accepted)
    azs = list(value)
    if len(azs) < 2 or not all(isinstance(az, str) for az in azs):
        check.fail("availability_zones", azs, accepted)
    names = [az for az in azs if not Token.is_unresolved(az)]
    if len(set(names)) != len(names):
        check.fail("availability_zones", azs, accepted)
    region = stack.region
    if Token.is_unresolved(region):
        return azs
    looked_up = looked_up_availability_zones(stack)
    if looked_up:
        accepted += f"; the AZs looked up for this account there: {looked_up}"
    for az in names:
        wrong_region = not (
            az.startswith(region) and len(az) == len(region) + 1 and az[-1].isalpha()
            and az[-1].islower()
        )  # fmt: skip
        if az.startswith("dummy") or wrong_region or (looked_up and az not in looked_up):
            check.fail("availability_zones", azs, accepted)
    return azs


def _check_cidr(check: Checks, cidr: str, az_count: int) -> str:
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
        raise DrConfigurationError(check.name, "cidr", cidr, accepted) from None
    # CDK allocates each subnet at the next boundary of its own size, in this order.
    end = 0
    for prefix in _SUBNET_PREFIXES:
        size = 2 ** (32 - prefix)
        for _ in range(az_count):
            end = -(-end // size) * size + size
    if not 16 <= network.prefixlen <= 28 or end > network.num_addresses:
        check.fail("cidr", cidr, accepted)
    return cidr


def _check_interface_endpoints(
    check: Checks, interface_endpoints: Sequence[ec2.InterfaceVpcEndpointAwsService]
) -> None:
    accepted = (
        "a sequence of ec2.InterfaceVpcEndpointAwsService, e.g. "
        "[InterfaceVpcEndpointAwsService.KMS]"
    )
    if isinstance(interface_endpoints, str) or not isinstance(interface_endpoints, Sequence):
        check.instance_of("interface_endpoints", interface_endpoints, list, accepted)
    for service in interface_endpoints:
        check.instance_of(
            "interface_endpoints", service, ec2.InterfaceVpcEndpointAwsService, accepted
        )


def _check_vpc(check: Checks, vpc: ec2.IVpc, availability_zones: Sequence[str] | None) -> None:
    """An existing VPC: one with isolated or private subnets whose route tables are known, and
    no AZs of its own."""
    if not hasattr(vpc, "vpc_id") or not hasattr(vpc, "isolated_subnets"):
        check.fail("vpc", type(vpc).__name__, "an ec2.IVpc, or None for a new VPC")
    if not (vpc.isolated_subnets or vpc.private_subnets):
        check.fail(
            "vpc",
            vpc.node.path,
            "a VPC with isolated or private subnets (the data tier never runs in public subnets)",
        )
    subnets = [*vpc.isolated_subnets, *vpc.private_subnets, *vpc.public_subnets]
    if not any(_route_table_known(subnet) for subnet in subnets):
        check.fail(
            "vpc",
            vpc.node.path,
            "a VPC whose subnets' route tables are known (the S3 and DynamoDB gateway "
            "endpoints are routed through them), e.g. Vpc.from_vpc_attributes(..., "
            "isolated_subnet_route_table_ids=[...])",
        )
    if availability_zones is not None:
        check.fail(
            "availability_zones",
            availability_zones,
            "None when an existing vpc is given (its subnets fix the AZs)",
        )

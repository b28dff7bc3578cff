"""DrNetwork: the VPC of the DR stack (3 AZs, public + isolated subnets, no NAT)."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import Fn, RemovalPolicy, Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from constructs import Construct

from .errors import DrConfigurationError, check_removal_policy
from .keys import allow_cloudwatch_logs, customer_managed_key

#: Regions whose first three AZ letters are not a, b, c.
_AZ_LETTERS = {"ap-northeast-1": "acd", "ca-central-1": "abd"}
#: Flow-log retention: one year, long enough for a post-incident review.
FLOW_LOG_RETENTION = logs.RetentionDays.ONE_YEAR


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
        cidr: IPv4 range of a new VPC. Default - ``10.0.0.0/16``.
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
        stack = Stack.of(self)

        if vpc is not None:
            if availability_zones is not None:
                raise DrConfigurationError(
                    "DrNetwork",
                    "availability_zones",
                    availability_zones,
                    "None when an existing vpc is given (its subnets fix the AZs)",
                )
            self.vpc: ec2.IVpc = vpc
        else:
            azs = list(availability_zones or default_availability_zones(stack))
            self._check_availability_zones(stack, azs)
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

        self.flow_logs_key = flow_logs_key or customer_managed_key(
            self, "FlowLogsKey", description="DR VPC flow logs", removal_policy=removal_policy
        )
        if flow_logs_key is None:
            allow_cloudwatch_logs(self.flow_logs_key)
        self.flow_log_group = logs.LogGroup(
            self,
            "FlowLogs",
            encryption_key=self.flow_logs_key,
            retention=FLOW_LOG_RETENTION,
            removal_policy=removal_policy,
        )
        self.flow_log = ec2.FlowLog(
            self,
            "FlowLog",
            resource_type=ec2.FlowLogResourceType.from_vpc(self.vpc),
            destination=ec2.FlowLogDestination.to_cloud_watch_logs(self.flow_log_group),
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
        endpoint = self.vpc.add_interface_endpoint(
            f"{name}Endpoint",
            service=service,
            subnets=self.private_subnets,
            private_dns_enabled=True,
            open=False,
        )
        endpoint.connections.allow_from(
            ec2.Peer.ipv4(self.vpc.vpc_cidr_block),
            ec2.Port.tcp(443),
            f"HTTPS to {service.short_name} from inside the VPC",
        )
        self.interface_endpoints[service.name] = endpoint
        return endpoint

    @staticmethod
    def _check_availability_zones(stack: Stack, azs: list[str]) -> None:
        accepted = "at least 2 distinct AZ names of the stack's region, e.g. ['us-east-1a', ...]"
        names = [az for az in azs if not Token.is_unresolved(az)]
        if len(azs) < 2 or len(set(names)) != len(names):
            raise DrConfigurationError("DrNetwork", "availability_zones", azs, accepted)
        region = stack.region
        for az in names:
            wrong_region = not Token.is_unresolved(region) and not (
                az.startswith(region) and len(az) > len(region)
            )
            if az.startswith("dummy") or wrong_region:
                raise DrConfigurationError("DrNetwork", "availability_zones", azs, accepted)

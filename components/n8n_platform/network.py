"""The VPC a created cluster runs in (``cluster.create``): subnets over two or three AZs, NAT, VPC endpoints.

Pure builders (the subnet plan, the tags the EKS and load-balancer tooling read, the endpoint list) and
:func:`build_vpc`, which registers the resources under the caller's component (:class:`~.eks_cluster.Cluster`).

Layout, for a VPC ``10.30.0.0/16`` and three AZs: each private subnet is a quarter of the VPC (``/18``: nodes, pods,
which take VPC addresses under the VPC CNI, RDS and ElastiCache), the public subnets share the last quarter
(``/20`` each: the ALB and the NAT gateways only). Private subnets route to a NAT gateway in their own AZ when
``nat_per_az`` (prod: losing one AZ does not cut the others' egress), else to one (dev: one NAT's hourly cost).
Gateway and interface endpoints keep the heaviest traffic off NAT: image pulls (ECR api + dkr, layers from S3),
IRSA token exchanges (STS) and log shipping (CloudWatch Logs).
"""

# No `from __future__ import annotations` here, like the other component modules.
import ipaddress
import json
from dataclasses import dataclass
from typing import Any

import pulumi
import pulumi_aws as aws

INTERFACE_ENDPOINTS = ("ecr.api", "ecr.dkr", "sts", "logs")
"""Interface endpoints of the VPC (``com.amazonaws.<region>.<service>``), private DNS on."""

FLOW_LOG_RETENTION_DAYS = 365
"""Days the VPC flow logs are kept (a year of network forensics)."""


@dataclass(frozen=True)
class SubnetPlan:
    """The CIDRs of one created VPC's subnets, one private and one public per AZ, in AZ order."""

    private: tuple[str, ...]
    """Private subnets (nodes, pods, databases)."""
    public: tuple[str, ...]
    """Public subnets (the ALB, NAT gateways)."""


def subnet_plan(vpc_cidr: str, zones: int) -> SubnetPlan:
    """Private subnets as the first ``zones`` quarters of ``vpc_cidr``; public ones carved from its last quarter."""
    if not 2 <= zones <= 3:
        raise ValueError(f"subnet_plan: zones must be 2 or 3, not {zones!r}")
    quarters = list(ipaddress.ip_network(vpc_cidr).subnets(prefixlen_diff=2))
    public = list(quarters[3].subnets(prefixlen_diff=2))
    return SubnetPlan(tuple(str(q) for q in quarters[:zones]), tuple(str(p) for p in public[:zones]))


def subnet_tags(cluster_name: str, public: bool, tags: dict[str, str]) -> dict[str, str]:
    """Tags the AWS Load Balancer Controller discovers subnets by (``elb`` public, ``internal-elb`` private)."""
    role = "kubernetes.io/role/elb" if public else "kubernetes.io/role/internal-elb"
    return {**tags, role: "1", f"kubernetes.io/cluster/{cluster_name}": "shared"}


def endpoint_service(region: str, service: str) -> str:
    """The service name of a VPC endpoint (``com.amazonaws.eu-west-1.sts``)."""
    return f"com.amazonaws.{region}.{service}"


def flow_log_assume_role_policy() -> dict[str, Any]:
    """Trust policy of the flow-log delivery role: the VPC Flow Logs service only."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "vpc-flow-logs.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def flow_log_policy(log_group_arn: Any) -> dict[str, Any]:
    """What the flow-log role may do: write streams into its own log group, nothing else."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow",
        "Action": ["logs:CreateLogStream", "logs:PutLogEvents", "logs:DescribeLogStreams"],
        "Resource": [log_group_arn, pulumi.Output.concat(log_group_arn, ":*")],
    }]}


@dataclass(frozen=True)
class ClusterNetwork:
    """Where the platform's AWS data layer and worker pool go: the settings' ``cluster.vpcId``,
    ``cluster.privateSubnetIds`` and ``cluster.nodeSecurityGroupId``, or what a created cluster produced."""

    vpc_id: pulumi.Input[str]
    """The cluster's VPC."""
    private_subnet_ids: pulumi.Input[list[str]]
    """Private subnets, one per AZ."""
    node_security_group_id: pulumi.Input[str]
    """Security group of the cluster's nodes: the only source RDS and ElastiCache admit."""


@dataclass(frozen=True)
class Vpc:
    """What :func:`build_vpc` created that the cluster and the platform use."""

    vpc_id: pulumi.Output[str]
    """The VPC."""
    private_subnet_ids: list[pulumi.Output[str]]
    """Private subnets, one per AZ."""
    public_subnet_ids: list[pulumi.Output[str]]
    """Public subnets, one per AZ."""
    endpoints: list[Any]
    """The VPC endpoints (nodes pull images through them: the node group waits for them)."""


def build_vpc(name: str, *, cluster_name: str, cidr: str, zones: int, nat_per_az: bool, region: str,
              kms_key_arn: pulumi.Input[str], tags: dict[str, str], opts: pulumi.ResourceOptions) -> Vpc:
    """The VPC, its subnets, routes, NAT gateways, endpoints and flow logs, registered with ``opts``."""

    plan = subnet_plan(cidr, zones)
    vpc = aws.ec2.Vpc(f"{name}-vpc", cidr_block=cidr, enable_dns_hostnames=True, enable_dns_support=True,
                      tags={**tags, "Name": cluster_name}, opts=opts)
    # The default security group admits nothing: every resource names its own group.
    aws.ec2.DefaultSecurityGroup(f"{name}-default-sg", vpc_id=vpc.id, tags=tags, opts=opts)
    _flow_logs(name, vpc, kms_key_arn, tags, opts)
    zone_names = aws.get_availability_zones_output(state="available", opts=pulumi.InvokeOutputOptions(
        parent=opts.parent)).names
    igw = aws.ec2.InternetGateway(f"{name}-igw", vpc_id=vpc.id, tags=tags, opts=opts)
    public_routes = aws.ec2.RouteTable(f"{name}-public", vpc_id=vpc.id, tags=tags, opts=opts)
    aws.ec2.Route(f"{name}-public-internet", route_table_id=public_routes.id, destination_cidr_block="0.0.0.0/0",
                  gateway_id=igw.id, opts=opts)
    private, public, private_tables, nats = [], [], [], []
    for i in range(zones):
        zone = zone_names.apply(lambda names, i=i: names[i])
        pub = aws.ec2.Subnet(f"{name}-public-{i}", vpc_id=vpc.id, cidr_block=plan.public[i], availability_zone=zone,
                             map_public_ip_on_launch=False, tags=subnet_tags(cluster_name, True, tags), opts=opts)
        aws.ec2.RouteTableAssociation(f"{name}-public-{i}", subnet_id=pub.id, route_table_id=public_routes.id,
                                      opts=opts)
        if nat_per_az or i == 0:
            eip = aws.ec2.Eip(f"{name}-nat-{i}", domain="vpc", tags=tags, opts=opts)
            nats.append(aws.ec2.NatGateway(f"{name}-nat-{i}", allocation_id=eip.id, subnet_id=pub.id, tags=tags,
                                           opts=pulumi.ResourceOptions.merge(opts, pulumi.ResourceOptions(
                                               depends_on=[igw]))))
        priv = aws.ec2.Subnet(f"{name}-private-{i}", vpc_id=vpc.id, cidr_block=plan.private[i],
                              availability_zone=zone, tags=subnet_tags(cluster_name, False, tags), opts=opts)
        table = aws.ec2.RouteTable(f"{name}-private-{i}", vpc_id=vpc.id, tags=tags, opts=opts)
        aws.ec2.Route(f"{name}-private-{i}-egress", route_table_id=table.id, destination_cidr_block="0.0.0.0/0",
                      nat_gateway_id=nats[-1].id, opts=opts)
        aws.ec2.RouteTableAssociation(f"{name}-private-{i}", subnet_id=priv.id, route_table_id=table.id, opts=opts)
        private.append(priv)
        public.append(pub)
        private_tables.append(table)
    endpoints = _endpoints(name, vpc, cidr, region, private, private_tables, tags, opts)
    return Vpc(vpc.id, [s.id for s in private], [s.id for s in public], endpoints)


def _flow_logs(name: str, vpc: Any, kms_key_arn: pulumi.Input[str], tags: dict[str, str],
               opts: pulumi.ResourceOptions) -> None:

    group = aws.cloudwatch.LogGroup(f"{name}-flow-logs", retention_in_days=FLOW_LOG_RETENTION_DAYS,
                                    kms_key_id=kms_key_arn, tags=tags, opts=opts)
    role = aws.iam.Role(f"{name}-flow-logs", assume_role_policy=json.dumps(flow_log_assume_role_policy()),
                        description="delivers the VPC flow logs", tags=tags, opts=opts)
    aws.iam.RolePolicy(f"{name}-flow-logs", role=role.id, policy=pulumi.Output.json_dumps(
        flow_log_policy(group.arn)), opts=opts)
    aws.ec2.FlowLog(f"{name}-flow-logs", vpc_id=vpc.id, traffic_type="ALL", log_destination=group.arn,
                    iam_role_arn=role.arn, tags=tags, opts=opts)


def _endpoints(name: str, vpc: Any, cidr: str, region: str, subnets: list[Any], tables: list[Any],
               tags: dict[str, str], opts: pulumi.ResourceOptions) -> list[Any]:

    group = aws.ec2.SecurityGroup(f"{name}-endpoints", vpc_id=vpc.id,
                                  description="HTTPS from the VPC to its interface endpoints", tags=tags, opts=opts)
    aws.vpc.SecurityGroupIngressRule(f"{name}-endpoints-https", security_group_id=group.id, ip_protocol="tcp",
                                     from_port=443, to_port=443, cidr_ipv4=cidr,
                                     description="HTTPS from the VPC", opts=opts)
    out = [aws.ec2.VpcEndpoint(f"{name}-s3", vpc_id=vpc.id, service_name=endpoint_service(region, "s3"),
                               vpc_endpoint_type="Gateway", route_table_ids=[t.id for t in tables], tags=tags,
                               opts=opts)]
    for service in INTERFACE_ENDPOINTS:
        out.append(aws.ec2.VpcEndpoint(
            f"{name}-{service.replace('.', '-')}", vpc_id=vpc.id, service_name=endpoint_service(region, service),
            vpc_endpoint_type="Interface", private_dns_enabled=True, subnet_ids=[s.id for s in subnets],
            security_group_ids=[group.id], tags=tags, opts=opts))
    return out

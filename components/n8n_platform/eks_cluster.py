"""Cluster: the VPC and EKS cluster of a stack that starts from an empty AWS account (``cluster.create``).

Plain pulumi-aws resources, not pulumi-eks. ``pulumi_eks.Cluster`` is a multi-language component
(``eks:index:Cluster``, registered ``remote=True``): its children are created by the pulumi-eks provider plugin
(a Node.js program), so under Pulumi's mock runtime and in this repository's offline plan it is one opaque
registration whose VPC, roles, node groups and add-ons never appear, and whose outputs a test would have to invent.
The plan, the gates, the checkov Terraform scan and the policy pack would then check nothing of the cluster. It
would also be a new runtime dependency with its own plugin to pin. With plain resources every child is in the plan
and checked like the rest of the stack.

What it creates: a customer-managed KMS key (EKS secrets envelope encryption, control-plane and flow logs); the VPC
(:mod:`.network`); the cluster with authentication mode ``API`` (EKS access entries, no ``aws-auth`` ConfigMap; the
creator and ``admin_role_arns`` get cluster-admin), every control-plane log type into a KMS-encrypted log group, a
private endpoint (public only for ``public_access_cidrs``), no self-managed add-ons; the IAM OIDC provider; an
on-demand system node group (same hardened launch template and node role as the worker pool); the managed add-ons
vpc-cni (network policy enforcement on: the platform's NetworkPolicies are only a document without it), kube-proxy,
CoreDNS and the EBS CSI driver with its IRSA role.

**IRSA, not EKS Pod Identity.** Every AWS-facing part of the platform (WAL-G, dumps, the load balancer controller,
the EBS CSI driver here) already uses IRSA roles trusting the cluster's OIDC provider
(:mod:`.irsa`); a cluster the stack creates must offer the same provider so those components work unchanged on it and
on an existing cluster alike. Pod Identity would need a second trust model and its agent add-on.

The default StorageClass (encrypted gp3 with this key) is a Kubernetes object, so it lives apart in
:class:`~.storage_class.EncryptedStorageClass`, created with the Kubernetes provider built from these outputs.
"""

# No `from __future__ import annotations` here: Pulumi's schema analyzer reads the Args annotations at run time.
import json
from typing import Any, TypedDict

import pulumi
import pulumi_aws as aws

from . import irsa, kms, network
from .arguments import at_least, checked, cidr, flag, matching, partition, plain, refuse, string_map
from .worker_pool import AMI_TYPE, hardened_node_identity

LOG_TYPES = ("api", "audit", "authenticator", "controllerManager", "scheduler")
"""Every EKS control-plane log type; all are shipped to CloudWatch Logs."""

CONTROL_PLANE_LOG_RETENTION_DAYS = 365
"""Days the control-plane (audit) logs are kept."""

CLUSTER_POLICIES = ("AmazonEKSClusterPolicy",)
"""AWS managed policies of the cluster role."""

ADMIN_POLICY = "AmazonEKSClusterAdminPolicy"
"""The EKS access policy the admin access entries are associated with (cluster scope)."""

EBS_CSI_POLICY = "service-role/AmazonEBSCSIDriverPolicy"
"""AWS managed policy of the EBS CSI controller's IRSA role."""

EBS_CSI_SERVICE_ACCOUNT = ("kube-system", "ebs-csi-controller-sa")
"""Namespace and service account of the EBS CSI controller (the add-on's own)."""

SYSTEM_NODE_DISK_GB = 50
"""Root volume of a system node (encrypted gp3)."""

NETWORK_ADDONS = ("vpc-cni", "kube-proxy")
"""Add-ons the nodes need to turn Ready (pod networking); created before the system node group."""

CHECKOV_SKIPS = {
    ("aws:eks/cluster:Cluster", "CKV_AWS_39"): "the public endpoint is on only with cluster.publicAccessCidrs, "
    "limited to those (CKV_AWS_38, policy eks-endpoint-access-limited); it is where pulumi up reaches the API",
}
"""checkov Terraform checks a created cluster may fail by design, with why (tools/ci/tfplan.py applies them)."""


def cluster_assume_role_policy() -> dict[str, Any]:
    """Trust policy of the cluster role: the EKS service only."""
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def vpc_cni_configuration() -> str:
    """configurationValues of the vpc-cni add-on: the network policy agent enforces NetworkPolicies."""
    return json.dumps({"enableNetworkPolicy": "true"}, sort_keys=True)


def ebs_csi_key_policy(kms_key_arn: Any) -> dict[str, Any]:
    """What the EBS CSI driver needs on the key its volumes are encrypted with (on top of the managed policy)."""
    return {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["kms:CreateGrant", "kms:ListGrants", "kms:RevokeGrant"],
         "Resource": [kms_key_arn], "Condition": {"Bool": {"kms:GrantIsForAWSResource": "true"}}},
        {"Effect": "Allow", "Action": ["kms:Encrypt", "kms:Decrypt", "kms:ReEncrypt*", "kms:GenerateDataKey*",
                                       "kms:DescribeKey"], "Resource": [kms_key_arn]},
    ]}


def vpc_config(subnet_ids: Any, public_access_cidrs: list[str]) -> dict[str, Any]:
    """The cluster's endpoint: private always; public only for ``public_access_cidrs``."""
    public = bool(public_access_cidrs)
    return {"subnet_ids": subnet_ids, "endpoint_private_access": True, "endpoint_public_access": public,
            **({"public_access_cidrs": list(public_access_cidrs)} if public else {})}


class ClusterArgs(TypedDict):
    """The VPC and EKS cluster to create."""

    cluster_name: str
    """Name of the EKS cluster (also the VPC's Name tag); plain, since add-on values and tags are built from it."""
    region: str
    """AWS region (VPC endpoint service names)."""
    partition: str
    """AWS partition (aws, aws-cn, aws-us-gov), for the managed policy ARNs."""
    vpc_cidr: str
    """IPv4 CIDR of the VPC, a /16 to a /20."""
    availability_zones: int
    """AZs the VPC spans: 2 or 3."""
    nat_per_az: bool
    """One NAT gateway per AZ (production) instead of one for all."""
    kubernetes_version: str
    """Kubernetes minor version of the control plane (``1.35``)."""
    system_node_instance_type: str
    """Instance type of the on-demand system node group."""
    system_nodes: int
    """Nodes of the system node group at creation (and its minimum; it may grow to twice as many)."""
    public_access_cidrs: list[str]
    """Sources allowed to the public API endpoint; empty: private endpoint only."""
    admin_role_arns: list[str]
    """IAM roles given cluster-admin through access entries (the creating identity always is)."""
    protect: bool
    """Protect the cluster and its KMS key (and turn on the cluster's deletion protection)."""
    tags: dict[str, str]
    """Tags added to every AWS resource."""


def _zones(component: str, argument: str, value: Any) -> int:
    if isinstance(value, bool) or value not in (2, 3):
        raise refuse(component, argument, value, "2 or 3")
    return value


def _plain_list(item: Any) -> Any:
    """The check of a plain list (possibly empty) whose every item passes ``item``; an Output is refused, since the
    component builds the endpoint and access entries from the items."""
    def check(component: str, argument: str, value: Any) -> list[Any]:
        plain(component, argument, value)
        if not isinstance(value, (list, tuple)):
            raise refuse(component, argument, value, "a list", TypeError)
        return [item(component, f"{argument}[{i}]", v) for i, v in enumerate(value)]
    return check


def cluster_args(args: ClusterArgs) -> ClusterArgs:
    """``args`` checked where they enter, each error naming Cluster, the argument, the value and what is allowed."""
    where = "Cluster"
    out = checked(where, args, ClusterArgs, {
        "cluster_name": matching(r"[0-9A-Za-z][A-Za-z0-9_-]{0,99}", "an EKS cluster name (letters, digits, - and _)"),
        "region": matching(r"[a-z]{2}(-gov)?-[a-z]+-[0-9]", "an AWS region such as eu-west-1"),
        "partition": partition, "vpc_cidr": cidr, "availability_zones": _zones, "nat_per_az": flag,
        "kubernetes_version": matching(r"1\.[0-9]{2}", "a minor version such as 1.35"),
        "system_node_instance_type": matching(r"[a-z][a-z0-9-]*\.[a-z0-9]+", "an EC2 instance type"),
        "system_nodes": at_least(1, 100), "protect": flag, "tags": string_map,
        "public_access_cidrs": _plain_list(cidr),
        "admin_role_arns": _plain_list(matching(r"arn:aws[a-z-]*:iam::[0-9]{12}:role/\S+", "an IAM role ARN")),
    })
    return out  # type: ignore[return-value]


class Cluster(pulumi.ComponentResource):
    """A VPC over two or three AZs and an EKS cluster on it (access entries, IRSA, encrypted secrets, logging,
    system nodes, managed add-ons): what an empty account needs before the platform."""

    cluster_name: pulumi.Output[str]
    """Name of the EKS cluster."""
    endpoint: pulumi.Output[str]
    """API server URL; resolves once the system nodes and every add-on are up, so Kubernetes objects wait for them."""
    certificate_authority: pulumi.Output[str]
    """Base64 PEM of the cluster CA."""
    vpc_id: pulumi.Output[str]
    """The created VPC."""
    private_subnet_ids: pulumi.Output[list[str]]
    """Its private subnets, one per AZ (nodes, RDS, ElastiCache)."""
    public_subnet_ids: pulumi.Output[list[str]]
    """Its public subnets, one per AZ (the ALB)."""
    node_security_group_id: pulumi.Output[str]
    """The cluster security group, which EKS gives every managed node: the source RDS and ElastiCache admit."""
    oidc_issuer: pulumi.Output[str]
    """OIDC issuer URL of the cluster."""
    oidc_provider_arn: pulumi.Output[str]
    """ARN of the IAM OIDC provider IRSA roles trust."""
    kms_key_arn: pulumi.Output[str]
    """The key encrypting Kubernetes secrets, the control-plane and flow logs (and the default StorageClass)."""
    eks_cluster: Any
    """The ``aws.eks.Cluster`` (components that must wait for the control plane depend on it)."""

    def __init__(self, name: str, args: ClusterArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("n8n:index:Cluster", name, None, opts)

        args = cluster_args(args)
        child = pulumi.ResourceOptions(parent=self)
        cluster_name, tags, part = args["cluster_name"], args["tags"], args["partition"]
        key = kms.customer_key(f"{name}-key", f"EKS {cluster_name}: Kubernetes secrets, control-plane and flow "
                                   "logs, volumes", protect=args["protect"], parent=self, logs=True)
        vpc = network.build_vpc(name, cluster_name=cluster_name, cidr=args["vpc_cidr"],
                                zones=args["availability_zones"], nat_per_az=args["nat_per_az"],
                                region=args["region"], kms_key_arn=key.arn, tags=tags, opts=child)
        role = aws.iam.Role(f"{name}-role", assume_role_policy=json.dumps(cluster_assume_role_policy()),
                            description=f"EKS control plane of {cluster_name}", tags=tags, opts=child)
        role_policies = [aws.iam.RolePolicyAttachment(f"{name}-{p}", role=role.name,
                                                      policy_arn=f"arn:{part}:iam::aws:policy/{p}", opts=child)
                         for p in CLUSTER_POLICIES]
        logs = aws.cloudwatch.LogGroup(f"{name}-control-plane", name=f"/aws/eks/{cluster_name}/cluster",
                                       retention_in_days=CONTROL_PLANE_LOG_RETENTION_DAYS, kms_key_id=key.arn,
                                       tags=tags, opts=child)
        eks = aws.eks.Cluster(
            f"{name}-eks", name=cluster_name, role_arn=role.arn, version=args["kubernetes_version"],
            vpc_config=vpc_config(vpc.private_subnet_ids, args["public_access_cidrs"]),
            access_config={"authentication_mode": "API", "bootstrap_cluster_creator_admin_permissions": True},
            encryption_config={"provider": {"key_arn": key.arn}, "resources": ["secrets"]},
            enabled_cluster_log_types=list(LOG_TYPES), bootstrap_self_managed_addons=False,
            deletion_protection=args["protect"], tags=tags,
            opts=pulumi.ResourceOptions(parent=self, protect=args["protect"], depends_on=[*role_policies, logs]))
        self.eks_cluster = eks
        for i, arn in enumerate(args["admin_role_arns"]):
            entry = aws.eks.AccessEntry(f"{name}-admin-{i}", cluster_name=eks.name, principal_arn=arn, tags=tags,
                                        opts=child)
            aws.eks.AccessPolicyAssociation(
                f"{name}-admin-{i}", cluster_name=eks.name, principal_arn=entry.principal_arn,
                policy_arn=f"arn:{part}:eks::aws:cluster-access-policy/{ADMIN_POLICY}",
                access_scope={"type": "cluster"}, opts=child)
        issuer = eks.identities.apply(lambda ids: ids[0].oidcs[0].issuer)
        oidc = aws.iam.OpenIdConnectProvider(f"{name}-oidc", url=issuer, client_id_lists=["sts.amazonaws.com"],
                                             tags=tags, opts=child)
        network_addons = [self._addon(name, eks, addon, child) for addon in NETWORK_ADDONS]
        nodes = self._system_nodes(name, args, eks, vpc, [*network_addons, *vpc.endpoints], child)
        ebs_role = self._ebs_csi_role(name, args, irsa.OidcProvider(arn=oidc.arn, issuer=issuer), key.arn, child)
        after_nodes = pulumi.ResourceOptions(parent=self, depends_on=[nodes])
        late_addons = [self._addon(name, eks, "coredns", after_nodes),
                       self._addon(name, eks, "aws-ebs-csi-driver", after_nodes, role=ebs_role.arn)]

        ready = [nodes.status, *(a.arn for a in [*network_addons, *late_addons])]
        self.cluster_name = eks.name
        self.endpoint = pulumi.Output.all(eks.endpoint, *ready).apply(lambda a: a[0])
        self.certificate_authority = eks.certificate_authority.apply(lambda ca: ca.data)
        self.vpc_id = vpc.vpc_id
        self.private_subnet_ids = pulumi.Output.all(*vpc.private_subnet_ids)
        self.public_subnet_ids = pulumi.Output.all(*vpc.public_subnet_ids)
        self.node_security_group_id = eks.vpc_config.apply(lambda c: c.cluster_security_group_id)
        self.oidc_issuer = issuer
        self.oidc_provider_arn = oidc.arn
        self.kms_key_arn = key.arn
        self.register_outputs({
            "cluster_name": self.cluster_name, "endpoint": self.endpoint, "vpc_id": self.vpc_id,
            "private_subnet_ids": self.private_subnet_ids, "public_subnet_ids": self.public_subnet_ids,
            "node_security_group_id": self.node_security_group_id, "oidc_issuer": self.oidc_issuer,
            "oidc_provider_arn": self.oidc_provider_arn, "kms_key_arn": self.kms_key_arn})

    @staticmethod
    def _addon(name: str, eks: Any, addon: str, opts: pulumi.ResourceOptions, role: Any = None) -> Any:
        """An EKS managed add-on at the default version for the cluster's Kubernetes version."""

        return aws.eks.Addon(
            f"{name}-{addon}", cluster_name=eks.name, addon_name=addon,
            configuration_values=vpc_cni_configuration() if addon == "vpc-cni" else None,
            service_account_role_arn=role, resolve_conflicts_on_create="OVERWRITE",
            resolve_conflicts_on_update="OVERWRITE", opts=opts)

    @staticmethod
    def _system_nodes(name: str, args: ClusterArgs, eks: Any, vpc: network.Vpc, after: list[Any],
                      child: pulumi.ResourceOptions) -> Any:
        """The on-demand node group the add-ons and n8n main run on (no taint, the worker pool's hardening)."""

        tags = args["tags"]
        role, attachments, template = hardened_node_identity(
            f"{name}-system", role_description=f"EKS system nodes of {args['cluster_name']}",
            template_description="system nodes: IMDSv2, encrypted gp3", partition=args["partition"],
            disk_size_gb=SYSTEM_NODE_DISK_GB, tags=tags, opts=child)
        n = args["system_nodes"]
        return aws.eks.NodeGroup(
            f"{name}-system-nodes", cluster_name=eks.name, node_role_arn=role.arn,
            subnet_ids=vpc.private_subnet_ids, capacity_type="ON_DEMAND", ami_type=AMI_TYPE,
            instance_types=[args["system_node_instance_type"]],
            scaling_config={"min_size": n, "desired_size": n, "max_size": 2 * n},
            update_config={"max_unavailable": 1}, labels={"n8n.io/pool": "system"},
            launch_template={"id": template.id, "version": template.latest_version.apply(str)}, tags=tags,
            opts=pulumi.ResourceOptions(parent=child.parent, depends_on=[*attachments, *after],
                                        ignore_changes=["scalingConfig.desiredSize"]))

    @staticmethod
    def _ebs_csi_role(name: str, args: ClusterArgs, oidc: irsa.OidcProvider, key_arn: Any,
                      child: pulumi.ResourceOptions) -> Any:
        """The EBS CSI controller's IRSA role: the managed policy plus grants on the volumes' key."""

        namespace, account = EBS_CSI_SERVICE_ACCOUNT
        role = irsa.irsa_role(f"{name}-ebs-csi", oidc=oidc, namespace=namespace, service_account=account,
                              policy=pulumi.Output.json_dumps(ebs_csi_key_policy(key_arn)),
                              description="EBS CSI driver: volumes of the default StorageClass", opts=child)
        aws.iam.RolePolicyAttachment(f"{name}-ebs-csi-managed", role=role.name,
                                     policy_arn=f"arn:{args['partition']}:iam::aws:policy/{EBS_CSI_POLICY}",
                                     opts=child)
        return role

"""The Pulumi program: settings in, the providers, one platform, exports out. `__main__.py` only calls :func:`main`."""

from __future__ import annotations

import pulumi
import pulumi_aws as aws

from . import cluster, settings, upgrade
from .eks_cluster import Cluster, ClusterArgs
from .network import ClusterNetwork
from .partition import partition_of_region
from .platform import N8nPlatform, PlatformArgs
from .storage_class import EncryptedStorageClass


def main() -> None:
    """Build one environment from the current stack's config."""
    s = settings.load()  # raises SettingsError before any resource is registered
    created = create_cluster(s) if s.cluster.create else None
    if created is not None:
        facts = cluster.created_cluster_facts(s.cluster.name, created, s.aws.region, s.aws.account_id)
    else:
        facts = cluster.lookup_cluster(s.cluster.name, s.aws.region, s.aws.account_id) if s.on_eks else None
    provider = cluster.kubernetes_provider("kubernetes", s, facts)
    k8s = pulumi.ResourceOptions(providers={"kubernetes": provider})
    network = None
    if created is not None:
        EncryptedStorageClass("cluster-storage", {"kms_key_arn": created.kms_key_arn}, k8s)
        # The subnets resolve once the cluster, its system nodes and add-ons are up (``endpoint``): the spot worker
        # pool's node group names the cluster by its plain name, and its nodes turn Ready only with the VPC CNI.
        ready_subnets = pulumi.Output.all(created.endpoint, created.private_subnet_ids).apply(lambda a: a[1])
        network = ClusterNetwork(vpc_id=created.vpc_id, private_subnet_ids=ready_subnets,
                                 node_security_group_id=created.node_security_group_id)
    args = PlatformArgs(settings=s, oidc=facts.oidc if facts else None, replica_provider=replica_provider(s),
                        previous_version=upgrade.deployed_version(), network=network)
    platform = N8nPlatform("n8n", args, opts=k8s)
    for key, value in platform.exports().items():
        pulumi.export(key, value)
    if created is not None:
        pulumi.export("clusterName", created.cluster_name)
        pulumi.export("vpcId", created.vpc_id)
        pulumi.export("privateSubnetIds", created.private_subnet_ids)
        pulumi.export("nodeSecurityGroupId", created.node_security_group_id)
        pulumi.export("oidcIssuer", created.oidc_issuer)
        pulumi.export("oidcProviderArn", created.oidc_provider_arn)


def create_cluster(s: settings.Settings) -> Cluster:
    """The VPC and EKS cluster of ``cluster.create`` (NAT per AZ in prod, one in dev)."""
    c = s.cluster
    return Cluster("cluster", ClusterArgs(
        cluster_name=c.name, region=s.aws.region, partition=partition_of_region(s.aws.region), vpc_cidr=c.vpc_cidr,
        availability_zones=c.availability_zones, nat_per_az=s.environment == settings.Environment.PROD,
        kubernetes_version=c.kubernetes_version, system_node_instance_type=c.system_node_instance_type,
        system_nodes=c.system_nodes, public_access_cidrs=list(c.public_access_cidrs),
        admin_role_arns=list(c.admin_role_arns), protect=s.protect, tags=s.aws.tags))


def replica_provider(s: settings.Settings) -> pulumi.ProviderResource | None:
    """The AWS provider of ``backups.replicaRegion`` (same account guard), or None when there is no replica."""
    if s.backups.replica_region is None or not s.on_eks:
        return None

    guard = [s.aws.account_id] if s.aws.account_id else None
    return aws.Provider("aws-backup-replica", region=s.backups.replica_region, allowed_account_ids=guard)

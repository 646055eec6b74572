"""The worker pool: an EKS managed node group on SPOT capacity, tainted so that only n8n workers land on it.

Workers are stateless and interruptible (a stopped worker hands its jobs back after a graceful shutdown), which makes
them the one part of n8n that belongs on spot capacity. Main, webhook processors and the data layer do not tolerate
:data:`names.WORKER_POOL_TAINT`, so they stay on the cluster's on-demand nodes.

Choices:

- **Instance diversity.** Three or more types of similar size (settings ``workerPool.instanceTypes``) so the
  capacity-optimized spot allocation of the managed node group has pools to choose from, and the cluster
  autoscaler's assumption that all nodes of a group look alike stays roughly true.
- **Node role.** Only ``AmazonEKSWorkerNodePolicy``, ``AmazonEC2ContainerRegistryPullOnly`` (narrower than
  ``ReadOnly``) and ``AmazonEKS_CNI_Policy``. Alternative: give the ``aws-node`` DaemonSet its own IRSA role with
  the CNI policy (``kube-system/aws-node``) and drop that attachment here; EKS recommends it, we keep the default
  because the VPC CNI add-on is the cluster owner's, not this stack's.
- **IMDSv2 only, hop limit 1.** Tokens are required; a hop limit of 1 means a PUT from inside a pod network
  namespace (one extra hop) never gets a token, so n8n workflows (which run user code and call arbitrary URLs)
  cannot steal the node role's credentials. Pods that need AWS use IRSA; host-network daemons (VPC CNI,
  kube-proxy) are unaffected. Raise it to 2 only for a pod that truly needs the instance identity.
- **Root volume.** gp3, encrypted (account default KMS key), deleted with the instance.
- **Desired size** belongs to the cluster autoscaler after creation: ``ignore_changes`` keeps Pulumi from fighting it.
- **Rolling updates** replace at most ``max_unavailable_percentage`` of the nodes at once.

Spot interruptions: EKS managed node groups enable capacity rebalancing and drain a node (cordon + eviction that
respects PodDisruptionBudgets and ``terminationGracePeriodSeconds``) when EC2 sends the rebalance recommendation or
the 2-minute interruption notice; see :mod:`n8n_platform.autoscaling` for the end-to-end story.
"""


# No `from __future__ import annotations` here: Pulumi's schema analyzer reads the Args annotations at run time.
import json
from typing import Any, TypedDict

import pulumi
import pulumi_aws as aws

from . import names
from .arguments import at_least, checked, matching, partition, refuse, string_list, string_map, subnet_ids, text_input

NODE_POLICIES = ("AmazonEKSWorkerNodePolicy", "AmazonEC2ContainerRegistryPullOnly", "AmazonEKS_CNI_Policy")
"""AWS managed policies attached to the node role; nothing else."""

AMI_TYPE = "AL2023_x86_64_STANDARD"
"""Amazon Linux 2023 EKS-optimized AMI (root device /dev/xvda); matches the x86 default instance types."""

IMDS_HOP_LIMIT = 1
"""IMDSv2 response hop limit: 1 keeps pod network namespaces away from the node role's credentials."""

_EKS_TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "NoExecute": "NO_EXECUTE", "PreferNoSchedule": "PREFER_NO_SCHEDULE"}


def node_assume_role_policy() -> dict[str, Any]:
    """Trust policy of the node role: EC2 instances only."""
    return {
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}],
    }


def node_policy_arns(partition: str = "aws") -> list[str]:
    """ARNs of :data:`NODE_POLICIES` in ``partition``."""
    return [f"arn:{partition}:iam::aws:policy/{p}" for p in NODE_POLICIES]


def eks_taint(taint: dict[str, str]) -> dict[str, str]:
    """A Kubernetes taint ({key, value, effect: NoSchedule}) in the EKS API's spelling (effect NO_SCHEDULE)."""
    return {"key": taint["key"], "value": taint["value"], "effect": _EKS_TAINT_EFFECTS[taint["effect"]]}


def autoscaler_tags(cluster_name: str, label: tuple[str, str], taint: dict[str, str]) -> dict[str, str]:
    """Tags the cluster autoscaler uses to discover the group and to model its nodes when scaling from zero.

    The autoscaler reads them from the *Auto Scaling group*. EKS does not copy node group tags to the group it
    creates (it adds only the two discovery tags itself), so :func:`node_template_tags` of these are also put on
    the Auto Scaling group as separate ``aws.autoscaling.Tag`` resources.
    """
    return {
        "k8s.io/cluster-autoscaler/enabled": "true",
        f"k8s.io/cluster-autoscaler/{cluster_name}": "owned",
        f"k8s.io/cluster-autoscaler/node-template/label/{label[0]}": label[1],
        f"k8s.io/cluster-autoscaler/node-template/taint/{taint['key']}": f"{taint['value']}:{taint['effect']}",
    }


def node_template_tags(tags: dict[str, str]) -> dict[str, str]:
    """The ``node-template`` subset of :func:`autoscaler_tags`: the label and taint a node of the group will have,
    which the cluster autoscaler needs to scale a tainted, labelled group up from zero nodes."""
    return {k: v for k, v in tags.items() if k.startswith("k8s.io/cluster-autoscaler/node-template/")}


def autoscaling_group_name(resources: list[Any] | None) -> str | None:
    """Name of the Auto Scaling group behind a managed node group (its ``resources`` output)."""
    if not resources or not resources[0].autoscaling_groups:
        return None
    return resources[0].autoscaling_groups[0].name


def launch_template_args(disk_size_gb: int, tags: dict[str, str]) -> dict[str, Any]:
    """Keyword arguments of the node launch template: IMDSv2 required, encrypted gp3 root volume, tagged instances.

    Instance types stay on the node group (a managed node group with several types must not name one here).
    """
    return {
        "metadata_options": {
            "http_endpoint": "enabled",
            "http_tokens": "required",
            "http_put_response_hop_limit": IMDS_HOP_LIMIT,
            "instance_metadata_tags": "disabled",
        },
        "block_device_mappings": [{
            "device_name": "/dev/xvda",
            "ebs": {"volume_size": disk_size_gb, "volume_type": "gp3", "encrypted": "true",
                    "delete_on_termination": "true"},
        }],
        "tag_specifications": [{"resource_type": kind, "tags": dict(tags)} for kind in ("instance", "volume")],
        "update_default_version": True,
    }


def hardened_node_identity(base: str, *, role_description: str, template_description: str, partition: str,
                           disk_size_gb: int, tags: dict[str, str], opts: pulumi.ResourceOptions) -> tuple[Any, ...]:
    """The node role (:data:`NODE_POLICIES` only) and launch template (:func:`launch_template_args`) of a managed
    node group: ``<base>-node-role``, ``<base>-<policy>`` attachments and ``<base>-nodes``. Returns
    ``(role, attachments, template)``; shared by the worker pool and a created cluster's system nodes."""

    role = aws.iam.Role(f"{base}-node-role", assume_role_policy=json.dumps(node_assume_role_policy()),
                        description=role_description, tags=tags, opts=opts)
    attachments = [
        aws.iam.RolePolicyAttachment(f"{base}-{policy}", role=role.name, policy_arn=arn, opts=opts)
        for policy, arn in zip(NODE_POLICIES, node_policy_arns(partition), strict=True)
    ]
    template = aws.ec2.LaunchTemplate(f"{base}-nodes", description=template_description, tags=tags,
                                      **launch_template_args(disk_size_gb, tags), opts=opts)
    return role, attachments, template


class WorkerPoolArgs(TypedDict):
    """The spot node group that runs n8n workers."""

    cluster_name: str
    """Name of the existing EKS cluster."""
    subnet_ids: list[str]
    """Private subnets for the nodes (one or more per AZ)."""
    instance_types: list[str]
    """Three or more instance types of similar size (spot diversification)."""
    min_nodes: int
    """Fewest nodes."""
    max_nodes: int
    """Most nodes."""
    desired_nodes: int
    """Nodes at creation; afterwards the cluster autoscaler owns the desired size."""
    disk_size_gb: int
    """Size of the encrypted gp3 root volume."""
    partition: str
    """AWS partition of the account (aws, aws-cn, aws-us-gov), for the managed policy ARNs."""
    tags: dict[str, str]
    """Tags added to every AWS resource of the pool."""


def worker_pool_args(args: WorkerPoolArgs) -> WorkerPoolArgs:
    """``args`` checked where they enter, each error naming WorkerPool, the argument, the value and what is allowed;
    the node counts ordered ``min_nodes <= desired_nodes <= max_nodes``."""
    where = "WorkerPool"
    out = checked(where, args, WorkerPoolArgs, {
        "cluster_name": text_input, "subnet_ids": subnet_ids, "min_nodes": at_least(0), "max_nodes": at_least(1),
        "desired_nodes": at_least(0), "disk_size_gb": at_least(20, 16384), "partition": partition, "tags": string_map,
        "instance_types": lambda c, a, v: string_list(c, a, v, matching(
            r"[a-z][a-z0-9-]*\.[a-z0-9]+", "an EC2 instance type such as m6i.large"))})
    if not out["min_nodes"] <= out["desired_nodes"] <= out["max_nodes"]:
        raise refuse(where, "desired_nodes", out["desired_nodes"],
                     f"between min_nodes ({out['min_nodes']}) and max_nodes ({out['max_nodes']})")
    return out  # type: ignore[return-value]


class WorkerPool(pulumi.ComponentResource):
    """An EKS managed node group on SPOT capacity with the worker label and taint; only n8n workers run on it."""

    node_group_name: pulumi.Output[str]
    """Name of the EKS node group."""
    node_role_arn: pulumi.Output[str]
    """ARN of the nodes' IAM role."""
    node_group: Any
    """The node group resource (depend on it before scheduling workers)."""

    def __init__(self, name: str, args: WorkerPoolArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("n8n:index:WorkerPool", name, None, opts)

        args = worker_pool_args(args)
        child = pulumi.ResourceOptions(parent=self)
        pool_label = dict([names.WORKER_POOL_LABEL])
        tags = {**args["tags"], **pool_label}
        role, attachments, template = hardened_node_identity(
            name, role_description="EKS nodes of the n8n spot worker pool",
            template_description="n8n spot workers: IMDSv2, encrypted gp3", partition=args["partition"],
            disk_size_gb=args["disk_size_gb"], tags=tags, opts=child)
        ca_tags = autoscaler_tags(args["cluster_name"], names.WORKER_POOL_LABEL, names.WORKER_POOL_TAINT)
        self.node_group = aws.eks.NodeGroup(
            f"{name}-nodes",
            cluster_name=args["cluster_name"],
            node_role_arn=role.arn,
            subnet_ids=args["subnet_ids"],
            capacity_type="SPOT",
            ami_type=AMI_TYPE,
            instance_types=list(args["instance_types"]),
            scaling_config={"min_size": args["min_nodes"], "max_size": args["max_nodes"],
                            "desired_size": args["desired_nodes"]},
            update_config={"max_unavailable_percentage": 33},
            labels=pool_label,
            taints=[eks_taint(names.WORKER_POOL_TAINT)],
            launch_template={"id": template.id, "version": template.latest_version.apply(str)},
            tags={**tags, **ca_tags},
            opts=pulumi.ResourceOptions(parent=self, depends_on=attachments,
                                        ignore_changes=["scalingConfig.desiredSize"]),
        )
        asg_name = self.node_group.resources.apply(autoscaling_group_name)
        for i, (key, value) in enumerate(sorted(node_template_tags(ca_tags).items())):
            aws.autoscaling.Tag(f"{name}-asg-tag-{i}", autoscaling_group_name=asg_name,
                                tag={"key": key, "value": value, "propagate_at_launch": False}, opts=child)
        self.node_group_name = self.node_group.node_group_name
        self.node_role_arn = role.arn
        self.register_outputs({"node_group_name": self.node_group_name, "node_role_arn": self.node_role_arn})

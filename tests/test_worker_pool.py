"""worker_pool.py: the spot node group, its taint, node role, launch template and autoscaler tags."""

from __future__ import annotations

import json

from n8n_platform import names, worker_pool
from n8n_platform.worker_pool import WorkerPool, WorkerPoolArgs
from tests.harness import run

TYPES = ["m6i.xlarge", "m6a.xlarge", "m7i.xlarge", "m5.xlarge"]


def args(**over) -> WorkerPoolArgs:
    base = WorkerPoolArgs(cluster_name="prod-eks", subnet_ids=["subnet-0a1b2c3d", "subnet-0e1f2a3b"],
                          instance_types=TYPES, min_nodes=1, max_nodes=10, desired_nodes=2, disk_size_gb=80,
                          partition="aws", tags={"team": "automation"})
    base.update(over)
    return base


def test_eks_taint_spelling():
    assert worker_pool.eks_taint(names.WORKER_POOL_TAINT) == {
        "key": names.WORKER_POOL_TAINT["key"], "value": names.WORKER_POOL_TAINT["value"], "effect": "NO_SCHEDULE"}


def test_launch_template_requires_imdsv2_and_encrypts_gp3():
    lt = worker_pool.launch_template_args(80, {"a": "b"})
    assert lt["metadata_options"]["http_tokens"] == "required"
    assert lt["metadata_options"]["http_put_response_hop_limit"] == 1
    [root] = lt["block_device_mappings"]
    assert root["ebs"] == {"volume_size": 80, "volume_type": "gp3", "encrypted": "true",
                           "delete_on_termination": "true"}
    assert "instance_type" not in lt


def test_autoscaler_tags_model_label_and_taint():
    tags = worker_pool.autoscaler_tags("prod-eks", names.WORKER_POOL_LABEL, names.WORKER_POOL_TAINT)
    assert tags["k8s.io/cluster-autoscaler/enabled"] == "true"
    assert tags["k8s.io/cluster-autoscaler/prod-eks"] == "owned"
    key, value = names.WORKER_POOL_LABEL
    assert tags[f"k8s.io/cluster-autoscaler/node-template/label/{key}"] == value
    taint = names.WORKER_POOL_TAINT
    assert tags[f"k8s.io/cluster-autoscaler/node-template/taint/{taint['key']}"] == f"{taint['value']}:NoSchedule"


def test_node_group_is_spot_diverse_tainted_and_leaves_desired_size_to_the_autoscaler():
    rec = run(lambda: WorkerPool("workers", args()))
    group = rec.one("aws:eks/nodeGroup:NodeGroup")
    assert group.parent == "workers"
    assert group.inputs["capacityType"] == "SPOT"
    assert len(set(group.inputs["instanceTypes"])) >= 3
    assert group.inputs["taints"] == [worker_pool.eks_taint(names.WORKER_POOL_TAINT)]
    assert group.inputs["labels"] == dict([names.WORKER_POOL_LABEL])
    assert group.inputs["scalingConfig"] == {"minSize": 1, "maxSize": 10, "desiredSize": 2}
    assert group.inputs["updateConfig"]["maxUnavailablePercentage"] > 0
    assert "scalingConfig.desiredSize" in group.options["ignore_changes"]
    assert group.inputs["tags"]["k8s.io/cluster-autoscaler/enabled"] == "true"
    assert "diskSize" not in group.inputs  # the launch template owns the volume
    template = rec.one("aws:ec2/launchTemplate:LaunchTemplate")
    assert template.inputs["metadataOptions"]["httpTokens"] == "required"
    assert template.inputs["blockDeviceMappings"][0]["ebs"]["encrypted"] == "true"
    assert template.name in group.options["input_dependencies"]


def test_node_role_has_only_the_three_node_policies():
    rec = run(lambda: WorkerPool("workers", args()))
    role = rec.one("aws:iam/role:Role")
    trust = json.loads(role.inputs["assumeRolePolicy"])
    assert trust["Statement"][0]["Principal"] == {"Service": "ec2.amazonaws.com"}
    attached = sorted(a.inputs["policyArn"] for a in rec.find("aws:iam/rolePolicyAttachment:RolePolicyAttachment"))
    assert attached == sorted([
        "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
        "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryPullOnly",
        "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"])
    assert not rec.find("aws:iam/rolePolicy:RolePolicy")
    group = rec.one("aws:eks/nodeGroup:NodeGroup")
    assert {a.name for a in rec.find("aws:iam/rolePolicyAttachment:RolePolicyAttachment")} <= set(
        group.options["depends_on"])


def test_node_template_tags_reach_the_auto_scaling_group_not_only_the_node_group():
    """EKS copies no node group tags to its Auto Scaling group, where the cluster autoscaler reads them."""
    rec = run(lambda: WorkerPool("workers", args()))
    asg_tags = {t.inputs["tag"]["key"]: t.inputs["tag"] for t in rec.find("aws:autoscaling/tag:Tag")}
    key, value = names.WORKER_POOL_LABEL
    taint = names.WORKER_POOL_TAINT
    assert {k: t["value"] for k, t in asg_tags.items()} == {
        f"k8s.io/cluster-autoscaler/node-template/label/{key}": value,
        f"k8s.io/cluster-autoscaler/node-template/taint/{taint['key']}": f"{taint['value']}:NoSchedule"}
    assert all(t["propagateAtLaunch"] is False for t in asg_tags.values())
    assert all(t.parent == "workers" for t in rec.find("aws:autoscaling/tag:Tag"))


def test_autoscaling_group_name_comes_from_the_node_group_resources():
    from types import SimpleNamespace as NS

    assert worker_pool.autoscaling_group_name([NS(autoscaling_groups=[NS(name="eks-workers-abc")])]) == \
        "eks-workers-abc"
    assert worker_pool.autoscaling_group_name(None) is None
    assert worker_pool.autoscaling_group_name([NS(autoscaling_groups=[])]) is None

"""EncryptedStorageClass: the default StorageClass of a created cluster, gp3 volumes encrypted with its KMS key.

The platform's volumes (Patroni, in-cluster Redis) ask for the class ``gp3`` (settings ``...storageClass``); on a
cluster this stack creates that class is made here, served by the EBS CSI add-on of
:class:`~.eks_cluster.Cluster`. It is a Kubernetes object, so it comes in with the Kubernetes provider (``opts``)
built from the cluster's outputs.
"""

# No `from __future__ import annotations` here: Pulumi's schema analyzer reads the Args annotations at run time.
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_kubernetes as k8s

from .arguments import checked, dns_label, text_input

DEFAULT_CLASS_ANNOTATION = "storageclass.kubernetes.io/is-default-class"
"""The annotation that makes a StorageClass the one PVCs without a class get."""


def storage_class_manifest(name: str, kms_key_arn: Any) -> dict[str, Any]:
    """A default StorageClass for EBS gp3, encrypted with ``kms_key_arn``, bound where the pod is scheduled."""
    return {
        "metadata": {"name": name, "annotations": {DEFAULT_CLASS_ANNOTATION: "true"}},
        "provisioner": "ebs.csi.aws.com",
        "parameters": {"type": "gp3", "encrypted": "true", "kmsKeyId": kms_key_arn,
                       "csi.storage.k8s.io/fstype": "ext4"},
        "reclaim_policy": "Delete",
        "volume_binding_mode": "WaitForFirstConsumer",
        "allow_volume_expansion": True,
    }


class EncryptedStorageClassArgs(TypedDict):
    """The default StorageClass of a created cluster."""

    kms_key_arn: pulumi.Input[str]
    """KMS key every volume is encrypted with (``Cluster.kms_key_arn``)."""
    name: NotRequired[str]
    """Name of the class; default ``gp3``, the class the platform's volumes ask for."""


class EncryptedStorageClass(pulumi.ComponentResource):
    """The cluster's default StorageClass: EBS gp3 through the EBS CSI driver, encrypted with the cluster's key."""

    storage_class_name: pulumi.Output[str]
    """Name of the StorageClass."""
    storage_class: Any
    """The StorageClass (workloads with volumes wait for it)."""

    def __init__(self, name: str, args: EncryptedStorageClassArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("n8n:index:EncryptedStorageClass", name, None, opts)
        args = checked("EncryptedStorageClass", args, EncryptedStorageClassArgs,
                       {"kms_key_arn": text_input, "name": dns_label})
        body = storage_class_manifest(args.get("name") or "gp3", args["kms_key_arn"])
        sc = k8s.storage.v1.StorageClass(f"{name}-class", **body, opts=pulumi.ResourceOptions(parent=self))
        self.storage_class = sc
        self.storage_class_name = pulumi.Output.from_input(body["metadata"]["name"])
        self.register_outputs({"storage_class_name": self.storage_class_name})

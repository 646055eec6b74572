"""Stateful resources are protected: `pulumi destroy` or an accidental replacement cannot delete the data."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from typing import Any

from .rule import Config, Knob, resource_rule

STATEFUL = (
    "aws:rds/instance:Instance", "aws:rds/cluster:Cluster", "aws:s3/bucket:Bucket", "aws:s3/bucketV2:BucketV2",
    "aws:kms/key:Key", "aws:elasticache/replicationGroup:ReplicationGroup", "aws:secretsmanager/secret:Secret",
    "kubernetes:apps/v1:StatefulSet", "kubernetes:core/v1:PersistentVolumeClaim",
    "kubernetes:acid.zalan.do/v1:postgresql",
)


def _protected(props: Mapping[str, Any], config: Config, args: Any) -> Iterator[str]:
    if config["required"] and not args.opts.protect:
        yield "holds data but is not protected (ResourceOptions protect=True)"


stateful_protected = resource_rule(
    "stateful-resources-protected",
    "Databases, queues, buckets, KMS keys, secrets and volumes are `protect`ed, so neither `pulumi destroy` nor a "
    "replacement can delete them without an explicit unprotect.", STATEFUL, _protected,
    knobs={"required": Knob(True, "Enforce the rule; dev stacks that are rebuilt at will set it false.")})

POLICIES = [stateful_protected]

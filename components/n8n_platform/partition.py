"""AWS partitions (aws, aws-cn, aws-us-gov): which one an ARN or a region is in, for the ARNs the program writes
before any lookup (managed policies, OIDC providers)."""

from __future__ import annotations


def partition_of(arn: str) -> str:
    """The partition (aws, aws-cn, aws-us-gov) named by an ARN."""
    parts = arn.split(":")
    if len(parts) < 6 or parts[0] != "arn":
        raise ValueError(f"not an ARN: {arn!r}")
    return parts[1]


def partition_of_region(region: str) -> str:
    """The AWS partition a region belongs to (for managed-policy ARNs known before any lookup)."""
    if region.startswith("cn-"):
        return "aws-cn"
    if region.startswith("us-gov-"):
        return "aws-us-gov"
    return "aws"

"""Customer-managed KMS keys of the data layer: one IAM-delegating key policy and the key every component that
encrypts with a CMK creates (archive and dump buckets, Secrets Manager, RDS, ElastiCache, EKS secrets)."""

import json
from typing import Any

import pulumi
import pulumi_aws as aws

from .observability.alarms import alarm_topic_key_statement

KEY_DELETION_WINDOW_DAYS = 30
"""Waiting period before a scheduled KMS key deletion takes effect (the maximum AWS allows)."""


def key_policy(account_id: str, partition: str = "aws", *, logs_region: str | None = None,
               alarms: bool = False) -> dict:
    """KMS key policy delegating all use of the key to IAM policies of the owning account (no wildcard principal).

    Who may encrypt/decrypt is then decided by IAM (e.g. :func:`writer_policy`) and, for AWS services such as
    Secrets Manager and ElastiCache, by the calling principal's permissions via the service. CloudWatch alarms
    publish without a principal of the account, so with ``alarms`` the key grants them use directly (same account
    only), for the alarms' SNS topic encrypted with it. CloudWatch Logs is the other exception: it uses a key only when
    the key policy itself names it, so with ``logs_region`` the policy also lets ``logs.<region>.amazonaws.com`` use
    the key, for this account's log groups in that region only.
    """
    statements: list[dict] = [
        {
            "Sid": "AccountAdministersThroughIam",
            "Effect": "Allow",
            "Principal": {"AWS": f"arn:{partition}:iam::{account_id}:root"},
            "Action": "kms:*",
            "Resource": "*",
        },
    ]
    if alarms:
        statements.append(alarm_topic_key_statement(account_id))
    if logs_region is not None:
        statements.append({
            "Sid": "CloudWatchLogsEncryptsOwnLogGroups",
            "Effect": "Allow",
            "Principal": {"Service": f"logs.{logs_region}.amazonaws.com"},
            "Action": ["kms:Encrypt*", "kms:Decrypt*", "kms:ReEncrypt*", "kms:GenerateDataKey*", "kms:Describe*"],
            "Resource": "*",
            "Condition": {"ArnLike": {
                "kms:EncryptionContext:aws:logs:arn": f"arn:{partition}:logs:{logs_region}:{account_id}:log-group:*"}},
        })
    return {"Version": "2012-10-17", "Statement": statements}


def customer_key(name: str, description: str, *, protect: bool, parent: pulumi.Resource,
                 logs: bool = False, alarms: bool = False, provider: Any = None, retain: bool | None = None) -> Any:
    """A customer-managed KMS key (yearly rotation, 30-day deletion window, IAM-delegating policy) and its alias.

    Shared by every data-layer component that encrypts with a CMK. The key is protected (when ``protect``) and
    retained on delete when ``retain`` (default: ``protect``); otherwise deleting it schedules its deletion after the
    30-day window (data encrypted with it is unreadable without it). ``logs`` lets CloudWatch Logs of the key's
    region use it, ``alarms`` lets CloudWatch alarms publish to a topic it encrypts (:func:`key_policy`).
    ``provider`` places the key in another region than the parent's. Returns the ``aws.kms.Key``.
    """

    invoke = pulumi.InvokeOutputOptions(parent=parent, provider=provider)
    identity = aws.get_caller_identity_output(opts=invoke)
    region = aws.get_region_output(opts=invoke).region if logs else None
    policy = pulumi.Output.all(identity.account_id, identity.arn, region).apply(
        lambda a: json.dumps(key_policy(a[0], a[1].split(":")[1], logs_region=a[2], alarms=alarms)))
    key = aws.kms.Key(
        name,
        description=description,
        enable_key_rotation=True,
        rotation_period_in_days=365,
        deletion_window_in_days=KEY_DELETION_WINDOW_DAYS,
        policy=policy,
        opts=pulumi.ResourceOptions(parent=parent, protect=protect,
                                    retain_on_delete=protect if retain is None else retain, provider=provider),
    )
    aws.kms.Alias(f"{name}-alias", name=f"alias/{pulumi.get_project()}-{pulumi.get_stack()}/{name}",
                  target_key_id=key.key_id, opts=pulumi.ResourceOptions(parent=parent, provider=provider))
    return key

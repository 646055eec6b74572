"""The AWS side of the GitHub workflows: GitHub's OIDC provider and the roles the workflows assume.

No long-lived keys: a workflow job gets a short-lived token from GitHub, whose ``sub`` claim says where it runs
(``repo:<owner>/<repo>:pull_request``, ``…:ref:refs/heads/main``, ``…:environment:prod``), and exchanges it for
one of these roles:

- **preview** — trusted by pull requests of the repository and by its default branch (the scheduled drift check).
  Reads what the platform manages and the state; may write only the backend's lock files. Nothing a pull request
  runs can change the account.
- **deploy-<environment>** — one per GitHub environment, trusted only by jobs that run in that environment (which
  is where required reviewers gate prod). Manages the services the platform uses, IAM only for roles under its name
  prefix, and passes those roles only to the services that need them.

The policy documents are pure builders, tested on their own; :class:`GithubAccess` only wires them to IAM.
"""

# No `from __future__ import annotations` here: Pulumi's schema analyzer reads the Args annotations at run time.
import json
import re
from typing import Any, NotRequired, TypedDict

import pulumi
import pulumi_aws as aws

from .arguments import checked, dns_label, matching, string_list, text_input

GITHUB_ISSUER = "token.actions.githubusercontent.com"
"""Host of GitHub Actions' OIDC issuer (the IAM provider's URL without https://)."""
AUDIENCE = "sts.amazonaws.com"
"""Audience the official configure-aws-credentials action requests."""
_REPOSITORY = re.compile(r"^[A-Za-z0-9_.-]+/[A-Za-z0-9_.-]+$")
_NAME = re.compile(r"^[A-Za-z0-9_.\-/*]+$")


# --- policy documents (pure) ---------------------------------------------------------------------------------------


def subjects(repository: str, *, pull_requests: bool = False, branches: list[str] | tuple[str, ...] = (),
             environments: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The ``sub`` claims a role admits; raises ValueError on a malformed repository or name, or on none at all."""
    if not _REPOSITORY.match(repository or ""):
        raise ValueError(f"repository {repository!r}: expected <owner>/<name>, without wildcards")
    for name in (*branches, *environments):
        if not _NAME.match(name) or name.strip("*/") == "":
            raise ValueError(f"branch or environment {name!r}: expected a name (a * may stand for part of it)")
    found = [f"repo:{repository}:pull_request"] if pull_requests else []
    found += [f"repo:{repository}:ref:refs/heads/{b}" for b in branches]
    found += [f"repo:{repository}:environment:{e}" for e in environments]
    if not found:
        raise ValueError("a GitHub role must admit pull requests, a branch or an environment")
    return found


def trust_policy(provider_arn: str, subs: list[str]) -> dict[str, Any]:
    """Trust policy admitting GitHub Actions tokens for exactly ``subs`` (StringLike only where one has a ``*``)."""
    exact = [s for s in subs if "*" not in s]
    patterns = [s for s in subs if "*" in s]
    condition: dict[str, Any] = {"StringEquals": {f"{GITHUB_ISSUER}:aud": AUDIENCE}}
    if exact:
        condition["StringEquals"][f"{GITHUB_ISSUER}:sub"] = exact
    if patterns:
        condition["StringLike"] = {f"{GITHUB_ISSUER}:sub": patterns}
    return {"Version": "2012-10-17", "Statement": [{
        "Effect": "Allow", "Principal": {"Federated": provider_arn},
        "Action": "sts:AssumeRoleWithWebIdentity", "Condition": condition}]}


READ_ACTIONS = [
    "sts:GetCallerIdentity", "eks:Describe*", "eks:List*", "rds:Describe*", "rds:ListTagsForResource",
    "elasticache:Describe*", "elasticache:ListTagsForResource", "ec2:Describe*", "kms:DescribeKey",
    "kms:GetKeyPolicy", "kms:GetKeyRotationStatus", "kms:ListAliases", "kms:ListResourceTags",
    "secretsmanager:DescribeSecret", "secretsmanager:GetResourcePolicy", "iam:GetRole", "iam:GetRolePolicy",
    "iam:ListRolePolicies", "iam:ListAttachedRolePolicies", "iam:GetOpenIDConnectProvider", "logs:Describe*",
    "logs:ListTagsForResource", "autoscaling:Describe*",
    "s3:GetBucket*", "s3:GetEncryptionConfiguration", "s3:GetLifecycleConfiguration", "s3:GetObjectLockConfiguration",
    "s3:GetReplicationConfiguration", "s3:GetAccelerateConfiguration", "s3:GetAnalyticsConfiguration",
    "s3:GetInventoryConfiguration", "s3:GetMetricsConfiguration", "s3:GetIntelligentTieringConfiguration",
    "s3:ListBucket",
]
"""What a preview and a refresh read: configuration of the platform's resources, never data (no object or secret
value reads)."""

FORBIDDEN_PREVIEW_ACTIONS = ("s3:GetObject", "secretsmanager:GetSecretValue", "kms:Decrypt")
"""Reads of data: not in the preview role's platform policy (kms:Decrypt only on the state's own key)."""


def read_policy() -> dict[str, Any]:
    """What the preview role may read of the platform."""
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadPlatformConfiguration", "Effect": "Allow", "Action": READ_ACTIONS, "Resource": "*"}]}


def deploy_policy(account_id: str, prefix: str, partition: str = "aws") -> dict[str, Any]:
    """What a deploy role may do: the platform's services, and IAM only for roles named ``<prefix>-*``."""
    roles = f"arn:{partition}:iam::{account_id}:role/{prefix}-*"
    return {"Version": "2012-10-17", "Statement": [
        {"Sid": "ReadPlatformConfiguration", "Effect": "Allow", "Action": READ_ACTIONS, "Resource": "*"},
        {"Sid": "ManageDataServices", "Effect": "Allow", "Resource": "*", "Action": [
            "rds:*", "elasticache:*", "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy",
            "logs:AssociateKmsKey", "logs:TagResource", "logs:UntagResource",
            "kms:CreateKey", "kms:CreateAlias", "kms:DeleteAlias", "kms:UpdateAlias", "kms:EnableKeyRotation",
            "kms:PutKeyPolicy", "kms:ScheduleKeyDeletion", "kms:TagResource", "kms:UntagResource",
            "kms:UpdateKeyDescription", "kms:CreateGrant", "kms:Encrypt", "kms:Decrypt", "kms:GenerateDataKey*",
            "secretsmanager:CreateSecret", "secretsmanager:DeleteSecret", "secretsmanager:PutSecretValue",
            "secretsmanager:UpdateSecret", "secretsmanager:TagResource", "secretsmanager:UntagResource",
            "ec2:CreateSecurityGroup", "ec2:DeleteSecurityGroup", "ec2:AuthorizeSecurityGroupIngress",
            "ec2:RevokeSecurityGroupIngress", "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress",
            "ec2:ModifySecurityGroupRules", "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
            "ec2:CreateLaunchTemplate", "ec2:CreateLaunchTemplateVersion", "ec2:ModifyLaunchTemplate",
            "ec2:DeleteLaunchTemplate", "ec2:CreateTags", "ec2:DeleteTags", "ec2:RunInstances",
            "eks:CreateNodegroup", "eks:DeleteNodegroup", "eks:UpdateNodegroupConfig", "eks:UpdateNodegroupVersion",
            "eks:TagResource", "eks:UntagResource", "autoscaling:CreateOrUpdateTags", "autoscaling:DeleteTags"]},
        {"Sid": "ManageBuckets", "Effect": "Allow", "Resource": [f"arn:{partition}:s3:::{prefix}-*"], "Action": [
            "s3:CreateBucket", "s3:DeleteBucket", "s3:PutBucket*", "s3:DeleteBucketPolicy",
            "s3:PutEncryptionConfiguration", "s3:PutLifecycleConfiguration", "s3:PutBucketObjectLockConfiguration",
            "s3:PutReplicationConfiguration"]},
        {"Sid": "ManageOwnRoles", "Effect": "Allow", "Resource": [roles], "Action": [
            "iam:CreateRole", "iam:DeleteRole", "iam:UpdateRole", "iam:UpdateAssumeRolePolicy", "iam:TagRole",
            "iam:UntagRole", "iam:PutRolePolicy", "iam:DeleteRolePolicy", "iam:AttachRolePolicy",
            "iam:DetachRolePolicy"]},
        {"Sid": "PassOwnRolesToTheirServices", "Effect": "Allow", "Action": "iam:PassRole", "Resource": [roles],
         "Condition": {"StringEquals": {"iam:PassedToService": [
             "ec2.amazonaws.com", "eks.amazonaws.com", "monitoring.rds.amazonaws.com"]}}},
    ]}


def state_policy(bucket_arn: Any, key_arn: Any, *, write: bool) -> dict[str, Any]:
    """Access to the state backend (an S3 bucket) and the secrets provider's KMS key.

    ``write=False`` (preview) reads the state and may only create and delete the lock files a preview takes
    (``.pulumi/locks/``); ``write=True`` (deploy) writes the state too. ``bucket_arn`` or ``key_arn`` may be None
    (Pulumi Cloud backend, passphrase secrets): their statements are left out. Inputs are placed, never inspected.
    """
    statements: list[dict[str, Any]] = []
    if bucket_arn is not None:
        objects = pulumi.Output.concat(bucket_arn, "/*") if not isinstance(bucket_arn, str) else f"{bucket_arn}/*"
        locks = (pulumi.Output.concat(bucket_arn, "/.pulumi/locks/*") if not isinstance(bucket_arn, str)
                 else f"{bucket_arn}/.pulumi/locks/*")
        statements += [
            {"Sid": "ListState", "Effect": "Allow", "Action": ["s3:ListBucket", "s3:GetBucketLocation"],
             "Resource": [bucket_arn]},
            {"Sid": "ReadState", "Effect": "Allow", "Action": ["s3:GetObject"], "Resource": [objects]},
            {"Sid": "WriteState" if write else "TakeLocks", "Effect": "Allow",
             "Action": ["s3:PutObject", "s3:DeleteObject"], "Resource": [objects if write else locks]},
        ]
    if key_arn is not None:
        actions = ["kms:Decrypt", "kms:DescribeKey"] + (["kms:Encrypt", "kms:GenerateDataKey"] if write else [])
        statements.append({"Sid": "UseSecretsKey", "Effect": "Allow", "Action": actions, "Resource": [key_arn]})
    return {"Version": "2012-10-17", "Statement": statements}


# --- component -----------------------------------------------------------------------------------------------------


class GithubAccessArgs(TypedDict):
    """Which repository may deploy which environment, and where the Pulumi state lives."""

    repository: str
    """The GitHub repository, ``<owner>/<name>``: only its workflows can assume the roles."""
    environments: list[str]
    """GitHub environments that deploy (one role each, e.g. ``["dev", "prod"]``); put required reviewers on prod."""
    default_branch: NotRequired[str]
    """Branch whose workflows (the scheduled drift check) may assume the preview role; ``main`` by default."""
    name_prefix: NotRequired[str]
    """Prefix of the IAM roles and S3 buckets the deploy roles may manage; ``n8n`` (the program's names) by
    default."""
    state_bucket_arn: NotRequired[pulumi.Input[str]]
    """ARN of the S3 bucket of a self-managed state backend; leave out with Pulumi Cloud."""
    secrets_key_arn: NotRequired[pulumi.Input[str]]
    """ARN of the KMS key of an ``awskms://`` secrets provider; leave out with Pulumi Cloud or a passphrase."""
    oidc_provider_arn: NotRequired[pulumi.Input[str]]
    """ARN of an existing GitHub OIDC provider (an account has at most one per issuer); created when left out."""


class GithubAccess(pulumi.ComponentResource):
    """GitHub's OIDC provider (unless given) and the preview and per-environment deploy roles the workflows use."""

    preview_role_arn: pulumi.Output[str]
    """Role the preview and drift-check jobs assume (repository variable AWS_PREVIEW_ROLE_ARN)."""
    deploy_role_arns: pulumi.Output[dict[str, str]]
    """Role per environment the deploy jobs assume (environment variable AWS_DEPLOY_ROLE_ARN)."""

    def __init__(self, name: str, args: GithubAccessArgs, opts: pulumi.ResourceOptions | None = None):

        args = checked("GithubAccess", args, GithubAccessArgs, {  # type: ignore[assignment]
            "repository": matching(_REPOSITORY.pattern, "<owner>/<name> of a GitHub repository, without wildcards"),
            "environments": string_list, "default_branch": text_input, "name_prefix": dns_label,
            "state_bucket_arn": text_input, "secrets_key_arn": text_input, "oidc_provider_arn": text_input})
        repository = args["repository"]
        environments = list(args["environments"])
        if len(set(environments)) != len(environments):
            raise ValueError(f"environments {environments}: each environment once")
        preview_subs = subjects(repository, pull_requests=True, branches=[args.get("default_branch", "main")])
        deploy_subs = {env: subjects(repository, environments=[env]) for env in environments}
        super().__init__("n8n:index:GithubAccess", name, None, opts)
        prefix = args.get("name_prefix", "n8n")
        child = pulumi.ResourceOptions(parent=self)

        provider_arn = args.get("oidc_provider_arn")
        if provider_arn is None:
            provider_arn = aws.iam.OpenIdConnectProvider(
                f"{name}-github", url=f"https://{GITHUB_ISSUER}", client_id_lists=[AUDIENCE], opts=child).arn
        identity = aws.get_caller_identity_output(opts=pulumi.InvokeOptions(parent=self))
        bucket, key = args.get("state_bucket_arn"), args.get("secrets_key_arn")

        def role(suffix: str, subs: list[str], platform: Any, write: bool) -> Any:
            trust = pulumi.Output.from_input(provider_arn).apply(lambda arn: json.dumps(trust_policy(arn, subs)))
            made = aws.iam.Role(f"{name}-{suffix}", assume_role_policy=trust, max_session_duration=3600,
                                description=f"GitHub Actions of {repository}: {suffix}", opts=child)
            aws.iam.RolePolicy(f"{name}-{suffix}-platform", role=made.id, policy=platform, opts=child)
            state = state_policy(bucket, key, write=write)
            if state["Statement"]:
                aws.iam.RolePolicy(f"{name}-{suffix}-state", role=made.id,
                                   policy=pulumi.Output.json_dumps(state), opts=child)
            return made

        preview = role("preview", preview_subs, json.dumps(read_policy()), write=False)
        deploy_policy_json = identity.account_id.apply(lambda account: json.dumps(deploy_policy(account, prefix)))
        deploys = {env: role(f"deploy-{env}", subs, deploy_policy_json, write=True)
                   for env, subs in deploy_subs.items()}

        self.preview_role_arn = preview.arn
        self.deploy_role_arns = pulumi.Output.all(**{env: r.arn for env, r in deploys.items()})
        self.register_outputs({"preview_role_arn": self.preview_role_arn, "deploy_role_arns": self.deploy_role_arns})

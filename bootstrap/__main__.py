"""GitHub's OIDC provider and the roles the workflows assume (see n8n_platform.github_access)."""

import pulumi

from n8n_platform.github_access import GithubAccess, GithubAccessArgs

config = pulumi.Config()
args = GithubAccessArgs(repository=config.require("repository"),
                        environments=config.get_object("environments") or ["dev", "prod"],
                        default_branch=config.get("defaultBranch") or "main")
for key, field in (("stateBucketArn", "state_bucket_arn"), ("secretsKeyArn", "secrets_key_arn"),
                   ("oidcProviderArn", "oidc_provider_arn")):
    if config.get(key):
        args[field] = config.get(key)

access = GithubAccess("github", args)
pulumi.export("previewRoleArn", access.preview_role_arn)
pulumi.export("deployRoleArns", access.deploy_role_arns)

"""The Pulumi program: settings in, the providers, one platform, exports out. `__main__.py` only calls :func:`main`."""

from __future__ import annotations

import pulumi

from . import cluster, settings, upgrade
from .platform import N8nPlatform, PlatformArgs


def main() -> None:
    """Build one environment from the current stack's config."""
    s = settings.load()  # raises SettingsError before any resource is registered
    facts = cluster.lookup_cluster(s.cluster.name, s.aws.region, s.aws.account_id) if s.on_eks else None
    provider = cluster.kubernetes_provider("kubernetes", s, facts)
    args = PlatformArgs(settings=s, oidc=facts.oidc if facts else None, replica_provider=replica_provider(s),
                        previous_version=upgrade.deployed_version())
    platform = N8nPlatform("n8n", args, opts=pulumi.ResourceOptions(providers={"kubernetes": provider}))
    for key, value in platform.exports().items():
        pulumi.export(key, value)


def replica_provider(s: settings.Settings) -> pulumi.ProviderResource | None:
    """The AWS provider of ``backups.replicaRegion`` (same account guard), or None when there is no replica."""
    if s.backups.replica_region is None or not s.on_eks:
        return None
    import pulumi_aws as aws

    guard = [s.aws.account_id] if s.aws.account_id else None
    return aws.Provider("aws-backup-replica", region=s.backups.replica_region, allowed_account_ids=guard)

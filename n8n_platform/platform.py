"""N8nPlatform: composes the components of one environment from its settings."""

from __future__ import annotations

from typing import Any, TypedDict

import pulumi

from .cluster import ClusterFacts
from .settings import Settings


class PlatformArgs(TypedDict):
    """What the platform is built from."""

    settings: Settings
    """The validated stack settings."""
    cluster: ClusterFacts | None
    """Facts about the EKS cluster (None when deploying with a kubeconfig)."""


class N8nPlatform(pulumi.ComponentResource):
    """Production n8n for one environment: data layer, n8n roles, worker pool, autoscaling and the cluster side."""

    def __init__(self, name: str, args: PlatformArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("n8n:index:Platform", name, None, opts)
        self._exports: dict[str, Any] = {}
        self.register_outputs(self._exports)

    def exports(self) -> dict[str, Any]:
        """Stack exports: endpoints and names; secrets stay secret."""
        return dict(self._exports)

"""The library as a Pulumi component package: ``pulumi package add <repo>/components`` serves these components to
TypeScript, Go, C#, Java and YAML programs through Pulumi's component provider host, with a schema Pulumi infers
from the Args and output annotations (docstrings become the descriptions).

``components/PulumiPlugin.yaml`` runs ``components/__main__.py``, which calls :func:`main`. The inferred schema is
committed as ``components/schema.json`` (``python -m n8n_platform.provider > components/schema.json``); a test fails
when it is stale.
"""

import json

import pulumi

from . import __version__
from .autoscaling import WorkerAutoscaling
from .database.dumps import DatabaseDumps
from .n8n.app import N8nApp
from .redis import ElastiCacheRedis, Redis
from .secrets import Secrets
from .storage import ArchiveBucket
from .worker_pool import WorkerPool

PACKAGE = "n8n"
"""Package name: the first part of every type token (``n8n:index:<Class>``)."""

SERVED: list[type[pulumi.ComponentResource]] = [ArchiveBucket, DatabaseDumps, ElastiCacheRedis, N8nApp, Redis, Secrets,
                                               WorkerAutoscaling, WorkerPool]
"""Components other languages can use. The others take Python-only types (settings sections, ``Any`` outputs)
and are listed with the reason in ``NOT_YET_SERVED``."""

NOT_YET_SERVED = {
    "ClusterAddons": "Literal acme_server, Any outputs (the Helm releases)",
    "N8nNamespace": "NetworkPlan/QuotaWorkload carry tuples and settings.Resources; Any outputs",
    "N8nPlatform": "takes the whole Settings model and ClusterFacts",
    "PatroniDatabase": "takes the settings section DatabaseSettings",
    "RdsDatabase": "takes the settings section DatabaseSettings",
}
"""Public components not served yet, with what stands in the way."""


def provider() -> "pulumi.provider.experimental.component.ComponentProvider":
    """The component provider for :data:`SERVED`, versioned like the package."""
    from pulumi.provider.experimental.component import ComponentProvider

    return ComponentProvider(SERVED, PACKAGE, version=__version__)


def schema() -> str:
    """The package schema Pulumi infers, as stable JSON text (what ``pulumi package get-schema`` would print)."""
    return json.dumps(json.loads(provider().schema or "{}"), indent=2, sort_keys=True) + "\n"


def main() -> None:
    """Serve :data:`SERVED` (called by ``components/__main__.py`` when Pulumi runs the plugin)."""
    from pulumi.provider.experimental import component_provider_host

    component_provider_host(components=SERVED, name=PACKAGE, version=__version__)


if __name__ == "__main__":
    print(schema(), end="")

"""The library as a Pulumi component package: ``pulumi package add <repo>/components`` serves these components to
TypeScript, Go, C#, Java and YAML programs through Pulumi's component provider host, with a schema Pulumi infers
from the Args and output annotations (docstrings become the descriptions).

``components/PulumiPlugin.yaml`` runs ``components/__main__.py``, which calls :func:`main`. The inferred schema is
committed as ``components/schema.json`` (``python -m n8n_platform.provider > components/schema.json``); a test fails
when it is stale.
"""

import dataclasses
import json

import pulumi

from . import __version__
from .addons import ClusterAddons
from .autoscaling import WorkerAutoscaling
from .database.dumps import DatabaseDumps
from .github_access import GithubAccess
from .n8n.app import N8nApp
from .namespace import N8nNamespace
from .redis import ElastiCacheRedis, Redis
from .secrets import Secrets
from .storage import ArchiveBucket
from .worker_pool import WorkerPool

PACKAGE = "n8n"
"""Package name: the first part of every type token (``n8n:index:<Class>``)."""

SERVED: list[type[pulumi.ComponentResource]] = [ArchiveBucket, ClusterAddons, DatabaseDumps, ElastiCacheRedis,
                                               GithubAccess, N8nApp, N8nNamespace, Redis, Secrets, WorkerAutoscaling,
                                               WorkerPool]
"""Components other languages can use. The others take Python-only types (settings sections, ``Any`` outputs)
and are listed with the reason in ``NOT_YET_SERVED``."""

NOT_YET_SERVED = {
    "Observability": "future-import annotations; depends_on inside the Args (landed with #9, not reshaped yet)",
    "Edge": "oidc is an Any (settings.OidcSettings) and depends_on sits inside the Args",
    "N8nPlatform": "takes the whole Settings model and ClusterFacts",
    "PatroniDatabase": "takes the settings section DatabaseSettings",
    "RdsDatabase": "takes the settings section DatabaseSettings",
}
"""Public components not served yet, with what stands in the way."""


def provider() -> "pulumi.provider.experimental.component.ComponentProvider":
    """The component provider for :data:`SERVED`, versioned like the package.

    Pulumi's analyzer makes every field of a dataclass schema type required, even one with a default; here a field
    with a default is optional, as it is in Python (``structured`` then leaves it to the dataclass default), so
    other languages give a ``NetworkPlan`` or a ``RedisConnection`` only what differs.
    """
    from pulumi.provider.experimental.component import ComponentProvider
    from pulumi.provider.experimental.schema import generate_schema

    served = ComponentProvider(SERVED, PACKAGE, version=__version__)
    for type_def in served._type_defs.values():
        if dataclasses.is_dataclass(type_def.python_type):
            defaulted = {f.name for f in dataclasses.fields(type_def.python_type)
                         if f.default is not dataclasses.MISSING or f.default_factory is not dataclasses.MISSING}
            for schema_name, prop in type_def.properties.items():
                if type_def.properties_mapping[schema_name] in defaulted:
                    prop.optional = True
    served.schema = json.dumps(generate_schema(PACKAGE, __version__, None, served._component_defs,
                                               served._type_defs, served._dependencies).to_json())
    return served


def schema() -> str:
    """The package schema Pulumi infers, as stable JSON text (what ``pulumi package get-schema`` would print)."""
    return json.dumps(json.loads(provider().schema or "{}"), indent=2, sort_keys=True) + "\n"


def main() -> None:
    """Serve :data:`SERVED` (called by ``components/__main__.py`` when Pulumi runs the plugin): what
    ``component_provider_host`` does, with :func:`provider`'s schema."""
    import sys

    from pulumi.provider import main as serve

    serve(provider(), sys.argv[1:])


if __name__ == "__main__":
    print(schema(), end="")

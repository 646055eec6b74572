"""What the data layer hands to the workloads: plain connection facts, engine-independent.

Connections flow one way, from the data layer to n8n. Switching the database engine (RDS or Patroni) or the Redis
mode (in-cluster or ElastiCache) changes the values in these objects and nothing in the n8n code. Secrets are never
values here: a connection names the Kubernetes Secret key that holds them, and n8n reads them as files.
"""

# No `from __future__ import annotations` here: these types are part of the component schema Pulumi's analyzer
# infers (at run time) for other languages.
from dataclasses import dataclass
from enum import StrEnum

import pulumi

SECRETS_DIR = "/etc/n8n/secrets"
"""Where the n8n Secret is mounted in every n8n container; n8n reads each value through a `*_FILE` variable."""

CA_DIR = "/etc/n8n/ca"
"""Where CA bundles that verify PostgreSQL and Redis are mounted."""

CONNECTION_SECRETS_DIR = "/etc/n8n/connection-secrets"
"""Where a connection's password is mounted when it lives outside the n8n Secret (``<dir>/<purpose>/<key>``)."""


class SchemaType:
    """Mixin of the connection types: read like a mapping (``get``), as Pulumi's component provider reads a
    component's complex outputs for other languages."""

    def get(self, key: str, default: object = None) -> object:
        """The field ``key``, or ``default``."""
        return getattr(self, key, default)


@dataclass(frozen=True)
class SecretKeyRef(SchemaType):
    """One key of a Kubernetes Secret in the n8n namespace."""

    secret: str
    """Name of the Secret."""
    key: str
    """Key within the Secret; the file name when mounted."""


class CaSource(StrEnum):
    """Kind of Kubernetes object holding a CA bundle."""

    CONFIG_MAP = "configMap"
    """A ConfigMap (public CA bundles such as the RDS one)."""
    SECRET = "secret"
    """A Secret (cert-manager writes ``ca.crt`` into the certificate's Secret)."""


@dataclass(frozen=True)
class CaBundle(SchemaType):
    """A CA certificate bundle that verifies a server, kept in a ConfigMap or Secret of the n8n namespace."""

    source: CaSource
    """Kind of object holding the bundle."""
    name: str
    """Name of the ConfigMap or Secret."""
    key: str
    """Key of the PEM bundle in it."""

    def path(self, purpose: str) -> str:
        """Where the bundle is mounted for ``purpose`` (db or redis)."""
        return f"{CA_DIR}/{purpose}/{self.key}"


class Pooler(StrEnum):
    """A connection pooler between n8n and PostgreSQL, and what it does while the server is away."""

    PGBOUNCER = "pgbouncer"
    """PgBouncer (the Zalando operator's pooler): keeps client connections, but while the server refuses logins it
    fails every query that needs a server connection at once (``check_fast_fail``)."""
    RDS_PROXY = "rds-proxy"
    """RDS Proxy: holds queries up to its borrow timeout while the instance fails over."""


@dataclass(frozen=True)
class DatabaseConnection(SchemaType):
    """How n8n reaches PostgreSQL, whatever runs it."""

    host: pulumi.Input[str]
    """DNS name of the primary (RDS endpoint address or the Patroni primary Service)."""
    port: int
    """TCP port, normally 5432."""
    database: str
    """Database name."""
    user: str
    """Least-privilege login role of n8n."""
    schema: str
    """Schema owned by that role, where n8n migrates its tables."""
    password: SecretKeyRef
    """Where the role's password is kept."""
    ssl: bool
    """Connect with TLS."""
    ca: CaBundle | None = None
    """Bundle that verifies the server certificate; None when the server's CA is publicly trusted."""
    pooler: Pooler | None = None
    """The pooler ``host`` is (n8n's recovery settings follow what it does in a failover); None: the server."""


@dataclass(frozen=True)
class RedisConnection(SchemaType):
    """How n8n reaches Redis, whatever runs it."""

    host: pulumi.Input[str]
    """DNS name of the primary endpoint."""
    port: int
    """TCP port, normally 6379."""
    tls: bool
    """Connect with TLS."""
    password: SecretKeyRef | None
    """Where the password (AUTH token) is kept; None for no auth."""
    ca: CaBundle | None
    """Bundle that verifies the server certificate; None when publicly trusted (ElastiCache)."""
    managed: bool
    """True for ElastiCache: n8n's keep-alive and reconnect settings follow the engine."""
    prefix: str = "bull"
    """Bull key prefix (`QUEUE_BULL_PREFIX`); the backlog list is `<prefix>:jobs:wait`."""


def password_path(ref: SecretKeyRef, purpose: str, n8n_secret: str, secrets_dir: str = SECRETS_DIR) -> str:
    """The file n8n reads a connection's password from: inside the n8n Secret's mount (``secrets_dir``) when ``ref``
    points into that Secret, else in a mount of its own under :data:`CONNECTION_SECRETS_DIR` (``purpose``: db or
    redis). Workloads mount exactly what this names."""
    if ref.secret == n8n_secret:
        return f"{secrets_dir}/{ref.key}"
    return f"{CONNECTION_SECRETS_DIR}/{purpose}/{ref.key}"

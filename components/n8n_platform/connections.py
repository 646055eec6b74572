"""What the data layer hands to the workloads: plain connection facts, engine-independent.

Connections flow one way, from the data layer to n8n. Switching the database engine (RDS or Patroni) or the Redis
mode (in-cluster or ElastiCache) changes the values in these objects and nothing in the n8n code. Secrets are never
values here: a connection names the Kubernetes Secret key that holds them, and n8n reads them as files.
"""

# No `from __future__ import annotations` here: these types are part of the component schema Pulumi's analyzer
# infers (at run time) for other languages.
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any, Literal

import pulumi

from .arguments import flag, hostname, member, object_name, port, secret_key, string

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

    def __post_init__(self) -> None:
        object_name("SecretKeyRef", "secret", self.secret)
        secret_key("SecretKeyRef", "key", self.key)


class CaSource(StrEnum):
    """Kind of Kubernetes object holding a CA bundle."""

    CONFIG_MAP = "configMap"
    """A ConfigMap (public CA bundles such as the RDS one)."""
    SECRET = "secret"
    """A Secret (cert-manager writes ``ca.crt`` into the certificate's Secret)."""


CaSourceName = Literal["configMap", "secret"]
"""The values of :class:`CaSource`, which Python callers may pass instead of the members (case-sensitive)."""
if TYPE_CHECKING:
    CaSourceArg = CaSource | CaSourceName
else:  # Pulumi's schema analyzer supports no unions: it sees the enum
    CaSourceArg = CaSource


@dataclass(frozen=True)
class CaBundle(SchemaType):
    """A CA certificate bundle that verifies a server, kept in a ConfigMap or Secret of the n8n namespace."""

    source: CaSourceArg
    """Kind of object holding the bundle: ``configMap`` or ``secret`` (a :class:`CaSource` or its value)."""
    name: str
    """Name of the ConfigMap or Secret."""
    key: str
    """Key of the PEM bundle in it."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "source", member("CaBundle", "source", self.source, CaSource))
        object_name("CaBundle", "name", self.name)
        secret_key("CaBundle", "key", self.key)

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


PoolerName = Literal["pgbouncer", "rds-proxy"]
"""The values of :class:`Pooler`, which Python callers may pass instead of the members (case-sensitive)."""
if TYPE_CHECKING:
    PoolerArg = Pooler | PoolerName
else:  # Pulumi's schema analyzer supports no unions: it sees the enum
    PoolerArg = Pooler


@dataclass(frozen=True)
class DatabaseConnection(SchemaType):
    """How n8n reaches PostgreSQL, whatever runs it."""

    host: pulumi.Input[str]
    """DNS name or IP address of the primary (RDS endpoint address, the Patroni primary Service, your own server):
    no scheme, port or slash. An Output is placed as is."""
    port: pulumi.Input[int]
    """TCP port, normally 5432: an int from 1 to 65535, or an Output of one (placed as text where it is used)."""
    database: str
    """Database name."""
    user: str
    """Least-privilege login role of n8n."""
    schema: str
    """Schema owned by that role, where n8n migrates its tables."""
    password: SecretKeyRef
    """Where the role's password is kept: a key of a Secret in the n8n namespace (your own Secret for an external
    database), mounted as a file."""
    ssl: bool
    """Connect with TLS (a bool); with ``ca`` the server certificate is verified against it."""
    ca: CaBundle | None = None
    """Bundle that verifies the server certificate; None when the server's CA is publicly trusted."""
    pooler: PoolerArg | None = None
    """The pooler ``host`` is (n8n's recovery settings follow what it does in a failover); None: the server."""

    def __post_init__(self) -> None:
        check_connection("DatabaseConnection", self, self.ssl, "ssl")
        if self.pooler is not None:
            object.__setattr__(self, "pooler", member("DatabaseConnection", "pooler", self.pooler, Pooler))
        for field in ("database", "user", "schema"):
            string("DatabaseConnection", field, getattr(self, field), what="a non-empty string")


@dataclass(frozen=True)
class RedisConnection(SchemaType):
    """How n8n reaches Redis, whatever runs it."""

    host: pulumi.Input[str]
    """DNS name or IP address of the primary endpoint: no scheme, port or slash. An Output is placed as is."""
    port: pulumi.Input[int]
    """TCP port, normally 6379: an int from 1 to 65535, or an Output of one (placed as text where it is used)."""
    tls: bool
    """Connect with TLS (a bool)."""
    password: SecretKeyRef | None
    """Where the password (AUTH token) is kept: a key of a Secret in the n8n namespace; None for no auth."""
    ca: CaBundle | None
    """Bundle that verifies the server certificate; None when publicly trusted (ElastiCache)."""
    managed: bool
    """True for ElastiCache: n8n's keep-alive and reconnect settings follow the engine."""
    prefix: str = "bull"
    """Bull key prefix (`QUEUE_BULL_PREFIX`); the backlog list is `<prefix>:jobs:wait`."""

    def __post_init__(self) -> None:
        check_connection("RedisConnection", self, self.tls, "tls")
        flag("RedisConnection", "managed", self.managed)
        string("RedisConnection", "prefix", self.prefix, r"[^\s{}]+", "a Bull key prefix without spaces or braces")


def check_connection(component: str, connection: Any, tls: Any, tls_field: str) -> None:
    """The checks both connection types share: host, port, TLS switch, password reference and CA bundle."""
    hostname(component, "host", connection.host, ip=True)
    port(component, "port", connection.port)
    flag(component, tls_field, tls)
    for field, kind in (("password", SecretKeyRef), ("ca", CaBundle)):
        value = getattr(connection, field)
        if value is not None and not isinstance(value, kind):
            raise TypeError(f"{component}: argument {field!r} must be a {kind.__name__}"
                            f"{'' if field == 'password' and component == 'DatabaseConnection' else ' or None'}, "
                            f"not {type(value).__name__}")
    if component == "DatabaseConnection" and connection.password is None:
        raise TypeError("DatabaseConnection: argument 'password' is required (a SecretKeyRef)")


def as_text(value: pulumi.Input[Any]) -> pulumi.Input[str]:
    """``value`` (a port, a count) as the text an environment variable holds: ``str`` of a plain value, an Output's
    value turned into text inside an apply (never ``str()`` of the Output itself, which is Pulumi's error text)."""
    if isinstance(value, pulumi.Output):
        return value.apply(str)
    return str(value)


def password_path(ref: SecretKeyRef, purpose: str, n8n_secret: str, secrets_dir: str = SECRETS_DIR) -> str:
    """The file n8n reads a connection's password from: inside the n8n Secret's mount (``secrets_dir``) when ``ref``
    points into that Secret, else in a mount of its own under :data:`CONNECTION_SECRETS_DIR` (``purpose``: db or
    redis). Workloads mount exactly what this names."""
    if ref.secret == n8n_secret:
        return f"{secrets_dir}/{ref.key}"
    return f"{CONNECTION_SECRETS_DIR}/{purpose}/{ref.key}"

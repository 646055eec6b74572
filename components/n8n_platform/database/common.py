"""Plain facts both database engines and the dump job share: where backups go in S3, who logs in as admin, and
the libpq environment that points a PostgreSQL client (psql, pg_dump) at a :class:`DatabaseConnection`.

IRSA without the pod-identity webhook: our database pods get AWS credentials from a projected service-account
token (audience ``sts.amazonaws.com``) that the pod mounts itself, plus ``AWS_ROLE_ARN`` and
``AWS_WEB_IDENTITY_TOKEN_FILE``. That is exactly what the EKS webhook would inject, but it also works for pods
whose service account we do not own (the postgres-operator's ``postgres-pod``) and keeps
``automountServiceAccountToken: false``. Do NOT also annotate those service accounts with
``eks.amazonaws.com/role-arn``: the webhook would then inject a second volume at the same mount path.
"""

# No `from __future__ import annotations` here: these types are part of the component schema Pulumi's analyzer
# infers at run time.
from dataclasses import dataclass
from typing import Any

import pulumi

from ..arguments import dns_label, flag, object_name, refuse, required, settings_section, string
from ..connections import DatabaseConnection, as_text
from .spec import DatabaseSettings, N8nDatabase

POSTGRES_IMAGE = "docker.io/library/postgres:17.6-bookworm"
"""PostgreSQL client image (psql, pg_dump) for the bootstrap and dump jobs; 17 clients work with 16 and 17 servers."""
AWS_CLI_IMAGE = "docker.io/amazon/aws-cli:2.27.0"
"""AWS CLI v2 image that uploads dumps."""
MAINTENANCE_DB = "postgres"
"""Database the admin connects to first (exists on RDS and Spilo)."""

AWS_TOKEN_DIR = "/var/run/secrets/eks.amazonaws.com/serviceaccount"
"""Where the projected web-identity token is mounted (the path the EKS webhook would use)."""
AWS_TOKEN_VOLUME = "aws-iam-token"
AWS_TOKEN_SECONDS = 86400
CA_MOUNT = "/etc/postgres-ca"
"""Where the CA bundle that verifies PostgreSQL is mounted in the bootstrap and dump pods."""


@dataclass(frozen=True)
class S3Location:
    """A prefix of an S3 bucket that backups are written to, encrypted with a customer-managed KMS key."""

    bucket_name: pulumi.Input[str]
    """Bucket name (for s3:// URLs)."""
    bucket_arn: pulumi.Input[str]
    """Bucket ARN (for IAM policies)."""
    prefix: str
    """Key prefix with a trailing slash, e.g. ``wal/`` or ``dumps/``; the writer role is confined to it."""
    kms_key_arn: pulumi.Input[str]
    """CMK every object is encrypted with (SSE-KMS)."""
    region: str
    """AWS region of the bucket."""

    def __post_init__(self) -> None:
        string("S3Location", "prefix", self.prefix, r"\S*[^\s/]/", "a key prefix with a trailing slash, such as wal/")
        string("S3Location", "region", self.region, r"[a-z]{2}(-[a-z]+)+-[0-9]+", "an AWS region such as eu-west-1")
        for key in ("bucket_name", "bucket_arn", "kms_key_arn"):
            string("S3Location", key, getattr(self, key), placed=True)


def check_args(where: str, args: Any, needed: tuple[str, ...]) -> None:
    """The arguments both database components share, checked where they enter (each error naming the component, the
    argument, the value and what is allowed): the ``needed`` ones present, the namespace a DNS label, the switches
    bools, names and images strings, AWS ids, subnets, tags and the CA bundle of the expected shape."""
    for key in needed:
        required(where, args, key)
    dns_label(where, "namespace", args["namespace"])
    for key in ("protect", "retain_on_delete"):
        if args.get(key) is not None:
            flag(where, key, args[key])
    for key in ("pod_service_account",):
        if args.get(key) is not None:
            object_name(where, key, args[key])
    for key in ("docker_image", "exporter_image", "vpc_id", "node_security_group_id", "kms_key_arn"):
        if args.get(key) is not None:
            string(where, key, args[key], placed=True)
    subnets = args.get("subnet_ids")
    if subnets is not None and not isinstance(subnets, pulumi.Output) and (
            not isinstance(subnets, (list, tuple)) or not subnets):
        raise refuse(where, "subnet_ids", subnets, "a non-empty list of subnet ids (or an Output of one)", TypeError)
    tags = args.get("tags")
    if tags is not None and (not isinstance(tags, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in tags.items())):
        raise refuse(where, "tags", tags, "a mapping of strings to strings", TypeError)
    pem = args.get("ca_bundle_pem")
    if pem is not None and (not isinstance(pem, str) or "-----BEGIN CERTIFICATE-----" not in pem):
        raise refuse(where, "ca_bundle_pem", pem if not isinstance(pem, str) else pem[:40],
                     "a PEM bundle of certificates (-----BEGIN CERTIFICATE-----...)", TypeError)


@dataclass(frozen=True)
class AdminLogin:
    """A Kubernetes Secret holding the database administrator's login (not a superuser on RDS)."""

    secret: str
    """Name of the Secret, in the database's namespace."""
    username_key: str = "username"
    """Key holding the user name."""
    password_key: str = "password"
    """Key holding the password."""


def sslmode(connection: DatabaseConnection) -> str:
    """libpq sslmode: verify the server's certificate and name when a CA bundle is known, else just encrypt."""
    if not connection.ssl:
        return "disable"
    return "verify-full" if connection.ca is not None else "require"


def libpq_env(connection: DatabaseConnection, *, database: str, application: str) -> list[dict[str, Any]]:
    """PG* environment variables pointing psql/pg_dump at ``connection`` (no credentials: those come from files)."""
    env = [
        {"name": "PGHOST", "value": connection.host},
        {"name": "PGPORT", "value": as_text(connection.port)},
        {"name": "PGDATABASE", "value": database},
        {"name": "PGSSLMODE", "value": sslmode(connection)},
        {"name": "PGCONNECT_TIMEOUT", "value": "10"},
        {"name": "PGAPPNAME", "value": application},
    ]
    if connection.ca is not None:
        env.append({"name": "PGSSLROOTCERT", "value": f"{CA_MOUNT}/{connection.ca.key}"})
    return env


def ca_volume(connection: DatabaseConnection) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """The (volumes, mounts) that put the connection's CA bundle at :data:`CA_MOUNT`; empty without a bundle."""
    ca = connection.ca
    if ca is None:
        return [], []
    item = {"key": ca.key, "path": ca.key}
    source = ({"configMap": {"name": ca.name, "items": [item]}} if ca.source == "configMap"
              else {"secret": {"secretName": ca.name, "items": [item]}})
    return [{"name": "postgres-ca", **source}], [{"name": "postgres-ca", "mountPath": CA_MOUNT, "readOnly": True}]


def aws_web_identity(role_arn: pulumi.Input[str], region: str) -> tuple[dict[str, Any], dict[str, Any],
                                                                         list[dict[str, Any]]]:
    """(volume, mount, env) giving a container the IRSA role ``role_arn`` through a projected token (see module doc)."""
    volume = {"name": AWS_TOKEN_VOLUME, "projected": {"defaultMode": 0o444, "sources": [{"serviceAccountToken": {
        "audience": "sts.amazonaws.com", "expirationSeconds": AWS_TOKEN_SECONDS, "path": "token"}}]}}
    mount = {"name": AWS_TOKEN_VOLUME, "mountPath": AWS_TOKEN_DIR, "readOnly": True}
    env = [
        {"name": "AWS_ROLE_ARN", "value": role_arn},
        {"name": "AWS_WEB_IDENTITY_TOKEN_FILE", "value": f"{AWS_TOKEN_DIR}/token"},
        {"name": "AWS_REGION", "value": region},
        {"name": "AWS_DEFAULT_REGION", "value": region},
        {"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"},
    ]
    return volume, mount, env


def quote_ident(name: str) -> str:
    """A SQL identifier, double-quoted."""
    return '"' + name.replace('"', '""') + '"'


def quote_literal(value: str) -> str:
    """A SQL string literal."""
    return "'" + value.replace("'", "''") + "'"


def n8n_database(component: str, value: Any) -> N8nDatabase:
    """The ``database`` argument of a database component: the n8n database and role (a mapping from other languages,
    or the defaults for None). The stack's whole ``DatabaseSettings`` is refused: its engine knobs are the
    component's own arguments (``patroni``/``rds``, ``pooler``), and quietly ignoring them would be worse."""
    if isinstance(value, DatabaseSettings):
        raise TypeError(f"{component}: argument 'database' must be an N8nDatabase (name, user, schema, limits), not "
                        "the stack's DatabaseSettings: pass database=settings.role() and the engine's and pooler's "
                        "sections as their own arguments")
    return settings_section(component, "database", N8nDatabase, value)

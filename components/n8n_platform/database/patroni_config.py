"""Patroni settings for the in-cluster PostgreSQL, as plain data.

The same values feed the Zalando ``postgresql`` resource (``spec.patroni``, ``spec.postgresql.parameters``) and
:func:`patroni_config`, an equivalent stand-alone Patroni YAML configuration that tests run through the real
``patroni --validate-config`` (Spilo writes its own file from the operator's environment, so this is how our
choices get checked by Patroni itself).

Choices (reference/data-layer.md §1, §10): ttl 30 / loop_wait 10 / retry_timeout 10; a replica more than 1 MiB
behind is never promoted; synchronous mode (non-strict: with no healthy standby the primary keeps accepting writes
rather than stalling n8n); DCS failsafe mode, so a Kubernetes API outage does not demote a healthy primary;
pg_rewind for fast rejoin. TLS only: pg_hba rejects every non-TLS TCP connection and uses SCRAM.
"""

from __future__ import annotations

from typing import Any

from .audit import LOG_LINE_PREFIX, pgaudit_parameters

TTL_S = 30
LOOP_WAIT_S = 10
RETRY_TIMEOUT_S = 10
MAXIMUM_LAG_ON_FAILOVER_BYTES = 1024 * 1024
TLS_DIR = "/tls"
"""Where the Zalando operator mounts ``spec.tls.secretName`` in the Spilo container."""
REPLICATION_USER = "standby"
"""Spilo's replication user."""


def dcs_settings(synchronous: bool) -> dict[str, Any]:
    """Dynamic (DCS) Patroni settings; every key is also a field of the Zalando CR's ``spec.patroni``."""
    return {
        "ttl": TTL_S,
        "loop_wait": LOOP_WAIT_S,
        "retry_timeout": RETRY_TIMEOUT_S,
        "maximum_lag_on_failover": MAXIMUM_LAG_ON_FAILOVER_BYTES,
        "synchronous_mode": synchronous,
        "synchronous_mode_strict": False,
        "synchronous_node_count": 1,
        "failsafe_mode": True,
    }


SPILO_PRELOAD = "bg_mon,pg_stat_statements,pgextwlist,pg_auth_mon,set_user,timescaledb,pg_cron,pg_stat_kcache"
"""Spilo's own ``shared_preload_libraries``; setting the parameter replaces it, so we repeat it and add pgaudit."""


def postgresql_parameters() -> dict[str, str]:
    """PostgreSQL parameters we set on top of Spilo's (which already enable archiving, pg_stat_statements, ...)."""
    return {
        "password_encryption": "scram-sha-256",
        "ssl_min_protocol_version": "TLSv1.2",
        "log_connections": "on",
        "log_disconnections": "on",
        "log_min_duration_statement": "1000",
        "log_statement": "ddl",
        "archive_timeout": "300",
        "wal_log_hints": "on",
        "log_line_prefix": LOG_LINE_PREFIX,
        "shared_preload_libraries": SPILO_PRELOAD + ",pgaudit",
        **pgaudit_parameters(),
    }


def pg_hba() -> list[str]:
    """Host-based authentication: local socket for Spilo's own tooling, TLS + SCRAM for everything over TCP."""
    return [
        "local all all trust",
        f"local replication {REPLICATION_USER} trust",
        f"hostssl replication {REPLICATION_USER} all scram-sha-256",
        "hostnossl all all all reject",
        "hostssl all all all scram-sha-256",
    ]


def initdb_options() -> dict[str, str]:
    """initdb options (checksums catch storage corruption; UTF-8 for n8n's data)."""
    return {"encoding": "UTF8", "locale": "C.UTF-8", "data-checksums": "true"}


def patroni_config(*, cluster: str, namespace: str, member: str, pod_ip: str, data_dir: str, bin_dir: str,
                   synchronous: bool) -> dict[str, Any]:
    """A complete Patroni configuration (Kubernetes DCS with Endpoints) equivalent to what the CR asks Spilo for."""
    parameters = {**postgresql_parameters(), "ssl": "on", "ssl_cert_file": f"{TLS_DIR}/tls.crt",
                  "ssl_key_file": f"{TLS_DIR}/tls.key", "ssl_ca_file": f"{TLS_DIR}/ca.crt"}
    initdb = [flag if value == "true" else {flag: value} for flag, value in initdb_options().items()]
    return {
        "scope": cluster,
        "name": member,
        "restapi": {"listen": "0.0.0.0:8008", "connect_address": f"{pod_ip}:8008"},
        "kubernetes": {
            "namespace": namespace,
            "labels": {"application": "spilo", "cluster-name": cluster},
            "scope_label": "cluster-name",
            "role_label": "spilo-role",
            "use_endpoints": True,
            "pod_ip": pod_ip,
            "ports": [{"name": "postgresql", "port": 5432}],
        },
        "bootstrap": {
            "dcs": {
                **dcs_settings(synchronous),
                "postgresql": {"use_pg_rewind": True, "use_slots": True, "parameters": postgresql_parameters()},
            },
            "initdb": initdb,
        },
        "postgresql": {
            "listen": "0.0.0.0:5432",
            "connect_address": f"{pod_ip}:5432",
            "data_dir": data_dir,
            "bin_dir": bin_dir,
            "pg_hba": pg_hba(),
            "authentication": {"superuser": {"username": "postgres"},
                               "replication": {"username": REPLICATION_USER}},
            "parameters": parameters,
        },
    }


KNOWN_PATRONI_KEYS = frozenset({
    # top level (docs/yaml_configuration.rst)
    "scope", "name", "namespace", "restapi", "kubernetes", "bootstrap", "postgresql", "log", "tags", "watchdog",
    "ctl", "citus", "failsafe_mode",
    "restapi.listen", "restapi.connect_address", "restapi.certfile", "restapi.keyfile", "restapi.cafile",
    "restapi.authentication",
    # Kubernetes DCS
    "kubernetes.namespace", "kubernetes.labels", "kubernetes.scope_label", "kubernetes.role_label",
    "kubernetes.leader_label_value", "kubernetes.follower_label_value", "kubernetes.standby_leader_label_value",
    "kubernetes.tmp_role_label", "kubernetes.use_endpoints", "kubernetes.pod_ip", "kubernetes.ports",
    "kubernetes.cacert", "kubernetes.retriable_http_codes", "kubernetes.bypass_api_service",
    "kubernetes.bootstrap_labels",
    # bootstrap + dynamic configuration (docs/dynamic_configuration.rst)
    "bootstrap.dcs", "bootstrap.initdb", "bootstrap.method", "bootstrap.post_bootstrap", "bootstrap.users",
    "bootstrap.dcs.ttl", "bootstrap.dcs.loop_wait", "bootstrap.dcs.retry_timeout",
    "bootstrap.dcs.maximum_lag_on_failover", "bootstrap.dcs.maximum_lag_on_syncnode",
    "bootstrap.dcs.synchronous_mode", "bootstrap.dcs.synchronous_mode_strict", "bootstrap.dcs.synchronous_node_count",
    "bootstrap.dcs.failsafe_mode", "bootstrap.dcs.primary_start_timeout", "bootstrap.dcs.primary_stop_timeout",
    "bootstrap.dcs.check_timeline", "bootstrap.dcs.postgresql", "bootstrap.dcs.slots",
    "bootstrap.dcs.postgresql.use_pg_rewind", "bootstrap.dcs.postgresql.use_slots",
    "bootstrap.dcs.postgresql.parameters", "bootstrap.dcs.postgresql.pg_hba",
    # local postgresql section
    "postgresql.listen", "postgresql.connect_address", "postgresql.data_dir", "postgresql.bin_dir",
    "postgresql.config_dir", "postgresql.pgpass", "postgresql.pg_hba", "postgresql.pg_ident",
    "postgresql.authentication", "postgresql.parameters", "postgresql.create_replica_methods",
    "postgresql.callbacks", "postgresql.use_unix_socket", "postgresql.use_unix_socket_repl",
    "postgresql.authentication.superuser", "postgresql.authentication.replication",
    "postgresql.authentication.rewind",
    "postgresql.authentication.superuser.username", "postgresql.authentication.superuser.password",
    "postgresql.authentication.replication.username", "postgresql.authentication.replication.password",
})
"""Dotted paths of Patroni configuration keys we may set (``patroni --validate-config`` accepts unknown keys, so a
typo would pass it silently). Free-form maps (parameters, labels) and list items are not descended into."""

FREE_FORM = ("kubernetes.labels", "kubernetes.ports", "bootstrap.dcs.postgresql.parameters", "postgresql.parameters",
             "bootstrap.initdb", "postgresql.pg_hba", "bootstrap.dcs.postgresql.pg_hba")


def unknown_keys(config: dict[str, Any], prefix: str = "") -> list[str]:
    """Dotted paths in ``config`` that are not in :data:`KNOWN_PATRONI_KEYS`."""
    found = []
    for key, value in config.items():
        path = f"{prefix}{key}"
        if path not in KNOWN_PATRONI_KEYS:
            found.append(path)
        elif isinstance(value, dict) and path not in FREE_FORM:
            found.extend(unknown_keys(value, f"{path}."))
    return found

"""The connection pooler between n8n and PostgreSQL, as plain data: PgBouncer run by the Zalando operator (engine
``patroni``); RDS Proxy has its own module (database/rds_proxy.py).

Why a pooler: when PostgreSQL restarts or fails over, every direct connection n8n holds breaks, and the executions
whose queries were on them end ``crashed``. PgBouncer keeps n8n's client connections open while the server is away
and queues their queries until it is back (up to ``query_wait_timeout``, 120 s by default), so n8n sees a slow query
instead of a broken one.

**Pool mode: transaction.** n8n 2.40.7 (``@n8n/db``, ``@n8n/typeorm``) uses nothing that needs a session: its
advisory locks are the transaction-scoped ``pg_advisory_xact_lock``/``pg_try_advisory_xact_lock``; its ``SET``
statements are ``SET LOCAL`` inside transactions (lock and statement timeouts); it names no prepared statements
(node-postgres then uses the unnamed statement, which lives inside one protocol exchange); it uses no LISTEN/NOTIFY
(instances talk through Redis pub/sub) and qualifies every table with its schema instead of setting ``search_path``.
The one session-level ``SET`` (``session_replication_role``) is in the ``import:entities`` CLI command, which must
therefore be run against the primary directly (see docs/operations.md). Migrations run on main's first start through
the pooler (the e2e proves it).

**What the operator renders** (postgres-operator v2.0.1, ``pooler/pgbouncer.ini.tmpl`` and
``getConnectionPoolerEnvVars``): per pooler pod, ``max_db_connections = maxDBConnections / numberOfInstances``,
``default_pool_size`` half of that, ``reserve_pool_size`` a quarter (used after a client waited 5 s),
``max_client_conn`` 10 000, ``server_login_retry`` 5 s, ``idle_transaction_timeout`` 600 s, TLS required from
clients (with the cluster's certificate from ``spec.tls``) and to the server (``server_tls_sslmode = require``:
encrypted, the server certificate is not verified: the operator's template offers no CA for it), SCRAM pass-through
authentication through ``auth_query`` in the ``postgres`` database (the operator installs ``pooler.user_lookup``).
:func:`pgbouncer_settings` returns exactly those values, so the end-to-end test runs a real PgBouncer configured
the way the operator configures it.

**Sizing** (:func:`server_connections`): n8n opens at most ``clients`` connections (every role's
``DB_POSTGRESDB_POOL_SIZE`` times its most replicas, ``n8n.env.db_connections``). In transaction mode a client
holds a server connection only for the length of a transaction, so the pooler may open fewer than that; it opens at
most as many as there are clients (more would sit idle), and at most the n8n role's ``CONNECTION LIMIT`` less
:data:`DIRECT_RESERVE` (its server connections log in as the n8n role; the bootstrap and dump Jobs and an operator's
``psql`` reach the primary directly and need that room).
"""

from __future__ import annotations

from dataclasses import dataclass

POOL_MODE = "transaction"
"""PgBouncer pool mode (see the module docstring for why transaction pooling is safe for n8n)."""
DIRECT_RESERVE = 10
"""Connections of the n8n role's CONNECTION LIMIT kept for direct logins (bootstrap Job, dumps, psql)."""
MAX_CLIENT_CONNECTIONS = 10_000
"""``max_client_conn`` the operator sets (not configurable)."""
SERVER_LOGIN_RETRY_S = 5
"""``server_login_retry`` in the operator's template: after a failed server login, PgBouncer waits this long."""
IDLE_TRANSACTION_TIMEOUT_S = 600
"""``idle_transaction_timeout`` in the operator's template."""
QUERY_WAIT_TIMEOUT_S = 120
"""PgBouncer's default ``query_wait_timeout`` (the template keeps it): how long a query waits for a server."""
RESERVE_POOL_TIMEOUT_S = 5
"""PgBouncer's default ``reserve_pool_timeout``: a client waiting this long may use the reserve pool."""


def server_connections(clients: int, connection_limit: int) -> int:
    """Most server connections all pooler pods together open (the CR's ``maxDBConnections``)."""
    if clients < 1:
        raise ValueError(f"clients must be at least 1, got {clients}")
    if connection_limit <= DIRECT_RESERVE:
        raise ValueError(f"connection_limit must exceed the direct reserve ({DIRECT_RESERVE}), got {connection_limit}")
    return min(clients, connection_limit - DIRECT_RESERVE)


@dataclass(frozen=True)
class PodPools:
    """What one pooler pod may open to the server (the operator's arithmetic, per pod)."""

    max_db_connections: int
    default_pool_size: int
    reserve_pool_size: int


def pod_pools(max_db_connections: int, instances: int) -> PodPools:
    """``getConnectionPoolerEnvVars``: the total divided among the pods, half as the default pool, a quarter as
    reserve (integer division, as in Go)."""
    if instances < 1:
        raise ValueError(f"instances must be at least 1, got {instances}")
    per_pod = max_db_connections // instances
    if per_pod < 2:
        raise ValueError(f"maxDBConnections {max_db_connections} over {instances} pods leaves each fewer than 2")
    default = per_pod // 2
    return PodPools(per_pod, default, default // 2)


def pgbouncer_settings(max_db_connections: int, instances: int) -> dict[str, str]:
    """The ``[pgbouncer]`` settings of one pooler pod as the operator's image renders them for our CR (paths and
    auth excepted: those are the image's)."""
    pools = pod_pools(max_db_connections, instances)
    return {
        "pool_mode": POOL_MODE,
        "max_prepared_statements": "200",
        "default_pool_size": str(pools.default_pool_size),
        "reserve_pool_size": str(pools.reserve_pool_size),
        "max_client_conn": str(MAX_CLIENT_CONNECTIONS),
        "max_db_connections": str(pools.max_db_connections),
        "idle_transaction_timeout": str(IDLE_TRANSACTION_TIMEOUT_S),
        "server_login_retry": str(SERVER_LOGIN_RETRY_S),
        "query_wait_timeout": str(QUERY_WAIT_TIMEOUT_S),
        "reserve_pool_timeout": str(RESERVE_POOL_TIMEOUT_S),
        "ignore_startup_parameters": "extra_float_digits,options",
        "server_tls_sslmode": "require",
        "server_tls_protocols": "secure",
        "client_tls_sslmode": "require",
        "log_connections": "0",
        "log_disconnections": "0",
    }

"""Names several components must agree on (each is used by a producer and at least one consumer)."""

N8N_SECRET = "n8n-secrets"
"""The Kubernetes Secret holding n8n's secrets, mounted at connections.SECRETS_DIR in every n8n container."""

ENCRYPTION_KEY = "encryption-key"
"""Key of N8N_ENCRYPTION_KEY in N8N_SECRET (identical on every role)."""
DB_PASSWORD = "db-password"
"""Key of the n8n database role's password in N8N_SECRET."""
REDIS_PASSWORD = "redis-password"
"""Key of the Redis password (ElastiCache AUTH token) in N8N_SECRET."""
RUNNERS_AUTH_TOKEN = "runners-auth-token"
"""Key of N8N_RUNNERS_AUTH_TOKEN (shared by n8n and its runner sidecar) in N8N_SECRET."""
LICENSE_KEY = "license-activation-key"
"""Key of the optional n8n license activation key in N8N_SECRET."""
SECRETS_REVISION_ANNOTATION = "n8n.io/secrets-revision"
"""Pod-template annotation carrying a hash of N8N_SECRET's values (``Secrets.revision``): pods that read the Secret
at start roll, and the database bootstrap Job is replaced (so re-run), when any value changes."""

WORKER_POOL_LABEL = ("n8n.io/pool", "workers")
"""Node label of the spot node group dedicated to workers; workers require it by node affinity."""
WORKER_POOL_TAINT = {"key": "n8n.io/workers", "value": "true", "effect": "NoSchedule"}
"""Taint of that node group; only worker pods tolerate it."""

INTERNAL_CA_ISSUER = "n8n-internal-ca"
"""cert-manager ClusterIssuer that signs in-cluster TLS (Redis, Patroni); its certificates carry ca.crt."""
PUBLIC_ISSUER = "letsencrypt"
"""cert-manager ClusterIssuer for public certificates (edge controller `gateway`)."""

N8N_PORT = 5678
"""HTTP port of main and webhook processors (and the worker health server)."""
RUNNERS_BROKER_PORT = 5679
"""Task broker port inside main/worker pods; the runner sidecar connects to it on 127.0.0.1."""


def pooler_service(cluster: str) -> str:
    """The Service the Zalando operator puts in front of a cluster's primary poolers (``<cluster>-pooler``); its
    pods carry ``connection-pooler: <this name>``."""
    return f"{cluster}-pooler"

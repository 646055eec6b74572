"""N8nApp on a database and a Redis you already have.

Needs first: the namespace; a PostgreSQL database ``n8n`` whose role ``n8n`` owns the schema ``n8n``, its password
in the Secret ``team-postgres`` (key ``password``) and the server's CA in the ConfigMap ``team-postgres-ca`` (key
``ca.crt``); a Redis with its password in the Secret ``team-redis`` (key ``password``). This program creates the n8n
Secret (encryption key, runner token) with :class:`Secrets`, then the n8n workloads, reading each password from the
Secret its connection names.
"""

import pulumi

from n8n_platform import CaBundle, CaSource, DatabaseConnection, N8nApp, RedisConnection, SecretKeyRef, Secrets

config = pulumi.Config()
namespace = config.get("namespace") or "automation"

database = DatabaseConnection(
    host=config.get("databaseHost") or "postgres.data.svc", port=5432, database="n8n", user="n8n", schema="n8n",
    password=SecretKeyRef("team-postgres", "password"), ssl=True,
    ca=CaBundle(CaSource.CONFIG_MAP, "team-postgres-ca", "ca.crt"))
queue = RedisConnection(
    host=config.get("redisHost") or "redis.data.svc", port=6379, tls=False,
    password=SecretKeyRef("team-redis", "password"), ca=None, managed=False)

# The n8n Secret: a generated encryption key (protected: it must never change) and runner token.
secrets = Secrets("n8n-secrets", {"namespace": namespace, "protect": True})

app = N8nApp("n8n", {
    "namespace": namespace,
    "hostname": config.get("hostname") or "n8n.example.com",
    "db": database,
    "redis": queue,
    "webhook_replicas": 1,
    "worker_replicas": 2,
    "worker_resources": {"cpuRequest": "500m", "memoryLimit": "2Gi"},   # a plain mapping; the rest are defaults
    "secrets_revision": secrets.revision,
}, pulumi.ResourceOptions(depends_on=[secrets]))

pulumi.export("editorUrl", app.editor_url)
pulumi.export("webhookService", app.webhook_service)
pulumi.export("workerDeployment", app.worker_deployment)

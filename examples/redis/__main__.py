"""Redis on its own: a TLS, password-protected, AOF-persistent Redis for n8n's queue (or any Bull queue).

Needs first: the namespace and a cert-manager CA issuer (both already in your cluster). This program creates the
password Secret itself, then Redis, and exports what a client needs.
"""

import pulumi
import pulumi_kubernetes as kubernetes
import pulumi_random as random

from n8n_platform import Redis

config = pulumi.Config()
namespace = config.get("namespace") or "automation"

password = random.RandomPassword("queue-password", length=40, special=False)
secret = kubernetes.core.v1.Secret(
    "queue-auth", metadata={"name": "queue-auth", "namespace": namespace},
    string_data={"password": password.result})

queue = Redis("queue", {
    "namespace": namespace,
    "name": "queue",                                   # objects: queue, queue-headless, queue-config, queue-tls
    "issuer_name": config.get("issuer") or "team-ca",  # your CA issuer instead of the platform's n8n-internal-ca
    "password_secret": "queue-auth",
    "password_key": "password",
    "memory": "2Gi",                                   # maxmemory is 80% of it
    "protect": True,                                   # and so retained on delete
}, pulumi.ResourceOptions(depends_on=[secret]))

pulumi.export("host", queue.host)
pulumi.export("port", queue.port)
pulumi.export("caSecret", queue.ca_secret)

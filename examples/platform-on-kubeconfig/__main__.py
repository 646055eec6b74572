"""The whole platform on an existing cluster reached through a kubeconfig, with no AWS account.

Settings come from the stack file (``n8n:*`` keys, validated before anything is registered); the Kubernetes
provider is built from ``cluster.kubeconfig``; ``N8nPlatform`` composes every component.
"""

import sys

import pulumi

from n8n_platform import N8nPlatform, PlatformArgs, SettingsError, load
from n8n_platform.cluster import kubernetes_provider

try:
    settings = load()
except SettingsError as error:  # names every key to fix
    print(error, file=sys.stderr)
    sys.exit(1)

provider = kubernetes_provider("cluster", settings, None)
platform = N8nPlatform("n8n", PlatformArgs(settings=settings),
                       pulumi.ResourceOptions(providers={"kubernetes": provider}))
for key, value in platform.exports().items():
    pulumi.export(key, value)

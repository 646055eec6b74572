"""N8nApp: the n8n processes of queue mode (main, webhook processors, workers with runner sidecars) on Kubernetes.

A thin component over :mod:`.workloads` (the manifests) and :mod:`.env` (the environment contract).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any, NotRequired, TypedDict

import pulumi

from .. import k8s, names
from ..namespace import QuotaWorkload
from ..secrets import placeable_revision
from ..settings import N8nSettings
from .env import N8nEnvInputs, base_url
from .workloads import N8nWorkloads, RoleShape, autoscaled, role_manifests, roles, validate


class N8nAppArgs(TypedDict):
    """What the n8n workloads are built from: the environment contract's inputs, images, replicas and resources.

    The n8n Secret (:data:`names.N8N_SECRET`) must exist in ``namespace``; it is mounted read-only at
    :data:`connections.SECRETS_DIR`.
    """

    namespace: str
    """Namespace of every object (created elsewhere)."""
    env: N8nEnvInputs
    """Inputs of the environment contract. Its ``version`` is the tag of both images, ``worker_concurrency`` the
    worker's ``--concurrency``, ``graceful_shutdown_seconds`` sizes the grace periods, ``webhook_processors`` must
    be true exactly when ``webhook_replicas`` > 0 and ``multi_main`` exactly when ``main_replicas`` > 1."""
    image: str
    """n8n image repository, e.g. docker.n8n.io/n8nio/n8n (tagged with env.version)."""
    runners_image: str
    """n8nio/runners image repository (tagged with the same version)."""
    main_replicas: int
    """Mains: 1, or 2+ with a multi-main license."""
    main_resources: Any
    """settings.Resources of the main container."""
    webhook_replicas: int
    """Webhook processors (the autoscaler's minimum); 0 creates no webhook objects and main serves webhooks."""
    webhook_max_replicas: int
    """Upper bound of the webhook processors' CPU autoscaler (none when not above webhook_replicas)."""
    webhook_resources: Any
    """settings.Resources of a webhook processor."""
    worker_replicas: int
    """Workers at creation; afterwards the worker autoscaler (KEDA or HPA) owns the count."""
    worker_resources: Any
    """settings.Resources of a worker's n8n container."""
    runners_resources: Any
    """settings.Resources of the n8nio/runners sidecar of every worker (the only role that executes code)."""
    spot_pool: bool
    """The dedicated spot node group exists: workers tolerate its taint and require its label."""
    depends_on: NotRequired[Sequence[pulumi.Resource]]
    """Resources the workloads wait for (the n8n Secret, CA bundles, the database and Redis)."""
    secrets_revision: NotRequired[pulumi.Input[str] | None]
    """``Secrets.revision``: a hash of the n8n Secret's values, placed as the pod-template annotation
    ``n8n.io/secrets-revision`` of main, webhook processors and workers, so that changing any secret rolls them
    (n8n reads its secret files only at start). Placed without its secret flag (see
    ``secrets.placeable_revision``). Omitted or None: no annotation, pods roll only on spec changes."""


class N8nApp(pulumi.ComponentResource):
    """n8n in queue mode: one main (or licensed multi-main), webhook processors and workers, each with its own
    ServiceAccount, Service and disruption budget; an external task-runner sidecar in every worker pod (main
    offloads manual runs to the workers, webhook processors never execute)."""

    main_service: pulumi.Output[str]
    """Service of main (editor, REST API, test webhooks, /metrics) on :attr:`service_port`."""
    webhook_service: pulumi.Output[str]
    """Service that serves production webhooks, forms and MCP: the webhook processors', or main's without them."""
    worker_service: pulumi.Output[str]
    """Headless Service of the workers' health/metrics server (scraped per pod)."""
    worker_deployment: pulumi.Output[str]
    """Deployment of the workers, for the worker autoscaler."""
    service_port: pulumi.Output[int]
    """Port of every Service (HTTP and /metrics)."""
    editor_url: pulumi.Output[str]
    """Public URL of the editor."""
    webhook_url: pulumi.Output[str]
    """Public base URL of webhooks (N8N_WEBHOOK_URL)."""

    def __init__(self, name: str, args: N8nAppArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("n8n:index:N8nApp", name, None, opts)
        spec = workloads_spec(args)
        validate(spec)
        wait_for = list(args.get("depends_on") or [])
        services: dict[str, Any] = {}
        deployments: dict[str, Any] = {}
        for role in roles(spec):
            account = None
            for manifest in role_manifests(spec, role):
                kind = manifest["kind"]
                child = pulumi.ResourceOptions(parent=self, depends_on=wait_for or None)
                if kind == "Deployment":
                    # Pods need their ServiceAccount; the replica count of autoscaled roles belongs to the autoscaler.
                    child = pulumi.ResourceOptions(
                        parent=self, depends_on=[*wait_for, account],
                        ignore_changes=["spec.replicas"] if autoscaled(spec, role) else None)
                resource = k8s.apply(name, manifest, child)
                if kind == "ServiceAccount":
                    account = resource
                elif kind == "Service":
                    services[role] = resource
                elif kind == "Deployment":
                    deployments[role] = resource

        def name_of(resource: Any) -> pulumi.Output[str]:
            return resource.metadata.apply(lambda m: m["name"] if isinstance(m, dict) else m.name)

        url = base_url(args["env"])
        self.main_service = name_of(services["main"])
        self.webhook_service = name_of(services.get("webhook", services["main"]))
        self.worker_service = name_of(services["worker"])
        self.worker_deployment = name_of(deployments["worker"])
        self.service_port = pulumi.Output.from_input(names.N8N_PORT)
        self.editor_url = pulumi.Output.from_input(url)
        self.webhook_url = pulumi.Output.from_input(url)
        self.register_outputs({
            "main_service": self.main_service,
            "webhook_service": self.webhook_service,
            "worker_service": self.worker_service,
            "worker_deployment": self.worker_deployment,
            "service_port": self.service_port,
            "editor_url": self.editor_url,
            "webhook_url": self.webhook_url,
        })


def quota(n8n: N8nSettings) -> list[QuotaWorkload]:
    """The n8n roles' share of the namespace budget, at their most replicas (workers with their runner sidecar)."""
    return [
        QuotaWorkload("main", n8n.main.max_replicas, (n8n.main.resources,)),
        QuotaWorkload("webhook", n8n.webhook.max_replicas, (n8n.webhook.resources,)),
        QuotaWorkload("worker", n8n.worker.max_replicas, (n8n.worker.resources, n8n.runners)),
    ]


def workloads_spec(args: N8nAppArgs) -> N8nWorkloads:
    """The builders' input from the component's Args."""
    return N8nWorkloads(
        namespace=args["namespace"],
        env=args["env"],
        image=args["image"],
        runners_image=args["runners_image"],
        main=RoleShape(replicas=args["main_replicas"], resources=args["main_resources"]),
        webhook=RoleShape(replicas=args["webhook_replicas"], resources=args["webhook_resources"]),
        webhook_max_replicas=args["webhook_max_replicas"],
        worker=RoleShape(replicas=args["worker_replicas"], resources=args["worker_resources"]),
        runners_resources=args["runners_resources"],
        spot_pool=args["spot_pool"],
        secrets_revision=placeable_revision(args.get("secrets_revision")),
    )


__all__ = ["N8nApp", "N8nAppArgs"]

"""N8nApp: the n8n processes of queue mode (main, webhook processors, workers with runner sidecars) on Kubernetes.

A thin component over :mod:`.workloads` (the manifests) and :mod:`.env` (the environment contract).
"""

# No `from __future__ import annotations` here: Pulumi's schema analyzer reads the Args annotations at run time.
from typing import Any, NotRequired, TypedDict

import pulumi

from .. import k8s, names
from ..arguments import (
    ContainerResources,
    container_resources,
    dns_label,
    flag,
    hostname,
    known,
    matching,
    namespace,
    required,
    string,
    structured,
    waits_for,
    whole,
)
from ..connections import DatabaseConnection, RedisConnection
from ..namespace import QuotaWorkload
from ..secrets import placeable_revision
from .env import ENV_CHECKS, N8nEnvInputs, ProtocolArg, base_url, role_pool_size
from .spec import N8N_VERSION_PATTERN, LogLevelArg, N8nSettings, multi_main_problem
from .workloads import (
    APP,
    N8nWorkloads,
    RoleShape,
    autoscaled,
    object_name,
    role_manifests,
    roles,
    rollout_after,
    validate,
)

N8N_RELEASE = matching(N8N_VERSION_PATTERN, "an n8n 2.x release such as 2.40.7 (the tag of both images)")
"""N8nApp's version: a pinned 2.x release, as ``n8n.version`` in the settings."""
DEFAULTS = N8nSettings()
"""The platform's defaults (settings ``n8n``), also the component's."""


class N8nAppArgs(TypedDict):
    """What the n8n workloads are built from: where users reach n8n, the database and Redis connections, images,
    replicas and resources. Only ``namespace``, ``hostname``, ``db`` and ``redis`` are required.

    Needs first: the namespace; the n8n Secret (``secret_name``, default ``n8n-secrets``: encryption key, runner
    token, and any connection password whose SecretKeyRef points into it); any other Secret a connection's password
    reference names; the CA bundles the connections name. Pass those resources in ``opts.depends_on``: every
    workload waits for them.
    """

    namespace: pulumi.Input[str]
    """Namespace of every object (created beforehand)."""
    hostname: pulumi.Input[str]
    """Public hostname of the editor and webhooks (URLs are ``<protocol>://<hostname>/``)."""
    db: DatabaseConnection
    """How n8n reaches PostgreSQL (``RdsDatabase``/``PatroniDatabase.connection``, or your own database); the
    password is read from the Secret key its ``password`` names."""
    redis: RedisConnection
    """How n8n reaches Redis (``Redis``/``ElastiCacheRedis.connection``, or your own); the password is read from
    the Secret key its ``password`` names."""
    protocol: NotRequired[ProtocolArg]
    """Scheme users reach ``hostname`` with: ``https`` (default; TLS terminates at the edge) or ``http``."""
    version: NotRequired[str]
    """n8n version: the tag of both images (default the version this library is tested with, 2.40.7)."""
    licensed: NotRequired[bool]
    """A license activation key is in the n8n Secret (key ``license-activation-key``); needed for several mains."""
    worker_concurrency: NotRequired[int]
    """Executions one worker runs at once (default 10); sizes its database pool and runner concurrency."""
    graceful_shutdown_seconds: NotRequired[int]
    """How long a stopping process lets running executions finish (default 60); grace periods follow."""
    execution_max_age_hours: NotRequired[int]
    """Execution data older than this is pruned (default 336)."""
    execution_max_count: NotRequired[int]
    """At most this many executions are kept (default 50000)."""
    timezone: NotRequired[str]
    """Default timezone of schedule triggers and date functions (default UTC)."""
    log_level: NotRequired[LogLevelArg]
    """n8n log level: ``error``, ``warn``, ``info`` (default) or ``debug``."""
    proxy_hops: NotRequired[int]
    """Reverse proxies in front of n8n (default 1), so client IPs and protocol come from X-Forwarded-*."""
    metrics: NotRequired[bool]
    """Expose Prometheus ``/metrics`` (default true)."""
    secret_name: NotRequired[str]
    """The n8n Secret, mounted whole (default ``n8n-secrets``, written by ``Secrets``)."""
    name_prefix: NotRequired[str]
    """Object names are ``<name_prefix>-main``, ``-webhook``, ``-worker`` (default ``n8n``). Any other value also
    labels and selects by ``app.kubernetes.io/instance``, so two N8nApps share a namespace. A plain value."""
    image: NotRequired[pulumi.Input[str]]
    """n8n image repository, tagged with ``env.version`` (default ``docker.n8n.io/n8nio/n8n``)."""
    runners_image: NotRequired[pulumi.Input[str]]
    """n8nio/runners image repository, same tag (default ``docker.n8n.io/n8nio/runners``)."""
    main_replicas: NotRequired[int]
    """Mains: 1 (default), or 2+ with a multi-main license (``licensed``): several mains run leader election."""
    main_resources: NotRequired[ContainerResources]
    """Resources of the main container (default 500m/2 CPU, 1Gi/2Gi)."""
    webhook_replicas: NotRequired[int]
    """Webhook processors (the autoscaler's minimum, default 2); 0 creates no webhook objects and main serves
    production webhooks."""
    webhook_max_replicas: NotRequired[int]
    """Upper bound of the webhook processors' CPU autoscaler (default 10; none when not above webhook_replicas)."""
    webhook_resources: NotRequired[ContainerResources]
    """Resources of a webhook processor (default 250m/1 CPU, 512Mi/1Gi)."""
    worker_replicas: NotRequired[int]
    """Workers at creation (default 3); afterwards a worker autoscaler (KEDA or HPA) owns the count."""
    worker_resources: NotRequired[ContainerResources]
    """Resources of a worker's n8n container (default 500m/2 CPU, 1Gi/2Gi)."""
    runners_resources: NotRequired[ContainerResources]
    """Resources of the n8nio/runners sidecar of every worker, the only role that executes code (default 100m/1
    CPU, 256Mi/512Mi)."""
    spot_pool: NotRequired[bool]
    """The dedicated spot node group exists: workers tolerate its taint and require its label (default false)."""
    secrets_revision: NotRequired[pulumi.Input[str]]
    """``Secrets.revision``: a hash of the n8n Secret's values, placed as the pod-template annotation
    ``n8n.io/secrets-revision`` of main, webhook processors and workers, so that changing any secret rolls them
    (n8n reads its secret files only at start). Placed without its secret flag (see
    ``secrets.placeable_revision``). Omitted: no annotation, pods roll only on spec changes."""


class N8nApp(pulumi.ComponentResource):
    """n8n in queue mode: one main (or licensed multi-main), webhook processors and workers, each with its own
    ServiceAccount, Service and disruption budget; an external task-runner sidecar in every worker pod (main
    offloads manual runs to the workers, webhook processors never execute). On an update, main rolls out (and
    migrates the database) before the webhook processors and workers are replaced. Stateless: nothing is kept on
    delete."""

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
    version: pulumi.Output[str]
    """The n8n version main runs, known once main's rollout is done (``N8nPlatform`` exports it as ``n8nVersion``,
    the previous version of the next update)."""

    @staticmethod
    def quota(args: "N8nAppArgs | dict[str, Any] | None" = None,
              max_workers: int = DEFAULTS.worker.max_replicas) -> list[QuotaWorkload]:
        """The share of a namespace budget (``N8nNamespace``'s ``quota_workloads``) an N8nApp with these Args takes at
        its most replicas: main, webhook processors up to ``webhook_max_replicas``, workers (with their runner
        sidecar) up to ``max_workers``, the most its worker autoscaler may run (default 20). Only the replica and
        resource Args matter; the others may be left out."""
        where = "N8nApp.quota"
        given: dict[str, Any] = dict(args or {})

        def count(key: str, default: int) -> int:
            return whole(where, key, given.get(key, default), 0)

        def resources(key: str, default: Any) -> Any:
            return container_resources(where, key, given.get(key), default)

        webhooks = count("webhook_replicas", DEFAULTS.webhook.replicas)
        return [
            QuotaWorkload("main", count("main_replicas", DEFAULTS.main.replicas),
                          [resources("main_resources", DEFAULTS.main.resources)]),
            QuotaWorkload("webhook", max(webhooks, count("webhook_max_replicas", DEFAULTS.webhook.max_replicas))
                          if webhooks else 0, [resources("webhook_resources", DEFAULTS.webhook.resources)]),
            QuotaWorkload("worker", max(whole(where, "max_workers", max_workers, 1),
                                        count("worker_replicas", DEFAULTS.worker.min_replicas)),
                          [resources("worker_resources", DEFAULTS.worker.resources),
                           resources("runners_resources", DEFAULTS.runners)]),
        ]

    def __init__(self, name: str, args: N8nAppArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("n8n:index:N8nApp", name, None, opts)
        spec = workloads_spec(args)
        validate(spec)
        # The component's own depends_on reaches every workload (children do not inherit it).
        wait_for = waits_for("N8nApp", opts)
        services: dict[str, Any] = {}
        deployments: dict[str, Any] = {}
        for role in roles(spec):  # main first: the others roll after it
            manifests = role_manifests(spec, role)
            # Pods wait for their ServiceAccount (apply_all); the replica count of autoscaled roles is the
            # autoscaler's; webhook processors and workers roll only after main has (workloads.rollout_after: main
            # migrates the schema and is ready first).
            first = rollout_after(role)
            after_main = [deployments[first]] if first else []
            created = k8s.apply_all(
                name, manifests, pulumi.ResourceOptions(parent=self, depends_on=wait_for or None),
                extra=[pulumi.ResourceOptions(depends_on=after_main,
                                              ignore_changes=["spec.replicas"] if autoscaled(spec, role) else None)
                       if m["kind"] == "Deployment" else None for m in manifests])
            for manifest, resource in zip(manifests, created, strict=True):
                if manifest["kind"] == "Service":
                    services[role] = resource
                elif manifest["kind"] == "Deployment":
                    deployments[role] = resource

        def name_of(resource: Any) -> pulumi.Output[str]:
            return resource.metadata.apply(lambda m: m["name"] if isinstance(m, dict) else m.name)

        url = base_url(spec.env)
        self.main_service = name_of(services["main"])
        self.webhook_service = name_of(services.get("webhook", services["main"]))
        self.worker_service = name_of(services["worker"])
        self.worker_deployment = name_of(deployments["worker"])
        self.service_port = pulumi.Output.from_input(names.N8N_PORT)
        self.editor_url = pulumi.Output.from_input(url)
        self.webhook_url = pulumi.Output.from_input(url)
        self.version = deployments["main"].id.apply(lambda _: spec.env.version)
        self.register_outputs({
            "main_service": self.main_service,
            "webhook_service": self.webhook_service,
            "worker_service": self.worker_service,
            "worker_deployment": self.worker_deployment,
            "service_port": self.service_port,
            "editor_url": self.editor_url,
            "webhook_url": self.webhook_url,
            "version": self.version,
        })


def quota(n8n: N8nSettings) -> list[QuotaWorkload]:
    """The n8n roles' share of the namespace budget, at their most replicas (workers with their runner sidecar)."""
    return [
        QuotaWorkload("main", n8n.main.max_replicas, (n8n.main.resources,)),
        QuotaWorkload("webhook", n8n.webhook.max_replicas, (n8n.webhook.resources,)),
        QuotaWorkload("worker", n8n.worker.max_replicas, (n8n.worker.resources, n8n.runners)),
    ]


def database_clients(n8n: N8nSettings) -> int:
    """Most PostgreSQL connections the n8n roles open at their most replicas (what the pooler must accept)."""
    roles = (("main", n8n.main.max_replicas), ("webhook", n8n.webhook.max_replicas),
             ("worker", n8n.worker.max_replicas))
    return sum(replicas * role_pool_size(role, n8n.worker.concurrency) for role, replicas in roles)


def workloads_spec(args: N8nAppArgs) -> N8nWorkloads:
    """The builders' input from the component's Args, with the platform's defaults; every argument checked where it
    enters (:mod:`..arguments`), each error naming N8nApp, the argument, the value and what is allowed."""
    where = "N8nApp"
    known(where, args, N8nAppArgs)

    def count(key: str, default: int, low: int = 0) -> int:
        return whole(where, key, args.get(key, default), low)

    def resources(key: str, default: Any) -> Any:
        return container_resources(where, key, args.get(key), default)

    webhook_replicas = count("webhook_replicas", DEFAULTS.webhook.replicas)
    main_replicas = count("main_replicas", DEFAULTS.main.replicas, low=1)
    if why := multi_main_problem(main_replicas > 1, flag(where, "licensed", args.get("licensed", False))):
        raise ValueError(f"{where}: main_replicas = {main_replicas}: {why} (licensed: true, with the activation key "
                         "in the n8n Secret)")
    return N8nWorkloads(
        namespace=namespace(where, required(where, args, "namespace", "the namespace of every object")),
        env=env_inputs(args, webhook_processors=webhook_replicas > 0, multi_main=main_replicas > 1),
        image=string(where, "image", args.get("image", DEFAULTS.image), placed=True),
        runners_image=string(where, "runners_image", args.get("runners_image", DEFAULTS.runners_image), placed=True),
        main=RoleShape(replicas=main_replicas,
                       resources=resources("main_resources", DEFAULTS.main.resources)),
        webhook=RoleShape(replicas=webhook_replicas,
                          resources=resources("webhook_resources", DEFAULTS.webhook.resources)),
        webhook_max_replicas=count("webhook_max_replicas", DEFAULTS.webhook.max_replicas),
        worker=RoleShape(replicas=count("worker_replicas", DEFAULTS.worker.min_replicas),
                         resources=resources("worker_resources", DEFAULTS.worker.resources)),
        runners_resources=resources("runners_resources", DEFAULTS.runners),
        spot_pool=flag(where, "spot_pool", args.get("spot_pool", False)),
        secrets_revision=placeable_revision(args.get("secrets_revision")),
        prefix=dns_label(where, "name_prefix", args.get("name_prefix", APP), room=len("-webhook")),
    )


ENV_ARGS = ("hostname", "db", "redis", "protocol", "version", "licensed", "worker_concurrency",
            "graceful_shutdown_seconds", "execution_max_age_hours", "execution_max_count", "timezone", "log_level",
            "proxy_hops", "metrics", "secret_name")
"""The Args that are inputs of the environment contract (N8nEnvInputs fields of the same names)."""


def env_inputs(args: N8nAppArgs, *, webhook_processors: bool, multi_main: bool) -> N8nEnvInputs:
    """The environment contract's inputs from the Args (the contract's defaults for what is left out), each checked;
    the role switches follow the replicas."""
    where = "N8nApp"
    given: dict[str, Any] = {key: args[key] for key in ENV_ARGS if key in args}  # type: ignore[literal-required]
    given["hostname"] = hostname(where, "hostname", required(where, args, "hostname", "public hostname of n8n"))
    given["db"] = structured(where, "db", DatabaseConnection,
                             required(where, args, "db", "a DatabaseConnection: how n8n reaches PostgreSQL"))
    given["redis"] = structured(where, "redis", RedisConnection,
                                required(where, args, "redis", "a RedisConnection: how n8n reaches Redis"))
    for key, check in {**ENV_CHECKS, "version": N8N_RELEASE}.items():
        if key in given:
            given[key] = check(where, key, given[key])
    return N8nEnvInputs(**given, webhook_processors=webhook_processors, multi_main=multi_main)




def worker_deployment_name(args: N8nAppArgs) -> str:
    """Name of the worker Deployment an N8nApp with these Args creates (for a worker autoscaler)."""
    return object_name("worker", args.get("name_prefix", APP))


__all__ = ["N8nApp", "N8nAppArgs"]

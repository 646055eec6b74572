"""The n8n workloads of queue mode as plain Kubernetes manifests: main, webhook processors and workers.

Pure builders (rule 1). The environment of every container comes from :mod:`.env` (the contract); this module adds
only what belongs to the pod: the image, the CLI arguments, probes, resources, volumes, scheduling and the few
variables that follow from them (``NODE_OPTIONS`` from the memory limit, ``HOME`` from the volume layout).

Decisions, with why:

- **Image entrypoint kept.** ``n8nio/n8n`` runs ``tini -- /docker-entrypoint.sh``, which trusts optional custom
  certificates and then runs ``exec n8n "$@"``. We set only ``args`` (``start`` / ``webhook`` / ``worker
  --concurrency=N``, from :func:`.env.n8n_args`) so tini stays PID 1 and forwards SIGTERM to n8n.
- **Runner sidecar as a native sidecar** (an init container with ``restartPolicy: Always``; GA in 1.33). It starts
  before n8n and, crucially, is stopped only *after* n8n has exited: a worker draining its running executions for
  ``N8N_GRACEFUL_SHUTDOWN_TIMEOUT`` keeps its Code-node runner until the last one ends. A plain second container
  would get SIGTERM at the same moment and fail those executions. Same tag as n8n; on workers only (main offloads
  manual runs to them and starts no task broker, webhook processors never execute code: ``env.RUNNER_ROLES``). It
  mounts only the runner auth token, never the encryption key or the database password: the sidecar is where user
  code runs.
- **UID 10001, read-only root filesystem.** Writable emptyDirs for ``~/.n8n`` (settings, event log; memory-backed
  and small, which is why the contract turns UI community-package installs off), ``~/.cache`` (n8n writes the
  editor's static files to ``~/.cache/n8n/public`` at start), ``~/.npm`` and ``/tmp``. ``HOME=/home/node``
  because UID 10001 has no passwd entry (HOME would be ``/``).
- **Startup.** Every role runs the database migrations at start (``n8n start``, ``webhook`` and ``worker`` alike,
  serialised by a PostgreSQL advisory lock that the others wait on), and a worker opens its health server only after
  that, so every role gets the same migration-sized startup budget and rollout deadline; a shorter one would kill a
  worker that won the lock mid-migration.
- **Rollout order: main first** (:func:`rollout_after`). A version change must not start new webhook processors
  or workers before main has migrated the schema, nor replace the old ones while main is still migrating. The
  webhook and worker Deployments *depend on* main's Deployment, so the engine updates them only after main's
  rollout has completed, i.e. after main's pods passed their readiness probe, which n8n answers only once the
  database is connected and migrated; until then the old webhook processors and workers keep serving, and they
  drain their running executions when they are replaced (``N8N_GRACEFUL_SHUTDOWN_TIMEOUT`` inside
  :func:`termination_grace`). Chosen over an init container that waits for the schema: the engine already awaits
  every Deployment's rollout, so the dependency needs no extra image, no database credentials in every pod and no
  knowledge of n8n's migration names (n8n publishes no schema version to compare), and it is the same for Patroni
  and RDS. If main's rollout fails (a migration that fails keeps readiness red until the rollout deadline), the
  update stops there and the other roles are never touched. The cost: a change that rolls main and the others
  takes main's rollout time longer; a change to the others alone does not wait. Only updates made through Pulumi
  are ordered (``kubectl set image`` is not).
- **Termination.** Main and webhook pods sleep in ``preStop`` so the load balancer deregisters them before n8n
  stops accepting; the grace period exceeds that sleep plus the graceful shutdown (see :func:`termination_grace`).
- **Strategy.** A single main is ``Recreate``: two unlicensed mains must never run at once. Multi-main rolls one
  pod at a time; webhook processors and workers surge :data:`SCALED_MAX_SURGE` (one pod at a time would need
  ``max_replicas`` start-ups in a row, far beyond the rollout deadline at scale). All with ``maxUnavailable: 0``.
- **Disruption budgets** only where they can always be satisfied: none for a single main (a budget of one
  replica either blocks every node drain or protects nothing), ``maxUnavailable: 1`` for mains (multi-main) and
  webhook processors, ``maxUnavailable: 50%`` for workers (a spot node's two-minute notice must drain its workers
  in parallel, not one graceful shutdown after another), and ``unhealthyPodEvictionPolicy: AlwaysAllow`` so a
  crash-looping pod never blocks a drain.
- **Cluster autoscaler.** Pods with emptyDirs are not evicted by the cluster autoscaler unless marked; webhook
  processors and workers are (``safe-to-evict``: they drain gracefully), a single main is not.
- **Spot pool.** Only workers tolerate :data:`names.WORKER_POOL_TAINT`, and require :data:`names.WORKER_POOL_LABEL`
  when the pool exists; main and webhook processors never land there.
- ``enableServiceLinks: false``: Kubernetes would otherwise inject ``<SERVICE>_PORT=tcp://...`` variables, which
  can collide with n8n's own ``N8N_*`` names.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import pulumi

from .. import k8s, names
from ..arguments import text
from ..autoscaling import cpu_utilization_hpa
from ..connections import CA_DIR, CONNECTION_SECRETS_DIR, SECRETS_DIR, CaBundle, SecretKeyRef
from ..schema import quantity_bytes
from . import probes
from .env import (
    HEALTH_PATH,
    READINESS_PATH,
    ROLES,
    RUNNER_HEALTH_PORT,
    RUNNER_ROLES,
    USER_FOLDER,
    N8nEnvInputs,
    Role,
    n8n_args,
    n8n_env,
    runner_env,
)

APP = "n8n"
"""`app.kubernetes.io/name` of every n8n object."""

PRESTOP_SECONDS = 10
"""preStop sleep of main and webhook pods: the load balancer stops sending before n8n stops accepting."""
GRACE_MARGIN_SECONDS = 15
"""Grace-period headroom beyond preStop + graceful shutdown (process exit, runner sidecar stop)."""
HEAP_FRACTION = 0.75
"""Share of the container memory limit given to the V8 old space; the rest is native memory, buffers, stacks."""
RUNNER_HEAP_FRACTION = 0.5
"""The runner sidecar's share for the JavaScript runner's old space: the launcher (and a Python runner, when one
is started) live in the same container and limit."""
WORKER_MAX_UNAVAILABLE = "50%"
"""Worker disruption budget (see the module docstring)."""
WEBHOOK_CPU_TARGET = 70
"""Average CPU utilisation (of requests) the webhook HorizontalPodAutoscaler aims for."""
WEBHOOK_SCALE_DOWN_WINDOW = 300
"""Seconds of lower load before webhook processors are removed (bursty traffic must not flap)."""
STARTUP_SECONDS = 900
"""Startup-probe budget of every n8n container: any role may run (or wait for) the database migrations first."""
ROLLOUT_TIMEOUT_SECONDS = 1200
"""How long Pulumi and the Deployment controller wait for a rollout (a start may include the migrations)."""
SCALED_MAX_SURGE = "25%"
"""Rolling-update surge of webhook processors and workers (rounded up: at least one pod)."""
SAFE_TO_EVICT = "cluster-autoscaler.kubernetes.io/safe-to-evict"
"""Pod annotation that lets the cluster autoscaler evict pods with emptyDirs (webhook processors and workers)."""

# Writable scratch under the read-only root filesystem: (volume name, mount path, size limit).
N8N_SCRATCH = (
    ("data", f"{USER_FOLDER}/.n8n", "64Mi", "Memory"),  # n8n writes the encryption key here: never to node disk
    ("cache", f"{USER_FOLDER}/.cache", "512Mi", None),
    ("npm", f"{USER_FOLDER}/.npm", "512Mi", None),
    ("tmp", "/tmp", "1Gi", None),
    # The Read/Write Files node may only touch ~/.n8n-files (n8n's N8N_RESTRICT_FILE_ACCESS_TO default; ~ is HOME).
    ("files", f"{USER_FOLDER}/.n8n-files", "1Gi", None),
)
"""(volume, mount path, size limit, medium) of the writable folders under the read-only root filesystem."""
RUNNER_SCRATCH = (("runner-tmp", "/tmp", "512Mi"),)


@dataclass(frozen=True, kw_only=True)
class RoleShape:
    """Replicas and container resources of one role."""

    replicas: int
    """Replicas at creation (the minimum when autoscaled)."""
    resources: Any
    """A vocabulary.Resources (cpu/memory requests and limits)."""


@dataclass(frozen=True, kw_only=True)
class N8nWorkloads:
    """Everything the n8n workloads are built from (plain values; connection hosts may be Pulumi Inputs)."""

    namespace: pulumi.Input[str]
    """Namespace of every object."""
    env: N8nEnvInputs
    """The environment contract's inputs; its version is the tag of both images, its worker concurrency and
    graceful shutdown drive the worker args and the grace periods."""
    image: pulumi.Input[str]
    """n8n image repository (tag: env.version)."""
    runners_image: pulumi.Input[str]
    """n8nio/runners image repository (same tag)."""
    main: RoleShape
    """The main process(es); more than one needs env.multi_main."""
    webhook: RoleShape
    """Webhook processors; 0 replicas omits every webhook object (main then serves production webhooks)."""
    webhook_max_replicas: int
    """Upper bound of the webhook HorizontalPodAutoscaler (no autoscaler when not above replicas)."""
    worker: RoleShape
    """Workers (replicas: the autoscaler's minimum)."""
    runners_resources: Any
    """Resources of each n8nio/runners sidecar."""
    spot_pool: bool
    """The dedicated spot node group exists: workers tolerate its taint and require its label."""
    secrets_revision: pulumi.Input[str] | None = None
    """Hash of the n8n Secret's values (``Secrets.revision``), placed as the pod-template annotation
    :data:`names.SECRETS_REVISION_ANNOTATION` of every Deployment: n8n reads its secret files only at start, so a
    changed Secret must roll the pods. None: no annotation."""
    prefix: str = APP
    """Object names are ``<prefix>-<role>``. Any other prefix than ``n8n`` also adds
    ``app.kubernetes.io/instance: <prefix>`` to labels and selectors, so two instances in a namespace stay apart."""


# --- small facts --------------------------------------------------------------------------------------------------


def object_name(role: Role, prefix: str = APP) -> str:
    """Name of the Deployment, Service, ServiceAccount and budget of ``role``."""
    return f"{prefix}-{role}"


def _instance(spec: N8nWorkloads) -> dict[str, str]:
    return {} if spec.prefix == APP else {"app.kubernetes.io/instance": spec.prefix}


def _meta(spec: N8nWorkloads, role: Role, **kw: Any) -> dict[str, Any]:
    """Metadata of one of ``role``'s objects."""
    extra = {**kw.pop("extra_labels", {}), **_instance(spec)}
    return k8s.metadata(object_name(role, spec.prefix), spec.namespace, role, app=APP,
                        extra_labels=extra or None, **kw)


def _selector(spec: N8nWorkloads, role: Role) -> dict[str, str]:
    return {**k8s.selector(role, APP), **_instance(spec)}


def connection_secrets(spec: N8nWorkloads) -> list[tuple[str, str, SecretKeyRef]]:
    """(volume name, purpose, reference) of connection passwords kept outside the n8n Secret: each is mounted on
    its own under :data:`CONNECTION_SECRETS_DIR`, where ``connections.password_path`` points n8n."""
    refs = [("db-password", "db", spec.env.db.password)]
    if spec.env.redis.password is not None:
        refs.append(("redis-password", "redis", spec.env.redis.password))
    return [(volume, purpose, ref) for volume, purpose, ref in refs if ref.secret != spec.env.secret_name]


def roles(spec: N8nWorkloads) -> list[Role]:
    """The roles that run: webhook processors only with replicas."""
    return [r for r in ROLES if r != "webhook" or spec.webhook.replicas > 0]


def shape(spec: N8nWorkloads, role: Role) -> RoleShape:
    return {"main": spec.main, "webhook": spec.webhook, "worker": spec.worker}[role]


def executes_code(role: Role) -> bool:
    """Only workers run Code nodes: main offloads manual runs to them and starts no task broker, and webhook
    processors never execute (env.RUNNER_ROLES, checked on real n8n)."""
    return role in RUNNER_ROLES


def validate(spec: N8nWorkloads) -> None:
    """Raise ValueError for shapes that cannot run as intended."""
    env = spec.env
    if spec.main.replicas < 1:
        raise ValueError("main needs at least one replica")
    if spec.main.replicas > 1 and not env.multi_main:
        raise ValueError("more than one main replica needs env.multi_main")
    if env.multi_main and spec.main.replicas < 2:
        raise ValueError("env.multi_main needs at least two main replicas")
    if env.webhook_processors != (spec.webhook.replicas > 0):
        raise ValueError("env.webhook_processors must be true exactly when webhook replicas > 0, or production "
                         "webhooks reach nobody (main stops serving them when processors exist)")
    if spec.worker.replicas < 0 or spec.webhook.replicas < 0:
        raise ValueError("replicas must not be negative")


def image(spec: N8nWorkloads) -> pulumi.Input[str]:
    return text(spec.image, ":", spec.env.version)


def runners_image(spec: N8nWorkloads) -> pulumi.Input[str]:
    return text(spec.runners_image, ":", spec.env.version)


def rollout_after(role: Role) -> Role | None:
    """The role whose rollout must complete before ``role``'s Deployment is updated: main for webhook processors
    and workers (main runs the migrations; see the module docstring), nothing for main."""
    return None if role == "main" else "main"


def prestop_seconds(role: Role) -> int:
    """Main and webhook processors sit behind the load balancer; workers have no inbound traffic."""
    return PRESTOP_SECONDS if role in ("main", "webhook") else 0


def termination_grace(role: Role, graceful_shutdown_seconds: int) -> int:
    """``terminationGracePeriodSeconds``: strictly more than preStop + n8n's graceful shutdown."""
    return prestop_seconds(role) + graceful_shutdown_seconds + GRACE_MARGIN_SECONDS


def heap_mib(memory_limit: str, fraction: float = HEAP_FRACTION) -> int:
    """V8 old-space size for a container memory limit (MiB, ``fraction`` of it)."""
    return math.floor(quantity_bytes(memory_limit) / 2**20 * fraction)


def sidecar_env(spec: N8nWorkloads) -> dict[str, str]:
    """The contract's runner environment plus NODE_OPTIONS, which the launcher passes to the JavaScript runner
    (`allowed-env` of the image's n8n-task-runners.json): its heap stays below the container limit, so a greedy
    Code node kills only the runner process (the launcher starts a new one), never the whole sidecar by OOM."""
    env = dict(runner_env(spec.env))
    env["NODE_OPTIONS"] = f"--max-old-space-size={heap_mib(spec.runners_resources.memory_limit, RUNNER_HEAP_FRACTION)}"
    return env


def health_port(role: Role, env: dict[str, Any]) -> int:
    """Port of /healthz: N8N_PORT, or the worker health server's QUEUE_HEALTH_CHECK_PORT (from the contract)."""
    key = "QUEUE_HEALTH_CHECK_PORT" if role == "worker" else "N8N_PORT"
    return int(env.get(key, names.N8N_PORT))


# --- containers ---------------------------------------------------------------------------------------------------


def _env_list(env: dict[str, pulumi.Input[str]]) -> list[dict[str, Any]]:
    return [{"name": k, "value": v} for k, v in sorted(env.items())]


def _http_probe(path: str, port: str | int, *, period: int, failures: int, timeout: int = 5) -> dict[str, Any]:
    return {"httpGet": {"path": path, "port": port}, "periodSeconds": period, "timeoutSeconds": timeout,
            "failureThreshold": failures}


def n8n_probes(role: Role) -> dict[str, Any]:
    """Startup (waits for readiness, generous on every role: any of them may run the migrations), liveness (a
    connection broken beyond probes.BROKEN_BOUND_SECONDS, or a stalled queue for workers) and readiness probes."""
    period = 10
    return {
        "startupProbe": _http_probe(READINESS_PATH, "http", period=period,
                                    failures=math.ceil(STARTUP_SECONDS / period)),
        "livenessProbe": probes.liveness(role),
        "readinessProbe": _http_probe(READINESS_PATH, "http", period=10, failures=3),
    }


def container_env(spec: N8nWorkloads, role: Role) -> dict[str, pulumi.Input[str]]:
    """The contract's environment plus the pod-derived NODE_OPTIONS (heap below the limit) and HOME."""
    env = dict(n8n_env(role, spec.env))
    heap = f"--max-old-space-size={heap_mib(shape(spec, role).resources.memory_limit)}"
    env["NODE_OPTIONS"] = f"{env['NODE_OPTIONS']} {heap}" if "NODE_OPTIONS" in env else heap
    env.setdefault("HOME", USER_FOLDER)
    return env


def _ca_volumes(spec: N8nWorkloads) -> list[tuple[str, str, CaBundle]]:
    """(volume name, purpose, bundle) of the CA bundles the n8n container needs."""
    out = []
    if spec.env.db.ssl and spec.env.db.ca is not None:
        out.append(("ca-db", "db", spec.env.db.ca))
    if spec.env.redis.tls and spec.env.redis.ca is not None:
        out.append(("ca-redis", "redis", spec.env.redis.ca))
    return out


def n8n_container(spec: N8nWorkloads, role: Role) -> dict[str, Any]:
    """The n8n container of ``role`` (args for the image entrypoint, which runs ``exec n8n "$@"``)."""
    env = container_env(spec, role)
    mounts = [{"name": "secrets", "mountPath": SECRETS_DIR, "readOnly": True}]
    mounts += [{"name": name, "mountPath": path} for name, path, _, _ in N8N_SCRATCH]
    mounts += [{"name": name, "mountPath": f"{CA_DIR}/{purpose}", "readOnly": True}
               for name, purpose, _ in _ca_volumes(spec)]
    mounts += [{"name": name, "mountPath": f"{CONNECTION_SECRETS_DIR}/{purpose}", "readOnly": True}
               for name, purpose, _ in connection_secrets(spec)]
    container: dict[str, Any] = {
        "name": "n8n",
        "image": image(spec),
        "imagePullPolicy": "Always",
        "args": n8n_args(role, spec.env),
        "env": _env_list(env),
        "ports": [{"name": "http", "containerPort": health_port(role, env), "protocol": "TCP"}],
        **n8n_probes(role),
        "resources": k8s.resources(shape(spec, role).resources),
        "securityContext": k8s.container_security_context(),
        "volumeMounts": mounts,
    }
    if prestop_seconds(role):
        container["lifecycle"] = {"preStop": {"sleep": {"seconds": prestop_seconds(role)}}}
    return container


def runner_sidecar(spec: N8nWorkloads) -> dict[str, Any]:
    """The n8nio/runners launcher as a native sidecar (init container, restartPolicy Always), same tag as n8n."""
    mounts = [{"name": "runner-token", "mountPath": SECRETS_DIR, "readOnly": True}]
    mounts += [{"name": name, "mountPath": path} for name, path, _ in RUNNER_SCRATCH]
    return {
        "name": "runners",
        "image": runners_image(spec),
        "imagePullPolicy": "Always",
        "restartPolicy": "Always",
        "env": _env_list(sidecar_env(spec)),
        "ports": [{"name": "runner-health", "containerPort": RUNNER_HEALTH_PORT, "protocol": "TCP"}],
        "livenessProbe": _http_probe(HEALTH_PATH, "runner-health", period=15, failures=4),
        "readinessProbe": _http_probe(HEALTH_PATH, "runner-health", period=10, failures=3),
        "resources": k8s.resources(spec.runners_resources),
        "securityContext": k8s.container_security_context(),
        "volumeMounts": mounts,
    }


# --- pods ---------------------------------------------------------------------------------------------------------


def volumes(spec: N8nWorkloads, role: Role) -> list[dict[str, Any]]:
    """The n8n Secret (read-only files), scratch emptyDirs, CA bundles and, with a runner, its token alone."""
    out: list[dict[str, Any]] = [
        {"name": "secrets", "secret": {"secretName": spec.env.secret_name, "defaultMode": 0o440}},
    ]
    out += [k8s.empty_dir(name, size, medium) for name, _, size, medium in N8N_SCRATCH]
    out += [{"name": name, "secret": {"secretName": ref.secret, "defaultMode": 0o440,
                                      "items": [{"key": ref.key, "path": ref.key}]}}
            for name, _, ref in connection_secrets(spec)]
    for name, _, bundle in _ca_volumes(spec):
        items = [{"key": bundle.key, "path": bundle.key}]
        if bundle.source == "secret":
            out.append({"name": name, "secret": {"secretName": bundle.name, "items": items, "defaultMode": 0o444}})
        else:
            out.append({"name": name, "configMap": {"name": bundle.name, "items": items, "defaultMode": 0o444}})
    if executes_code(role):
        out.append({"name": "runner-token", "secret": {
            "secretName": spec.env.secret_name, "defaultMode": 0o440,
            "items": [{"key": names.RUNNERS_AUTH_TOKEN, "path": names.RUNNERS_AUTH_TOKEN}]}})
        out += [k8s.empty_dir(name, size) for name, _, size in RUNNER_SCRATCH]
    return out


def topology_spread(role: Role, selector: dict[str, str] | None = None) -> list[dict[str, Any]]:
    """Spread over zones and nodes, per ReplicaSet; ScheduleAnyway so a full zone or a lost spot AZ never leaves a
    pod Pending (hard zone spreading would also block clusters whose nodes carry no zone label)."""
    return [{
        "maxSkew": 1,
        "topologyKey": key,
        "whenUnsatisfiable": "ScheduleAnyway",
        "labelSelector": {"matchLabels": selector or k8s.selector(role, APP)},
        "matchLabelKeys": ["pod-template-hash"],
        "nodeTaintsPolicy": "Honor",
    } for key in ("topology.kubernetes.io/zone", "kubernetes.io/hostname")]


def worker_placement(spot_pool: bool) -> dict[str, Any]:
    """Workers tolerate the spot pool's taint and require its label; nothing when the pool does not exist."""
    if not spot_pool:
        return {}
    key, value = names.WORKER_POOL_LABEL
    return {
        "tolerations": [{"key": names.WORKER_POOL_TAINT["key"], "operator": "Equal",
                         "value": names.WORKER_POOL_TAINT["value"], "effect": names.WORKER_POOL_TAINT["effect"]}],
        "affinity": {"nodeAffinity": {"requiredDuringSchedulingIgnoredDuringExecution": {"nodeSelectorTerms": [
            {"matchExpressions": [{"key": key, "operator": "In", "values": [value]}]}]}}},
    }


def pod_spec(spec: N8nWorkloads, role: Role) -> dict[str, Any]:
    pod: dict[str, Any] = {
        "serviceAccountName": object_name(role, spec.prefix),
        "automountServiceAccountToken": False,
        "enableServiceLinks": False,
        "securityContext": k8s.pod_security_context(),
        "terminationGracePeriodSeconds": termination_grace(role, spec.env.graceful_shutdown_seconds),
        "containers": [n8n_container(spec, role)],
        "volumes": volumes(spec, role),
        "topologySpreadConstraints": topology_spread(role, _selector(spec, role)),
    }
    if executes_code(role):
        pod["initContainers"] = [runner_sidecar(spec)]
    if role == "worker":
        pod.update(worker_placement(spec.spot_pool))
    return pod


def strategy(spec: N8nWorkloads, role: Role) -> dict[str, Any]:
    """Recreate for a single (unlicensed) main; otherwise surge (mains one pod, scaled roles a share), never going
    below the desired count."""
    if role == "main":
        if spec.main.replicas == 1:
            return {"type": "Recreate"}
        return {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": 1}}
    return {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 0, "maxSurge": SCALED_MAX_SURGE}}


def deployment(spec: N8nWorkloads, role: Role) -> dict[str, Any]:
    """The Deployment of ``role``."""
    version_label = {"app.kubernetes.io/version": spec.env.version}
    annotations = {**k8s.checkov_skips(k8s.PINNED_TAG_SKIP), "pulumi.com/timeoutSeconds": str(ROLLOUT_TIMEOUT_SECONDS)}
    pod_annotations: dict[str, Any] = {SAFE_TO_EVICT: "true"} if role in ("webhook", "worker") else {}
    if spec.secrets_revision is not None:
        pod_annotations[names.SECRETS_REVISION_ANNOTATION] = spec.secrets_revision
    template_meta: dict[str, Any] = {"labels": {**k8s.labels(role, APP), **version_label, **_instance(spec)}}
    if pod_annotations:
        template_meta["annotations"] = pod_annotations
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": _meta(spec, role, annotations=annotations, extra_labels=version_label),
        "spec": {
            "replicas": shape(spec, role).replicas,
            "revisionHistoryLimit": 5,
            "progressDeadlineSeconds": ROLLOUT_TIMEOUT_SECONDS,
            "selector": {"matchLabels": _selector(spec, role)},
            "strategy": strategy(spec, role),
            "template": {"metadata": template_meta, "spec": pod_spec(spec, role)},
        },
    }


# --- the objects around the pods ----------------------------------------------------------------------------------


def service_account(spec: N8nWorkloads, role: Role) -> dict[str, Any]:
    """A dedicated identity per role, without an API token (n8n never calls the Kubernetes API)."""
    return {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": _meta(spec, role),
        "automountServiceAccountToken": False,
    }


def service(spec: N8nWorkloads, role: Role) -> dict[str, Any]:
    """ClusterIP Service of main / webhook processors (HTTP and /metrics on one port); headless for workers, whose
    only listener is the health and metrics server (scraped per pod)."""
    body: dict[str, Any] = {
        "type": "ClusterIP",
        **({"clusterIP": "None"} if role == "worker" else {}),
        "selector": _selector(spec, role),
        "ports": [{"name": "http", "port": names.N8N_PORT, "targetPort": "http", "protocol": "TCP",
                   "appProtocol": "http"}],
    }
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": _meta(spec, role), "spec": body}


def disruption_budget(spec: N8nWorkloads, role: Role) -> dict[str, Any] | None:
    """A budget that can always be satisfied, or None (single main: see the module docstring)."""
    if role == "main" and spec.main.replicas < 2:
        return None
    if role == "webhook" and spec.webhook.replicas < 1:
        return None
    max_unavailable: int | str = WORKER_MAX_UNAVAILABLE if role == "worker" else 1
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": _meta(spec, role),
        "spec": {
            "maxUnavailable": max_unavailable,
            "selector": {"matchLabels": _selector(spec, role)},
            "unhealthyPodEvictionPolicy": "AlwaysAllow",
        },
    }


def webhook_autoscaler(spec: N8nWorkloads) -> dict[str, Any] | None:
    """CPU HorizontalPodAutoscaler of the webhook processors (min = replicas), or None when there is nothing to
    scale. Worker autoscaling (KEDA on the Redis backlog) is built elsewhere against :func:`object_name`."""
    low, high = spec.webhook.replicas, spec.webhook_max_replicas
    if low < 1 or high <= low:
        return None
    return cpu_utilization_hpa(
        object_name("webhook", spec.prefix), spec.namespace, object_name("webhook", spec.prefix), "webhook",
        min_replicas=low,
        max_replicas=high, cpu_percent=WEBHOOK_CPU_TARGET, behavior={
            "scaleUp": {"stabilizationWindowSeconds": 0, "selectPolicy": "Max", "policies": [
                {"type": "Percent", "value": 100, "periodSeconds": 30},
                {"type": "Pods", "value": 2, "periodSeconds": 30}]},
            "scaleDown": {"stabilizationWindowSeconds": WEBHOOK_SCALE_DOWN_WINDOW, "selectPolicy": "Max",
                          "policies": [{"type": "Pods", "value": 1, "periodSeconds": 60}]},
        })


def autoscaled(spec: N8nWorkloads, role: Role) -> bool:
    """Whether something other than Pulumi owns the replica count (workers: KEDA/HPA; webhook: its HPA)."""
    return role == "worker" or (role == "webhook" and webhook_autoscaler(spec) is not None)


def role_manifests(spec: N8nWorkloads, role: Role) -> list[dict[str, Any]]:
    """Every object of one role: ServiceAccount, Deployment, Service, then budget and autoscaler if any."""
    objects = [service_account(spec, role), deployment(spec, role), service(spec, role),
               disruption_budget(spec, role)]
    if role == "webhook":
        objects.append(webhook_autoscaler(spec))
    return [o for o in objects if o is not None]


def manifests(spec: N8nWorkloads) -> list[dict[str, Any]]:
    """Every object of the n8n workloads (validated first)."""
    validate(spec)
    return [m for role in roles(spec) for m in role_manifests(spec, role)]

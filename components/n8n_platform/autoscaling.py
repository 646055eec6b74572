"""Worker autoscaling: KEDA on the Bull queue in Redis (or a CPU HorizontalPodAutoscaler), plus sizing arithmetic.

**What is scaled on.** n8n's queue is Bull's ``jobs`` queue under ``QUEUE_BULL_PREFIX`` (default ``bull``): the
backlog is the list ``<prefix>:jobs:wait`` and the jobs workers hold are in ``<prefix>:jobs:active``. Two KEDA
``redis`` triggers read both lists, and a scaling-modifier formula adds them (``wait + active``) against a target of
*jobs per worker* (default: the worker concurrency). The sum is the demand; scaling on ``max(wait, active)`` (as
n8n's Terraform module does) under-provisions whenever the backlog is smaller than the work in flight (5 busy
workers at concurrency 10 with 30 waiting jobs would stay at 5 instead of 8).

**Scaling down slowly.** KEDA's ``cooldownPeriod`` only governs the last step to zero replicas; every other
scale-down is the HPA's, so ``advanced.horizontalPodAutoscalerConfig.behavior`` sets a scale-down stabilization
window of the same cooldown and removes at most one worker per minute. Scale-up is fast (double, or +4 pods, every
15 s). The cooldown must exceed ``N8N_GRACEFUL_SHUTDOWN_TIMEOUT``: a worker told to stop lets its running executions
finish for that long, and the queue length dips while it does.

**Secrets.** The Redis password (and the CA that verifies Redis, when it is private) reach KEDA through a
``TriggerAuthentication`` that *references* the n8n Secret's keys; no secret value is ever placed in a manifest.

**Spot interruptions, end to end** (the worker pod is the workloads builder's; this is the contract):

1. EC2 sends a rebalance recommendation or the 2-minute interruption notice. EKS managed node groups react on their
   own (capacity rebalancing): a replacement node is started and the old one is cordoned and drained with the
   Eviction API, so PodDisruptionBudgets (the workloads helper owns the workers' PDB) are respected.
   Alternative for self-managed groups or Karpenter-less clusters: the AWS Node Termination Handler in queue mode
   (EventBridge + SQS), which does the same cordon-and-drain.
2. Eviction sends SIGTERM after the pod's preStop hook. The n8n worker stops taking jobs and lets running executions
   finish for ``N8N_GRACEFUL_SHUTDOWN_TIMEOUT`` seconds; ``terminationGracePeriodSeconds`` must exceed that timeout
   plus the preStop sleep, and the whole must fit inside the 2-minute notice (so keep the shutdown timeout around
   60-90 s on spot).
3. Jobs that could not finish are not lost: their Bull lock expires and, in n8n 2.x, a stalled job is failed (not
   retried) - so workflows should be idempotent and the recovery is a re-run. Waiting jobs stay in Redis and are
   picked up by the remaining and replacement workers; KEDA sees ``wait + active`` and scales back up.
"""

# No `from __future__ import annotations` here: Pulumi's schema analyzer reads the Args annotations at run time.
import math
from dataclasses import dataclass
from typing import Any, NotRequired, TypedDict

import pulumi

from . import k8s, schema
from .arguments import at_least, checked, dns_label, flag, namespace, plain, refuse, structured
from .connections import RedisConnection, as_text
from .n8n.spec import WorkerSettings
from .schema import Section, setting


@dataclass(frozen=True, kw_only=True)
class AutoscalingSettings(Section):
    """How the worker count follows the queue."""

    keda: bool = setting("Scale workers with KEDA on the Redis backlog; off: a CPU HorizontalPodAutoscaler.", True)
    jobs_per_worker: int = setting("Waiting+active jobs one worker should carry before another is added; "
                                   "defaults to the worker concurrency.", 0, check=schema.at_least(0))
    cooldown_seconds: int = setting("KEDA cooldown before scaling down; longer than the graceful shutdown.", 300,
                                    check=schema.at_least(30))


KEDA_API_VERSION = "keda.sh/v1alpha1"
POLLING_SECONDS = 15
"""How often KEDA reads the queue lengths."""
SCALE_DOWN_PODS_PER_MINUTE = 1
"""Most workers removed per minute."""
CPU_TARGET_PERCENT = 70
"""Average CPU utilisation the fallback HPA aims for."""


def worker_bounds(executions_per_second: float, avg_execution_seconds: float, concurrency: int,
                  headroom: float = 2.0) -> tuple[int, int]:
    """Worker replica bounds from the expected load, by Little's law.

    In steady state the number of executions in flight is ``L = lambda * W`` (arrival rate times mean duration).
    One worker runs ``concurrency`` at a time, so the average load needs ``ceil(L / concurrency)`` workers: that is
    ``min`` (never below 1, so the queue is always served without a cold start). ``max`` covers bursts of
    ``headroom`` times the average: ``ceil(headroom * L / concurrency)``, never below ``min``.

    >>> worker_bounds(2, 30, 10)   # 60 executions in flight -> 6 workers, bursts up to 12
    (6, 12)
    """
    for label, value in (("executions_per_second", executions_per_second),
                         ("avg_execution_seconds", avg_execution_seconds), ("headroom", headroom)):
        if not math.isfinite(value) or value < 0:
            raise ValueError(f"{label} must be a finite number >= 0, got {value!r}")
    if headroom < 1:
        raise ValueError(f"headroom must be >= 1 (a multiple of the average load), got {headroom!r}")
    if isinstance(concurrency, bool) or not isinstance(concurrency, int) or concurrency < 1:
        raise ValueError(f"concurrency must be an integer >= 1, got {concurrency!r}")
    in_flight = executions_per_second * avg_execution_seconds
    low = max(1, _ceil(in_flight / concurrency))
    high = max(low, _ceil(headroom * in_flight / concurrency))
    return low, high


def _ceil(x: float) -> int:
    """Ceiling that ignores float noise (0.1 * 30 / 3 is 1.0000000000000002, not 2 workers)."""
    return math.ceil(round(x, 9))


def queue_keys(prefix: str) -> tuple[str, str]:
    """The Bull lists of n8n's ``jobs`` queue: (waiting, active)."""
    return f"{prefix}:jobs:wait", f"{prefix}:jobs:active"


def jobs_per_worker(configured: int, concurrency: int) -> int:
    """Queue depth one worker should carry: the setting, or the worker concurrency when it is 0 (unset)."""
    return configured if configured > 0 else concurrency


def check_cooldown(cooldown_seconds: int, graceful_shutdown_seconds: int) -> None:
    """Scale-down must wait longer than a worker's graceful shutdown (else it reacts to its own drain)."""
    if cooldown_seconds <= graceful_shutdown_seconds:
        raise ValueError(f"cooldown ({cooldown_seconds}s) must exceed the graceful shutdown timeout "
                         f"({graceful_shutdown_seconds}s)")


def scale_behavior(cooldown_seconds: int) -> dict[str, Any]:
    """HPA behavior: add workers fast, remove them one per minute after ``cooldown_seconds`` of lower demand."""
    return {
        "scaleUp": {
            "stabilizationWindowSeconds": 0,
            "selectPolicy": "Max",
            "policies": [{"type": "Percent", "value": 100, "periodSeconds": 15},
                         {"type": "Pods", "value": 4, "periodSeconds": 15}],
        },
        "scaleDown": {
            "stabilizationWindowSeconds": cooldown_seconds,
            "selectPolicy": "Min",
            "policies": [{"type": "Pods", "value": SCALE_DOWN_PODS_PER_MINUTE, "periodSeconds": 60}],
        },
    }


def trigger_authentication(name: str, namespace: str, redis: RedisConnection) -> dict[str, Any] | None:
    """KEDA TriggerAuthentication referencing the Redis password and private CA by Secret/ConfigMap key.

    None when Redis needs neither (no auth, publicly trusted or no TLS).
    """
    refs: dict[str, list[dict[str, str]]] = {"secretTargetRef": [], "configMapTargetRef": []}
    if redis.password is not None:
        refs["secretTargetRef"].append({"parameter": "password", "name": redis.password.secret,
                                        "key": redis.password.key})
    if redis.tls and redis.ca is not None:
        source = "secretTargetRef" if redis.ca.source == "secret" else "configMapTargetRef"
        refs[source].append({"parameter": "ca", "name": redis.ca.name, "key": redis.ca.key})
    spec = {field: items for field, items in refs.items() if items}
    if not spec:
        return None
    return {"apiVersion": KEDA_API_VERSION, "kind": "TriggerAuthentication",
            "metadata": k8s.metadata(name, namespace, "worker"), "spec": spec}


def scaled_object(name: str, namespace: str, deployment: str, redis: RedisConnection, *, jobs_per_worker: int,
                  min_replicas: int, max_replicas: int, cooldown_seconds: int,
                  auth_name: str | None) -> dict[str, Any]:
    """KEDA ScaledObject scaling the worker Deployment on ``wait + active`` jobs per worker.

    ``redis.host`` may be a Pulumi Input; it is only placed. ``auth_name`` names the TriggerAuthentication from
    :func:`trigger_authentication` (None when Redis needs no credentials).
    """
    if not 0 <= min_replicas <= max_replicas or max_replicas < 1:
        raise ValueError(f"need 0 <= min_replicas ({min_replicas}) <= max_replicas ({max_replicas}), max >= 1")
    if jobs_per_worker < 1:
        raise ValueError(f"jobs_per_worker must be >= 1, got {jobs_per_worker}")
    triggers = []
    for trigger_name, key in zip(("wait", "active"), queue_keys(redis.prefix), strict=True):
        trigger: dict[str, Any] = {
            "type": "redis",
            "name": trigger_name,
            "metadata": {
                "host": redis.host,
                "port": as_text(redis.port),
                "listName": key,
                "listLength": str(jobs_per_worker),
                "activationListLength": "0",
                "databaseIndex": "0",
                "enableTLS": "true" if redis.tls else "false",
            },
        }
        if auth_name:
            trigger["authenticationRef"] = {"name": auth_name}
        triggers.append(trigger)
    return {
        "apiVersion": KEDA_API_VERSION,
        "kind": "ScaledObject",
        "metadata": k8s.metadata(name, namespace, "worker"),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
            "pollingInterval": POLLING_SECONDS,
            "cooldownPeriod": cooldown_seconds,
            "minReplicaCount": min_replicas,
            "maxReplicaCount": max_replicas,
            "advanced": {
                "restoreToOriginalReplicaCount": False,
                "scalingModifiers": {"formula": "wait + active", "target": str(jobs_per_worker),
                                     "metricType": "AverageValue"},
                "horizontalPodAutoscalerConfig": {"behavior": scale_behavior(cooldown_seconds)},
            },
            "triggers": triggers,
        },
    }


def cpu_utilization_hpa(name: str, namespace: str, deployment: str, component: str, *, min_replicas: int,
                        max_replicas: int, cpu_percent: int, behavior: dict[str, Any]) -> dict[str, Any]:
    """autoscaling/v2 HorizontalPodAutoscaler of ``deployment`` on average CPU utilisation (of requests), never below
    one replica; shared by the worker fallback and the webhook processors' autoscaler."""
    return {
        "apiVersion": "autoscaling/v2",
        "kind": "HorizontalPodAutoscaler",
        "metadata": k8s.metadata(name, namespace, component),
        "spec": {
            "scaleTargetRef": {"apiVersion": "apps/v1", "kind": "Deployment", "name": deployment},
            "minReplicas": max(1, min_replicas),
            "maxReplicas": max(max_replicas, 1, min_replicas),
            "metrics": [{"type": "Resource", "resource": {
                "name": "cpu", "target": {"type": "Utilization", "averageUtilization": cpu_percent}}}],
            "behavior": behavior,
        },
    }


def cpu_hpa(name: str, namespace: str, deployment: str, *, min_replicas: int, max_replicas: int,
            cooldown_seconds: int, cpu_percent: int = CPU_TARGET_PERCENT) -> dict[str, Any]:
    """The workers' HorizontalPodAutoscaler on CPU: the fallback when KEDA is not used.

    CPU is a poor proxy for queue depth (workers mostly wait on I/O); it is the fallback, not the recommendation.
    """
    return cpu_utilization_hpa(name, namespace, deployment, "worker", min_replicas=min_replicas,
                               max_replicas=max_replicas, cpu_percent=cpu_percent,
                               behavior=scale_behavior(cooldown_seconds))


WORKER_DEFAULTS, AUTOSCALING_DEFAULTS = WorkerSettings(), AutoscalingSettings()
"""The platform's defaults (settings ``n8n.worker`` and ``autoscaling``), also the component's."""


class WorkerAutoscalingArgs(TypedDict):
    """How the worker Deployment follows the queue. Only ``namespace``, ``deployment`` and ``redis`` are required."""

    namespace: pulumi.Input[str]
    """Namespace of the worker Deployment."""
    deployment: str
    """Name of the worker Deployment (``N8nApp.worker_deployment``; ``n8n-worker`` by default); its replicas must be
    left to the autoscaler. A plain value: the autoscaler's objects are named after it."""
    redis: RedisConnection
    """The Redis n8n's queue lives in (host, port, TLS, password/CA references, key prefix)."""
    min_replicas: NotRequired[int]
    """Fewest workers (default 3)."""
    max_replicas: NotRequired[int]
    """Most workers (default 20)."""
    concurrency: NotRequired[int]
    """Executions one worker runs at once (default 10)."""
    jobs_per_worker: NotRequired[int]
    """Waiting + active jobs per worker before another is added; 0 (default) means the concurrency."""
    cooldown_seconds: NotRequired[int]
    """Scale-down stabilization (and KEDA cooldown), default 300; must exceed the graceful shutdown timeout."""
    graceful_shutdown_seconds: NotRequired[int]
    """N8N_GRACEFUL_SHUTDOWN_TIMEOUT of the workers (default 60)."""
    keda: NotRequired[bool]
    """True (default): a KEDA ScaledObject on queue depth (KEDA and its CRDs must be installed first); false: a CPU
    HorizontalPodAutoscaler."""


class WorkerAutoscaling(pulumi.ComponentResource):
    """Scales the n8n worker Deployment: KEDA on Redis queue depth, or a CPU HPA as fallback. Needs first: the
    worker Deployment and, with KEDA, KEDA's CRDs. Stateless: nothing is kept on delete. The scaler resource is
    the ``scaler`` attribute (Python only)."""

    scaler_kind: pulumi.Output[str]
    """``ScaledObject`` or ``HorizontalPodAutoscaler``."""

    def __init__(self, name: str, args: WorkerAutoscalingArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("n8n:index:WorkerAutoscaling", name, None, opts)
        where = "WorkerAutoscaling"
        args = checked(where, args, WorkerAutoscalingArgs, {  # type: ignore[assignment]
            "namespace": lambda c, a, v: namespace(c, v, a), "min_replicas": at_least(0), "max_replicas": at_least(1),
            "concurrency": at_least(1), "jobs_per_worker": at_least(0), "cooldown_seconds": at_least(0),
            "graceful_shutdown_seconds": at_least(0), "keda": flag})
        if args.get("min_replicas", 0) > args.get("max_replicas", WORKER_DEFAULTS.max_replicas):
            raise refuse(where, "min_replicas", args["min_replicas"],
                         f"at most max_replicas ({args.get('max_replicas', WORKER_DEFAULTS.max_replicas)})")

        def number(key: str, default: int) -> int:
            return plain(where, key, args.get(key, default))

        min_replicas = number("min_replicas", WORKER_DEFAULTS.min_replicas)
        max_replicas = number("max_replicas", WORKER_DEFAULTS.max_replicas)
        cooldown = number("cooldown_seconds", AUTOSCALING_DEFAULTS.cooldown_seconds)
        check_cooldown(cooldown, number("graceful_shutdown_seconds", 60))
        redis = structured(where, "redis", RedisConnection, args["redis"])
        child = pulumi.ResourceOptions(parent=self)
        ns, deployment = args["namespace"], dns_label(where, "deployment", args["deployment"], room=len("-redis"))
        if plain(where, "keda", args.get("keda", AUTOSCALING_DEFAULTS.keda)):
            auth = trigger_authentication(f"{deployment}-redis", ns, redis)
            depends = [k8s.apply(name, auth, child)] if auth else []
            per_worker = jobs_per_worker(number("jobs_per_worker", AUTOSCALING_DEFAULTS.jobs_per_worker),
                                         number("concurrency", WORKER_DEFAULTS.concurrency))
            manifest = scaled_object(
                deployment, ns, deployment, redis, jobs_per_worker=per_worker, min_replicas=min_replicas,
                max_replicas=max_replicas, cooldown_seconds=cooldown,
                auth_name=auth["metadata"]["name"] if auth else None)
            self.scaler = k8s.apply(name, manifest, pulumi.ResourceOptions(parent=self, depends_on=depends))
        else:
            manifest = cpu_hpa(deployment, ns, deployment, min_replicas=min_replicas, max_replicas=max_replicas,
                               cooldown_seconds=cooldown)
            self.scaler = k8s.apply(name, manifest, child)
        self.scaler_kind = pulumi.Output.from_input(manifest["kind"])
        self.register_outputs({"scaler_kind": self.scaler_kind})

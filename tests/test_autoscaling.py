"""autoscaling.py: Little's-law sizing, the KEDA ScaledObject/TriggerAuthentication, the CPU HPA fallback."""

from __future__ import annotations

import json

import pytest

from n8n_platform import autoscaling, names
from n8n_platform.autoscaling import WorkerAutoscaling, WorkerAutoscalingArgs
from n8n_platform.connections import CaBundle, RedisConnection, SecretKeyRef
from tests.harness import run
from tools.ci import gates

PASSWORD = SecretKeyRef(names.N8N_SECRET, names.REDIS_PASSWORD)
ELASTICACHE = RedisConnection(host="master.n8n.abc.euw1.cache.amazonaws.com", port=6379, tls=True,
                              password=PASSWORD, ca=None, managed=True, prefix="n8nprod")
IN_CLUSTER = RedisConnection(host="n8n-redis.n8n.svc", port=6379, tls=True, password=PASSWORD,
                             ca=CaBundle("secret", "n8n-redis-tls", "ca.crt"), managed=False)
NO_AUTH = RedisConnection(host="redis", port=6379, tls=False, password=None, ca=None, managed=False)


# --- sizing ------------------------------------------------------------------------------------------------------

@pytest.mark.parametrize(("rate", "seconds", "concurrency", "headroom", "expected"), [
    (2, 30, 10, 2.0, (6, 12)),       # 60 in flight
    (0, 30, 10, 2.0, (1, 1)),        # idle: still one worker
    (0.1, 30, 3, 2.0, (1, 2)),       # 3 in flight: float noise must not round 1.0000000000000002 up to 2
    (1, 1, 10, 1.0, (1, 1)),         # no headroom
    (100, 2.5, 20, 1.5, (13, 19)),   # 250 in flight -> 12.5 -> 13; 375 -> 18.75 -> 19
])
def test_worker_bounds_littles_law(rate, seconds, concurrency, headroom, expected):
    assert autoscaling.worker_bounds(rate, seconds, concurrency, headroom) == expected


@pytest.mark.parametrize(("rate", "seconds", "concurrency", "headroom"), [
    (-1, 30, 10, 2.0), (1, -1, 10, 2.0), (1, 30, 0, 2.0), (1, 30, 2.5, 2.0), (1, 30, 10, 0.5),
    (float("nan"), 30, 10, 2.0), (float("inf"), 30, 10, 2.0), (1, 30, True, 2.0),
])
def test_worker_bounds_rejects_nonsense(rate, seconds, concurrency, headroom):
    with pytest.raises(ValueError):
        autoscaling.worker_bounds(rate, seconds, concurrency, headroom)


def test_jobs_per_worker_defaults_to_concurrency_and_cooldown_check():
    assert autoscaling.jobs_per_worker(0, 10) == 10
    assert autoscaling.jobs_per_worker(4, 10) == 4
    autoscaling.check_cooldown(300, 60)
    with pytest.raises(ValueError):
        autoscaling.check_cooldown(60, 60)


# --- KEDA --------------------------------------------------------------------------------------------------------

def scaled(redis=ELASTICACHE, auth="n8n-worker-redis", **kw):
    params = dict(jobs_per_worker=10, min_replicas=3, max_replicas=20, cooldown_seconds=300)
    params.update(kw)
    return autoscaling.scaled_object("n8n-worker", "n8n", "n8n-worker", redis, auth_name=auth, **params)


def test_scaled_object_reads_wait_and_active_under_the_prefix():
    so = scaled()
    triggers = {t["name"]: t for t in so["spec"]["triggers"]}
    assert set(triggers) == {"wait", "active"}
    assert triggers["wait"]["metadata"]["listName"] == "n8nprod:jobs:wait"
    assert triggers["active"]["metadata"]["listName"] == "n8nprod:jobs:active"
    for t in triggers.values():
        assert t["type"] == "redis"
        assert t["metadata"]["listLength"] == "10"
        assert t["metadata"]["enableTLS"] == "true"
        assert t["metadata"]["host"] == ELASTICACHE.host and t["metadata"]["port"] == "6379"
        assert t["authenticationRef"] == {"name": "n8n-worker-redis"}
        assert all(isinstance(v, str) for v in t["metadata"].values())  # KEDA metadata is map[string]string
    modifiers = so["spec"]["advanced"]["scalingModifiers"]
    assert modifiers["formula"] == "wait + active" and modifiers["target"] == "10"
    assert so["spec"]["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "n8n-worker"}
    assert (so["spec"]["minReplicaCount"], so["spec"]["maxReplicaCount"]) == (3, 20)
    assert gates.schema_errors([so]) == []


def test_default_prefix_is_bull():
    so = scaled(redis=NO_AUTH, auth=None)
    assert [t["metadata"]["listName"] for t in so["spec"]["triggers"]] == ["bull:jobs:wait", "bull:jobs:active"]
    assert all("authenticationRef" not in t for t in so["spec"]["triggers"])
    assert {t["metadata"]["enableTLS"] for t in so["spec"]["triggers"]} == {"false"}


def test_scale_down_is_slow_and_longer_than_the_shutdown():
    so = scaled(cooldown_seconds=400)
    assert so["spec"]["cooldownPeriod"] == 400
    down = so["spec"]["advanced"]["horizontalPodAutoscalerConfig"]["behavior"]["scaleDown"]
    assert down["stabilizationWindowSeconds"] == 400
    assert down["policies"] == [{"type": "Pods", "value": 1, "periodSeconds": 60}]


def test_scaled_object_rejects_bad_bounds():
    with pytest.raises(ValueError):
        scaled(min_replicas=5, max_replicas=2)
    with pytest.raises(ValueError):
        scaled(jobs_per_worker=0)


def test_trigger_authentication_references_secret_keys_only():
    ta = autoscaling.trigger_authentication("n8n-worker-redis", "n8n", IN_CLUSTER)
    assert ta["spec"] == {"secretTargetRef": [
        {"parameter": "password", "name": names.N8N_SECRET, "key": names.REDIS_PASSWORD},
        {"parameter": "ca", "name": "n8n-redis-tls", "key": "ca.crt"}]}
    assert gates.schema_errors([ta]) == []
    config_map_ca = RedisConnection(host="r", port=6379, tls=True, password=None,
                                    ca=CaBundle("configMap", "redis-ca", "ca.pem"), managed=False)
    assert autoscaling.trigger_authentication("x", "n8n", config_map_ca)["spec"] == {
        "configMapTargetRef": [{"parameter": "ca", "name": "redis-ca", "key": "ca.pem"}]}
    assert autoscaling.trigger_authentication("x", "n8n", NO_AUTH) is None


def test_cpu_hpa_fallback_validates_and_never_goes_below_one():
    hpa = autoscaling.cpu_hpa("n8n-worker", "n8n", "n8n-worker", min_replicas=0, max_replicas=10,
                              cooldown_seconds=300)
    assert hpa["spec"]["minReplicas"] == 1
    assert hpa["spec"]["behavior"]["scaleDown"]["stabilizationWindowSeconds"] == 300
    assert gates.schema_errors([hpa]) == []


# --- component ---------------------------------------------------------------------------------------------------

def component_args(**over) -> WorkerAutoscalingArgs:
    base = WorkerAutoscalingArgs(namespace="n8n", deployment="n8n-worker", redis=ELASTICACHE, min_replicas=3,
                                 max_replicas=20, concurrency=10, jobs_per_worker=0, cooldown_seconds=300,
                                 graceful_shutdown_seconds=60, keda=True)
    base.update(over)
    return base


def test_component_keda_never_inlines_the_password():
    rec = run(lambda: WorkerAutoscaling("autoscaling", component_args()))
    manifests = rec.manifests()
    kinds = sorted(m["kind"] for m in manifests)
    assert kinds == ["ScaledObject", "TriggerAuthentication"]
    assert gates.schema_errors(manifests) == []
    text = json.dumps(manifests)
    assert "[secret]" not in text and "password" in text  # referenced by parameter name, never a value
    so = rec.one("kubernetes:keda.sh/v1alpha1:ScaledObject")
    ta = rec.one("kubernetes:keda.sh/v1alpha1:TriggerAuthentication")
    assert ta.name in so.options["depends_on"]
    assert so.parent == "autoscaling"


def test_component_hpa_when_keda_is_off():
    rec = run(lambda: WorkerAutoscaling("autoscaling", component_args(keda=False)))
    assert [m["kind"] for m in rec.manifests()] == ["HorizontalPodAutoscaler"]


def test_component_refuses_cooldown_below_shutdown():
    with pytest.raises(ValueError, match="cooldown"):
        run(lambda: WorkerAutoscaling("autoscaling", component_args(cooldown_seconds=30)))

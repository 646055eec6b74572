"""The n8n workload manifests (pure builders): pods, probes, security, scheduling, budgets, autoscaling, validators."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path

import pytest

from n8n_platform import k8s, names
from n8n_platform.connections import CA_DIR, SECRETS_DIR, CaBundle, DatabaseConnection, RedisConnection, SecretKeyRef
from n8n_platform.n8n import workloads as w
from n8n_platform.n8n.env import FORBIDDEN, N8nEnvInputs, n8n_env
from n8n_platform.n8n.spec import N8nSettings
from n8n_platform.schema import quantity_bytes
from tools.ci import gates

ROOT = Path(__file__).resolve().parent.parent
N8N = N8nSettings()
DB = DatabaseConnection(
    host="db.internal", port=5432, database="n8n", user="n8n", schema="n8n",
    password=SecretKeyRef(names.N8N_SECRET, names.DB_PASSWORD), ssl=True,
    ca=CaBundle(source="configMap", name="rds-ca", key="ca.pem"),
)
REDIS = RedisConnection(
    host="redis.internal", port=6379, tls=True, password=SecretKeyRef(names.N8N_SECRET, names.REDIS_PASSWORD),
    ca=CaBundle(source="secret", name="redis-tls", key="ca.crt"), managed=False,
)
ENV = N8nEnvInputs(hostname="n8n.example.com", db=DB, redis=REDIS, worker_concurrency=20,
                   graceful_shutdown_seconds=60, version="2.40.7")


def make(*, main: int = 1, webhook: int = 2, webhook_max: int = 10, workers: int = 3, spot: bool = True,
         env: N8nEnvInputs = ENV) -> w.N8nWorkloads:
    env = dataclasses.replace(env, webhook_processors=webhook > 0, multi_main=main > 1,
                              licensed=main > 1 or env.licensed)
    return w.N8nWorkloads(
        namespace="n8n", env=env, image=N8N.image, runners_image=N8N.runners_image,
        main=w.RoleShape(replicas=main, resources=N8N.main.resources),
        webhook=w.RoleShape(replicas=webhook, resources=N8N.webhook.resources), webhook_max_replicas=webhook_max,
        worker=w.RoleShape(replicas=workers, resources=N8N.worker.resources), runners_resources=N8N.runners,
        spot_pool=spot,
    )


SPEC = make()
VARIANTS = {
    "default": SPEC,
    "no-webhook-processors": make(webhook=0),
    "multi-main": make(main=2),
    "no-spot-pool": make(spot=False),
    "plain-connections": make(env=dataclasses.replace(
        ENV, db=dataclasses.replace(DB, ssl=False, ca=None), redis=dataclasses.replace(REDIS, tls=False, ca=None,
                                                                                       password=None))),
    "fixed-webhook-count": make(webhook=3, webhook_max=3),
}


def objects(spec: w.N8nWorkloads = SPEC) -> dict[tuple[str, str], dict]:
    return {(m["kind"], m["metadata"]["name"]): m for m in w.manifests(spec)}


def deploy(role: str, spec: w.N8nWorkloads = SPEC) -> dict:
    return objects(spec)[("Deployment", w.object_name(role))]


def pod(role: str, spec: w.N8nWorkloads = SPEC) -> dict:
    return deploy(role, spec)["spec"]["template"]["spec"]


def n8n_container(role: str, spec: w.N8nWorkloads = SPEC) -> dict:
    (container,) = pod(role, spec)["containers"]
    return container


def env_of(container: dict) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container["env"]}


def all_containers(p: dict) -> list[dict]:
    return p["containers"] + p.get("initContainers", [])


# --- inventory ----------------------------------------------------------------------------------------------------


def test_default_shape_has_every_object_of_three_roles():
    assert set(objects()) == {
        *((kind, f"n8n-{role}") for role in ("main", "webhook", "worker")
          for kind in ("ServiceAccount", "Deployment", "Service")),
        ("PodDisruptionBudget", "n8n-webhook"), ("PodDisruptionBudget", "n8n-worker"),
        ("HorizontalPodAutoscaler", "n8n-webhook"),
    }


def test_zero_webhook_replicas_creates_no_webhook_objects():
    spec = make(webhook=0)
    assert not [key for key in objects(spec) if "webhook" in key[1]]
    assert w.roles(spec) == ["main", "worker"]
    assert "N8N_DISABLE_PRODUCTION_MAIN_PROCESS" not in env_of(n8n_container("main", spec))


def test_webhook_processors_flag_must_match_the_replicas():
    spec = dataclasses.replace(make(webhook=0), env=dataclasses.replace(ENV, webhook_processors=True))
    with pytest.raises(ValueError, match="webhook_processors"):
        w.manifests(spec)
    spec = dataclasses.replace(make(webhook=2), env=dataclasses.replace(ENV, webhook_processors=False))
    with pytest.raises(ValueError, match="webhook_processors"):
        w.manifests(spec)


def test_several_mains_need_multi_main():
    spec = dataclasses.replace(make(main=2), env=dataclasses.replace(ENV, multi_main=False))
    with pytest.raises(ValueError, match="multi_main"):
        w.manifests(spec)
    with pytest.raises(ValueError, match="at least one"):
        w.manifests(dataclasses.replace(SPEC, main=w.RoleShape(replicas=0, resources=N8N.main.resources)))


def test_every_namespaced_object_names_its_namespace():
    for spec in VARIANTS.values():
        assert all(m["metadata"]["namespace"] == "n8n" for m in w.manifests(spec))


# --- validators ---------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", sorted(VARIANTS))
def test_every_manifest_passes_strict_schema_validation(variant):
    assert gates.schema_errors(w.manifests(VARIANTS[variant])) == []


def test_checkov_reports_no_failed_check():
    docs = [m for spec in (SPEC, make(main=2, spot=False)) for m in w.manifests(spec)]
    # two variants in one directory need distinct names
    for m in docs[len(w.manifests(SPEC)):]:
        m["metadata"]["name"] += "-alt"
    result = gates.checkov([*docs, gates.DEFAULT_DENY])
    assert result.failed == []
    assert result.passed > 200
    deployments = [m for m in docs if m["kind"] == "Deployment"]
    # CKV_K8S_43 (digest) on each workload, nothing else
    assert sorted(check for check, _, _ in result.skipped) == ["CKV_K8S_43"] * len(deployments)


def test_checkov_sees_the_pods_it_would_need_a_network_policy_for():
    failed = {check for check, _, _ in gates.checkov(w.manifests(SPEC)).failed}
    assert failed == {"CKV2_K8S_6"}  # only the NetworkPolicy is missing: the default-deny above is what passes it


# --- images and commands ------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["main", "webhook", "worker"])
def test_n8n_image_is_pinned_to_the_version_and_keeps_its_entrypoint(role):
    c = n8n_container(role)
    assert c["image"] == f"{N8N.image}:2.40.7"
    assert c["imagePullPolicy"] == "Always"
    assert "command" not in c  # tini -- /docker-entrypoint.sh stays PID 1 and runs `n8n "$@"`


def test_each_role_runs_its_n8n_command():
    assert n8n_container("main")["args"] == ["start"]
    assert n8n_container("webhook")["args"] == ["webhook"]
    assert n8n_container("worker")["args"] == ["worker", "--concurrency=20"]


def test_runner_sidecar_has_the_same_tag_and_runs_only_where_code_executes():
    (runner,) = pod("worker")["initContainers"]
    assert runner["image"] == f"{N8N.runners_image}:2.40.7"
    assert runner["image"].rsplit(":", 1)[1] == n8n_container("worker")["image"].rsplit(":", 1)[1]
    assert runner["restartPolicy"] == "Always"  # native sidecar: outlives n8n's graceful drain
    assert "args" not in runner and "command" not in runner  # the image runs the launcher for js + python
    assert runner["resources"] == k8s.resources(N8N.runners)
    # main offloads manual runs to workers and starts no broker; webhook processors never execute
    for role in ("main", "webhook"):
        p = pod(role)
        assert "initContainers" not in p and len(p["containers"]) == 1, role
        assert "runner-token" not in {v["name"] for v in p["volumes"]}, role


def test_the_settings_folder_holding_the_encryption_key_is_memory_backed():
    for role in ("main", "webhook", "worker"):
        data = next(v for v in pod(role)["volumes"] if v["name"] == "data")
        assert data["emptyDir"]["medium"] == "Memory", role
        mount = next(m for m in n8n_container(role)["volumeMounts"] if m["name"] == "data")
        assert mount["mountPath"] == "/home/node/.n8n"


def test_runner_sidecar_sees_only_its_token():
    p = pod("worker")
    (runner,) = p["initContainers"]
    mounts = {m["name"]: m for m in runner["volumeMounts"]}
    assert "secrets" not in mounts
    assert mounts["runner-token"]["mountPath"] == SECRETS_DIR and mounts["runner-token"]["readOnly"]
    volume = next(v for v in p["volumes"] if v["name"] == "runner-token")
    assert volume["secret"]["secretName"] == names.N8N_SECRET
    assert volume["secret"]["items"] == [{"key": names.RUNNERS_AUTH_TOKEN, "path": names.RUNNERS_AUTH_TOKEN}]
    token_file = env_of(runner)["N8N_RUNNERS_AUTH_TOKEN_FILE"]
    assert token_file == f"{SECRETS_DIR}/{names.RUNNERS_AUTH_TOKEN}"


# --- probes and ports ---------------------------------------------------------------------------------------------


def probe_target(probe: dict, container: dict) -> tuple[str, int]:
    port = probe["httpGet"]["port"]
    if isinstance(port, str):
        port = next(p["containerPort"] for p in container["ports"] if p["name"] == port)
    return probe["httpGet"]["path"], port


@pytest.mark.parametrize("role", ["main", "webhook"])
def test_http_roles_probe_readiness_on_5678(role):
    # Liveness too: /healthz stays 200 while n8n's DB connection is gone; readiness does not (probes.py).
    c = n8n_container(role)
    assert probe_target(c["livenessProbe"], c) == ("/healthz/readiness", 5678)
    assert probe_target(c["readinessProbe"], c) == ("/healthz/readiness", 5678)
    assert probe_target(c["startupProbe"], c) == ("/healthz/readiness", 5678)


def test_worker_probes_follow_the_contracts_health_port(monkeypatch):
    c = n8n_container("worker")
    port = int(n8n_env("worker", SPEC.env)["QUEUE_HEALTH_CHECK_PORT"])
    assert c["livenessProbe"]["exec"]["command"][:2] == ["node", "-e"]  # reads the port from the container's env
    assert probe_target(c["readinessProbe"], c) == ("/healthz/readiness", port)
    assert probe_target(c["startupProbe"], c) == ("/healthz/readiness", port)

    def moved(role, inputs):
        env = n8n_env(role, inputs)
        return {**env, "QUEUE_HEALTH_CHECK_PORT": "5690"} if role == "worker" else env

    monkeypatch.setattr(w, "n8n_env", moved)
    c = n8n_container("worker")
    assert probe_target(c["readinessProbe"], c) == ("/healthz/readiness", 5690)
    assert c["ports"] == [{"name": "http", "containerPort": 5690, "protocol": "TCP"}]


def budget(probe: dict) -> int:
    return probe["periodSeconds"] * probe["failureThreshold"]


@pytest.mark.parametrize("role", ["main", "webhook", "worker"])
def test_every_role_gets_time_for_the_migrations(role):
    # n8n 2.40.7 runs `dbConnection.migrate()` in BaseCommand.init for start, webhook and worker alike (one advisory
    # lock, the others wait), and a worker opens its /healthz only after init: any role may be the one migrating.
    startup = budget(n8n_container(role)["startupProbe"])
    assert startup >= 900
    assert startup == budget(n8n_container("main")["startupProbe"])
    # Pulumi and the Deployment controller wait at least as long as the probe allows
    d = deploy(role)
    assert d["spec"]["progressDeadlineSeconds"] >= startup
    assert int(d["metadata"]["annotations"]["pulumi.com/timeoutSeconds"]) >= d["spec"]["progressDeadlineSeconds"]


def test_runner_sidecar_probes_the_launcher_health_port():
    (runner,) = pod("worker")["initContainers"]
    assert probe_target(runner["livenessProbe"], runner) == ("/healthz", 5680)
    assert probe_target(runner["readinessProbe"], runner) == ("/healthz", 5680)
    assert env_of(runner)["N8N_RUNNERS_LAUNCHER_HEALTH_CHECK_PORT"] == "5680"


# --- security -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["main", "webhook", "worker"])
def test_pods_meet_pod_security_restricted_with_a_read_only_root(role):
    p = pod(role)
    assert p["securityContext"]["runAsNonRoot"] is True
    assert p["securityContext"]["seccompProfile"] == {"type": "RuntimeDefault"}
    for c in all_containers(p):
        sc = c["securityContext"]
        assert sc["readOnlyRootFilesystem"] is True
        assert sc["allowPrivilegeEscalation"] is False
        assert sc["capabilities"] == {"drop": ["ALL"]}
        assert sc["runAsUser"] >= 10000
    assert not [v for v in p["volumes"] if "hostPath" in v]
    assert p["enableServiceLinks"] is False


@pytest.mark.parametrize("role", ["main", "webhook", "worker"])
def test_n8n_writes_only_to_size_limited_scratch_volumes(role):
    p = pod(role)
    c = n8n_container(role)
    by_name = {v["name"]: v for v in p["volumes"]}
    writable = {m["mountPath"]: by_name[m["name"]] for m in c["volumeMounts"] if not m.get("readOnly")}
    assert set(writable) == {"/home/node/.n8n", "/home/node/.cache", "/home/node/.npm", "/tmp",
                             "/home/node/.n8n-files"}
    assert all(v["emptyDir"]["sizeLimit"] for v in writable.values())
    e = env_of(c)
    assert e["N8N_USER_FOLDER"] == "/home/node" and e["HOME"] == "/home/node"
    # The Read/Write Files node's only allowed folder is n8n's default ~/.n8n-files: HOME's, on a disk emptyDir.
    assert "N8N_RESTRICT_FILE_ACCESS_TO" not in e
    assert "medium" not in writable[f"{e['HOME']}/.n8n-files"]["emptyDir"]
    assert c["securityContext"]["readOnlyRootFilesystem"] is True


def test_the_javascript_runner_heap_stays_below_the_sidecar_limit():
    (runner,) = pod("worker")["initContainers"]
    limit_mib = quantity_bytes(runner["resources"]["limits"]["memory"]) / 2**20
    (heap,) = re.findall(r"^--max-old-space-size=(\d+)$", env_of(runner)["NODE_OPTIONS"])
    assert 0.4 * limit_mib <= int(heap) <= 0.6 * limit_mib


@pytest.mark.parametrize("role", ["main", "webhook", "worker"])
def test_secrets_are_read_only_files_never_values(role):
    c = n8n_container(role)
    e = env_of(c)
    assert not set(e) & set(FORBIDDEN)
    assert all("valueFrom" not in item for item in c["env"])
    mount = next(m for m in c["volumeMounts"] if m["name"] == "secrets")
    assert mount == {"name": "secrets", "mountPath": SECRETS_DIR, "readOnly": True}
    volume = next(v for v in pod(role)["volumes"] if v["name"] == "secrets")
    assert volume["secret"] == {"secretName": names.N8N_SECRET, "defaultMode": 0o440}
    assert e["N8N_ENCRYPTION_KEY_FILE"].startswith(SECRETS_DIR + "/")


def file_of(pod_spec: dict, container: dict, path: str) -> tuple[dict, str] | None:
    """The volume and key a file path inside the container comes from."""
    for m in container["volumeMounts"]:
        if path.startswith(m["mountPath"] + "/"):
            volume = next(v for v in pod_spec["volumes"] if v["name"] == m["name"])
            return volume, path[len(m["mountPath"]) + 1:]
    return None


def test_ca_bundles_are_mounted_where_the_contract_reads_them_with_only_their_key():
    p, c = pod("worker"), n8n_container("worker")
    e = env_of(c)
    db_volume, db_file = file_of(p, c, e["DB_POSTGRESDB_SSL_CA_FILE"])
    assert e["DB_POSTGRESDB_SSL_CA_FILE"] == DB.ca.path("db")
    assert db_volume["configMap"]["name"] == "rds-ca"
    assert db_volume["configMap"]["items"] == [{"key": "ca.pem", "path": db_file}]
    redis_volume, redis_file = file_of(p, c, REDIS.ca.path("redis"))
    assert redis_volume["secret"]["secretName"] == "redis-tls"
    assert redis_volume["secret"]["items"] == [{"key": "ca.crt", "path": redis_file}]
    for m in c["volumeMounts"]:
        if m["mountPath"].startswith(CA_DIR):
            assert m["readOnly"] is True


def test_no_ca_volume_without_tls():
    p = pod("worker", VARIANTS["plain-connections"])
    assert not [v for v in p["volumes"] if v["name"].startswith("ca-")]


@pytest.mark.parametrize("role", ["main", "webhook", "worker"])
def test_each_role_has_its_own_service_account_without_token(role):
    sa = objects()[("ServiceAccount", w.object_name(role))]
    assert sa["automountServiceAccountToken"] is False
    p = pod(role)
    assert p["serviceAccountName"] == w.object_name(role)
    assert p["automountServiceAccountToken"] is False


# --- resources and memory -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(("role", "resources"), [("main", N8N.main.resources), ("webhook", N8N.webhook.resources),
                                                 ("worker", N8N.worker.resources)])
def test_requests_limits_and_a_heap_below_the_memory_limit(role, resources):
    c = n8n_container(role)
    assert c["resources"] == k8s.resources(resources)
    limit_mib = quantity_bytes(resources.memory_limit) / 2**20
    (heap,) = re.findall(r"--max-old-space-size=(\d+)", env_of(c)["NODE_OPTIONS"])
    assert 0.7 * limit_mib <= int(heap) <= 0.8 * limit_mib


def test_heap_size_examples():
    assert w.heap_mib("2Gi") == 1536
    assert w.heap_mib("1Gi") == 768
    assert w.heap_mib("3000Mi") == 2250


def test_node_options_from_the_contract_are_kept(monkeypatch):
    monkeypatch.setattr(w, "n8n_env", lambda role, inputs: {**n8n_env(role, inputs),
                                                             "NODE_OPTIONS": "--enable-source-maps"})
    assert env_of(n8n_container("main"))["NODE_OPTIONS"] == "--enable-source-maps --max-old-space-size=1536"


# --- termination --------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("graceful", [10, 30, 60, 600])
@pytest.mark.parametrize("role", ["main", "webhook", "worker"])
def test_grace_period_exceeds_prestop_plus_graceful_shutdown(role, graceful):
    spec = dataclasses.replace(SPEC, env=dataclasses.replace(SPEC.env, graceful_shutdown_seconds=graceful))
    p = pod(role, spec)
    c = p["containers"][0]
    prestop = c.get("lifecycle", {}).get("preStop", {}).get("sleep", {}).get("seconds", 0)
    assert p["terminationGracePeriodSeconds"] > prestop + graceful
    assert env_of(c)["N8N_GRACEFUL_SHUTDOWN_TIMEOUT"] == str(graceful)


def test_load_balanced_roles_sleep_before_stopping_and_workers_do_not():
    assert n8n_container("main")["lifecycle"]["preStop"] == {"sleep": {"seconds": w.PRESTOP_SECONDS}}
    assert n8n_container("webhook")["lifecycle"]["preStop"] == {"sleep": {"seconds": w.PRESTOP_SECONDS}}
    assert "lifecycle" not in n8n_container("worker")


# --- scheduling ---------------------------------------------------------------------------------------------------


def test_only_workers_tolerate_and_require_the_spot_pool():
    key, value = names.WORKER_POOL_LABEL
    worker = pod("worker")
    assert worker["tolerations"] == [{"operator": "Equal", **names.WORKER_POOL_TAINT}]
    (term,) = worker["affinity"]["nodeAffinity"]["requiredDuringSchedulingIgnoredDuringExecution"][
        "nodeSelectorTerms"]
    assert term == {"matchExpressions": [{"key": key, "operator": "In", "values": [value]}]}
    for role in ("main", "webhook"):
        assert "tolerations" not in pod(role)
        assert "affinity" not in pod(role)


def test_without_the_spot_pool_workers_schedule_anywhere():
    worker = pod("worker", VARIANTS["no-spot-pool"])
    assert "tolerations" not in worker and "affinity" not in worker


@pytest.mark.parametrize("role", ["main", "webhook", "worker"])
def test_pods_spread_over_zones_and_nodes(role):
    spread = {c["topologyKey"]: c for c in pod(role)["topologySpreadConstraints"]}
    assert set(spread) == {"topology.kubernetes.io/zone", "kubernetes.io/hostname"}
    for c in spread.values():
        assert c["labelSelector"]["matchLabels"] == k8s.selector(role, "n8n")
    assert spread["topology.kubernetes.io/zone"]["whenUnsatisfiable"] == "ScheduleAnyway"


def test_autoscaler_may_evict_draining_roles_but_not_a_single_main():
    for role in ("webhook", "worker"):
        assert deploy(role)["spec"]["template"]["metadata"]["annotations"][w.SAFE_TO_EVICT] == "true"
    assert w.SAFE_TO_EVICT not in deploy("main")["spec"]["template"]["metadata"].get("annotations", {})


def test_every_deployment_carries_the_secrets_revision_so_a_changed_secret_rolls_it():
    spec = dataclasses.replace(SPEC, secrets_revision="0123456789abcdef")
    for role in w.roles(spec):
        annotations = deploy(role, spec)["spec"]["template"]["metadata"]["annotations"]
        assert annotations[names.SECRETS_REVISION_ANNOTATION] == "0123456789abcdef", role
    # the other pod annotations stay, and the object metadata is untouched (only the pod template rolls pods)
    assert deploy("worker", spec)["spec"]["template"]["metadata"]["annotations"][w.SAFE_TO_EVICT] == "true"
    assert names.SECRETS_REVISION_ANNOTATION not in deploy("main", spec)["metadata"]["annotations"]


def test_without_a_secrets_revision_no_deployment_gets_the_annotation():
    for role in w.roles(SPEC):
        template = deploy(role)["spec"]["template"]["metadata"]
        assert names.SECRETS_REVISION_ANNOTATION not in template.get("annotations", {}), role


# --- rollout, budgets, autoscaling --------------------------------------------------------------------------------


def test_a_single_main_is_recreated_and_never_runs_twice():
    assert deploy("main")["spec"]["strategy"] == {"type": "Recreate"}
    multi = deploy("main", make(main=2))["spec"]["strategy"]
    assert multi["type"] == "RollingUpdate" and multi["rollingUpdate"]["maxUnavailable"] == 0


@pytest.mark.parametrize("role", ["webhook", "worker"])
def test_scaled_roles_roll_without_losing_capacity(role):
    rolling = deploy(role)["spec"]["strategy"]
    assert rolling["type"] == "RollingUpdate"
    assert rolling["rollingUpdate"]["maxUnavailable"] == 0


def surge_pods(max_surge: int | str, replicas: int) -> int:
    """Pods a rolling update adds at once (Kubernetes rounds a percentage surge up)."""
    if isinstance(max_surge, int):
        return max_surge
    return -(-replicas * int(max_surge.rstrip("%")) // 100)


@pytest.mark.parametrize(("role", "max_replicas"), [("webhook", N8N.webhook.max_replicas),
                                                     ("worker", N8N.worker.max_replicas), ("worker", 200)])
def test_scaled_roles_roll_at_full_scale_within_the_rollout_deadline(role, max_replicas):
    # one pod at a time, every wave waiting for a pod start, 20 workers would need 20 start-ups in a row: more than
    # Pulumi waits for, so an update at peak load would fail while Kubernetes keeps rolling
    surge = deploy(role)["spec"]["strategy"]["rollingUpdate"]["maxSurge"]
    assert surge_pods(surge, 2) >= 1
    waves = -(-max_replicas // surge_pods(surge, max_replicas))
    assert waves <= 4


def test_disruption_budgets_can_always_be_satisfied():
    assert ("PodDisruptionBudget", "n8n-main") not in objects()  # one main: a budget would block drains
    budgets = {**{k: v for k, v in objects().items() if k[0] == "PodDisruptionBudget"},
               **{k: v for k, v in objects(make(main=2)).items() if k == ("PodDisruptionBudget", "n8n-main")}}
    assert {name for _, name in budgets} == {"n8n-main", "n8n-webhook", "n8n-worker"}
    for (_, name), pdb in budgets.items():
        spec = pdb["spec"]
        assert "minAvailable" not in spec
        assert spec["maxUnavailable"] not in (0, "0%")
        assert spec["unhealthyPodEvictionPolicy"] == "AlwaysAllow"
        assert spec["selector"]["matchLabels"] == k8s.selector(name.removeprefix("n8n-"), "n8n")
    assert budgets[("PodDisruptionBudget", "n8n-worker")]["spec"]["maxUnavailable"] == "50%"


def test_webhook_autoscaler_scales_the_processors_on_cpu():
    hpa = objects()[("HorizontalPodAutoscaler", "n8n-webhook")]["spec"]
    assert hpa["scaleTargetRef"] == {"apiVersion": "apps/v1", "kind": "Deployment", "name": "n8n-webhook"}
    assert (hpa["minReplicas"], hpa["maxReplicas"]) == (2, 10)
    assert deploy("webhook")["spec"]["replicas"] == 2
    (metric,) = hpa["metrics"]
    assert metric["resource"]["name"] == "cpu"
    assert hpa["behavior"]["scaleDown"]["stabilizationWindowSeconds"] >= 300
    assert w.autoscaled(SPEC, "webhook") and w.autoscaled(SPEC, "worker") and not w.autoscaled(SPEC, "main")


def test_no_webhook_autoscaler_when_the_count_is_fixed():
    spec = VARIANTS["fixed-webhook-count"]
    assert ("HorizontalPodAutoscaler", "n8n-webhook") not in objects(spec)
    assert not w.autoscaled(spec, "webhook")


# --- services -----------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("role", ["main", "webhook", "worker"])
def test_services_select_their_role_on_the_http_port(role):
    svc = objects()[("Service", w.object_name(role))]["spec"]
    template_labels = deploy(role)["spec"]["template"]["metadata"]["labels"]
    assert svc["selector"].items() <= template_labels.items()
    assert template_labels["app.kubernetes.io/component"] == role
    assert deploy(role)["spec"]["selector"]["matchLabels"] == svc["selector"]
    (port,) = svc["ports"]
    assert (port["port"], port["targetPort"]) == (5678, "http")
    assert svc.get("clusterIP") == ("None" if role == "worker" else None)

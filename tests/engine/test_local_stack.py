"""The local stack through the real engine: `pulumi up` onto a real API server, then what must hold after it.

One control plane and one ``pulumi up`` serve the module; the tests run in file order and the last one destroys.
What is real: the Pulumi CLI and engine, the Python language host, the Kubernetes provider, etcd, kube-apiserver
(admission, Pod Security, CRD schemas), controller-manager and scheduler. What is simulated: kwok plays the
kubelets (pods become ready without running containers), and the random provider is our stand-in
(tools/testing/engine/go/random, since pulumi-random's provider module is not served).
"""

from __future__ import annotations

import base64
import copy
import json
import time
import urllib.error
from typing import Any

import pytest

from n8n_platform import names
from n8n_platform.secrets import revision
from tests.engine.conftest import TIMINGS, Timer
from tools import offline
from tools.testing.engine import build, crds
from tools.testing.engine.cluster import Cluster
from tools.testing.engine.compare import differences
from tools.testing.engine.stack import LocalStack

pytestmark = pytest.mark.engine

STACK = "local"


def render(overrides: dict[str, Any] | None = None) -> offline.Recording:
    """The offline plan of the local stack (the mock runtime, an independent rendering of the same program)."""
    return offline.run_stack(STACK, overrides)


@pytest.fixture(scope="module")
def cluster():
    with Timer("engine build (warm if cached)"):
        build.build_all()
    control_plane = Cluster()
    control_plane.stop()  # a control plane left by an interrupted run of this same directory
    with Timer("control plane start"):
        control_plane.start()
    with Timer("CRDs applied"):
        crds.apply(control_plane)
    yield control_plane
    control_plane.stop()


@pytest.fixture(scope="module")
def stack(cluster, tmp_path_factory):
    local = LocalStack(STACK, tmp_path_factory.mktemp("engine-state"))
    local.init()
    with Timer("pulumi up (first)"):
        local.run("up", "--yes", "--skip-preview")
    return local


@pytest.fixture(scope="module")
def plan(stack) -> offline.Recording:
    return render()


class Api:
    """Paths of kinds, from the API server's own discovery."""

    def __init__(self, cluster: Cluster):
        self.cluster = cluster
        self.kinds: dict[tuple[str, str], tuple[str, bool]] = {}
        for group_version in ["v1", *self._group_versions()]:
            prefix = "/api/v1" if group_version == "v1" else f"/apis/{group_version}"
            for resource in cluster.request("GET", prefix)["resources"]:
                if "/" not in resource["name"]:
                    self.kinds[(group_version, resource["kind"])] = (f"{prefix}/{resource['name']}",
                                                                      resource["namespaced"])

    def _group_versions(self) -> list[str]:
        return [v["groupVersion"] for g in self.cluster.request("GET", "/apis")["groups"] for v in g["versions"]]

    def path(self, obj: dict[str, Any]) -> str:
        collection, namespaced = self.kinds[(obj["apiVersion"], obj["kind"])]
        meta = obj["metadata"]
        if namespaced:
            group, _, plural = collection.rpartition("/")
            collection = f"{group}/namespaces/{meta['namespace']}/{plural}"
        return f"{collection}/{meta['name']}"

    def get(self, obj: dict[str, Any]) -> dict[str, Any] | None:
        try:
            return self.cluster.request("GET", self.path(obj))
        except urllib.error.HTTPError as error:
            if error.code == 404:
                return None
            raise


@pytest.fixture(scope="module")
def api(cluster) -> Api:
    return Api(cluster)


def comparable(manifest: dict[str, Any]) -> dict[str, Any]:
    """The desired object minus what only the real run knows: Secret values and the secrets revision (checked
    separately against the live Secret)."""
    desired = copy.deepcopy(manifest)
    if desired["kind"] == "Secret":
        desired.pop("stringData", None)
        desired.pop("data", None)
    template = desired.get("spec", {}).get("template", {})
    template.get("metadata", {}).get("annotations", {}).pop(names.SECRETS_REVISION_ANNOTATION, None)
    return desired


def test_up_creates_every_object_of_the_offline_plan_with_its_desired_spec(stack, plan, api):
    mismatches = {}
    for manifest in plan.manifests():
        live = api.get(manifest)
        key = f"{manifest['kind']} {manifest['metadata'].get('namespace', '')}/{manifest['metadata']['name']}"
        if live is None:
            mismatches[key] = ["missing from the API server"]
            continue
        found = differences(comparable(manifest), live)
        if found:
            mismatches[key] = found
    assert not mismatches, json.dumps(mismatches, indent=2)


def live_secret_values(cluster: Cluster, namespace: str) -> dict[str, str]:
    secret = cluster.request("GET", f"/api/v1/namespaces/{namespace}/secrets/{names.N8N_SECRET}")
    return {k: base64.b64decode(v).decode() for k, v in secret["data"].items()}


def namespace_of(plan: offline.Recording) -> str:
    (namespace,) = [m for m in plan.manifests() if m["kind"] == "Namespace"]
    return namespace["metadata"]["name"]


def workloads(plan: offline.Recording, api: Api) -> list[dict[str, Any]]:
    kinds = {"Deployment", "StatefulSet", "Job"}
    return [api.get(m) for m in plan.manifests() if m["kind"] in kinds]


def test_pod_templates_carry_the_revision_of_the_live_secret(stack, plan, api, cluster):
    expected = revision(live_secret_values(cluster, namespace_of(plan)))
    carriers = {w["metadata"]["name"]: w["spec"]["template"]["metadata"].get("annotations", {}).get(
        names.SECRETS_REVISION_ANNOTATION) for w in workloads(plan, api)}
    carrying = {name for name, value in carriers.items() if value is not None}
    assert carrying, carriers
    assert {carriers[name] for name in carrying} == {expected}, carriers


def test_every_pod_is_admitted_under_the_namespace_pod_security_level(stack, plan, api, cluster):
    namespace = namespace_of(plan)
    labels = cluster.request("GET", f"/api/v1/namespaces/{namespace}")["metadata"]["labels"]
    (desired,) = [m for m in plan.manifests() if m["kind"] == "Namespace"]
    level = desired["metadata"]["labels"]["pod-security.kubernetes.io/enforce"]
    assert labels.get("pod-security.kubernetes.io/enforce") == level in {"baseline", "restricted"}, labels
    pods = cluster.request("GET", f"/api/v1/namespaces/{namespace}/pods")["items"]
    owners = {ref["name"].rsplit("-", 1)[0] if ref["kind"] == "ReplicaSet" else ref["name"]
              for pod in pods for ref in pod["metadata"].get("ownerReferences", [])}
    for workload in workloads(plan, api):
        assert workload["metadata"]["name"] in owners, f"no pod admitted for {workload['metadata']['name']}"
    events = cluster.request("GET", f"/api/v1/namespaces/{namespace}/events")["items"]
    refused = [e["message"] for e in events if e.get("reason") == "FailedCreate"]
    assert not refused, refused


def test_the_api_server_enforces_pod_security_and_crd_schemas_for_real(stack, plan, cluster):
    """Negative controls: the same API server refuses a privileged pod and a custom resource off its schema."""
    namespace = namespace_of(plan)
    with pytest.raises(urllib.error.HTTPError) as refused:
        cluster.request("POST", f"/api/v1/namespaces/{namespace}/pods", {
            "apiVersion": "v1", "kind": "Pod", "metadata": {"name": "host-path-probe"},
            "spec": {"containers": [{"name": "c", "image": "busybox:1.37"}],
                     "volumes": [{"name": "host", "hostPath": {"path": "/"}}]}})
    assert refused.value.code == 403 and "PodSecurity" in refused.value.read().decode()
    (scaled,) = [m for m in plan.manifests() if m["kind"] == "ScaledObject"]
    bad = copy.deepcopy(scaled)
    bad["metadata"] = {"name": "schema-probe", "namespace": namespace}
    bad["spec"]["minReplicaCount"] = "three"
    with pytest.raises(urllib.error.HTTPError) as invalid:
        cluster.request("POST", f"/apis/keda.sh/v1alpha1/namespaces/{namespace}/scaledobjects", bad)
    assert invalid.value.code == 422, invalid.value.read().decode()


REPLACEMENT_STEPS = {"replace", "create-replacement", "delete-replaced"}


def preview(stack: LocalStack, *args: str) -> dict[tuple[str, str], str]:
    """``pulumi preview --json``: the operation planned for each (type, name) that is not unchanged (the several
    steps of a replacement count as one "replace"; reads, such as the StackReference to the stack itself that
    yields the previous n8n version, change nothing)."""
    result = stack.run("preview", "--json", *args)
    planned: dict[tuple[str, str], str] = {}
    for step in json.loads(result.stdout).get("steps", []):
        if step["op"] in ("same", "read"):
            continue
        key = (step["urn"].split("::")[-2].split("$")[-1], step["urn"].split("::")[-1])
        planned[key] = "replace" if step["op"] in REPLACEMENT_STEPS else step["op"]
    return planned


def test_preview_right_after_up_is_clean_and_so_is_a_second_up(stack):
    with Timer("pulumi preview (no changes)"):
        stack.run("preview", "--expect-no-changes", "--diff")
    with Timer("pulumi up (second, no changes)"):
        stack.run("up", "--yes", "--skip-preview", "--expect-no-changes")


def changed(before: offline.Recording, after: offline.Recording) -> set[tuple[str, str]]:
    """(type, name) of every resource whose inputs differ between two offline renderings."""
    old = {(r.type, r.name): r.inputs for r in before.resources}
    new = {(r.type, r.name): r.inputs for r in after.resources}
    return {key for key in old.keys() | new.keys() if old.get(key) != new.get(key)}


def test_one_setting_change_previews_exactly_the_updates_the_offline_plan_predicts(stack, plan):
    n8n = stack.config("n8n")
    concurrency = n8n["worker"]["concurrency"]
    changed_n8n = copy.deepcopy(n8n)
    changed_n8n["worker"]["concurrency"] = concurrency + 2
    expected = changed(plan, render({"n8n": {"worker": {"concurrency": concurrency + 2}}}))
    assert expected, "the setting changes nothing offline: the test would prove nothing"
    stack.set_config("n8n", changed_n8n)
    try:
        with Timer("pulumi preview (one setting changed)"):
            planned = preview(stack)
    finally:
        stack.set_config("n8n", n8n)
    assert planned == {key: "update" for key in expected}


def test_a_version_change_previews_exactly_the_updates_the_offline_plan_predicts(stack, plan):
    # The preview reads the stack's own output n8nVersion (a StackReference to itself), as the offline plan is told.
    n8n = stack.config("n8n")
    deployed = plan.exports["n8nVersion"]
    newer = "2.99.0"  # kwok runs no image: any later release will do
    changed_n8n = {**copy.deepcopy(n8n), "version": newer}
    expected = changed(plan, offline.run_stack(STACK, {"n8n": {"version": newer}},
                                               stack_outputs={"n8nVersion": deployed}))
    deployments = {(r.type, r.name) for r in plan.resources if r.type == "kubernetes:apps/v1:Deployment"
                   and (r.parent or "").endswith("-app")}
    assert deployments <= expected, "the version change does not roll the n8n Deployments offline"
    stack.set_config("n8n", changed_n8n)
    try:
        with Timer("pulumi preview (n8n.version changed)"):
            planned = preview(stack)
    finally:
        stack.set_config("n8n", n8n)
    assert planned == {key: "update" for key in expected}


def test_replacing_the_redis_password_rolls_exactly_what_the_runbook_says(stack, plan, api, cluster):
    """docs/operations.md: the n8n pods roll, in-cluster Redis restarts with the same revision, the bootstrap Job
    is replaced; nothing else changes."""
    (password,) = [r for r in plan.resources if r.type == "random:index/randomPassword:RandomPassword"
                   and r.name.endswith("-redis-password")]
    urn = next(r["urn"] for r in stack.export()["deployment"]["resources"] if r["urn"].endswith(f"::{password.name}"))
    before = {w["metadata"]["name"]: w["metadata"]["uid"] for w in workloads(plan, api)}
    planned = preview(stack, "--replace", urn)
    deployments = {(r.type, r.name) for r in plan.resources if r.type == "kubernetes:apps/v1:Deployment"}
    expected = {("random:index/randomPassword:RandomPassword", password.name): "replace",
                **{key: "update" for key in deployments},
                **{(r.type, r.name): "update" for r in plan.resources if r.type == "kubernetes:apps/v1:StatefulSet"},
                **{(r.type, r.name): "replace" for r in plan.resources if r.type == "kubernetes:batch/v1:Job"},
                **{(r.type, r.name): "update" for r in plan.resources if r.type == "kubernetes:core/v1:Secret"}}
    assert planned == expected
    with Timer("pulumi up --replace (redis password)"):
        stack.run("up", "--yes", "--skip-preview", "--replace", urn)
    values = live_secret_values(cluster, namespace_of(plan))
    new_revision = revision(values)
    for workload in workloads(plan, api):
        annotations = workload["spec"]["template"]["metadata"].get("annotations", {})
        if names.SECRETS_REVISION_ANNOTATION in annotations:
            assert annotations[names.SECRETS_REVISION_ANNOTATION] == new_revision, workload["metadata"]["name"]
        if workload["kind"] == "Job":
            assert workload["metadata"]["uid"] != before[workload["metadata"]["name"]], "the Job was not re-run"


def test_no_secret_appears_in_the_clear_in_the_exported_state(stack, plan, cluster):
    values = [v for v in live_secret_values(cluster, namespace_of(plan)).values() if len(v) >= 16]
    assert len(values) >= 3, "expected the generated passwords and the encryption key"
    exported = json.dumps(stack.export())
    for value in values:
        assert value not in exported
        assert base64.b64encode(value.encode()).decode() not in exported
    revealed = json.dumps(stack.export(show_secrets=True))
    assert all(value in revealed for value in values), "the passwords were not in the state at all"


def test_destroy_removes_everything_it_created(stack, plan, api):
    with Timer("pulumi destroy"):
        stack.run("destroy", "--yes")
    deadline = time.monotonic() + 180
    remaining = plan.manifests()
    while remaining and time.monotonic() < deadline:
        remaining = [m for m in remaining if api.get(m) is not None]
        if remaining:
            time.sleep(2)
    assert not remaining, [f"{m['kind']}/{m['metadata']['name']}" for m in remaining]
    assert not stack.export()["deployment"].get("resources")
    TIMINGS.setdefault("objects deployed", len(plan.manifests()))

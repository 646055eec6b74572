"""The runtime picture shows every role, store and link of the plan: expectations come from the recorded manifests and
AWS resources, read here independently of tools.docs.runtime_picture, so the picture cannot drift from the program."""

from __future__ import annotations

import copy
import functools
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from tests.harness import run_stack
from tools.docs.runtime_picture import runtime_svg

NS = "{http://www.w3.org/2000/svg}"
DOC = Path(__file__).resolve().parents[1] / "docs" / "runtime-dev.svg"
VARIANT = {"edge": {"controller": "gateway"}, "n8n": {"webhook": {"replicas": 0}}, "database": {"engine": "rds"}}


class Drawn:
    """The boxes (id -> title and text) and arrows (from, to, kind) of one rendered SVG."""

    def __init__(self, svg: str):
        root = ET.fromstring(svg)
        self.boxes = {g.get("id"): (g.get("data-title"), " ".join(t.text or "" for t in g.iter(f"{NS}text")))
                      for g in root.iter(f"{NS}g")}
        self.arrows = {(p.get("data-from"), p.get("data-to"), p.get("data-kind"))
                       for p in root.iter(f"{NS}path") if p.get("data-kind")}
        self.rects = {g.get("id"): next(g.iter(f"{NS}rect")) for g in root.iter(f"{NS}g")}
        self.divider = float(next(root.iter(f"{NS}line")).get("y1"))

    def text(self, box: str) -> str:
        return self.boxes[box][1]

    def tokens(self, box: str) -> set[str]:
        return set(self.text(box).split())


@functools.cache
def recorded(name: str):
    """The recording of dev, prod, or the variant (dev with the Gateway, no webhook processors and RDS)."""
    return run_stack("dev", VARIANT) if name == "variant" else run_stack(name)


@pytest.fixture(scope="module", params=["dev", "prod", "variant"])
def stack(request):
    recording = recorded(request.param)
    return request.param, recording, Drawn(runtime_svg(recording))


def _kind(recording, kind):
    return [m for m in recording.manifests() if m["kind"] == kind]


def _role(labels):
    return labels["app.kubernetes.io/component"]


def test_every_role_is_a_box_with_its_replicas_autoscaling_and_sidecars(stack):
    _, recording, drawn = stack
    scaled = {h["spec"]["scaleTargetRef"]["name"]: f"{h['spec']['minReplicas']}–{h['spec']['maxReplicas']}"
              for h in _kind(recording, "HorizontalPodAutoscaler")}
    scaled |= {s["spec"]["scaleTargetRef"]["name"]: f"{s['spec']['minReplicaCount']}–{s['spec']['maxReplicaCount']}"
               for s in _kind(recording, "ScaledObject")}
    deployments = _kind(recording, "Deployment")
    assert deployments
    for d in deployments:
        box = f"role-{_role(d['spec']['template']['metadata']['labels'])}"
        name = d["metadata"]["name"]
        assert box in drawn.boxes and f"Deployment {name}:" in drawn.text(box)
        assert (f"{scaled[name]} replicas" if name in scaled else f"{d['spec']['replicas']} replica") in drawn.text(box)
        pod = d["spec"]["template"]["spec"]
        sidecars = [c["name"] for c in pod["containers"] if c["name"] != "n8n"]
        sidecars += [c["name"] for c in pod.get("initContainers", []) if c.get("restartPolicy") == "Always"]
        for c in sidecars:
            assert f"sidecar {c}" in drawn.text(box)
        if _role(d["spec"]["template"]["metadata"]["labels"]) == "worker":
            assert "runners" in sidecars  # the task runners ride along every worker


def test_every_routed_path_is_drawn_on_the_role_that_answers_it(stack):
    _, recording, drawn = stack
    services = {s["metadata"]["name"]: _role(s["spec"]["selector"]) for s in _kind(recording, "Service")
                if "app.kubernetes.io/component" in s["spec"].get("selector", {})}
    routed = []
    for ing in _kind(recording, "Ingress"):
        for rule in ing["spec"]["rules"]:
            routed += [(p["path"], p["backend"]["service"]["name"]) for p in rule["http"]["paths"]]
    for route in _kind(recording, "HTTPRoute"):
        for rule in route["spec"]["rules"]:
            for ref in rule.get("backendRefs", []):
                routed += [(m["path"]["value"], ref["name"]) for m in rule.get("matches", [])]
    assert len(routed) > 15
    for path, service in routed:
        if service in services:
            box = f"role-{services[service]}"
            assert path in drawn.tokens(box), (path, box)
            assert ("edge", box, "request") in drawn.arrows
        else:  # the ALB's fixed 404 for /metrics
            assert path in drawn.tokens("edge")
    assert ("internet", "edge", "request") in drawn.arrows


def test_queue_and_database_links_follow_each_roles_environment(stack):
    _, recording, drawn = stack
    for d in _kind(recording, "Deployment"):
        box = f"role-{_role(d['spec']['template']['metadata']['labels'])}"
        env = {e["name"]: e.get("value") for c in d["spec"]["template"]["spec"]["containers"] for e in c.get("env", [])}
        queue = ("redis", box, "queue") if box == "role-worker" else (box, "redis", "queue")
        assert queue in drawn.arrows
        host = env["DB_POSTGRESDB_HOST"]
        assert "-pooler." in host or ".proxy-" in host  # every stack here dials a pooler
        assert (box, "pooler", "sql") in drawn.arrows
    assert ("pooler", "database", "sql") in drawn.arrows


def test_every_store_and_bucket_is_drawn(stack):
    _, recording, drawn = stack
    if [s for s in _kind(recording, "StatefulSet") if s["metadata"]["name"] == "redis"]:
        assert drawn.boxes["redis"][0] == "Redis (in cluster)"
    else:
        group = recording.one("aws:elasticache/replicationGroup:ReplicationGroup")
        assert drawn.boxes["redis"][0] == "ElastiCache" and group.name in drawn.text("redis")
    clusters = _kind(recording, "postgresql")
    if clusters:
        name = clusters[0]["metadata"]["name"]
        assert drawn.boxes["database"][0] == "PostgreSQL (Patroni)"
        assert drawn.boxes["pooler"][0] == "PgBouncer" and f"{name}-pooler" in drawn.text("pooler")
        assert ("database", "s3", "archive") in drawn.arrows  # WAL-G
    else:
        assert drawn.boxes["database"][0] == "Amazon RDS PostgreSQL"
        assert drawn.boxes["pooler"][0] == "RDS Proxy"
        assert recording.one("aws:rds/proxy:Proxy").name in drawn.text("pooler")
    buckets = recording.find(type="aws:s3/bucket:Bucket")
    assert buckets
    for b in buckets:
        assert f"bucket {b.name}" in drawn.text("replica" if b.options.get("provider") else "s3")
    for job in _kind(recording, "CronJob"):
        box = f"job-{job['metadata']['name']}"
        assert ("database", box, "archive") in drawn.arrows and (box, "s3", "archive") in drawn.arrows
    replicated = recording.find(type="aws:s3/bucketReplicationConfig:BucketReplicationConfig")
    assert (("s3", "replica", "replication") in drawn.arrows) == bool(replicated)


def test_prometheus_scrapes_each_monitored_role(stack):
    _, recording, drawn = stack
    monitors = _kind(recording, "ServiceMonitor") + _kind(recording, "PodMonitor")
    assert monitors
    for m in monitors:
        labels = m["spec"]["selector"]["matchLabels"]
        target = "database" if labels.get("application") == "spilo" else (
            f"role-{_role(labels)}" if f"role-{_role(labels)}" in drawn.boxes else _role(labels))
        assert ("prometheus", target, "scrape") in drawn.arrows, m["metadata"]["name"]
    assert all(a in drawn.boxes and b in drawn.boxes for a, b, _ in drawn.arrows)  # no arrow to nowhere


def test_the_edge_is_public_and_everything_behind_it_private(stack):
    _, _, drawn = stack
    bottom = float(drawn.rects["edge"].get("y")) + float(drawn.rects["edge"].get("height"))
    assert bottom < drawn.divider
    for box, rect in drawn.rects.items():
        if box not in ("internet", "edge"):
            assert float(rect.get("y")) > drawn.divider, box


def test_stacks_draw_their_own_edge_and_pooler(stack):
    name, _, drawn = stack
    if name == "variant":  # Gateway, no webhook processors, RDS
        assert "role-webhook" not in drawn.boxes and "/webhook" in drawn.tokens("role-main")
        assert drawn.boxes["edge"][0].startswith("Gateway API")
    else:
        assert {"role-main", "role-webhook", "role-worker"} <= set(drawn.boxes)
        assert drawn.boxes["edge"][0] == "AWS ALB (internet-facing)"
        assert ("WAF web ACL" in drawn.text("edge")) == (name == "prod")
    assert "SPOT" in drawn.tokens("role-worker") or "SPOT," in drawn.tokens("role-worker")


def test_the_readme_picture_is_current():
    assert DOC.read_text() == runtime_svg(recorded("dev")), "regenerate: PYTHONPATH=.:components .venv/bin/python " \
                                                      "-m tools.docs.runtime_picture dev > docs/runtime-dev.svg"


def test_make_plan_writes_the_runtime_picture(tmp_path):
    from tools.plan import write

    write(recorded("dev"), tmp_path)
    assert (tmp_path / "runtime.svg").read_text() == runtime_svg(recorded("dev"))
    assert (tmp_path / "architecture.svg").exists()  # next to the component picture, not instead of it


def test_the_picture_does_not_depend_on_registration_order():
    import random

    shuffled = copy.copy(recorded("dev"))
    shuffled.resources = random.Random(23).sample(shuffled.resources, len(shuffled.resources))
    assert runtime_svg(shuffled) == runtime_svg(recorded("dev"))  # components that wait register in varying order

"""The running system of one stack, drawn from the plan: where a request goes and what talks to what.

Everything comes from the recording (the Kubernetes manifests and AWS resources the program registered), never
from settings or by hand: the roles are the Deployments, the path families their edge routes (Ingress or HTTPRoute
backends), the queue and database links the hosts in each role's environment, the pooler the host they dial
(PgBouncer ``<cluster>-pooler`` or an RDS Proxy), the scrape arrows the ServiceMonitors / PodMonitors, the archive
the buckets and their replication, the counts the Deployments, HPAs, ScaledObjects and the worker node group.

:func:`model` gives the nodes and edges; :func:`runtime_svg` lays them out on fixed rows (internet, edge, roles,
queue, workers, pooler, database, archive) and columns (Prometheus, the namespace, AWS-managed services, the
replica region). Plain SVG like :mod:`tools.docs.diagram`: the layout is a fixed grid, so no layout engine earns its
place.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from html import escape
from typing import Any

from tools.offline import Recording

# Columns: x, width.
COLUMNS = {"prom": (40, 170), "ns": (260, 440), "ns-left": (260, 210), "ns-right": (490, 210),
           "aws": (790, 250), "replica": (1100, 210)}
LANE_X = 730  # the free vertical lane between the namespace and the AWS column
TOP, GAP, LINE, MARGIN = 64, 46, 15, 20
KINDS = {  # edge kind: colour, dash, what it means (the legend)
    "request": ("#1f5fbf", "", "HTTPS request"),
    "queue": ("#d9730d", "", "Redis queue (BullMQ jobs)"),
    "sql": ("#2e8b3e", "", "SQL over TLS"),
    "archive": ("#8a5a2b", "", "backup to S3"),
    "replication": ("#7b3fa0", "6 3", "cross-region replication"),
    "scrape": ("#777777", "3 3", "Prometheus scrape /metrics"),
}
ZONE_FILL = {"internet": "#fff7e6", "edge": "#e8f1fb", "namespace": "#eaf6ec", "aws": "#fdf3e1",
             "cluster": "#eaf6ec", "replica": "#f6e9f7"}


@dataclass
class Node:
    """One box: a role, a store, the edge, the internet or Prometheus."""

    id: str
    title: str
    lines: list[str]
    row: int
    column: str
    zone: str
    rows: int = 1
    """How many rows the box spans (Prometheus spans the workload rows)."""


@dataclass
class Picture:
    """Nodes and (from, to, kind, label) edges of one stack, plus its boundaries' names."""

    nodes: dict[str, Node] = field(default_factory=dict)
    edges: list[tuple[str, str, str, str]] = field(default_factory=list)
    region: str = ""
    replica_region: str = ""
    namespace: str = ""
    cluster_edge: bool = False
    """The edge runs in the cluster (Gateway API) rather than in AWS (an ALB)."""

    def add(self, node: Node) -> None:
        self.nodes[node.id] = node

    def link(self, a: str, b: str, kind: str, label: str = "") -> None:
        if a in self.nodes and b in self.nodes and (a, b, kind, label) not in self.edges:
            self.edges.append((a, b, kind, label))


def _env(container: dict[str, Any]) -> dict[str, str]:
    return {e["name"]: e["value"] for e in container.get("env", []) if "value" in e}


def _component(labels: dict[str, str] | None) -> str | None:
    return (labels or {}).get("app.kubernetes.io/component")


def _found(recording: Recording, type: str) -> list[Any]:
    """The resources of one type, by name (not in registration order, which varies)."""
    return sorted(recording.find(type=type), key=lambda r: r.name)


def _int(value: Any) -> str:
    """A count as the plan records it (numbers may come back as floats from the mocks)."""
    return str(int(value)) if isinstance(value, (int, float)) else str(value)


def _short(paths: list[str], width: int) -> list[str]:
    """Paths wrapped into lines of about ``width`` characters."""
    out, line = [], ""
    for p in paths:
        if line and len(line) + 1 + len(p) > width:
            out.append(line)
            line = p
        else:
            line = f"{line} {p}".strip()
    return out + ([line] if line else [])


def _routes(manifests: list[dict[str, Any]]) -> tuple[dict[str, list[str]], list[str]]:
    """Service name -> paths the edge sends to it, and the paths the edge refuses itself."""
    to: dict[str, list[str]] = {}
    refused: list[str] = []
    for m in manifests:
        if m["kind"] == "Ingress":
            for rule in m["spec"].get("rules", []):
                for p in rule["http"]["paths"]:
                    port = p["backend"]["service"]["port"]
                    if port.get("name") == "use-annotation":
                        refused.append(p["path"])
                    else:
                        to.setdefault(p["backend"]["service"]["name"], []).append(p["path"])
        elif m["kind"] == "HTTPRoute":
            for rule in m["spec"].get("rules", []):
                paths = [x["path"]["value"] for x in rule.get("matches", []) if "path" in x]
                refs = [b["name"] for b in rule.get("backendRefs", []) if b.get("kind", "Service") == "Service"]
                for name in refs:
                    to.setdefault(name, []).extend(paths)
                if not refs and not any(f.get("type") == "RequestRedirect" for f in rule.get("filters", [])):
                    refused.extend(paths)
    return to, refused


def _bucket_of(value: str, buckets: list[str]) -> str | None:
    """The bucket resource whose physical name (``<resource name>-<suffix>``) ``value`` names."""
    hits = [b for b in buckets if re.search(rf"(^|//){re.escape(b)}-[0-9a-z]+(/|$)", value)]
    return max(hits, key=len) if hits else None


def model(recording: Recording) -> Picture:
    """The nodes and edges of the running system of one recorded stack."""
    # Sorted: registration order varies between runs (components that wait), the picture must not.
    manifests = sorted(recording.manifests(), key=lambda m: (m["kind"], m["metadata"].get("namespace", ""),
                                                             m["metadata"]["name"]))
    of_kind = {}
    for m in manifests:
        of_kind.setdefault(m["kind"], []).append(m)
    pic = Picture()
    pic.add(Node("internet", "Internet", ["users, webhook callers, API clients"], 0, "ns", "internet"))
    routes_to = _edge(pic, of_kind)
    deployments = _roles(pic, recording, of_kind, routes_to)
    _stores(pic, recording, of_kind, deployments)
    _monitoring(pic, of_kind)
    return pic


def _edge(pic: Picture, of_kind: dict[str, list[dict[str, Any]]]) -> dict[str, list[str]]:
    """The edge box; returns the paths it sends to each Service."""
    routes_to, refused = _routes(of_kind.get("Ingress", []) + of_kind.get("HTTPRoute", []))
    lines = []
    if of_kind.get("Ingress"):
        notes = {k: v for m in of_kind["Ingress"] for k, v in (m["metadata"].get("annotations") or {}).items()}
        scheme = notes.get("alb.ingress.kubernetes.io/scheme", "internal")
        waf = "WAF web ACL" if "alb.ingress.kubernetes.io/wafv2-acl-arn" in notes else "no WAF"
        title = f"AWS ALB ({scheme})"
        lines.append(f"TLS {notes.get('alb.ingress.kubernetes.io/ssl-policy', 'listener')} · ACM cert · {waf}")
        lines.append(f"{len(of_kind['Ingress'])} Ingresses: " + ", ".join(m["metadata"]["name"]
                                                                        for m in of_kind["Ingress"]))
    else:
        pic.cluster_edge = True
        gateways = of_kind.get("Gateway", [])
        title = "Gateway API (Envoy Gateway)"
        for g in gateways:
            tls = [li for li in g["spec"]["listeners"] if li.get("tls")]
            lines.append(f"Gateway {g['metadata']['name']}: " + ", ".join(
                f"{li['protocol']} :{li['port']}" for li in g["spec"]["listeners"]) + (" (TLS)" if tls else ""))
        policies = len(of_kind.get("BackendTrafficPolicy", [])) + len(of_kind.get("SecurityPolicy", []))
        lines.append(f"{len(of_kind.get('HTTPRoute', []))} HTTPRoutes · {policies} rate-limit/security policies")
    if refused:
        lines.append("answers itself (404): " + " ".join(sorted(set(refused))))
    pic.add(Node("edge", title, lines, 1, "ns", "edge"))
    pic.link("internet", "edge", "request", "HTTPS :443")
    return routes_to


def _roles(pic: Picture, recording: Recording, of_kind: dict[str, list[dict[str, Any]]],
           routes_to: dict[str, list[str]]) -> dict[str, dict[str, Any]]:
    """One box per Deployment (by component label); returns the Deployments by role."""
    services = {s["metadata"]["name"]: _component(s["spec"].get("selector")) for s in of_kind.get("Service", [])}
    ranges: dict[str, str] = {}
    for h in of_kind.get("HorizontalPodAutoscaler", []):
        s = h["spec"]
        ranges[s["scaleTargetRef"]["name"]] = f"HPA {s.get('minReplicas', 1)}–{s['maxReplicas']} replicas"
    for so in of_kind.get("ScaledObject", []):
        s = so["spec"]
        triggers = sorted({t["type"] for t in s.get("triggers", [])})
        ranges[s["scaleTargetRef"]["name"]] = (f"KEDA {s.get('minReplicaCount', 0)}–{s['maxReplicaCount']} replicas"
                                               f" on {'/'.join(triggers)} queue length")
    deployments = {_component(d["spec"]["template"]["metadata"].get("labels")): d
                   for d in of_kind.get("Deployment", [])}
    pools = _found(recording, "aws:eks/nodeGroup:NodeGroup")
    for role, d in deployments.items():
        if role is None:
            continue
        name = d["metadata"]["name"]
        pod = d["spec"]["template"]["spec"]
        main_container = next(c for c in pod["containers"] if c["name"] == "n8n")
        args = " ".join(main_container.get("args") or [])
        lines = [f"Deployment {name}: `n8n {args}`",
                 ranges.get(name, f"{_int(d['spec'].get('replicas', 1))} replica(s), fixed")]
        sidecars = [c for c in pod.get("initContainers", []) if c.get("restartPolicy") == "Always"]  # native
        sidecars += [c for c in pod["containers"] if c is not main_container]
        for c in sidecars:
            lines.append(f"+ sidecar {c['name']} ({c['image'].rsplit('/', 1)[-1]})")
        taints = {t["key"] for t in pod.get("tolerations", [])}
        for pool in pools:
            if taints & {t["key"] for t in pool.inputs.get("taints", [])}:
                sc = pool.inputs.get("scalingConfig", {})
                lines.append(f"on node group {pool.name}: {pool.inputs.get('capacityType', 'ON_DEMAND')}, "
                             f"{_int(sc.get('minSize'))}–{_int(sc.get('maxSize'))} nodes")
                lines.append("  " + ", ".join(pool.inputs.get("instanceTypes", [])))
        paths = [p for svc, ps in routes_to.items() if services.get(svc) == role for p in ps]
        if paths:
            lines.append(f"{len(paths)} path families from the edge:")
            lines.extend(_short(paths, 34 if role in ("main", "webhook") and "webhook" in deployments else 70))
        column = "ns"
        if role in ("main", "webhook") and "webhook" in deployments:
            column = "ns-left" if role == "main" else "ns-right"
        row = 2 if role in ("main", "webhook") else 4
        pic.add(Node(f"role-{role}", f"n8n {role}", lines, row, column, "namespace"))
        if paths:
            pic.link("edge", f"role-{role}", "request", f"{len(paths)} paths")
    pic.namespace = next((d["metadata"].get("namespace", "") for d in deployments.values()), "")
    return {role: d for role, d in deployments.items() if role}


def _stores(pic: Picture, recording: Recording, of_kind: dict[str, list[dict[str, Any]]],
            deployments: dict[str, dict[str, Any]]) -> None:
    """Redis, PostgreSQL (with its pooler) and the archive, linked to the roles that use them."""
    # Redis
    redis_sets = [s for s in of_kind.get("StatefulSet", []) if _component(s["metadata"].get("labels")) == "redis"]
    groups = _found(recording, "aws:elasticache/replicationGroup:ReplicationGroup")
    if redis_sets:
        s = redis_sets[0]
        pic.add(Node("redis", "Redis (in cluster)", [f"StatefulSet {s['metadata']['name']} × "
                                                     f"{s['spec'].get('replicas', 1)}", "TLS :6379 · AOF on a PVC"],
                     3, "ns", "namespace"))
    elif groups:
        g = groups[0].inputs
        failover = " · automatic failover" if g.get("automaticFailoverEnabled") else ""
        pic.add(Node("redis", "ElastiCache", [
            f"replication group {groups[0].name}", f"{g.get('engine', 'redis')} {g.get('nodeType', '')} × "
            f"{_int(g.get('numCacheClusters', 1))} nodes", f"TLS :6379{failover}"], 3, "aws", "aws"))
    # PostgreSQL
    clusters = of_kind.get("postgresql", [])
    instances = _found(recording, "aws:rds/instance:Instance")
    proxies = _found(recording, "aws:rds/proxy:Proxy")
    if clusters:
        c = clusters[0]
        name, spec = c["metadata"]["name"], c["spec"]
        pic.add(Node("database", "PostgreSQL (Patroni)", [
            f"postgresql {name}: {spec.get('numberOfInstances', 1)} member(s), Postgres "
            f"{spec.get('postgresql', {}).get('version', '')}", "Spilo pods, one leader + standbys"],
            6, "ns", "namespace"))
        if spec.get("enableConnectionPooler"):
            n = spec.get("connectionPooler", {}).get("numberOfInstances", 1)
            pic.add(Node("pooler", "PgBouncer", [f"Service {name}-pooler × {n} (transaction pooling)"],
                         5, "ns", "namespace"))
    elif instances:
        i = instances[0].inputs
        pic.add(Node("database", "Amazon RDS PostgreSQL", [
            f"{i.get('engine', 'postgres')} {i.get('engineVersion', '')} {i.get('instanceClass', '')}".strip(),
            "Multi-AZ standby" if i.get("multiAz") else "single AZ", "automated snapshots"], 6, "aws", "aws"))
        if proxies:
            p = proxies[0].inputs
            login = "login from Secrets Manager" if any(a.get("authScheme") == "SECRETS"
                                                          for a in p.get("auths", [])) else ""
            tls = "TLS required" if p.get("requireTls") else "TLS optional"
            lines = [x for x in (f"{proxies[0].name}: {tls}", login) if x]
            pic.add(Node("pooler", "RDS Proxy", lines, 5, "aws", "aws"))
    for role, d in deployments.items():
        env = {k: v for c in d["spec"]["template"]["spec"]["containers"] for k, v in _env(c).items()}
        if "QUEUE_BULL_REDIS_HOST" in env:
            if role == "worker":
                pic.link("redis", f"role-{role}", "queue", "jobs")
            else:
                pic.link(f"role-{role}", "redis", "queue", "enqueue")
        host = env.get("DB_POSTGRESDB_HOST", "")
        if host:
            pooled = "pooler" in pic.nodes and ("-pooler" in host or ".proxy-" in host)
            pic.link(f"role-{role}", "pooler" if pooled else "database", "sql", "")
    pic.link("pooler", "database", "sql", "")
    _archive(pic, recording, of_kind)


def _archive(pic: Picture, recording: Recording, of_kind: dict[str, list[dict[str, Any]]]) -> None:
    buckets = _found(recording, "aws:s3/bucket:Bucket")
    providers = {p.name: p.inputs.get("region", "") for p in _found(recording, "pulumi:providers:aws")}
    home = [b.name for b in buckets if not providers.get(b.options.get("provider") or "")]
    away = [b.name for b in buckets if providers.get(b.options.get("provider") or "")]
    names = [b.name for b in buckets]
    arns = (re.search(r"arn:aws:[a-z0-9-]+:([a-z]{2}(?:-[a-z]+)+-\d):", str(r.inputs))
            for r in sorted(recording.resources, key=lambda r: (r.type, r.name))
            if r.type.startswith("aws:") and not r.options.get("provider"))
    pic.region = next((m.group(1) for m in arns if m), "")
    if home:
        pic.add(Node("s3", f"S3 {pic.region}".strip(), [f"bucket {b}" for b in sorted(home)], 7, "aws", "aws"))
    if away:
        pic.replica_region = next(providers[b.options["provider"]] for b in buckets if b.name in away)
        pic.add(Node("replica", f"S3 {pic.replica_region}", [f"bucket {b}" for b in sorted(away)],
                     7, "replica", "replica"))
    for c in of_kind.get("postgresql", []):
        wal = _env({"env": c["spec"].get("env", [])}).get("WALG_S3_PREFIX", "")
        if _bucket_of(wal, names):
            pic.link("database", "s3", "archive", f"WAL-G → {_bucket_of(wal, names)}")
    for job in of_kind.get("CronJob", []):
        spec = job["spec"]["jobTemplate"]["spec"]["template"]["spec"]
        env = {k: v for c in spec.get("containers", []) + spec.get("initContainers", []) for k, v in _env(c).items()}
        target = next((_bucket_of(v, names) for v in env.values() if _bucket_of(v, names)), None)
        pic.add(Node(f"job-{job['metadata']['name']}", "logical dumps", [
            f"CronJob {job['metadata']['name']}", f"schedule {job['spec']['schedule']}"], 7, "ns-left",
            "namespace"))
        pic.link("database", f"job-{job['metadata']['name']}", "archive", "pg_dump")
        if target:
            pic.link(f"job-{job['metadata']['name']}", "s3", "archive", f"→ {target}")
    for rep in _found(recording, "aws:s3/bucketReplicationConfig:BucketReplicationConfig"):
        pic.link("s3", "replica", "replication", f"replicated ({rep.name})")


def _monitoring(pic: Picture, of_kind: dict[str, list[dict[str, Any]]]) -> None:
    monitors = of_kind.get("ServiceMonitor", []) + of_kind.get("PodMonitor", [])
    if not monitors:
        return
    lines = ["(Prometheus Operator)", f"{len(monitors)} monitors:", *sorted(m["metadata"]["name"] for m in monitors),
             f"{len(of_kind.get('PrometheusRule', []))} rule group(s)"]
    pic.add(Node("prometheus", "Prometheus", lines, 2, "prom", "cluster", rows=5))
    for m in monitors:
        labels = m["spec"].get("selector", {}).get("matchLabels", {})
        comp = _component(labels)
        target = f"role-{comp}" if f"role-{comp}" in pic.nodes else comp if comp in pic.nodes else None
        if labels.get("application") == "spilo":
            target = "database"
        if target:
            pic.link("prometheus", target, "scrape", m["metadata"]["name"])


# ------------------------------------------------------------------------------------------------------------ layout


def _height(node: Node) -> int:
    return 30 + LINE * len(node.lines)


def _rows(pic: Picture) -> list[tuple[int, int]]:
    """(top, height) of each row."""
    count = max(n.row for n in pic.nodes.values()) + 1
    heights = [max([_height(n) for n in pic.nodes.values() if n.row == r and n.rows == 1] or [40])
               for r in range(count)]
    out, y = [], TOP
    for h in heights:
        out.append((y, h))
        y += h + GAP
    return out


def _box(node: Node, rows: list[tuple[int, int]]) -> tuple[int, int, int, int]:
    x, w = COLUMNS[node.column]
    top = rows[node.row][0]
    last = rows[min(node.row + node.rows - 1, len(rows) - 1)]
    return x, top, w, last[0] + last[1] - top


class _Router:
    """Orthogonal arrows through the gaps between rows and the lane between the namespace and AWS columns."""

    def __init__(self, pic: Picture, rows: list[tuple[int, int]]):
        self.pic, self.rows = pic, rows
        self.used: dict[str, int] = {}

    def _slot(self, key: str, step: int) -> int:
        n = self.used.get(key, 0)
        self.used[key] = n + 1
        return (n % 2 * 2 - 1) * ((n + 1) // 2) * step if n else 0

    def path(self, a: str, b: str, kind: str) -> tuple[str, tuple[float, float]]:
        """SVG path and a label anchor."""
        na, nb = self.pic.nodes[a], self.pic.nodes[b]
        ax, ay, aw, ah = _box(na, self.rows)
        bx, by, bw, bh = _box(nb, self.rows)
        if kind == "scrape":
            y = by + bh / 2 + self._slot(f"s{nb.row}", 8)
            blocked = any(n.row == nb.row and n.id != b and n.column != "prom" and COLUMNS[n.column][0] < bx
                          for n in self.pic.nodes.values())
            if blocked:  # another box sits between: come up from the gap below the row
                gy = by + bh + GAP / 2 - 8
                return f"M {ax + aw} {gy} H {bx + 30} V {by + bh}", (ax + aw + 4, gy - 3)
            return f"M {ax + aw} {y} H {bx}", (ax + aw + 4, y - 3)
        if nb.row == na.row:  # same row: side to side
            y = ay + min(ah, bh) / 2
            return f"M {ax + aw} {y} H {bx}", ((ax + aw + bx) / 2 - 20, y - 4)
        lo, hi = max(ax, bx), min(ax + aw, bx + bw)
        if nb.row == na.row + 1:  # next row: down through the gap between them
            if lo < hi:
                x = (lo + hi) / 2 + self._slot(f"v{a}{nb.row}", 14)
                return f"M {x} {ay + ah} V {by}", (x + 5, ay + ah + GAP / 2 + 4)
            sx, tx = ax + aw / 2, bx + bw / 2
            gy = ay + ah + GAP / 2 + self._slot(f"g{na.row}", 6)
            return f"M {sx} {ay + ah} V {gy} H {tx} V {by}", ((sx + tx) / 2, gy - 4)
        # further down: out to the lane, down the lane, into the target
        lane = LANE_X + self._slot("lane", 8)
        sx = ax + aw / 2 + (aw / 4 if ax + aw < LANE_X else 0)
        gy = ay + ah + GAP / 2 + self._slot(f"g{na.row}", 6)
        start = f"M {sx} {ay + ah} V {gy} H {lane}"
        if bx > LANE_X:
            ty = by + bh / 2 + self._slot(f"in{b}", 8)
            return f"{start} V {ty} H {bx}", (lane + 4, ty - 4)
        ty = by - GAP / 2 + self._slot(f"g{nb.row - 1}", 6)
        tx = bx + bw - 40 + self._slot(f"t{b}", 12)
        return f"{start} V {ty} H {tx} V {by}", (tx + 4, ty - 4)


def _zone(x: float, y: float, w: float, h: float, label: str, fill: str, dash: str = "") -> str:
    return (f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="12" fill="{fill}" fill-opacity="0.35" '
            f'stroke="#888" stroke-dasharray="{dash}"/>'
            f'<text x="{x + 10}" y="{y + 16}" font-size="12" font-weight="bold" fill="#555">{escape(label)}</text>')


def runtime_svg(recording: Recording) -> str:
    """The runtime picture of one recorded stack as an SVG document."""
    pic = model(recording)
    rows = _rows(pic)
    boxes = {n.id: _box(n, rows) for n in pic.nodes.values()}
    bottom = rows[-1][0] + rows[-1][1]
    legend_y = bottom + 40
    width = max(x + w for x, _, w, _ in boxes.values()) + 12 + MARGIN  # no replica region: no empty column
    height = legend_y + 40
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
        'font-family="Helvetica, Arial, sans-serif">',
        "<defs>" + "".join(
            f'<marker id="arrow-{k}" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
            f'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="{c}"/></marker>'
            for k, (c, _, _) in KINDS.items()) + "</defs>",
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{MARGIN}" y="28" font-size="17" font-weight="bold">n8n at run time: where a request goes and '
        f'what talks to what (drawn from the plan)</text>',
    ]
    # Boundaries: AWS region, cluster, namespace, replica region; public above the dashed line, private below.
    edge_top = rows[1][0]
    region_x = COLUMNS["prom"][0] - 24
    parts.append(_zone(region_x, edge_top - 28, COLUMNS["aws"][0] + COLUMNS["aws"][1] + 16 - region_x,
                       bottom - edge_top + 44, f"AWS account · region {pic.region}".strip(" ·"), "#fffaf0"))
    cluster_top = rows[1][0] - 6 if pic.cluster_edge else rows[2][0] - 24
    eks = any(r.type.startswith("aws:eks/") for r in recording.resources)
    parts.append(_zone(region_x + 10, cluster_top, LANE_X + 26 - region_x, bottom - cluster_top + 12,
                       "EKS cluster" if eks else "Kubernetes cluster", "#f3f9f3"))
    ns_nodes = [boxes[n.id] for n in pic.nodes.values() if n.zone == "namespace"]
    if ns_nodes:
        ns_top = min(b[1] for b in ns_nodes) - 24
        ns_x = COLUMNS["ns"][0] - 12
        parts.append(_zone(ns_x, ns_top, COLUMNS["ns"][1] + 24, bottom - ns_top + 4, "", "#eaf6ec", "5 3"))
        parts.append(f'<text x="{ns_x + COLUMNS["ns"][1] + 14}" y="{bottom - 4}" font-size="12" font-weight="bold" '
                     f'fill="#555" text-anchor="end">namespace {escape(pic.namespace)}</text>')
    if "replica" in pic.nodes:
        x, y, w, h = boxes["replica"]
        parts.append(_zone(x - 12, y - 28, w + 24, h + 40, f"AWS region {pic.replica_region}", "#f6e9f7"))
    divider = rows[2][0] - (34 if not pic.cluster_edge else 30)
    parts.append(f'<line x1="{MARGIN}" y1="{divider}" x2="{width - MARGIN}" y2="{divider}" stroke="#c0392b" '
                 f'stroke-dasharray="8 4"/>')
    parts.append(f'<text x="{width - MARGIN}" y="{divider - 6}" font-size="12" fill="#c0392b" text-anchor="end">'
                 f'public (internet-facing) ↑</text>')
    parts.append(f'<text x="{width - MARGIN}" y="{divider + 16}" font-size="12" fill="#c0392b" text-anchor="end">'
                 f'private (no public address) ↓</text>')
    # Boxes
    for n in sorted(pic.nodes.values(), key=lambda n: n.id):
        x, y, w, h = boxes[n.id]
        parts.append(f'<g id="{escape(n.id)}" data-title="{escape(n.title)}">')
        parts.append(f'<rect x="{x}" y="{y}" width="{w}" height="{h}" rx="8" fill="{ZONE_FILL[n.zone]}" '
                     'stroke="#333"/>')
        parts.append(f'<text x="{x + 10}" y="{y + 20}" font-size="14" font-weight="bold">{escape(n.title)}</text>')
        for i, line in enumerate(n.lines):
            parts.append(f'<text x="{x + 10}" y="{y + 38 + i * LINE}" font-size="11" fill="#333">'
                         f'{escape(line)}</text>')
        parts.append("</g>")
    # Arrows (after the boxes: on top)
    router = _Router(pic, rows)
    for a, b, kind, label in sorted(pic.edges, key=lambda e: (list(KINDS).index(e[2]), e[0], e[1])):
        colour, dash, meaning = KINDS[kind]
        d, (lx, ly) = router.path(a, b, kind)
        parts.append(f'<path d="{d}" fill="none" stroke="{colour}" stroke-width="1.6" stroke-dasharray="{dash}" '
                     f'marker-end="url(#arrow-{kind})" data-from="{a}" data-to="{b}" data-kind="{kind}">'
                     f'<title>{escape(f"{a} → {b}: {meaning} {label}".strip())}</title></path>')
        if label and kind == "replication":
            label = "replicated"
        if label and kind in ("request", "archive", "replication"):
            parts.append(f'<text x="{lx}" y="{ly}" font-size="10" fill="{colour}">{escape(label)}</text>')
    # Legend
    x = MARGIN
    for kind, (colour, dash, meaning) in KINDS.items():
        parts.append(f'<line x1="{x}" y1="{legend_y}" x2="{x + 30}" y2="{legend_y}" stroke="{colour}" '
                     f'stroke-width="2" stroke-dasharray="{dash}" marker-end="url(#arrow-{kind})"/>')
        parts.append(f'<text x="{x + 36}" y="{legend_y + 4}" font-size="11">{escape(meaning)}</text>')
        x += 52 + 6 * len(meaning)
    parts.append("</svg>")
    return "\n".join(parts) + "\n"


def main(argv: list[str] | None = None) -> int:
    """``python -m tools.docs.runtime_picture STACK``: print the stack's runtime picture (docs/runtime-dev.svg)."""
    import sys

    from tools.offline import run_stack

    args = sys.argv[1:] if argv is None else argv
    if len(args) != 1:
        print("usage: python -m tools.docs.runtime_picture STACK  (reads Pulumi.<STACK>.yaml)", file=sys.stderr)
        return 2
    sys.stdout.write(runtime_svg(run_stack(args[0])))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""The add-ons' CustomResourceDefinitions, applied from the add-ons' own Go modules.

The add-on charts cannot be fetched here, so the local stack turns them off; what our custom resources are checked
against is the upstream CRD files that each project's Go module carries, at the versions addons.py and the edge
pin. Where the proxy refuses that exact version (403), the nearest version it serves is used and named in
``SOURCES`` with the reason.

    python -m tools.testing.engine.crds [--dir CLUSTER_DIR]
"""

from __future__ import annotations

import argparse
import time
from dataclasses import dataclass
from pathlib import Path

from tools.ci import crds as gates_crds
from tools.testing.engine.cluster import DEFAULT_DIR, Cluster


@dataclass(frozen=True)
class CrdSource:
    """CRD files inside one module version."""

    module: str
    version: str
    """The version applied."""
    pattern: str
    """Glob of the CRD files inside the module."""
    note: str = ""
    """Why the version differs from the pin, when it does."""


SOURCES = (
    CrdSource("github.com/cert-manager/cert-manager", "v1.20.2", "deploy/crds/*.yaml"),
    CrdSource("github.com/kedacore/keda/v2", "v2.20.2", "config/crd/bases/*.yaml"),
    CrdSource("github.com/zalando/postgres-operator", "v1.15.0", "manifests/*.crd.yaml",
              "the pinned chart 2.0.1 is not served as a module (403 for /v2@v2.0.1 and @v2.0.1+incompatible)"),
    # Gateway API, Envoy Gateway and the Prometheus Operator: the same releases the gates validate against.
    *(CrdSource(s.module, s.version, glob) for s in gates_crds.SOURCES for glob in s.globs),
)


def definitions(source: CrdSource) -> list[dict]:
    """Every CustomResourceDefinition in the source's files."""
    return gates_crds.definitions(source.module, source.version, source.pattern)


def _backport(crd: dict) -> dict:
    """The one field our postgresql manifests use that v1.15.0's schema lacks: ``spec.topologySpreadConstraints``
    (zalando/postgres-operator#2530, released after v1.15.0; the pinned 2.0.1 is not served, so its schema cannot be
    read here). Declared as a list of objects whose contents are not checked; every other field keeps v1.15.0's
    schema."""
    if crd["metadata"]["name"] == "postgresqls.acid.zalan.do":
        for version in crd["spec"]["versions"]:
            spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]["properties"]
            spec.setdefault("topologySpreadConstraints", {
                "type": "array", "items": {"type": "object", "x-kubernetes-preserve-unknown-fields": True}})
    return crd


def apply(cluster: Cluster, timeout: float = 120) -> list[str]:
    """Server-side apply every CRD and wait until each is Established; returns their names."""
    names = []
    for source in SOURCES:
        for crd in map(_backport, definitions(source)):
            name = crd["metadata"]["name"]
            cluster.request("PATCH", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}"
                                     "?fieldManager=n8n-engine&force=true",
                            crd, content_type="application/apply-patch+yaml")
            names.append(name)
    deadline = time.monotonic() + timeout
    pending = set(names)
    while pending and time.monotonic() < deadline:
        for name in sorted(pending):
            crd = cluster.request("GET", f"/apis/apiextensions.k8s.io/v1/customresourcedefinitions/{name}")
            conditions = {c["type"]: c["status"] for c in crd.get("status", {}).get("conditions", [])}
            if conditions.get("Established") == "True":
                pending.discard(name)
        if pending:
            time.sleep(0.5)
    if pending:
        raise RuntimeError(f"CRDs not established after {timeout}s: {sorted(pending)}")
    return names


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--dir", type=Path, default=DEFAULT_DIR, help="the cluster's state directory")
    args = parser.parse_args(argv)
    for name in apply(Cluster(args.dir)):
        print(name)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())

"""Real CRD schemas for custom resources: fetched from the projects' own Go modules at the pinned versions
(Gateway API, Envoy Gateway, the Prometheus Operator).

The Go module proxy serves every tagged release of a Go project as a zip that contains its CRD manifests, so
``go mod download -json <module>@<version>`` (cached in Go's module cache) gives exactly the schemas of the release
we pin, with no registry of our own. :func:`crd_errors` validates an object against its CRD's
``openAPIV3Schema`` strictly: fields a schema does not declare are errors (as ``kubectl --validate=strict`` and
kubernetes-validate ``--strict`` treat them), unless the schema preserves unknown fields. CEL rules
(``x-kubernetes-validations``) need an API server and are not evaluated here.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from n8n_platform.edge.gateway import ENVOY_GATEWAY_VERSION, GATEWAY_API_VERSION


@dataclass(frozen=True)
class CrdSource:
    """Where one project's CRDs live inside its Go module."""

    module: str
    version: str
    globs: tuple[str, ...]
    groups: tuple[str, ...]
    """API groups whose kinds these CRDs define (so a kind is known without downloading anything)."""


PROMETHEUS_OPERATOR_VERSION = "v0.93.1"
"""Operator version of the prometheus-operator-crds chart pinned in addons.PROMETHEUS_CRDS (and of
kube-prometheus-stack 88.5.3)."""

SOURCES = (
    CrdSource("sigs.k8s.io/gateway-api", GATEWAY_API_VERSION,
              ("config/crd/standard/gateway.networking.k8s.io_*.yaml",), ("gateway.networking.k8s.io",)),
    CrdSource("github.com/envoyproxy/gateway", ENVOY_GATEWAY_VERSION,
              ("charts/gateway-helm/charts/crds/crds/generated/gateway.envoyproxy.io_*.yaml",),
              ("gateway.envoyproxy.io",)),
    CrdSource("github.com/prometheus-operator/prometheus-operator", PROMETHEUS_OPERATOR_VERSION,
              ("example/prometheus-operator-crd/monitoring.coreos.com_*.yaml",), ("monitoring.coreos.com",)),
)
"""CRDs the gates validate against: Gateway API (standard channel), Envoy Gateway and the Prometheus Operator, at
the pinned releases."""


def module_dir(module: str, version: str) -> Path:
    """The extracted module (downloaded once into Go's module cache)."""
    env = {**os.environ, "GOFLAGS": "-mod=mod"}
    if shutil.which("go") is None:
        raise RuntimeError(f"the Go toolchain (`go` on PATH) is needed to fetch {module}@{version} and its CRD "
                           "schemas from the Go module proxy; install Go 1.21+")
    with tempfile.TemporaryDirectory() as tmp:
        proc = subprocess.run(["go", "mod", "download", "-json", f"{module}@{version}"], cwd=tmp, env=env,
                              capture_output=True, text=True, timeout=900)
    info = json.loads(proc.stdout or "{}")
    if proc.returncode != 0 or "Dir" not in info:
        raise RuntimeError(f"go mod download {module}@{version} failed: {info.get('Error') or proc.stderr[-500:]}")
    return Path(info["Dir"])


class CrdLoader(yaml.SafeLoader):
    """SafeLoader that reads a bare ``=`` (YAML 1.1's value tag, which the Prometheus Operator's CRDs use as a relabel
    action) as the string it is."""


CrdLoader.add_constructor("tag:yaml.org,2002:value", lambda loader, node: loader.construct_scalar(node))


def definitions(module: str, version: str, glob: str) -> list[dict[str, Any]]:
    """Every CustomResourceDefinition in the files matching ``glob`` inside ``module@version``."""
    found = []
    for path in sorted(module_dir(module, version).glob(glob)):
        for doc in yaml.load_all(path.read_text(), Loader=CrdLoader):
            if isinstance(doc, dict) and doc.get("kind") == "CustomResourceDefinition":
                found.append(doc)
    if not found:
        raise RuntimeError(f"no CustomResourceDefinition in {module}@{version}/{glob}")
    return found


@functools.cache
def schemas() -> dict[tuple[str, str], dict[str, Any]]:
    """(apiVersion, kind) -> openAPIV3Schema of every served version of every CRD in :data:`SOURCES`."""
    out: dict[tuple[str, str], dict[str, Any]] = {}
    for source in SOURCES:
        for pattern in source.globs:
            for doc in definitions(source.module, source.version, pattern):
                spec = doc["spec"]
                for v in spec["versions"]:
                    if v.get("served") and "schema" in v:
                        key = (f"{spec['group']}/{v['name']}", spec["names"]["kind"])
                        out[key] = v["schema"]["openAPIV3Schema"]
    if not out:
        raise RuntimeError("no CRD schemas found in the downloaded modules")
    return out


def _strict(schema: Any) -> Any:
    """The schema with ``additionalProperties: false`` wherever it lists properties and keeps no unknown fields."""
    if isinstance(schema, list):
        return [_strict(s) for s in schema]
    if not isinstance(schema, dict):
        return schema
    out = {k: _strict(v) for k, v in schema.items()}
    if ("properties" in schema and "additionalProperties" not in schema
            and not schema.get("x-kubernetes-preserve-unknown-fields")):
        out["additionalProperties"] = False
    return out


@functools.cache
def _validator(key: tuple[str, str]) -> Any:
    import jsonschema

    schema = _strict(schemas()[key])
    return jsonschema.Draft7Validator(schema)


def known(api_version: str, kind: str) -> bool:
    """True when the kind's CRD is one of :data:`SOURCES` (its API group is theirs)."""
    group = api_version.rpartition("/")[0]
    return any(group in source.groups for source in SOURCES)


def crd_errors(manifest: dict[str, Any]) -> list[str]:
    """Every schema problem of ``manifest`` against its real CRD (empty when valid)."""
    key = (manifest.get("apiVersion"), manifest.get("kind"))
    label = f"{key[1]} {manifest.get('metadata', {}).get('namespace', '-')}/{manifest.get('metadata', {}).get('name')}"
    if key not in schemas():
        return [f"{label}: {key[0]} {key[1]} is not served by the pinned CRDs "
                f"({', '.join(f'{s.module}@{s.version}' for s in SOURCES)})"]
    errors = []
    for e in sorted(_validator(key).iter_errors(manifest), key=lambda e: list(e.absolute_path)):
        where = ".".join(str(p) for p in e.absolute_path) or "(root)"
        errors.append(f"{label} at {where}: {e.message}")
    return errors

"""Real CRD schemas for the gates: the Prometheus Operator's own CustomResourceDefinitions, at the operator version
the pinned prometheus-operator-crds chart installs, fetched as the Go module that carries them
(``example/prometheus-operator-crd/*.yaml``) through the Go module proxy and cached under ~/.cache.

Validation is stricter than the API server: besides the schema's types, enums and required fields, an object may
not carry fields its schema does not declare (the API server would silently prune them, so a typo would vanish).
"""

from __future__ import annotations

import functools
import json
import os
import subprocess
from pathlib import Path
from typing import Any

import yaml

PROMETHEUS_OPERATOR = ("github.com/prometheus-operator/prometheus-operator", "v0.93.1")
"""Operator version of the prometheus-operator-crds chart pinned in addons.PROMETHEUS_CRDS (and of
kube-prometheus-stack 88.5.3)."""
CACHE = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "n8n-platform" / "gomod"
CRD_FILES = {
    ("monitoring.coreos.com/v1", "ServiceMonitor"): "monitoring.coreos.com_servicemonitors.yaml",
    ("monitoring.coreos.com/v1", "PodMonitor"): "monitoring.coreos.com_podmonitors.yaml",
    ("monitoring.coreos.com/v1", "PrometheusRule"): "monitoring.coreos.com_prometheusrules.yaml",
}


@functools.cache
def module_dir() -> Path:
    """The module's source directory (downloaded once; ``go mod download`` verifies it against the checksum DB)."""
    module, version = PROMETHEUS_OPERATOR
    env = {**os.environ, "GOMODCACHE": str(CACHE), "GOFLAGS": "-mod=mod"}
    done = subprocess.run(["go", "mod", "download", "-json", f"{module}@{version}"], capture_output=True, text=True,
                          env=env, timeout=600, cwd="/")
    info = json.loads(done.stdout or "{}")
    if done.returncode != 0 or "Dir" not in info:
        raise RuntimeError(f"cannot fetch {module}@{version} for its CRD schemas: {info.get('Error') or done.stderr}")
    return Path(info["Dir"])


@functools.cache
def schema(api_version: str, kind: str) -> dict[str, Any]:
    """openAPIV3Schema of a kind's served version, closed against undeclared fields."""
    crd = yaml.safe_load((module_dir() / "example" / "prometheus-operator-crd" / CRD_FILES[(api_version, kind)])
                         .read_text())
    version = api_version.split("/")[1]
    served = next(v for v in crd["spec"]["versions"] if v["name"] == version)
    return _closed(served["schema"]["openAPIV3Schema"])


def _closed(node: Any) -> Any:
    if isinstance(node, dict):
        out = {k: _closed(v) for k, v in node.items()}
        if "properties" in out and not node.get("x-kubernetes-preserve-unknown-fields") \
                and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_closed(v) for v in node]
    return node


def errors(manifest: dict[str, Any]) -> list[str]:
    """Every schema violation of one monitoring object, one line each."""
    import jsonschema

    validator = jsonschema.Draft7Validator(schema(manifest["apiVersion"], manifest["kind"]))
    label = f"{manifest['kind']} {manifest.get('metadata', {}).get('name')}"
    body = {k: v for k, v in manifest.items() if k != "metadata"}
    return [f"{label} at {'.'.join(str(p) for p in e.absolute_path) or '(root)'}: {e.message} "
            f"(CRD of prometheus-operator {PROMETHEUS_OPERATOR[1]})"
            for e in sorted(validator.iter_errors(body), key=lambda e: list(e.absolute_path))]

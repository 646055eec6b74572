"""Every stack's offline plan registers each Kubernetes object after what it references from its own component.

The real engine creates objects without a dependency between them in parallel: a Job registered beside its
ServiceAccount raced it and lost (``serviceaccount "n8n-postgres-bootstrap" not found``, issue #19). Here, for every
stack file and the prod variant with Patroni, each workload (and Certificate, ScaledObject, ``postgresql``) must
depend, directly or through what it depends on, on every ServiceAccount, ConfigMap, Secret, PVC, PriorityClass or
Issuer it names that a sibling in the same component registers.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import yaml

from n8n_platform.references import provides, references
from tests.harness import Recording, manifest, run_stack
from tools.offline import ROOT

STACKS = sorted(p.name[len("Pulumi."):-len(".yaml")] for p in ROOT.glob("Pulumi.*.yaml"))
VARIANTS = {"prod-patroni": ("prod", {"database": {"engine": "patroni"}, "redis": {"mode": "in-cluster"}})}


def recording_of(stack: str, tmp_path: Path) -> Recording:
    base, overrides = VARIANTS.get(stack, (stack, {}))
    if base == "local":  # its kubeconfig exists only while `make engine-cluster` runs; any file does offline
        kubeconfig = tmp_path / "kubeconfig"
        kubeconfig.write_text(yaml.safe_dump({"apiVersion": "v1", "kind": "Config", "clusters": [], "users": [],
                                              "contexts": [], "current-context": ""}))
        overrides = {"cluster": {"kubeconfig": str(kubeconfig)}}
    return run_stack(base, overrides)


def unordered(recording: Recording) -> tuple[list[str], int]:
    """(each reference to a sibling that the referrer does not wait for, how many references to siblings there are)."""
    objects = [r for r in recording.resources if r.is_kubernetes]
    by_name = {r.name: r for r in recording.resources}

    def waits_for(name: str) -> set[str]:
        seen, todo = set(), [name]
        while todo:
            options = by_name[todo.pop()].options
            for dep in [*options["depends_on"], *options["input_dependencies"]]:
                if dep not in seen and dep in by_name:
                    seen.add(dep)
                    todo.append(dep)
        return seen

    problems, checked = [], 0
    for r in objects:
        wanted = references(manifest(r))
        if not wanted:
            continue
        siblings = {ref: o.name for o in objects if o.parent == r.parent and o is not r
                    for ref in provides(manifest(o))}
        before = waits_for(r.name)
        for ref in wanted:
            if ref in siblings:
                checked += 1
                if siblings[ref] not in before:
                    problems.append(f"{r.name} names {ref} but does not depend on {siblings[ref]}")
    return problems, checked


@pytest.mark.parametrize("stack", [*STACKS, *VARIANTS])
def test_no_object_is_registered_before_what_it_references_from_its_component(stack, tmp_path):
    problems, checked = unordered(recording_of(stack, tmp_path))
    assert problems == []
    assert checked >= 3, "the bootstrap Job alone names a ServiceAccount, a ConfigMap and a CA of its component"


def test_the_stacks_checked_include_every_stack_file():
    assert {"dev", "prod", "local"} <= set(STACKS)


def test_the_bootstrap_job_waits_for_its_service_account_and_config_map(tmp_path):
    recording = recording_of("local", tmp_path)
    job = recording.one("kubernetes:batch/v1:Job")
    assert {"n8n-db-bootstrap-serviceaccount-n8n-postgres-bootstrap",
            "n8n-db-bootstrap-configmap-n8n-postgres-bootstrap"} <= set(job.options["depends_on"])

"""Run the policy pack (policy/) over an offline plan, as the engine would run it over a preview.

    python -m tools.ci.policy_check --stack dev        (exit 1 when a mandatory rule is violated)

The recording of the offline runtime (tools.offline) is turned into what the engine hands a policy: engine-shaped
URNs (``<parent type>$…$<type>``, which the edge rule reads), plain camelCase inputs, `protect`, parents and the
per-input dependencies that tie an S3 setting to its bucket. Each policy's own ``validate`` then runs, with its
config from ``policy/config/<stack>.json`` (the file the workflows pass with ``--policy-pack-config``).
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    Policy,
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)

from policy.n8n_policy import POLICIES
from tools import offline

CONFIG_DIR = offline.ROOT / "policy" / "config"


@dataclass(frozen=True)
class Violation:
    """One problem a policy reported."""

    policy: str
    level: str
    urn: str
    message: str


def policy_config(stack: str, config_dir: Path = CONFIG_DIR) -> dict[str, dict[str, Any]]:
    """The pack's config for ``stack``: ``{policy: {enforcementLevel?, knob: value}}`` (empty when no file)."""
    path = config_dir / f"{stack}.json"
    config = json.loads(path.read_text()) if path.exists() else {}
    unknown = set(config) - {p.name for p in POLICIES}
    if unknown:
        raise ValueError(f"{path.name}: no such policy {sorted(unknown)}; policies: {[p.name for p in POLICIES]}")
    return {name: value if isinstance(value, dict) else {"enforcementLevel": value} for name, value in
            config.items()}


def engine_urn(recording: offline.Recording, registration: offline.Registration, stack: str) -> str:
    """The URN the engine gives ``registration``: its type qualified by every ancestor's (the stack excepted)."""
    by_urn = {r.urn: r for r in recording.resources}
    chain, parent = [registration.type], by_urn.get(registration.parent_urn)
    while parent is not None:
        chain.insert(0, parent.type)
        parent = by_urn.get(parent.parent_urn)
    return f"urn:pulumi:{stack}::{offline.PROJECT}::{'$'.join(chain)}::{registration.name}"


def policy_resources(recording: offline.Recording, stack: str) -> list[PolicyResource]:
    """Every registration as the engine hands it to a stack policy (and, one by one, to a resource policy)."""
    made: dict[str, PolicyResource] = {}
    for r in recording.resources:
        opts = PolicyResourceOptions(protect=r.options["protect"], ignore_changes=r.options["ignore_changes"],
                                     delete_before_replace=r.options["delete_before_replace"], aliases=[],
                                     custom_timeouts=PolicyCustomTimeouts(0, 0, 0), additional_secret_outputs=[])
        made[r.urn] = PolicyResource(r.type, offline.plain(r.inputs), engine_urn(recording, r, stack), r.name, opts,
                                     None, None, [], {})
    for r in recording.resources:
        resource = made[r.urn]
        resource.parent = made.get(r.parent_urn)
        resource.opts.parent = resource.parent.urn if resource.parent else None
        resource.property_dependencies = {k: [made[u] for u in urns if u in made]
                                          for k, urns in r.property_dependencies.items()}
    return list(made.values())


def run_policy(policy: Policy, resources: list[PolicyResource], config: dict[str, Any] | None = None) -> list[
        Violation]:
    """What ``policy`` reports over ``resources`` with the pack config ``config`` (its own entry is used)."""
    entry = dict((config or {}).get(policy.name) or {})
    level = entry.pop("enforcementLevel", None) or (policy.enforcement_level or EnforcementLevel.MANDATORY).value
    found: list[Violation] = []
    if level == EnforcementLevel.DISABLED.value:
        return found
    if isinstance(policy, ResourceValidationPolicy):
        for resource in resources:
            if not resource.urn or resource.resource_type.startswith("pulumi:providers:"):
                continue
            args = ResourceValidationArgs(resource.resource_type, resource.props, resource.urn, resource.name,
                                          resource.opts, None, entry)
            policy.validate(args, lambda message, urn=None, u=resource.urn: found.append(
                Violation(policy.name, level, u, message)))
    else:
        policy.validate(StackValidationArgs(resources, entry), lambda message, urn=None: found.append(
            Violation(policy.name, level, urn or "", message)))
    return found


def check(recording: offline.Recording, stack: str, config: dict[str, Any] | None = None) -> list[Violation]:
    """Every violation of every policy over a recorded stack."""
    resources = policy_resources(recording, stack)
    config = policy_config(stack) if config is None else config
    return [v for policy in POLICIES for v in run_policy(policy, resources, config)]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--stack", default="dev")
    stack = parser.parse_args(argv).stack
    violations = check(offline.run_stack(stack), stack)
    for v in violations:
        print(f"[{v.level}] {v.policy}: {v.message}")
    mandatory = [v for v in violations if v.level == EnforcementLevel.MANDATORY.value]
    print(f"{len(POLICIES)} policies, {len(violations)} violations ({len(mandatory)} mandatory) on stack {stack}")
    return 1 if mandatory else 0


if __name__ == "__main__":
    sys.exit(main())

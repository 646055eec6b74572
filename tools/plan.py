"""The offline plan: render a stack with no cloud, no cluster and no Pulumi CLI.

    python -m tools.plan --stack dev        (make plan; make plan STACK=prod)

Validates the stack's settings (exit 2 with only the settings errors when they are bad), runs the real program under
the mock runtime, prints a summary, and writes to build/plan/<stack>/:

- resources.json   every resource: type, name, parent, inputs (secrets as "[secret]"), options
- manifests/       every Kubernetes object the stack would apply, one YAML file each
- architecture.svg the components of this stack and how connections flow between them
- runtime.svg      the running system: where a request goes, what talks to what, boundaries and replica counts
"""

from __future__ import annotations

import argparse
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

import yaml

from tools import offline
from tools.docs.diagram import architecture_svg, components
from tools.docs.runtime_picture import runtime_svg

BUILD = offline.ROOT / "build" / "plan"


def progress(message: str) -> None:
    print(f"[plan] {message}", file=sys.stderr, flush=True)


def render(stack: str, out_dir: Path, root: Path = offline.ROOT) -> dict[str, Any]:
    """Render ``stack`` (from the project folder ``root``) into ``out_dir``; return the summary.

    Raises SettingsError on bad config before the program runs.
    """
    from n8n_platform import program
    from n8n_platform.settings import from_config

    raw, secret_keys = offline.load_stack_config(stack, root=root)
    settings = from_config(raw)  # validate first: nothing runs on bad settings
    progress(f"running the program for stack {stack!r} under the mock runtime")
    started = time.perf_counter()
    recording = offline.run(program.main, stack=stack, config=raw, secret_keys=secret_keys,
                            invokes=offline.credentials_of_stack(raw), stack_outputs=offline.deployed_outputs(raw))
    progress(f"{len(recording.resources)} resources registered in {time.perf_counter() - started:.1f}s; writing")
    write(recording, out_dir)
    return summarize(stack, settings, recording)


def write(recording: offline.Recording, out_dir: Path) -> None:
    """resources.json, manifests/, architecture.svg and runtime.svg of one recording."""
    manifests_dir = out_dir / "manifests"
    manifests_dir.mkdir(parents=True, exist_ok=True)
    for old in manifests_dir.glob("*.yaml"):
        old.unlink()
    # Sorted, not in registration order (which varies between runs): two plans of one stack diff cleanly.
    resources = [{"type": r.type, "name": r.name, "parent": r.parent, "inputs": offline.redacted(r.inputs),
                  "options": r.options} for r in sorted(recording.resources, key=lambda r: (r.type, r.name))]
    (out_dir / "resources.json").write_text(json.dumps(resources, indent=2, sort_keys=True) + "\n")
    for manifest in recording.manifests():
        meta = manifest.get("metadata", {})
        stem = "-".join(p for p in (manifest["kind"].lower(), meta.get("namespace"), meta.get("name")) if p)
        (manifests_dir / f"{stem}.yaml").write_text(yaml.safe_dump(manifest, sort_keys=False))
    (out_dir / "exports.json").write_text(json.dumps(offline.redacted(recording.exports), indent=2,
                                                     sort_keys=True) + "\n")
    (out_dir / "architecture.svg").write_text(architecture_svg(recording))
    (out_dir / "runtime.svg").write_text(runtime_svg(recording))


def summarize(stack: str, settings: Any, recording: offline.Recording) -> dict[str, Any]:
    """Resources per component and type, the key settings, and warnings worth a reader's attention."""
    per_component = {}
    for c in components(recording):
        kinds = Counter(d.type for d in recording.descendants(c.name) if d.custom)
        if kinds:
            per_component[f"{c.type.rsplit(':', 1)[1]} {c.name}"] = dict(sorted(kinds.items()))
    s = settings
    key_settings = {
        "environment": s.environment,
        "namespace": s.namespace,
        "n8n": f"{s.n8n.version} (main x{s.n8n.main.replicas}, webhook {s.n8n.webhook.replicas}-"
               f"{s.n8n.webhook.max_replicas}, workers {s.n8n.worker.min_replicas}-{s.n8n.worker.max_replicas} "
               f"x concurrency {s.n8n.worker.concurrency})",
        "database": s.database.engine,
        "redis": s.redis.mode,
        "edge": f"{s.edge.controller} https://{s.edge.hostname}",
        "protect": s.protect,
    }
    return {"stack": stack, "resources": len(recording.resources),
            "kubernetes_objects": len(recording.manifests()), "settings": key_settings,
            "components": per_component, "warnings": warnings(s)}


def warnings(s: Any) -> list[str]:
    """Choices that are legitimate but deserve a second look."""
    out = []
    if not s.protect:
        out.append("protect is off: databases, buckets and keys can be deleted by `pulumi destroy`")
    if s.database.engine == "patroni" and s.database.patroni.members < 3:
        members = s.database.patroni.members
        out.append(f"Patroni runs {members} member(s): " + ("no standby, no failover" if members == 1 else
                                                            "after one failover there is no standby left"))
    if s.redis.mode == "in-cluster":
        out.append("Redis runs in-cluster as a single instance: a restart pauses the queue (AOF keeps the jobs)")
    if not s.backups.dumps:
        out.append("nightly logical dumps are off: recovery relies on WAL archive / RDS snapshots only")
    if s.edge.controller == "alb" and not s.edge.waf:
        out.append("AWS WAF is off: rate limits are not enforced at the edge")
    if not s.edge.editor_allowed_cidrs and s.edge.oidc is None:
        out.append("the editor, REST and public API are open to the internet (no edge.editorAllowedCidrs, no "
                   "edge.oidc): only n8n's own login protects them")
    if not s.n8n.multi_main:
        out.append("single main (no license for multi-main): editor and triggers pause while main restarts")
    return out


def print_summary(summary: dict[str, Any], out_dir: Path) -> None:
    print(f"Stack {summary['stack']}: {summary['resources']} resources, "
          f"{summary['kubernetes_objects']} Kubernetes objects")
    print("\nKey settings:")
    for key, value in summary["settings"].items():
        print(f"  {key:12} {value}")
    print("\nResources per component:")
    for component, kinds in summary["components"].items():
        print(f"  {component}")
        for kind, count in kinds.items():
            print(f"    {count:3d}  {kind}")
    if summary["warnings"]:
        print("\nWarnings:")
        for w in summary["warnings"]:
            print(f"  ! {w}")
    print(f"\nWritten: {out_dir}/resources.json, manifests/, exports.json, architecture.svg, runtime.svg")


def main(argv: list[str] | None = None) -> int:
    from n8n_platform.schema import SettingsError

    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--stack", default="dev", help="stack name: reads Pulumi.<stack>.yaml (default dev)")
    parser.add_argument("--out", type=Path, default=None, help="output folder (default build/plan/<stack>)")
    parser.add_argument("--root", type=Path, default=offline.ROOT, help="project folder with Pulumi.<stack>.yaml")
    args = parser.parse_args(argv)
    out_dir = args.out or BUILD / args.stack
    try:
        summary = render(args.stack, out_dir, args.root)
    except SettingsError as error:
        print(error, file=sys.stderr)
        return 2
    except FileNotFoundError as error:
        print(error, file=sys.stderr)
        return 2
    print_summary(summary, out_dir)
    return 0


if __name__ == "__main__":
    sys.exit(main())

"""Generate docs/configuration.md from the settings model (`make docs`); a test fails when the file is stale."""

from __future__ import annotations

import dataclasses
import json
import typing

from n8n_platform import schema, settings

HEADER = """# Configuration reference

Generated from `components/n8n_platform/settings.py` by `make docs`; do not edit by hand (a test fails when stale).

Every key lives in the `n8n` config namespace. Structured sections are set with `--path`, e.g.
`pulumi config set --path n8n:database.engine patroni` or `pulumi config set --path 'n8n:n8n.worker.maxReplicas' 40`.
Secrets are set with `--secret`. Unknown keys, wrong types and values outside the allowed range stop the program
before any resource is registered, with one message per problem naming the key, the value and what is allowed.
"""


def _default(value: object) -> str:
    if value == "(required)":
        return "**required**"
    if value is None:
        return "—"
    return f"`{json.dumps(value)}`"


def render() -> str:
    lines = [HEADER]
    hints = typing.get_type_hints(settings.Settings)
    for f in dataclasses.fields(settings.Settings):
        key = schema.camel(f.name)
        section = schema._plain(hints[f.name])
        lines.append(f"\n## `n8n:{key}`\n\n{f.metadata['doc']}" + (" (secret)" if f.metadata.get("secret") else ""))
        if dataclasses.is_dataclass(section):
            doc = (section.__doc__ or "").strip()
            if doc:
                lines.append(f"\n{doc}")
            lines.append("\n| key | type | default | description |\n|---|---|---|---|")
            default = schema.field_default(f)
            for row in schema.describe(section, key, None if default is schema.MISSING else default):
                shown = "" if row["type"] == "object" else _default(row["default"])
                lines.append(f"| `{row['key']}` | {row['type']} | {shown} | {row['doc']} |")
        else:
            row = next(r for r in schema.describe(settings.Settings) if r["key"] == key)
            lines.append(f"\nType {row['type']}; default {_default(row['default'])}.")
    lines.append(WORKER_SIZING)
    return "\n".join(lines) + "\n"


WORKER_SIZING = """
## Sizing the worker pool

`n8n.worker.minReplicas` / `maxReplicas` bound what KEDA may do. By Little's law the executions in flight equal
the arrival rate times the average execution time; each worker runs `n8n.worker.concurrency` of them at once. So
workers needed ≈ ceil(executions per second × average seconds per execution / concurrency), plus headroom.
`n8n_platform.autoscaling.worker_bounds()` computes the recommended bounds from those three numbers.
"""

if __name__ == "__main__":
    print(render(), end="")

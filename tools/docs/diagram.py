"""A picture of one stack's architecture, drawn from what the program actually registered.

Boxes are the platform's components (the `n8n:index:*` children of the platform). An arrow A -> B means a resource
inside B takes an input from a resource inside A (or depends on it explicitly): the connections that flow from the
data layer to the workloads, derived from the recording rather than drawn by hand, so the picture cannot drift from
the code. Plain SVG, no Graphviz needed.
"""

from __future__ import annotations

from html import escape

from tools.offline import Recording, Registration

BOX_W, BOX_H, GAP_X, GAP_Y, MARGIN = 210, 58, 90, 26, 30

LAYER_COLOURS = ["#e8f1fb", "#eaf6ec", "#fdf3e1", "#f6e9f7", "#eeeeee"]


def components(recording: Recording) -> list[Registration]:
    """The platform's direct component children (or every top-level n8n component when there is no platform)."""
    platforms = recording.find(type="n8n:index:N8nPlatform")
    if platforms:
        return [r for r in recording.children(platforms[0].name) if r.type.startswith("n8n:")]
    return [r for r in recording.resources if r.type.startswith("n8n:") and r.parent is None]


def flows(recording: Recording, boxes: list[Registration]) -> set[tuple[str, str]]:
    """(from, to) component names where a resource of `to` uses a resource of `from`."""
    owner: dict[str, str] = {}
    for box in boxes:
        owner[box.name] = box.name
        for d in recording.descendants(box.name):
            owner[d.name] = box.name
    edges = set()
    for r in recording.resources:
        target = owner.get(r.name)
        for dep in r.options.get("input_dependencies", []) + r.options.get("depends_on", []):
            source = owner.get(dep)
            if target and source and source != target:
                edges.add((source, target))
    return edges


def layers(names: list[str], edges: set[tuple[str, str]]) -> dict[str, int]:
    """Longest-path layering: every arrow points to a later column."""
    layer = {n: 0 for n in names}
    for _ in names:  # at most len(names) relaxations in a DAG
        changed = False
        for a, b in edges:
            if layer[b] <= layer[a]:
                layer[b], changed = layer[a] + 1, True
        if not changed:
            break
    return layer


def _route(start: tuple[int, int], end: tuple[int, int]) -> str:
    """SVG path from the right side of one box to the left side of another, never through a box in between.

    Neighbouring columns get one S-curve; a longer arrow drops into the free lane just below the target's row,
    runs along it through the column gaps, and rises into the target.
    """
    x1, y1 = start[0] + BOX_W, start[1] + BOX_H / 2
    x2, y2 = end[0], end[1] + BOX_H / 2
    bend = GAP_X * 0.45
    if x2 - x1 <= GAP_X:
        return f"M {x1} {y1} C {x1 + bend} {y1}, {x2 - bend} {y2}, {x2} {y2}"
    lane = end[1] + BOX_H + GAP_Y / 2
    return (f"M {x1} {y1} C {x1 + bend} {y1}, {x1 + bend} {lane}, {x1 + 2 * bend} {lane} "
            f"L {x2 - 2 * bend} {lane} C {x2 - bend} {lane}, {x2 - bend} {y2}, {x2} {y2}")


def architecture_svg(recording: Recording) -> str:
    boxes = components(recording)
    names = [b.name for b in boxes]
    edges = flows(recording, boxes)
    layer = layers(names, edges)
    columns: dict[int, list[Registration]] = {}
    for b in sorted(boxes, key=lambda b: (b.type, b.name)):  # stable rows whatever the registration order
        columns.setdefault(layer[b.name], []).append(b)
    pos: dict[str, tuple[int, int]] = {}
    for col, members in columns.items():
        for row, b in enumerate(members):
            pos[b.name] = (MARGIN + col * (BOX_W + GAP_X), MARGIN + 30 + row * (BOX_H + GAP_Y))
    width = MARGIN * 2 + max(len(columns), 1) * (BOX_W + GAP_X) - GAP_X
    height = MARGIN * 2 + 30 + max((len(m) for m in columns.values()), default=1) * (BOX_H + GAP_Y)
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" '
        f'viewBox="0 0 {width} {height}" font-family="Helvetica, Arial, sans-serif">',
        '<defs><marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M 0 0 L 10 5 L 0 10 z" fill="#555"/></marker></defs>',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{MARGIN}" y="{MARGIN + 8}" font-size="15" font-weight="bold">'
        f'n8n platform: components and how connections flow (arrow = consumes outputs of)</text>',
    ]
    for a, b in sorted(edges):
        parts.append(f'<path d="{_route(pos[a], pos[b])}" fill="none" stroke="#555" stroke-width="1.3" '
                     'marker-end="url(#arrow)"/>')
    for b in sorted(boxes, key=lambda b: (b.type, b.name)):  # registration order varies (components that wait)
        x, y = pos[b.name]
        count = sum(1 for d in recording.descendants(b.name) if d.custom)
        kind = b.type.rsplit(":", 1)[1]
        parts.append(f'<rect x="{x}" y="{y}" width="{BOX_W}" height="{BOX_H}" rx="8" '
                     f'fill="{LAYER_COLOURS[layer[b.name] % len(LAYER_COLOURS)]}" stroke="#333"/>')
        parts.append(f'<text x="{x + 10}" y="{y + 22}" font-size="14" font-weight="bold">{escape(kind)}</text>')
        parts.append(f'<text x="{x + 10}" y="{y + 42}" font-size="11" fill="#444">'
                     f'{escape(b.name)} · {count} resources</text>')
    parts.append("</svg>")
    return "\n".join(parts) + "\n"

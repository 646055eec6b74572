"""The docs picture of the dashboard: every panel drawn with matplotlib from what a real Prometheus collected, with
the same queries the shipped dashboard runs (:func:`n8n_platform.observability.dashboard.panels`)."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from n8n_platform.observability.dashboard import PanelSpec

from .prometheus import Prometheus

COLUMNS = 3
"""As the dashboard lays them out (three panels of width 8 in a row of 24)."""


@dataclass(frozen=True)
class Span:
    """A stretch of the run shaded and named in every panel (a fault, say)."""

    label: str
    start: float
    end: float


class EmptyPanels(AssertionError):
    """Panels whose queries returned no series over the run: a user would see an empty panel."""


Line = tuple[str, list[float], list[float]]

SCALES = {"bytes": ("MiB", 1 / 2**20), "percentunit": ("%", 100.0)}
"""Grafana units drawn in a unit a reader takes in at a glance (the rest as they are)."""


def collect(prometheus: Prometheus, specs: list[PanelSpec], start: float, end: float) -> dict[str, list[Line]]:
    """Panel title -> its lines (legend, seconds into the run, values) over [start, end]; raises
    :class:`EmptyPanels` naming each panel none of whose queries returned a point."""
    step = max(2.0, (end - start) / 300)
    out: dict[str, list[Line]] = {}
    for spec in specs:
        lines = out.setdefault(spec.title, [])
        for q in spec.queries:
            for series in prometheus.query_range(q.expr, start, end, step):
                points = [(float(t) - start, float(v)) for t, v in series["values"]
                          if v not in ("NaN", "+Inf", "-Inf")]
                if points:
                    legend = q.legend
                    for key, value in series["metric"].items():
                        legend = legend.replace(f"{{{{{key}}}}}", value)
                    lines.append((legend, [p[0] for p in points], [p[1] for p in points]))
    if empty := [spec for spec in specs if not out[spec.title]]:
        raise EmptyPanels("no series over the run for panel(s): " + "; ".join(
            f"{s.row} / {s.title} ({', '.join(q.expr for q in s.queries)})" for s in empty))
    return out


def draw(prometheus: Prometheus, specs: list[PanelSpec], start: float, end: float, path: Path,
         spans: tuple[Span, ...] = (), title: str = "") -> dict[str, int]:
    """Draw every panel of ``specs`` over [start, end] into ``path`` (PNG), in the dashboard's rows and order, with
    ``spans`` shaded; returns panel title -> lines drawn. Writes nothing when a panel is empty (:func:`collect`)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    lines = collect(prometheus, specs, start, end)
    rows = (len(specs) + COLUMNS - 1) // COLUMNS
    fig, axes = plt.subplots(rows, COLUMNS, figsize=(6 * COLUMNS, 3.3 * rows), squeeze=False)
    for ax, spec in zip(axes.flat, specs, strict=False):
        unit, scale = SCALES.get(spec.unit, (spec.unit, 1.0))
        for legend, times, values in lines[spec.title]:
            ax.plot(times, [v * scale for v in values], label=legend, linewidth=1.4)
        for n, span in enumerate(spans):
            ax.axvspan(span.start - start, span.end - start, color=f"C{(n + 7) % 10}", alpha=0.2, label=span.label)
        ax.set_title(f"{spec.row} · {spec.title} [{unit}]", fontsize=10, loc="left")
        ax.set_xlim(0, end - start)
        ax.set_xlabel("seconds into the run", fontsize=8)
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=7, loc="upper left")
    for ax in list(axes.flat)[len(specs):]:
        ax.axis("off")
    fig.suptitle(title or "The n8n dashboard's panels: real n8n 2.40.7 in queue mode scraped by a real Prometheus",
                 fontsize=12)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=80)
    plt.close(fig)
    return {title: len(drawn) for title, drawn in lines.items()}

"""The docs picture of the dashboard: its main panels drawn with matplotlib from what a real Prometheus collected."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from n8n_platform.observability.dashboard import PanelSpec

from .prometheus import Prometheus


def draw(prometheus: Prometheus, specs: list[PanelSpec], start: float, end: float, path: Path) -> int:
    """Draw ``specs`` (2 columns) over [start, end] into ``path`` (PNG); returns the number of lines drawn."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.dates as mdates
    import matplotlib.pyplot as plt

    rows = (len(specs) + 1) // 2
    fig, axes = plt.subplots(rows, 2, figsize=(13, 3.2 * rows), squeeze=False)
    step = max(2.0, (end - start) / 300)
    lines = 0
    for ax, spec in zip(axes.flat, specs, strict=False):
        for q in spec.queries:
            for series in prometheus.query_range(q.expr, start, end, step):
                points = [(datetime.fromtimestamp(float(t), UTC), float(v)) for t, v in series["values"]
                          if v not in ("NaN", "+Inf", "-Inf")]
                if points:
                    label = q.legend.replace("{{job}}", series["metric"].get("job", ""))
                    ax.plot([p[0] for p in points], [p[1] for p in points], label=label, linewidth=1.4)
                    lines += 1
        ax.set_title(f"{spec.title} [{spec.unit}]", fontsize=10, loc="left")
        ax.xaxis.set_major_formatter(mdates.DateFormatter("%H:%M:%S"))
        ax.tick_params(labelsize=8)
        ax.grid(alpha=0.3)
        if ax.lines:
            ax.legend(fontsize=7, loc="upper left")
    for ax in list(axes.flat)[len(specs):]:
        ax.axis("off")
    fig.suptitle("n8n dashboard, main panels: real n8n 2.40.7 in queue mode scraped by a real Prometheus (e2e load)",
                 fontsize=11)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)
    return lines

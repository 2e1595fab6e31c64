"""A summary for every Hydra multirun: one table of all runs, and a comparison plot.

Registered as a Hydra callback in ``conf/hydra/default.yaml``; it runs in the
launching process after every job has finished (whatever the launcher).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hydra.experimental.callback import Callback
from omegaconf import DictConfig


def write_sweep_summary(sweep_dir: Path, plot_format: str = "png") -> Path | None:
    """Write ``summary.csv``, ``summary.md`` and ``summary.<fmt>`` into ``sweep_dir``."""
    from stance.analysis.runs import load_runs, summary_table
    from stance.reporting.report import _table

    runs = load_runs(sweep_dir)
    if runs.empty:
        return None
    runs.to_csv(sweep_dir / "summary.csv", index=False)
    table = summary_table(runs)
    metric = runs["metric"].iloc[0]
    (sweep_dir / "summary.md").write_text(
        f"# Sweep summary: {len(runs)} runs, headline {metric} (best first)\n\n"
        + _table(table.astype(str))
        + "\n",
        encoding="utf-8",
    )
    _comparison_plot(runs, table, sweep_dir / f"summary.{plot_format}", metric)
    return sweep_dir / "summary.md"


def _comparison_plot(runs, table, path: Path, metric: str) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    varying = [
        c
        for c in table.columns
        if c not in {"run", "score (95% CI)", "wall_time_s", "peak_memory_mb"}
    ]

    def show(value: Any) -> str:
        return f"{value:.4g}" if isinstance(value, float) else str(value)

    labels = [
        ", ".join(f"{c.split('.')[-1]}={show(row[c])}" for c in varying) or str(row["run"])
        for _, row in table.iterrows()
    ]
    ordered = runs.reset_index(drop=True)
    values = 100 * ordered["value"].to_numpy(dtype=float)
    lo = 100 * ordered["ci_lo"].to_numpy(dtype=float)
    hi = 100 * ordered["ci_hi"].to_numpy(dtype=float)
    fig, ax = plt.subplots(figsize=(7.5, 0.45 * len(values) + 1.6))
    y = range(len(values))[::-1]
    ax.errorbar(
        values, list(y), xerr=[values - lo, hi - values], fmt="o", capsize=3, color="#1f77b4"
    )
    ax.set_yticks(list(y))
    ax.set_yticklabels(labels, fontsize=9)
    ax.set_xlabel(f"{metric} (%), with 95% bootstrap CI")
    ax.set_title(f"Sweep: {len(values)} runs, best first")
    ax.grid(axis="x", alpha=0.3)
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)


class MultirunSummary(Callback):
    """Hydra callback: summarise the sweep directory once all jobs are done."""

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        sweep_dir = Path(config.hydra.sweep.dir)
        fmt = str(config.get("report", {}).get("plot_format", "png"))
        summary = write_sweep_summary(sweep_dir, fmt)
        if summary is not None:
            print(f"sweep summary: {summary}")

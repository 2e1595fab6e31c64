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
    # Each run is named by its own overrides (``model=cnb``); the full config of every
    # run stays in summary.csv.
    table = summary_table(runs, config_columns=False)
    metric = runs["metric"].iloc[0]
    (sweep_dir / "summary.md").write_text(
        f"# Sweep summary: {len(runs)} runs, headline {metric} (best first)\n\n"
        + _table(table.astype(str))
        + "\n",
        encoding="utf-8",
    )
    _comparison_plot(runs, sweep_dir / f"summary.{plot_format}", metric)
    return sweep_dir / "summary.md"


def _comparison_plot(runs, path: Path, metric: str) -> None:
    import textwrap

    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    ordered = runs.reset_index(drop=True)
    labels = [textwrap.fill(str(label), 40) for label in ordered["label"]]
    values = 100 * ordered["value"].to_numpy(dtype=float)
    lo = 100 * ordered["ci_lo"].to_numpy(dtype=float)
    hi = 100 * ordered["ci_hi"].to_numpy(dtype=float)
    lines = sum(label.count("\n") + 1 for label in labels)
    fig, ax = plt.subplots(figsize=(7.5, 0.3 * lines + 0.15 * len(values) + 1.6))
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

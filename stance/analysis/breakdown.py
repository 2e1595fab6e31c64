"""Where does the model work? Scores per group, calibration, confident errors.

A pooled score hides that a model may do well on one outlet and fail on
another; per-group scores come with bootstrap intervals because groups are
small and their differences are often noise.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd

from stance.analysis.plotting import colour, new_figure
from stance.evaluation.bootstrap import bootstrap_ci
from stance.evaluation.confident_errors import most_confident_errors
from stance.evaluation.metrics import display_name, get_metric
from stance.evaluation.shares import add_period, wilson_interval

__all__ = [
    "breakdown",
    "calibration_table",
    "learning_curve_table",
    "most_confident_errors",
    "plot_breakdown",
    "plot_calibration",
    "plot_learning_curve",
    "proba_columns",
]


def proba_columns(predictions: pd.DataFrame) -> list[str]:
    return [c for c in predictions.columns if c.startswith("proba_")]


def _group_column(frame: pd.DataFrame, by: str, mapping: Mapping[str, str] | None) -> pd.DataFrame:
    if mapping is not None:
        source = "source" if "source" in frame else "group"
        frame = frame.assign(**{by: frame[source].map(mapping)})
    if by not in frame and by in ("year", "quarter", "month"):
        frame = add_period(frame, by)
    if by not in frame:
        hint = (
            " (pass mapping={outlet: leaning}, e.g. stance.analysis.allsides_leanings())"
            if by == "leaning"
            else ""
        )
        raise KeyError(f"predictions have no column {by!r}{hint}; columns: {list(frame.columns)}")
    return frame


def breakdown(
    predictions: pd.DataFrame,
    by: str,
    *,
    metric: str = "macro_f1",
    metric_labels: Sequence[str] | None = None,
    mapping: Mapping[str, str] | None = None,
    min_n: int = 1,
    n_resamples: int = 1000,
    seed: int = 0,
) -> pd.DataFrame:
    """Metric per group with a 95% bootstrap interval.

    ``by`` is a column of ``predictions`` (``source``, ``group``, ``target``),
    ``year``/``quarter``/``month`` (parsed from ``date``), or any name together
    with ``mapping`` from outlet to a value (e.g. ``by="leaning"`` with
    ``mapping=allsides_leanings()``). Groups with fewer than ``min_n`` items are
    dropped. Returns columns ``<by>, n, <metric>, ci_lo, ci_hi, accuracy`` plus
    gold label counts, sorted by size.
    """
    frame = _group_column(predictions, by, mapping)
    labels = (
        list(metric_labels)
        if metric_labels
        else sorted(set(frame["gold"]) | set(frame["predicted"]))
    )
    fn = get_metric(metric, labels)
    rows = []
    for key, part in frame.dropna(subset=[by]).groupby(by, sort=False):
        if len(part) < min_n:
            continue
        y, p = part["gold"].to_numpy(), part["predicted"].to_numpy()
        lo, hi = bootstrap_ci(y, p, fn, n_resamples=n_resamples, seed=seed)
        row: dict[str, Any] = {
            by: key,
            "n": len(part),
            metric: fn(y, p),
            "ci_lo": lo,
            "ci_hi": hi,
            "accuracy": float(np.mean(y == p)),
        }
        for lab, count in part["gold"].value_counts().items():
            row[f"n_{lab}"] = int(count)
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    count_cols = sorted(c for c in table.columns if c.startswith("n_"))
    table[count_cols] = table[count_cols].fillna(0).astype(int)
    order = {"left": 0, "center": 1, "right": 2}
    if set(table[by].astype(str).str.lower()) <= set(order):
        table = table.sort_values(by, key=lambda s: s.str.lower().map(order))
    else:
        sort_key = by if by in ("year", "quarter", "month") else "n"
        table = table.sort_values(sort_key, ascending=sort_key != "n")
    table = table.reset_index(drop=True)
    table.attrs.update(metric=metric, by=by)
    return table


def plot_breakdown(table: pd.DataFrame, title: str | None = None, pooled: float | None = None):
    """Horizontal dot-and-interval plot of a :func:`breakdown` table (percent)."""
    metric, by = table.attrs.get("metric", "macro_f1"), table.attrs.get("by", table.columns[0])
    label = display_name(metric)
    fig, ax = new_figure(8.5, max(2.6, 0.38 * len(table) + 1.5))
    ypos = np.arange(len(table))[::-1]
    val = 100 * table[metric].to_numpy()
    err = np.vstack([val - 100 * table["ci_lo"].to_numpy(), 100 * table["ci_hi"].to_numpy() - val])
    ax.errorbar(
        val,
        ypos,
        xerr=err,
        fmt="o",
        color=colour("", 0),
        ecolor="#555555",
        capsize=3,
        label=f"{label} with 95% bootstrap CI",
    )
    if pooled is not None:
        ax.axvline(
            100 * pooled, color="#D55E00", ls="--", lw=1.2, label=f"pooled {100 * pooled:.1f}"
        )
    ax.set_yticks(ypos, [f"{k} (n={n})" for k, n in zip(table[by], table["n"], strict=True)])
    ax.set_xlabel(f"{label} (%)")
    ax.set_ylabel(by)
    ax.set_xlim(0, 100)
    ax.set_title(title or f"{label} by {by}")
    ax.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0), frameon=False)
    fig.tight_layout()
    return fig


def calibration_table(predictions: pd.DataFrame, n_bins: int = 10) -> pd.DataFrame:
    """Top-label confidence vs. accuracy per confidence bin, and the expected calibration error."""
    cols = proba_columns(predictions)
    if not cols:
        raise KeyError(
            "predictions have no proba_<label> columns (the model gave no probabilities)"
        )
    proba = predictions[cols].to_numpy(dtype=float)
    labels = np.array([c[len("proba_") :] for c in cols])
    conf = proba.max(axis=1)
    top = labels[proba.argmax(axis=1)]
    correct = top == predictions["gold"].to_numpy()
    edges = np.linspace(0, 1, n_bins + 1)
    which = np.clip(np.digitize(conf, edges[1:-1]), 0, n_bins - 1)
    rows = []
    for b in range(n_bins):
        m = which == b
        if m.any():
            rows.append(
                {
                    "bin_lo": edges[b],
                    "bin_hi": edges[b + 1],
                    "n": int(m.sum()),
                    "confidence": float(conf[m].mean()),
                    "accuracy": float(correct[m].mean()),
                }
            )
    table = pd.DataFrame(rows)
    table.attrs["ece"] = float(
        np.sum(table["n"] * (table["confidence"] - table["accuracy"]).abs()) / len(conf)
    )
    return table


def plot_calibration(predictions: pd.DataFrame, n_bins: int = 10, title: str | None = None):
    """Reliability diagram (top-label) with a histogram of confidences; ECE in the title."""
    table = calibration_table(predictions, n_bins)
    fig, (ax, axh) = new_figure(
        6.0, 6.0, nrows=2, sharex=True, gridspec_kw={"height_ratios": [3, 1]}
    )
    ax.plot([0, 1], [0, 1], ls="--", color="#999999", label="perfectly calibrated")
    ax.plot(table["confidence"], table["accuracy"], "o-", color=colour("", 0), label="model")
    # 95% Wilson intervals per bin, so sparse bins look as uncertain as they are.
    lo, hi = wilson_interval(table["accuracy"] * table["n"], table["n"])
    yerr = np.vstack([table["accuracy"] - lo, hi - table["accuracy"]])
    ax.errorbar(
        table["confidence"],
        table["accuracy"],
        yerr=yerr,
        fmt="none",
        ecolor=colour("", 0),
        alpha=0.6,
        capsize=2,
    )
    ax.set_ylabel("accuracy of the top label")
    ax.set_xlim(0, 1)
    ax.set_ylim(0, 1.02)
    ax.set_title(title or f"Calibration (top label), ECE = {100 * table.attrs['ece']:.1f} points")
    ax.legend(loc="upper left", frameon=False)
    axh.bar(
        (table["bin_lo"] + table["bin_hi"]) / 2,
        table["n"],
        width=1 / n_bins * 0.9,
        color="#999999",
        label="items per bin",
    )
    axh.set_xlabel("predicted probability of the top label (confidence)")
    axh.set_ylabel("items")
    axh.legend(loc="upper left", frameon=False)
    fig.tight_layout()
    return fig


def learning_curve_table(
    pipeline: Any,
    X: pd.DataFrame,
    y: Sequence[str],
    *,
    groups: Sequence[str] | None = None,
    cv: Any = 5,
    train_sizes: Sequence[float] = (0.1, 0.25, 0.5, 0.75, 1.0),
    scoring: str = "f1_macro",
    seed: int = 0,
    n_jobs: int | None = None,
) -> pd.DataFrame:
    """Score vs. training-set size (sklearn ``learning_curve``): would more labels help?

    Pass ``groups`` with a group-aware ``cv`` (e.g. ``GroupKFold``) to keep outlets apart.
    """
    from sklearn.model_selection import learning_curve

    sizes, train, test = learning_curve(
        pipeline,
        X,
        np.asarray(y),
        groups=groups,
        cv=cv,
        train_sizes=list(train_sizes),
        scoring=scoring,
        shuffle=True,
        random_state=seed,
        n_jobs=n_jobs,
    )
    return pd.DataFrame(
        {
            "n_train": sizes,
            "train_mean": train.mean(1),
            "train_std": train.std(1),
            "test_mean": test.mean(1),
            "test_std": test.std(1),
            "scoring": scoring,
        }
    )


def plot_learning_curve(table: pd.DataFrame, title: str | None = None):
    """Train and cross-validated score (mean ± 1 sd over folds) against training size."""
    fig, ax = new_figure(6.5, 4.2)
    for part, name, c in (
        ("train", "training", colour("", 1)),
        ("test", "cross-validated", colour("", 0)),
    ):
        m, s = 100 * table[f"{part}_mean"], 100 * table[f"{part}_std"]
        ax.plot(table["n_train"], m, "o-", color=c, label=f"{name} score")
        ax.fill_between(table["n_train"], m - s, m + s, color=c, alpha=0.2)
    scoring = table["scoring"].iloc[0] if "scoring" in table else "score"
    ax.set_xlabel("training articles")
    ax.set_ylabel(f"{scoring} (%)")
    ax.set_title(title or "Learning curve (band: ±1 sd over folds)")
    ax.legend(frameon=False)
    fig.tight_layout()
    return fig

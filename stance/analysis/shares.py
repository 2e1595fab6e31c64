"""Plots of stance shares by leaning, outlet and period (tables from ``stance_shares``)."""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd

from stance.analysis.plotting import colour, layout_with_caption, new_figure
from stance.evaluation.shares import CORRECTION_NOTE, stance_shares

__all__ = ["plot_shares", "stance_shares"]

_ORDER = {"left": 0, "center": 1, "right": 2}


def _sorted_levels(values: Sequence) -> list:
    vals = list(pd.unique(pd.Series(list(values))))
    if all(str(v).lower() in _ORDER for v in vals):
        return sorted(vals, key=lambda v: _ORDER[str(v).lower()])
    return sorted(vals, key=lambda v: (str(type(v)), v))


def plot_shares(
    table: pd.DataFrame,
    x: str,
    *,
    facet: str | None = None,
    labels: Sequence[str] | None = None,
    show: str = "both",
    title: str | None = None,
    ylabel: str = "share of articles (%)",
    caption: str | None = None,
    width: float | None = None,
    height: float = 4.4,
    sharey: bool = True,
):
    """Shares (percent) with intervals along ``x``, one panel per ``facet`` value.

    Colour marks the stance; hollow markers and dashed lines are the observed
    (classify-and-count) shares, filled markers and solid lines the shares
    corrected with the cross-validated misclassification matrix. The caption
    says how intervals and the correction were computed.
    """
    if show not in ("both", "adjusted", "observed"):
        raise ValueError("show must be 'both', 'adjusted' or 'observed'")
    has_adj = "adjusted" in table
    kinds = [
        k
        for k in (["observed", "adjusted"] if show == "both" else [show])
        if k == "observed" or has_adj
    ]
    labels = list(labels or table["label"].unique())
    panels = _sorted_levels(table[facet]) if facet else [None]
    width = width or min(4.2 * len(panels) + 1.2, 15)
    fig, axes = new_figure(width, height, ncols=len(panels), sharey=sharey, squeeze=False)
    axes = axes[0]
    levels = _sorted_levels(table[x])
    numeric = pd.api.types.is_numeric_dtype(table[x])
    pos = {lv: (float(lv) if numeric else i) for i, lv in enumerate(levels)}
    step = np.diff(sorted(pos.values())).min() if len(pos) > 1 else 1.0
    n_series = len(labels) * len(kinds)
    offsets = (np.arange(n_series) - (n_series - 1) / 2) * step * 0.8 / max(n_series, 2)
    ymax = 0.0
    for ax, panel in zip(axes, panels, strict=True):
        sub = table if panel is None else table[table[facet] == panel]
        s = 0
        for j, lab in enumerate(labels):
            rows = sub[sub["label"] == lab].set_index(x).reindex(levels)
            for kind in kinds:
                col, lo, hi = (
                    ("observed", "obs_lo", "obs_hi")
                    if kind == "observed"
                    else ("adjusted", "adj_lo", "adj_hi")
                )
                xs = np.array([pos[lv] for lv in levels]) + offsets[s]
                val = 100 * rows[col].to_numpy(dtype=float)
                # Clip: a corrected point can sit outside its percentile interval when the
                # correction is unstable; the interval is still what is drawn.
                err = np.clip(
                    np.vstack(
                        [
                            val - 100 * rows[lo].to_numpy(dtype=float),
                            100 * rows[hi].to_numpy(dtype=float) - val,
                        ]
                    ),
                    0,
                    None,
                )
                if np.all(np.isnan(val)):
                    s += 1
                    continue
                c = colour(lab, j)
                ymax = max(ymax, np.nanmax(100 * rows[hi].to_numpy(dtype=float), initial=0))
                ax.errorbar(
                    xs,
                    val,
                    yerr=err,
                    color=c,
                    capsize=3,
                    lw=1.6,
                    elinewidth=1.4,
                    ls=("-" if kind == "adjusted" else "--") if numeric else "none",
                    marker="o" if kind == "adjusted" else "s",
                    markersize=6,
                    markerfacecolor=c if kind == "adjusted" else "white",
                    markeredgewidth=1.5,
                    label=f"{lab}, {'corrected' if kind == 'adjusted' else 'observed'}"
                    if len(kinds) > 1 or has_adj
                    else lab,
                )
                s += 1
        ax.set_xticks(
            [pos[lv] for lv in levels],
            [str(lv) for lv in levels],
            rotation=45 if numeric and len(levels) > 6 else 0,
        )
        ax.set_xlabel(x)
        if panel is not None:
            n = sub.drop_duplicates(x)["n"].sum()
            ax.set_title(f"{facet} = {panel} (n={n})")
        else:
            ns = sub.drop_duplicates(x).set_index(x)["n"].reindex(levels)
            if not numeric:
                ax.set_xticks(
                    [pos[lv] for lv in levels], [f"{lv}\n(n={int(n)})" for lv, n in ns.items()]
                )
    for ax in axes:
        ax.set_ylim(0, max(5.0, ymax * 1.08))
    axes[0].set_ylabel(ylabel)
    axes[-1].legend(frameon=False, loc="upper left", bbox_to_anchor=(1.0, 1.0))
    if title is None:
        by = facet + " and " + x if facet else x
        title = f"Stance shares by {by}" + (" (corrected for classifier error)" if has_adj else "")
    fig.suptitle(title, fontsize=13)
    note = caption if caption is not None else table.attrs.get("note", "")
    if has_adj and caption is None and "correct" not in note.lower():
        note = (note + " " + CORRECTION_NOTE).strip()
    layout_with_caption(fig, note)
    return fig

"""Shared figure style and saving, so every analysis plot reads the same way.

Figures are paper-sized (readable at 100% in a notebook and in a two-column
PDF), carry a title, labelled axes and a legend where more than one series is
drawn. ``save_figure`` writes PNG by default, SVG or PDF on request.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

#: Colours per stance / leaning, consistent across every plot (colour-blind safe: Okabe-Ito).
PALETTE: dict[str, str] = {
    "favor": "#009E73",
    "against": "#D55E00",
    "neutral": "#999999",
    "unrelated": "#CCCCCC",
    "none": "#CCCCCC",
    "left": "#0072B2",
    "center": "#7F7F7F",
    "right": "#C0392B",
}
_CYCLE = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#F0E442", "#000000"]

STYLE: dict[str, object] = {
    "figure.dpi": 110,
    "savefig.dpi": 150,
    "font.size": 11,
    "axes.titlesize": 12,
    "axes.labelsize": 11,
    "legend.fontsize": 10,
    "xtick.labelsize": 10,
    "ytick.labelsize": 10,
    "axes.spines.top": False,
    "axes.spines.right": False,
    "axes.grid": True,
    "grid.alpha": 0.3,
}

FORMATS = ("png", "svg", "pdf")


def colour(name: str, i: int = 0) -> str:
    """Fixed colour for a known label/leaning, else the i-th colour of the cycle."""
    return PALETTE.get(str(name).lower(), _CYCLE[i % len(_CYCLE)])


def new_figure(width: float = 7.0, height: float = 4.2, ncols: int = 1, nrows: int = 1, **kw):
    """``plt.subplots`` under the project style."""
    with plt.rc_context(STYLE):
        fig, axes = plt.subplots(nrows, ncols, figsize=(width, height), **kw)
    for ax in fig.axes:
        _apply_style(ax)
    return fig, axes


def _apply_style(ax) -> None:
    ax.spines["top"].set_visible(False)
    ax.spines["right"].set_visible(False)
    ax.grid(True, alpha=0.3)
    ax.set_axisbelow(True)


def add_caption(fig: Figure, text: str, fontsize: int = 9) -> float:
    """Put a wrapped caption under the axes; returns the figure fraction it takes.

    Call ``fig.tight_layout(rect=(0, fraction, 1, 1))`` afterwards (or use
    :func:`layout_with_caption`) so the axes leave room for it.
    """
    import textwrap

    width_in, height_in = fig.get_size_inches()
    chars = max(40, int(width_in * 72 / (fontsize * 0.52)))
    lines = textwrap.wrap(text, chars)
    fig.text(
        0.01, 0.01, "\n".join(lines), ha="left", va="bottom", fontsize=fontsize, color="#333333"
    )
    return min(0.45, (len(lines) * fontsize * 1.35 / 72 + 0.12) / height_in)


def layout_with_caption(fig: Figure, text: str | None, fontsize: int = 9) -> None:
    """``tight_layout`` leaving room for a caption under the axes (none if ``text`` is empty)."""
    frac = add_caption(fig, text, fontsize) if text else 0.0
    fig.tight_layout(rect=(0, frac, 1, 1))


def save_figure(
    fig: Figure, path: str | Path, formats: str | Iterable[str] = "png", dpi: int = 150
) -> list[Path]:
    """Save ``fig`` as ``path`` with each suffix in ``formats``; returns the files written."""
    fmts = [formats] if isinstance(formats, str) else list(formats)
    bad = [f for f in fmts if f not in FORMATS]
    if bad:
        raise ValueError(f"unknown plot format(s) {bad}; expected some of {FORMATS}")
    path = Path(path)
    stem = path.with_suffix("") if path.suffix.lstrip(".") in FORMATS else path
    stem.parent.mkdir(parents=True, exist_ok=True)
    written = []
    for fmt in fmts:
        out = stem.with_suffix(f".{fmt}")
        fig.savefig(out, format=fmt, dpi=dpi, bbox_inches="tight")
        written.append(out)
    return written

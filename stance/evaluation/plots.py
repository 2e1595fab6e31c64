"""Evaluation plots for the run report (matplotlib, headless).

Imported only when a run writes its report, so ``import stance`` stays light.
"""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    ConfusionMatrixDisplay,
    average_precision_score,
    precision_recall_curve,
)

plt.rcParams.update({"font.size": 11, "axes.titlesize": 13, "figure.dpi": 110})


def _save(fig: plt.Figure, path: Path) -> Path:
    fig.tight_layout()
    fig.savefig(path, bbox_inches="tight")
    plt.close(fig)
    return path


def confusion_matrix_plot(
    y_true: Sequence[str],
    y_pred: Sequence[str],
    labels: Sequence[str],
    path: Path,
    normalize: bool = False,
    title: str = "",
) -> Path:
    """Counts, or rows normalised to recall (``normalize=True``)."""
    size = max(4.5, 1.1 * len(labels) + 2)
    fig, ax = plt.subplots(figsize=(size, size * 0.85))
    ConfusionMatrixDisplay.from_predictions(
        y_true,
        y_pred,
        labels=list(labels),
        normalize="true" if normalize else None,
        values_format=".2f" if normalize else "d",
        cmap="Blues",
        ax=ax,
        colorbar=False,
    )
    ax.set_title(
        title or ("Confusion matrix (row-normalised)" if normalize else "Confusion matrix (counts)")
    )
    ax.set_xlabel("Predicted label")
    ax.set_ylabel("Gold label")
    return _save(fig, path)


def precision_recall_plot(
    y_true: Sequence[str],
    proba: pd.DataFrame,
    labels: Sequence[str],
    path: Path,
    title: str = "Precision–recall per class",
) -> Path:
    """One-vs-rest precision–recall curve per class, average precision in the legend."""
    fig, ax = plt.subplots(figsize=(8.5, 5))
    y_true = np.asarray(y_true)
    for label in labels:
        column = f"proba_{label}"
        positives = y_true == label
        if column not in proba or positives.sum() == 0:
            continue
        precision, recall, _ = precision_recall_curve(positives, proba[column].to_numpy())
        ap = average_precision_score(positives, proba[column].to_numpy())
        ax.step(
            recall, precision, where="post", label=f"{label} (AP {ap:.2f}, n={positives.sum()})"
        )
        ax.axhline(positives.mean(), color=ax.lines[-1].get_color(), lw=0.8, ls=":")
    ax.set_xlabel("Recall")
    ax.set_ylabel("Precision")
    ax.set_xlim(0, 1.0)
    ax.set_ylim(0, 1.02)
    ax.set_title(title)
    # Outside the axes: curves fill the whole plot area, so any inside spot hides one.
    ax.legend(
        loc="upper left",
        bbox_to_anchor=(1.02, 1.0),
        fontsize=9,
        frameon=False,
        title="class (dotted line: prevalence)",
        title_fontsize=9,
    )
    ax.grid(alpha=0.3)
    return _save(fig, path)

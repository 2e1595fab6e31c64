"""Scores from scikit-learn's metrics, shaped for metrics.json.

``f_avg`` is SemEval-2016 Task 6's official metric: the mean F1 of the
``favor`` and ``against`` classes, with ``none`` counting as an error but not
averaged. Any task names the labels its headline metric averages.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

from stance.data.table import Task


def headline_score(y_true: Sequence[str], y_pred: Sequence[str], task: Task) -> float:
    """The task's headline metric (a fraction in [0, 1])."""
    if task.metric == "accuracy":
        return float(accuracy_score(y_true, y_pred))
    return float(
        f1_score(
            y_true, y_pred, labels=list(task.averaged_labels), average="macro", zero_division=0
        )
    )


def score(y_true: Sequence[str], y_pred: Sequence[str], task: Task) -> dict:
    """Macro-F1, accuracy, the official metric where there is one, and per-class scores."""
    labels = list(task.labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    result = {
        "macro_f1": float(
            f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0)
        ),
        "accuracy": float(accuracy_score(y_true, y_pred)),
    }
    if task.metric == "f_avg":
        result["f_avg"] = headline_score(y_true, y_pred, task)
    result["per_class"] = {
        label: {
            "precision": float(p),
            "recall": float(r),
            "f1": float(f),
            "support": int(s),
        }
        for label, p, r, f, s in zip(labels, precision, recall, f1, support, strict=True)
    }
    return result


def summarise_folds(fold_scores: list[dict]) -> tuple[dict, dict]:
    """Mean and standard deviation (ddof=1 where there are several folds) of scalar scores."""
    keys = [k for k, v in fold_scores[0].items() if isinstance(v, float)]
    mean = {k: float(np.mean([s[k] for s in fold_scores])) for k in keys}
    ddof = 1 if len(fold_scores) > 1 else 0
    std = {k: float(np.std([s[k] for s in fold_scores], ddof=ddof)) for k in keys}
    return mean, std

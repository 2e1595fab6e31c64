"""Every metric the project reports, defined once: the :class:`Metric` objects and their registry.

A :class:`Metric` knows its name (the key in metrics.json and in a task's
``metric``), its display name, the labels it averages, and two ways to compute
it that agree exactly (tested):

- ``from_labels(y_true, y_pred)``: from gold and predicted labels, with
  scikit-learn's metrics -- what the headline, the per-fold scores, breakdowns
  and the threshold tuner use;
- ``from_confusion(cm, labels)``: from one confusion matrix or a stack ``(R, k, k)``
  of them (rows gold, columns predicted), vectorised -- what the bootstrap uses
  to score 1,000 resamples at once.

Metrics are registered by name, so a task config (``metric: f_avg``) picks one
and :class:`stance.data.table.Task` validates the name against the registry.
**Adding a metric** is a subclass (or an instance of an existing class) plus a
``@register("name")`` factory in this file, and its test; nothing else changes
(see ARCHITECTURE.md, "Add a metric").

``f_avg`` is SemEval-2016 Task 6's official metric: the mean F1 of the
``favor`` and ``against`` classes, with ``none`` counting as an error but not
averaged. ``fnc_score`` is the Fake News Challenge (FNC-1) weighted score.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np
from sklearn.metrics import accuracy_score, f1_score, precision_recall_fscore_support

if TYPE_CHECKING:
    from stance.data.table import Task

__all__ = [
    "Accuracy",
    "FncScore",
    "MeanF1",
    "Metric",
    "display_name",
    "get_metric",
    "headline_score",
    "metric_for_task",
    "metric_names",
    "register",
    "score",
    "summarise_folds",
    "task_metrics",
]


# --- The contract ------------------------------------------------------------------------------


class Metric(ABC):
    """A classification metric computable from labels and from confusion matrices.

    Subclasses implement :meth:`from_labels` (with scikit-learn) and
    :meth:`_from_confusion_stack` (NumPy over ``(R, k, k)``); both return fractions
    in [0, 1] and must agree exactly. ``labels`` are the labels the metric
    averages (``None``: whatever the metric does without them).
    """

    def __init__(self, name: str, display: str, labels: Sequence[str] | None = None) -> None:
        self.name = name
        self.display = display
        self.labels: tuple[str, ...] | None = None if labels is None else tuple(labels)

    @abstractmethod
    def from_labels(self, y_true: Any, y_pred: Any) -> float:
        """The metric on gold and predicted labels (scikit-learn's computation)."""

    @abstractmethod
    def _from_confusion_stack(self, cm: np.ndarray, labels: list[str]) -> np.ndarray:
        """The metric for each of ``R`` confusion matrices ``(R, k, k)`` -> ``(R,)``."""

    def from_confusion(self, cm: np.ndarray, labels: Sequence[str]) -> np.ndarray:
        """The metric from a confusion matrix ``(k, k)`` or a stack ``(R, k, k)``.

        Rows are gold labels, columns predicted labels, both in the order of ``labels``.
        """
        cm = np.asarray(cm, dtype=float)
        squeeze = cm.ndim == 2
        out = self._from_confusion_stack(cm[None] if squeeze else cm, list(labels))
        return out[0] if squeeze else out

    def problem(self, task_labels: Sequence[str]) -> str | None:
        """Why this metric cannot score a task with ``task_labels``; ``None`` when it can."""
        return None

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        return self.from_labels(y_true, y_pred)

    def __repr__(self) -> str:
        labels = "" if self.labels is None else f", labels={list(self.labels)}"
        return f"{type(self).__name__}({self.name!r}{labels})"


def per_class_f1(cm: np.ndarray) -> np.ndarray:
    """F1 per class of a stack ``(R, k, k)``, NaN where the class is neither gold nor predicted."""
    tp = np.diagonal(cm, axis1=1, axis2=2)
    fp = cm.sum(axis=1) - tp
    fn = cm.sum(axis=2) - tp
    denom = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), np.nan)


# --- The catalogue -----------------------------------------------------------------------------


class MeanF1(Metric):
    """Unweighted mean of per-class F1 (macro-F1, F_avg).

    With ``labels``: the mean over exactly those labels, a label neither gold nor
    predicted scoring 0 (``f1_score(labels=..., average="macro", zero_division=0)``).
    Without: over the labels present in gold or predictions of the sample
    (scikit-learn's default).
    """

    def from_labels(self, y_true: Any, y_pred: Any) -> float:
        labels = None if self.labels is None else list(self.labels)
        return float(f1_score(y_true, y_pred, labels=labels, average="macro", zero_division=0))

    def _from_confusion_stack(self, cm: np.ndarray, labels: list[str]) -> np.ndarray:
        f1 = per_class_f1(cm)
        if self.labels is None:
            present = ~np.isnan(f1)
            return np.where(
                present.any(axis=1),
                np.nansum(f1, axis=1) / np.maximum(present.sum(1), 1),
                0.0,
            )
        f1 = np.nan_to_num(f1, nan=0.0)
        cols = [labels.index(lab) for lab in self.labels if lab in labels]
        full = np.zeros((cm.shape[0], len(self.labels)))
        full[:, : len(cols)] = f1[:, cols]
        return full.mean(axis=1)


class Accuracy(Metric):
    """Share of rows whose predicted label is the gold one."""

    def from_labels(self, y_true: Any, y_pred: Any) -> float:
        return float(accuracy_score(y_true, y_pred))

    def _from_confusion_stack(self, cm: np.ndarray, labels: list[str]) -> np.ndarray:
        total = cm.sum(axis=(1, 2))
        return np.diagonal(cm, axis1=1, axis2=2).sum(axis=1) / np.maximum(total, 1)


class FncScore(Metric):
    """The FNC-1 weighted score, as a fraction of the best score possible on the gold labels.

    Per row (official scorer): +0.25 when related/unrelated is right (both
    ``unrelated``, or both among the other, "related", labels); +0.75 more when
    a related row's exact label is right. The maximum is 0.25 per unrelated
    gold row and 1 per related one. ``unrelated`` names the unrelated label.
    """

    def __init__(self, unrelated: str = "unrelated", name: str = "fnc_score") -> None:
        super().__init__(name, "FNC score")
        self.unrelated = unrelated

    def raw(self, y_true: Any, y_pred: Any) -> tuple[float, float]:
        """(score, maximum) in the official scorer's points."""
        gold, pred = np.asarray(y_true).astype(str), np.asarray(y_pred).astype(str)
        gold_related, pred_related = gold != self.unrelated, pred != self.unrelated
        points = 0.25 * float(accuracy_score(gold_related, pred_related, normalize=False))
        if gold_related.any():
            exact = accuracy_score(gold[gold_related], pred[gold_related], normalize=False)
            points += 0.75 * float(exact)
        return points, 0.25 * float((~gold_related).sum()) + float(gold_related.sum())

    def from_labels(self, y_true: Any, y_pred: Any) -> float:
        points, best = self.raw(y_true, y_pred)
        return points / best if best else 0.0

    def _from_confusion_stack(self, cm: np.ndarray, labels: list[str]) -> np.ndarray:
        related = np.array([lab != self.unrelated for lab in labels])
        weight = 0.25 * (related[:, None] == related[None, :]) + 0.75 * (
            np.eye(len(labels), dtype=bool) & related[:, None]
        )
        points = (cm * weight).sum(axis=(1, 2))
        best = (cm.sum(axis=2) * np.where(related, 1.0, 0.25)).sum(axis=1)
        return np.where(best > 0, points / np.where(best > 0, best, 1), 0.0)

    def problem(self, task_labels: Sequence[str]) -> str | None:
        if self.unrelated not in task_labels:
            return f"{self.name} needs an {self.unrelated!r} label"
        return None


# --- The registry ------------------------------------------------------------------------------

#: name -> factory taking the labels a task's metric averages (``None``: the metric's default).
MetricFactory = Callable[[Sequence[str] | None], Metric]
_REGISTRY: dict[str, MetricFactory] = {}


def register(name: str) -> Callable[[MetricFactory], MetricFactory]:
    """Register a metric factory under ``name`` (the name tasks and metrics.json use)."""

    def decorate(factory: MetricFactory) -> MetricFactory:
        if name in _REGISTRY:
            raise ValueError(f"metric {name!r} is already registered")
        _REGISTRY[name] = factory
        return factory

    return decorate


@register("macro_f1")
def _macro_f1(labels: Sequence[str] | None) -> Metric:
    return MeanF1("macro_f1", "macro-F1", labels or None)


@register("f_avg")
def _f_avg(labels: Sequence[str] | None) -> Metric:
    return MeanF1("f_avg", "F_avg", labels or ("favor", "against"))


@register("accuracy")
def _accuracy(labels: Sequence[str] | None) -> Metric:
    return Accuracy("accuracy", "accuracy")


@register("fnc_score")
def _fnc_score(labels: Sequence[str] | None) -> Metric:
    return FncScore("unrelated")


def metric_names() -> tuple[str, ...]:
    """Names of every registered metric, in registration order."""
    return tuple(_REGISTRY)


def get_metric(name: str, metric_labels: Sequence[str] | None = None) -> Metric:
    """The metric registered as ``name``, averaging ``metric_labels`` where it averages labels.

    Without ``metric_labels``, macro-F1 averages the labels present in each sample
    (scikit-learn's default) and F_avg averages ``favor`` and ``against``.
    """
    if name not in _REGISTRY:
        raise ValueError(f"unknown metric {name!r}; expected one of {', '.join(_REGISTRY)}")
    return _REGISTRY[name](tuple(metric_labels) if metric_labels else None)


def display_name(name: str) -> str:
    """How reports and plots call a metric (``macro_f1`` -> ``macro-F1``)."""
    return get_metric(name).display if name in _REGISTRY else name


# --- Scoring a task ----------------------------------------------------------------------------


def metric_for_task(task: Task | dict) -> Metric:
    """The headline metric of a :class:`~stance.data.table.Task` or a metrics.json ``task`` dict."""
    if isinstance(task, dict):
        name = task.get("metric", "macro_f1")
        labels = task.get("metric_labels") or task.get("labels")
    else:
        name, labels = task.metric, list(getattr(task, "averaged_labels", None) or task.labels)
    return get_metric(name, labels)


def task_metrics(task: Task) -> list[Metric]:
    """The headline metric, then each of the task's ``extra_metrics``.

    ``metric_labels`` belong to the headline; an extra metric averages them only
    when the task names some (else it uses its own default).
    """
    extras = [
        get_metric(name, task.metric_labels or None)
        for name in getattr(task, "extra_metrics", ())
        if name != task.metric
    ]
    return [metric_for_task(task), *extras]


def headline_score(y_true: Sequence[str], y_pred: Sequence[str], task: Task) -> float:
    """The task's headline metric (a fraction in [0, 1])."""
    return metric_for_task(task).from_labels(y_true, y_pred)


def score(y_true: Sequence[str], y_pred: Sequence[str], task: Task) -> dict:
    """Macro-F1 over all labels, accuracy, the task's own metrics and per-class scores."""
    labels = list(task.labels)
    precision, recall, f1, support = precision_recall_fscore_support(
        y_true, y_pred, labels=labels, zero_division=0
    )
    result: dict[str, Any] = {
        "macro_f1": get_metric("macro_f1", labels).from_labels(y_true, y_pred),
        "accuracy": get_metric("accuracy").from_labels(y_true, y_pred),
    }
    for metric in task_metrics(task):
        if metric.name not in result:
            result[metric.name] = metric.from_labels(y_true, y_pred)
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

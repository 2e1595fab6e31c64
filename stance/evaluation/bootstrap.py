"""Bootstrap confidence intervals for classification metrics.

Why a bootstrap: a headline score on a few hundred test articles moves by
several points from sampling alone; the interval says how much. Items (test
rows) are resampled with replacement; the metric is recomputed on each
resample; the percentile interval is reported.

Speed: metrics that are functions of the confusion matrix (macro-F1, accuracy,
F_avg) are scored for all resamples at once from per-resample confusion
counts, so 1000 resamples of 30k items take well under a second. Any other
``callable(y_true, y_pred) -> float`` also works, through a plain loop.

    >>> from stance.evaluation.bootstrap import bootstrap_ci, get_metric
    >>> lo, hi = bootstrap_ci(["a", "b", "a", "b"], ["a", "b", "b", "b"], "macro_f1")
    >>> 0.0 <= lo <= hi <= 1.0
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

__all__ = [
    "ConfusionMetric",
    "accuracy",
    "bootstrap_ci",
    "bootstrap_distribution",
    "f1_over",
    "f_avg",
    "get_metric",
    "metric_for_task",
    "macro_f1",
    "paired_bootstrap",
]

MetricLike = Callable[[Any, Any], float] | str

# Resamples scored per batch: bounds memory at about _CHUNK * n_items * 8 bytes.
_CHUNK_ITEMS = 4_000_000


class ConfusionMetric:
    """A metric computable from a confusion matrix, so resamples can be scored in bulk.

    Calling it on ``(y_true, y_pred)`` gives the usual scalar; ``from_confusion``
    scores a stack of confusion matrices ``(R, k, k)`` (rows true, columns predicted)
    whose axes follow ``labels``.
    """

    def __init__(
        self,
        name: str,
        fn: Callable[[np.ndarray, Sequence[str]], np.ndarray],
    ) -> None:
        self.name = name
        self._fn = fn

    def from_confusion(self, cm: np.ndarray, labels: Sequence[str]) -> np.ndarray:
        cm = np.asarray(cm, dtype=float)
        squeeze = cm.ndim == 2
        out = self._fn(cm[None] if squeeze else cm, list(labels))
        return out[0] if squeeze else out

    def __call__(self, y_true: Any, y_pred: Any) -> float:
        codes_t, codes_p, labels = _encode(y_true, y_pred)
        cm = _confusion(codes_t[None, :], codes_p[None, :], len(labels))
        return float(self.from_confusion(cm, labels)[0])

    def __repr__(self) -> str:
        return f"ConfusionMetric({self.name!r})"


def _per_class_f1(cm: np.ndarray) -> np.ndarray:
    """F1 per class, NaN where the class is neither in gold nor predicted (0/0)."""
    tp = np.diagonal(cm, axis1=1, axis2=2)
    fp = cm.sum(axis=1) - tp
    fn = cm.sum(axis=2) - tp
    denom = 2 * tp + fp + fn
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(denom > 0, 2 * tp / np.where(denom > 0, denom, 1), np.nan)


def _macro_f1(cm: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    # Like sklearn's f1_score(average="macro") with labels=None: average over the
    # labels present in gold or predictions of *this* sample.
    f1 = _per_class_f1(cm)
    present = ~np.isnan(f1)
    return np.where(present.any(axis=1), np.nansum(f1, axis=1) / np.maximum(present.sum(1), 1), 0.0)


def _accuracy(cm: np.ndarray, labels: Sequence[str]) -> np.ndarray:
    total = cm.sum(axis=(1, 2))
    return np.diagonal(cm, axis1=1, axis2=2).sum(axis=1) / np.maximum(total, 1)


macro_f1 = ConfusionMetric("macro_f1", _macro_f1)
accuracy = ConfusionMetric("accuracy", _accuracy)


def f1_over(average_labels: Sequence[str], name: str | None = None) -> ConfusionMetric:
    """Mean F1 over a fixed label list; a label neither in gold nor predicted scores 0.

    Same as sklearn's ``f1_score(labels=average_labels, average="macro", zero_division=0)``,
    which is how the project scores headline macro-F1 (all task labels) and F_avg.
    """
    wanted = tuple(average_labels)

    def _fn(cm: np.ndarray, labels: Sequence[str]) -> np.ndarray:
        f1 = np.nan_to_num(_per_class_f1(cm), nan=0.0)
        cols = [labels.index(lab) for lab in wanted if lab in labels]
        full = np.zeros((cm.shape[0], len(wanted)))
        full[:, : len(cols)] = f1[:, cols]
        return full.mean(axis=1)

    return ConfusionMetric(name or f"f1_over({', '.join(wanted)})", _fn)


def f_avg(average_labels: Sequence[str] = ("favor", "against")) -> ConfusionMetric:
    """SemEval-2016 F_avg: mean F1 over ``average_labels`` (absent-and-unpredicted counts 0)."""
    return f1_over(average_labels, name=f"f_avg({', '.join(average_labels)})")


def get_metric(name: str, metric_labels: Sequence[str] | None = None) -> ConfusionMetric:
    """The metric named in a task config (``macro_f1``, ``accuracy``, ``f_avg``).

    With ``metric_labels`` (e.g. a task's ``averaged_labels``), macro-F1 averages
    over exactly those labels, matching :func:`stance.evaluation.metrics.headline_score`;
    without, over the labels present in each sample (sklearn's default).
    """
    if name == "macro_f1":
        return f1_over(metric_labels, "macro_f1") if metric_labels else macro_f1
    if name == "accuracy":
        return accuracy
    if name == "f_avg":
        return f_avg(tuple(metric_labels) if metric_labels else ("favor", "against"))
    raise ValueError(f"unknown metric {name!r}; expected macro_f1, accuracy or f_avg")


def metric_for_task(task: Any) -> ConfusionMetric:
    """The headline metric of a :class:`~stance.data.table.Task` or a metrics.json ``task`` dict."""
    if isinstance(task, dict):
        name = task.get("metric", "macro_f1")
        labels = task.get("metric_labels") or task.get("labels")
    else:
        name, labels = task.metric, list(getattr(task, "averaged_labels", None) or task.labels)
    return get_metric(name, labels)


def _resolve(metric_fn: MetricLike) -> Callable[[Any, Any], float]:
    return get_metric(metric_fn) if isinstance(metric_fn, str) else metric_fn


def _encode(*arrays: Any) -> tuple[np.ndarray, ...]:
    """Integer codes over the union of labels in all arrays, plus that label list."""
    arrs = [np.asarray(a).astype(str) for a in arrays]
    lengths = {len(a) for a in arrs}
    if len(lengths) != 1:
        raise ValueError(f"inputs differ in length: {[len(a) for a in arrs]}")
    labels, codes = np.unique(np.concatenate(arrs), return_inverse=True)
    n = len(arrs[0])
    parts = [codes[i * n : (i + 1) * n].astype(np.int64) for i in range(len(arrs))]
    return (*parts, list(labels))


def _confusion(t: np.ndarray, p: np.ndarray, k: int) -> np.ndarray:
    """Confusion matrices for each row of (R, n) code arrays -> (R, k, k)."""
    r = t.shape[0]
    flat = (np.arange(r, dtype=np.int64)[:, None] * k + t) * k + p
    return np.bincount(flat.ravel(), minlength=r * k * k).reshape(r, k, k)


def _index_batches(n: int, n_resamples: int, seed: int):
    """Yield (R_chunk, n) index arrays; same seed -> same resamples, whatever the chunking."""
    rng = np.random.default_rng(seed)
    chunk = max(1, _CHUNK_ITEMS // max(n, 1))
    done = 0
    while done < n_resamples:
        size = min(chunk, n_resamples - done)
        yield rng.integers(0, n, size=(size, n))
        done += size


def _check(n: int, n_resamples: int, alpha: float) -> None:
    if n == 0:
        raise ValueError("cannot bootstrap an empty sample")
    if n_resamples < 1:
        raise ValueError("n_resamples must be >= 1")
    if not 0 < alpha < 1:
        raise ValueError("alpha must be in (0, 1)")


def bootstrap_distribution(
    y_true: Any,
    y_pred: Any,
    metric_fn: MetricLike,
    n_resamples: int = 1000,
    seed: int = 0,
) -> np.ndarray:
    """The metric on each of ``n_resamples`` item resamples (for custom summaries)."""
    metric = _resolve(metric_fn)
    t, p, labels = _encode(y_true, y_pred)
    _check(len(t), n_resamples, 0.05)
    out = []
    for idx in _index_batches(len(t), n_resamples, seed):
        if isinstance(metric, ConfusionMetric) or hasattr(metric, "from_confusion"):
            out.append(metric.from_confusion(_confusion(t[idx], p[idx], len(labels)), labels))
        else:
            lab = np.asarray(labels)
            out.append(np.array([metric(lab[t[i]], lab[p[i]]) for i in idx], dtype=float))
    return np.concatenate(out)


def bootstrap_ci(
    y_true: Any,
    y_pred: Any,
    metric_fn: MetricLike,
    n_resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> tuple[float, float]:
    """Percentile bootstrap interval ``(lo, hi)`` of ``metric_fn`` over items.

    ``metric_fn`` is a name (``"macro_f1"``, ``"accuracy"``, ``"f_avg"``), a
    :class:`ConfusionMetric` (fast, e.g. ``f_avg(["favor", "against"])``) or any
    ``callable(y_true, y_pred) -> float`` (looped; slower). Deterministic for a seed.
    """
    _check(len(np.asarray(y_true)), n_resamples, alpha)
    stats = bootstrap_distribution(y_true, y_pred, metric_fn, n_resamples, seed)
    lo, hi = np.quantile(stats, [alpha / 2, 1 - alpha / 2])
    return float(lo), float(hi)


def paired_bootstrap(
    y_true: Any,
    pred_a: Any,
    pred_b: Any,
    metric_fn: MetricLike,
    n_resamples: int = 1000,
    seed: int = 0,
    alpha: float = 0.05,
) -> dict[str, Any]:
    """Paired bootstrap of ``metric(B) - metric(A)`` on the same items.

    Both systems are scored on the *same* resample each time, so item difficulty
    cancels and the interval is much tighter than comparing two separate CIs.

    Returns ``{"delta", "ci95", "p_value", "metric_a", "metric_b", "n_items",
    "n_resamples", "level"}``; ``ci95`` is the percentile interval at level
    ``1 - alpha`` (0.95 by default). ``p_value`` is two-sided, from the
    null-centred bootstrap distribution (Berg-Kirkpatrick et al. 2012):
    ``(1 + #{|d* - d| >= |d|}) / (R + 1)``.
    """
    metric = _resolve(metric_fn)
    t, a, b, labels = _encode(y_true, pred_a, pred_b)
    _check(len(t), n_resamples, alpha)
    lab = np.asarray(labels)
    score_a = float(metric(lab[t], lab[a]))
    score_b = float(metric(lab[t], lab[b]))
    delta = score_b - score_a
    k = len(labels)
    deltas = []
    for idx in _index_batches(len(t), n_resamples, seed):
        ti = t[idx]
        if hasattr(metric, "from_confusion"):
            ma = metric.from_confusion(_confusion(ti, a[idx], k), labels)
            mb = metric.from_confusion(_confusion(ti, b[idx], k), labels)
        else:
            ma = np.array([metric(lab[t[row]], lab[a[row]]) for row in idx])
            mb = np.array([metric(lab[t[row]], lab[b[row]]) for row in idx])
        deltas.append(np.asarray(mb, dtype=float) - np.asarray(ma, dtype=float))
    d = np.concatenate(deltas)
    lo, hi = np.quantile(d, [alpha / 2, 1 - alpha / 2])
    extreme = int(np.sum(np.abs(d - delta) >= abs(delta) - 1e-12))
    p_value = 1.0 if delta == 0 else (1 + extreme) / (len(d) + 1)
    return {
        "delta": delta,
        "ci95": (float(lo), float(hi)),
        "p_value": float(min(1.0, p_value)),
        "metric_a": score_a,
        "metric_b": score_b,
        "n_items": len(t),
        "n_resamples": int(n_resamples),
        "level": 1 - alpha,
    }

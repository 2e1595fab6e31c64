"""Bootstrap confidence intervals for classification metrics.

Why a bootstrap: a headline score on a few hundred test articles moves by
several points from sampling alone; the interval says how much. Items (test
rows) are resampled with replacement; the metric is recomputed on each
resample; the percentile interval is reported.

Speed: every :class:`~stance.evaluation.metrics.Metric` (macro-F1, accuracy,
F_avg, the FNC score, ...) is scored for all resamples at once from
per-resample confusion counts (``Metric.from_confusion``), so 1000 resamples of
30k items take well under a second. Any other ``callable(y_true, y_pred) -> float``
also works, through a plain loop.

    >>> from stance.evaluation.bootstrap import bootstrap_ci, get_metric
    >>> lo, hi = bootstrap_ci(["a", "b", "a", "b"], ["a", "b", "b", "b"], "macro_f1")
    >>> 0.0 <= lo <= hi <= 1.0
    True
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

import numpy as np

from stance.evaluation.metrics import MeanF1, Metric, get_metric, metric_for_task, task_metrics

if TYPE_CHECKING:
    from stance.data.table import Task

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
    "secondary_block",
]

MetricLike = Callable[[Any, Any], float] | str

# Resamples scored per batch: bounds memory at about _CHUNK * n_items * 8 bytes.
_CHUNK_ITEMS = 4_000_000

#: The old name of :class:`~stance.evaluation.metrics.Metric` (kept for notebooks and scripts).
ConfusionMetric = Metric
macro_f1 = get_metric("macro_f1")
accuracy = get_metric("accuracy")


def f1_over(average_labels: Sequence[str], name: str | None = None) -> Metric:
    """Mean F1 over a fixed label list; a label neither in gold nor predicted scores 0."""
    wanted = tuple(average_labels)
    return MeanF1(name or f"f1_over({', '.join(wanted)})", "mean F1", wanted)


def f_avg(average_labels: Sequence[str] = ("favor", "against")) -> Metric:
    """SemEval-2016 F_avg: mean F1 over ``average_labels`` (absent-and-unpredicted counts 0)."""
    return get_metric("f_avg", average_labels)


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
        if hasattr(metric, "from_confusion"):
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

    ``metric_fn`` is a registered name (``"macro_f1"``, ``"accuracy"``, ``"f_avg"``,
    ``"fnc_score"``), a :class:`~stance.evaluation.metrics.Metric` (fast, e.g.
    ``get_metric("f_avg", ["favor", "against"])``) or any
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


def secondary_block(
    y_true: Any, y_pred: Any, task: Task, n_resamples: int, seed: int
) -> dict[str, Any]:
    """metrics.json's ``secondary`` entry: each extra metric of ``task`` with its bootstrap CI.

    ``{"secondary": {name: {"value", "ci95"}}}``, or ``{}`` when the task names no
    extra metric (so existing runs' metrics.json is unchanged). ``n_resamples <= 0``
    gives ``ci95: None``, as for the headline.
    """
    extras = task_metrics(task)[1:]
    if not extras:
        return {}
    block = {}
    for metric in extras:
        ci = None
        if n_resamples > 0:
            lo, hi = bootstrap_ci(y_true, y_pred, metric, n_resamples=n_resamples, seed=seed)
            ci = [lo, hi]
        block[metric.name] = {"value": metric.from_labels(y_true, y_pred), "ci95": ci}
    return {"secondary": block}

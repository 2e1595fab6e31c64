"""Bootstrap intervals: agree with sklearn, deterministic, fast, honest coverage."""

from __future__ import annotations

import time

import numpy as np
import pytest
from sklearn.metrics import accuracy_score, f1_score

from stance.evaluation.bootstrap import (
    accuracy,
    bootstrap_ci,
    bootstrap_distribution,
    f_avg,
    get_metric,
    macro_f1,
    paired_bootstrap,
)

LABELS = np.array(["against", "favor", "neutral", "unrelated"])


def _noisy(n: int, acc: float, seed: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(seed)
    y = rng.choice(LABELS, size=n, p=[0.3, 0.2, 0.4, 0.1])
    wrong = rng.random(n) > acc
    pred = np.where(wrong, rng.choice(LABELS, size=n), y)
    return y, pred


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_metrics_match_sklearn(seed: int) -> None:
    y, p = _noisy(57, 0.6, seed)
    # Drop a class from the sample so label-set handling is exercised.
    keep = y != "unrelated"
    y, p = y[keep], p[keep]
    assert macro_f1(y, p) == pytest.approx(f1_score(y, p, average="macro", zero_division=0))
    assert accuracy(y, p) == pytest.approx(accuracy_score(y, p))
    fa = f1_score(y, p, labels=["favor", "against"], average="macro", zero_division=0)
    assert f_avg()(y, p) == pytest.approx(fa)
    assert get_metric("f_avg", ["favor", "against"])(y, p) == pytest.approx(fa)


def test_fast_path_equals_generic_callable() -> None:
    y, p = _noisy(200, 0.7, 3)
    fast = bootstrap_distribution(y, p, "macro_f1", n_resamples=50, seed=5)
    slow = bootstrap_distribution(
        y, p, lambda a, b: f1_score(a, b, average="macro", zero_division=0), 50, seed=5
    )
    np.testing.assert_allclose(fast, slow)


def test_deterministic_and_ordered() -> None:
    y, p = _noisy(300, 0.7, 4)
    a = bootstrap_ci(y, p, "macro_f1", n_resamples=300, seed=11)
    b = bootstrap_ci(y, p, "macro_f1", n_resamples=300, seed=11)
    c = bootstrap_ci(y, p, "macro_f1", n_resamples=300, seed=12)
    assert a == b and a != c
    assert a[0] <= macro_f1(y, p) <= a[1]


def test_fast_on_30k_items() -> None:
    y, p = _noisy(30_000, 0.7, 5)
    start = time.perf_counter()
    lo, hi = bootstrap_ci(y, p, "macro_f1", n_resamples=1000)
    assert time.perf_counter() - start < 5
    assert hi - lo < 0.03


def test_accuracy_interval_covers_truth() -> None:
    # Coverage check: the 95% interval of accuracy should contain the true 0.7 most times.
    hits = 0
    for seed in range(40):
        rng = np.random.default_rng(seed)
        y = np.zeros(200, dtype=int).astype(str)
        p = np.where(rng.random(200) < 0.7, "0", "1")
        lo, hi = bootstrap_ci(y, p, "accuracy", n_resamples=400, seed=seed)
        hits += lo <= 0.7 <= hi
    assert hits >= 33  # ~95% of 40, with slack


def test_paired_bootstrap_detects_real_difference() -> None:
    y, a = _noisy(2000, 0.55, 6)
    rng = np.random.default_rng(7)
    b = np.where(rng.random(len(y)) < 0.5, y, a)  # B fixes half of A's errors
    res = paired_bootstrap(y, a, b, "macro_f1", n_resamples=500)
    assert res["delta"] > 0
    assert res["ci95"][0] > 0
    assert res["p_value"] < 0.01
    assert res["metric_b"] - res["metric_a"] == pytest.approx(res["delta"])


def test_paired_bootstrap_no_difference() -> None:
    y, a = _noisy(500, 0.6, 8)
    res = paired_bootstrap(y, a, a.copy(), "accuracy", n_resamples=200)
    assert res["delta"] == 0 and res["p_value"] == 1.0
    assert res["ci95"] == (0.0, 0.0)


def test_errors() -> None:
    with pytest.raises(ValueError, match="differ in length"):
        bootstrap_ci(["a"], ["a", "b"], "accuracy")
    with pytest.raises(ValueError, match="empty"):
        bootstrap_ci([], [], "accuracy")
    with pytest.raises(ValueError, match="unknown metric"):
        get_metric("auc")


def test_task_metric_matches_project_headline_score() -> None:
    from stance.data.table import Task
    from stance.evaluation.bootstrap import metric_for_task

    task = Task("t", ("against", "favor", "neutral", "unrelated"))
    y, p = _noisy(80, 0.5, 9)
    keep = (y != "favor") & (p != "favor")  # a task label absent from this sample scores 0
    y, p = y[keep], p[keep]
    want = f1_score(y, p, labels=list(task.labels), average="macro", zero_division=0)
    assert metric_for_task(task)(y, p) == pytest.approx(want)
    assert metric_for_task({"metric": "macro_f1", "metric_labels": list(task.labels)})(
        y, p
    ) == pytest.approx(want)

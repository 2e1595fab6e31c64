"""Stance shares and their correction, on synthetic data where the truth is known."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from stance.analysis import plot_shares, save_figure
from stance.evaluation.shares import (
    CORRECTION_NOTE,
    adjust_shares,
    misclassification_matrix,
    stance_shares,
    wilson_interval,
)

LABELS = ["against", "favor", "neutral"]
# A biased classifier: favor is often called neutral, against sometimes neutral.
CONFUSION = np.array(
    [
        [0.70, 0.05, 0.25],
        [0.10, 0.50, 0.40],
        [0.10, 0.05, 0.85],
    ]
)


def _classify(truth: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    idx = np.array([LABELS.index(t) for t in truth])
    u = rng.random(len(truth))[:, None]
    return np.array(LABELS)[(u > np.cumsum(CONFUSION[idx], axis=1)).sum(axis=1)]


def _world(seed: int) -> tuple[pd.DataFrame, pd.DataFrame, dict[str, np.ndarray]]:
    rng = np.random.default_rng(seed)
    true_shares = {"left": np.array([0.15, 0.30, 0.55]), "right": np.array([0.45, 0.05, 0.50])}
    parts = []
    for leaning, p in true_shares.items():
        truth = rng.choice(LABELS, size=3000, p=p)
        parts.append(
            pd.DataFrame(
                {
                    "leaning": leaning,
                    "truth": truth,
                    "predicted": _classify(truth, rng),
                    "date": rng.choice(["2017-05-01", "2018-05-01"], size=3000),
                }
            )
        )
    tagged = pd.concat(parts, ignore_index=True)
    gold = rng.choice(LABELS, size=1500, p=[0.3, 0.3, 0.4])  # labelled sample, own class mix
    calibration = pd.DataFrame({"gold": gold, "predicted": _classify(gold, rng)})
    return tagged, calibration, true_shares


def test_adjust_shares_inverts_exactly_and_stays_on_simplex() -> None:
    p = np.array([0.2, 0.3, 0.5])
    assert adjust_shares(CONFUSION.T @ p, CONFUSION) == pytest.approx(p, abs=1e-6)
    # An observed share outside what M can produce: clipped onto the simplex, not negative.
    q = np.array([0.0, 0.0, 1.0])
    out = adjust_shares(q, CONFUSION)
    assert (out >= 0).all() and out.sum() == pytest.approx(1)


def test_misclassification_matrix_rows() -> None:
    m = misclassification_matrix(["a", "a", "b", "b"], ["a", "b", "b", "b"], labels=["a", "b"])
    assert m.loc["a", "a"] == 0.5 and m.loc["b", "b"] == 1.0
    with pytest.raises(ValueError, match="no labelled items"):
        misclassification_matrix(["a"], ["a"], labels=["a", "b"])


def test_correction_recovers_known_truth() -> None:
    tagged, calibration, truth = _world(0)
    table = stance_shares(
        tagged, "leaning", labels=LABELS, calibration=calibration, n_resamples=300, seed=1
    )
    assert CORRECTION_NOTE in table.attrs["note"]
    for leaning, p in truth.items():
        rows = table[table["leaning"] == leaning].set_index("label").loc[LABELS]
        raw_err = np.abs(rows["observed"].to_numpy() - p).max()
        adj_err = np.abs(rows["adjusted"].to_numpy() - p).max()
        assert raw_err > 0.05  # naive counting is clearly off...
        assert adj_err < 0.04  # ...the corrected shares are close to the truth,
        assert adj_err < raw_err / 2
        covered = (rows["adj_lo"] <= p + 1e-9) & (p - 1e-9 <= rows["adj_hi"])
        assert covered.all()  # and the intervals cover it.
        assert np.isclose(rows["adjusted"].sum(), 1)


def test_interval_coverage_over_replications() -> None:
    # The corrected 95% intervals should cover the true favor share in most worlds.
    hits = 0
    for seed in range(12):
        tagged, calibration, truth = _world(100 + seed)
        table = stance_shares(
            tagged, "leaning", labels=LABELS, calibration=calibration, n_resamples=200, seed=seed
        )
        row = table[(table["leaning"] == "left") & (table["label"] == "favor")].iloc[0]
        hits += row["adj_lo"] <= truth["left"][1] <= row["adj_hi"]
    assert hits >= 10


def test_shares_by_period_and_proba_and_wilson(tmp_path) -> None:
    tagged, calibration, _ = _world(3)
    table = stance_shares(tagged, ["leaning", "year"], labels=LABELS, n_resamples=100)
    assert set(table["year"]) == {2017, 2018} and "adjusted" not in table
    assert table.groupby(["leaning", "year"])["observed"].sum().round(9).eq(1).all()
    lo, hi = wilson_interval(np.array([0, 5]), np.array([10, 10]))
    assert lo[0] == 0 and 0 < hi[0] < 0.35 and lo[1] < 0.5 < hi[1]
    # Probabilistic counting: proba columns from soft one-hots.
    soft = tagged.copy()
    for lab in LABELS:
        soft[f"proba_{lab}"] = np.where(soft["predicted"] == lab, 0.8, 0.1)
    cal = calibration.copy()
    for lab in LABELS:
        cal[f"proba_{lab}"] = np.where(cal["predicted"] == lab, 0.8, 0.1)
    ptable = stance_shares(soft, "leaning", use="proba", calibration=cal, n_resamples=100)
    assert set(ptable["label"]) == set(LABELS) and (ptable["adj_lo"] <= ptable["adj_hi"]).all()
    fig = plot_shares(
        stance_shares(
            tagged, ["leaning", "year"], labels=LABELS, calibration=calibration, n_resamples=100
        ),
        x="year",
        facet="leaning",
        labels=["favor", "against"],
    )
    assert "corrected" in fig._suptitle.get_text()
    assert save_figure(fig, tmp_path / "shares.pdf", formats="pdf")[0].exists()


def test_missing_group_column() -> None:
    with pytest.raises(KeyError, match="leaning"):
        stance_shares(pd.DataFrame({"predicted": ["a"]}), "leaning")


def test_singular_matrix_warns() -> None:
    # A class the classifier never predicts makes M singular: the correction must say so.
    cal = pd.DataFrame(
        {"gold": ["a", "a", "b", "b", "c", "c"], "predicted": ["a", "c", "c", "c", "c", "a"]}
    )
    tagged = pd.DataFrame({"predicted": ["a", "c", "c"], "g": ["x", "x", "x"]})
    with pytest.warns(UserWarning, match="never predicted: \\['b'\\]"):
        stance_shares(tagged, "g", labels=["a", "b", "c"], calibration=cal, n_resamples=20)


def test_wilson_interval_contains_the_proportion_at_0_and_1() -> None:
    """Rounding once put hi at 1 - 1e-16 for 10/10: a negative error bar in the calibration plot."""
    n = np.arange(1, 60)
    lo, hi = wilson_interval(n, n)
    assert (hi == 1).all() and (lo < 1).all()
    lo, hi = wilson_interval(np.zeros_like(n), n)
    assert (lo == 0).all() and (hi > 0).all()

"""Breakdown and compare take any registered metric and name it as the registry does."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd

from stance.analysis import Comparison, breakdown, plot_breakdown
from stance.evaluation.bootstrap import bootstrap_ci
from stance.evaluation.metrics import get_metric

LABELS = ["agree", "disagree", "discuss", "unrelated"]


def _predictions() -> pd.DataFrame:
    rng = np.random.default_rng(0)
    gold = rng.choice(LABELS, size=160)
    predicted = np.where(rng.random(160) < 0.6, gold, rng.choice(LABELS, size=160))
    return pd.DataFrame(
        {"id": [str(i) for i in range(160)], "gold": gold, "predicted": predicted}
    ).assign(source=lambda f: np.where(np.arange(len(f)) % 2, "outlet_a", "outlet_b"))


def test_breakdown_by_a_registered_metric() -> None:
    preds = _predictions()
    table = breakdown(preds, "source", metric="fnc_score", n_resamples=100)
    fnc = get_metric("fnc_score")
    for _, row in table.iterrows():
        part = preds[preds["source"] == row["source"]]
        assert row["fnc_score"] == fnc(part["gold"], part["predicted"])
        assert (row["ci_lo"], row["ci_hi"]) == bootstrap_ci(
            part["gold"], part["predicted"], fnc, n_resamples=100
        )
    assert plot_breakdown(table).axes[0].get_xlabel() == "FNC score (%)"


def test_comparison_names_the_metric_by_its_display_name() -> None:
    result = Comparison("a", "b", "f_avg", 0.5, 0.6, 0.1, (0.01, 0.2), 0.02, 0.1, 3, 9, 100, "v")
    assert "| F_avg A (a) | 50.0 |" in result._repr_markdown_()

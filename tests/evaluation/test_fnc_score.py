"""The FNC-1 weighted score: hand-computed cases, the official scorer's rules, the README's maximum."""

from __future__ import annotations

import re

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import confusion_matrix

from stance.evaluation.bootstrap import bootstrap_ci
from stance.evaluation.metrics import FncScore, get_metric
from stance.paths import default_data_dir

LABELS = ("agree", "disagree", "discuss", "unrelated")


def official_score(gold, predicted) -> float:
    """FNC-1's scorer.py ``score_submission``, transcribed: the reference the metric must match."""
    related = LABELS[0:3]
    score = 0.0
    for g, t in zip(gold, predicted, strict=True):
        if g == t:
            score += 0.25
            if g != "unrelated":
                score += 0.50
        if g in related and t in related:
            score += 0.25
    return score


def test_hand_computed_cases() -> None:
    fnc = get_metric("fnc_score")
    assert fnc.raw(["unrelated"], ["unrelated"]) == (0.25, 0.25)
    assert fnc.raw(["agree"], ["agree"]) == (1.0, 1.0)
    assert fnc.raw(["agree"], ["discuss"]) == (0.25, 1.0)  # related is right, label wrong
    assert fnc.raw(["agree"], ["unrelated"]) == (0.0, 1.0)
    assert fnc.raw(["unrelated"], ["disagree"]) == (0.0, 0.25)
    gold = ["agree", "disagree", "discuss", "unrelated"]
    pred = ["agree", "discuss", "unrelated", "agree"]
    # 1 (agree right) + 0.25 (disagree as discuss) + 0 + 0, out of 1 + 1 + 1 + 0.25.
    assert fnc.raw(gold, pred) == (1.25, 3.25)
    assert fnc(gold, pred) == 1.25 / 3.25
    assert fnc(gold, gold) == 1.0


# sklearn warns that a 1x1 confusion matrix may be missing labels; here it is not.
@pytest.mark.filterwarnings("ignore:A single label was found")
@settings(max_examples=200, deadline=None)
@given(
    st.lists(st.tuples(st.sampled_from(LABELS), st.sampled_from(LABELS)), min_size=1, max_size=80)
)
def test_matches_the_official_scorer(pairs) -> None:
    gold, pred = (list(x) for x in zip(*pairs, strict=True))
    fnc = get_metric("fnc_score")
    points, best = fnc.raw(gold, pred)
    assert points == official_score(gold, pred)
    assert best == official_score(gold, gold)
    assert fnc(gold, pred) == points / best
    labels = sorted(set(gold) | set(pred))
    assert fnc.from_confusion(confusion_matrix(gold, pred, labels=labels), labels) == fnc(
        gold, pred
    )


def test_unrelated_label_is_a_parameter() -> None:
    rng = np.random.default_rng(0)
    gold = rng.choice(LABELS, size=300)
    pred = np.where(rng.random(300) < 0.5, gold, rng.choice(LABELS, size=300))
    renamed = {"unrelated": "off_topic"}
    g2 = [renamed.get(x, x) for x in gold]
    p2 = [renamed.get(x, x) for x in pred]
    assert FncScore("off_topic")(g2, p2) == get_metric("fnc_score")(gold, pred)
    # Read with the wrong unrelated label, every row counts as related: a different score.
    assert FncScore("off_topic")(gold, pred) != get_metric("fnc_score")(gold, pred)
    lo, hi = bootstrap_ci(g2, p2, FncScore("off_topic"), n_resamples=200)
    assert lo <= FncScore("off_topic")(g2, p2) <= hi


def test_maximum_on_the_competition_test_set_is_the_readme_s() -> None:
    readme = default_data_dir() / "fnc1" / "README.md"
    if not readme.exists():
        pytest.skip(f"{readme} not found")
    text = readme.read_text(encoding="utf-8").replace(",", "")
    counts_line = re.search(r"competition_test_stances\.csv\.gz`: \d+ pairs[^(]*\(([^)]*)\)", text)
    counts = {lab: int(n) for lab, n in re.findall(r"(\w+) (\d+)", counts_line.group(1))}
    assert set(counts) == set(LABELS)
    maximum = float(
        re.search(r"maximum on the competition test set is (\d+(?:\.\d+)?)", text).group(1)
    )
    gold = np.repeat(list(counts), list(counts.values()))
    fnc = get_metric("fnc_score")
    assert fnc.raw(gold, gold) == (maximum, maximum)
    everything_unrelated = fnc(gold, np.full(len(gold), "unrelated"))
    assert everything_unrelated == 0.25 * counts["unrelated"] / maximum

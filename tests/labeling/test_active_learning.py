"""Cold start, query strategies, the stopping hint and the replay simulation."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stance.errors import ConfigError
from stance.labeling.cold_start import cold_start_batch, spread
from stance.labeling.learner import stopping_hint
from stance.labeling.simulate import ReplaySetup, replay, summarise
from stance.labeling.strategies import query
from tests.labeling.pool import NATO_FILE, make_pool


@pytest.fixture
def frame() -> pd.DataFrame:
    rows = make_pool(80)
    return pd.DataFrame(
        {
            "id": [r["doc_id"] for r in rows],
            "title": [r["headline"] for r in rows],
            "text": [r["body"] for r in rows],
            "source": [r["outlet"] for r in rows],
            "date": [r["published"] for r in rows],
            "label": [r["gold"] for r in rows],
        }
    )


@pytest.fixture
def lexicon(tmp_path):
    from stance.features.actors import load_actor_lexicon

    (tmp_path / "nato.yaml").write_text(NATO_FILE)
    return load_actor_lexicon(None, directory=str(tmp_path))


def test_cold_start_retrieves_target_articles_spread_over_outlets(frame, lexicon):
    picked, scores = cold_start_batch(frame, "nato", 12, lexicon)
    assert len(picked) == 12
    assert (frame["label"].iloc[picked] != "unrelated").all()  # every one is about NATO
    assert frame["source"].iloc[picked].nunique() == 4  # spread over all four outlets
    unrelated = frame["label"] == "unrelated"
    assert scores[unrelated.to_numpy()].max() < scores[~unrelated.to_numpy()].min()


def test_cold_start_without_lexicon_uses_target_words(frame):
    picked, _ = cold_start_batch(frame, "NATO enlargement", 8)
    assert (frame["label"].iloc[picked] != "unrelated").all()


def test_spread_takes_round_robin_over_strata():
    scores = np.array([0.9, 0.8, 0.7, 0.6, 0.1, 0.0])
    groups = np.array(["a", "a", "a", "b", "b", "c"])
    assert spread(scores, groups, 3) == [0, 3, 1]  # best of a, best of b, then a again


PROBA = np.array(
    [
        [0.90, 0.05, 0.05],  # confident
        [0.40, 0.35, 0.25],  # small margin, high uncertainty
        [0.50, 0.10, 0.40],  # medium
        [0.10, 0.10, 0.80],  # likely the rare class 2
        [0.34, 0.33, 0.33],  # most uncertain
    ]
)


def test_uncertainty_and_margin():
    common = {"classes": ["a", "b", "c"], "label_counts": {"a": 5, "b": 5, "c": 1}}
    assert query("uncertainty", PROBA, 2, **common) == [4, 1]
    assert query("margin", PROBA, 2, **common) == [4, 1]


def test_balanced_spends_part_of_the_batch_on_the_rarest_class():
    picked = query(
        "balanced", PROBA, 2, classes=["a", "b", "c"], label_counts={"a": 5, "b": 5, "c": 1}
    )
    assert picked == [3, 4]  # class c's likeliest row, then the smallest margin


def test_diverse_picks_one_per_cluster():
    rng = np.random.default_rng(0)
    features = np.vstack([rng.normal(0, 0.01, (10, 5)) + 1, rng.normal(0, 0.01, (10, 5)) - 1])
    proba = np.full((20, 2), 0.5)
    proba[:10, 0] += 0.01 * np.arange(10)  # cluster 1 is less ambiguous than cluster 2,
    proba[:10, 1] -= 0.01 * np.arange(10)
    picked = query("diverse", proba, 2, classes=["x", "y"], label_counts={}, features=features)
    # so margin alone would take two rows of cluster 2; diverse takes one of each
    assert query("margin", proba, 2, classes=["x", "y"], label_counts={}) == [0, 10]
    assert sorted(int(p) < 10 for p in picked) == [False, True]


def test_unknown_strategy():
    with pytest.raises(ConfigError, match="unknown query strategy"):
        query("oracle", PROBA, 1, classes=["a", "b", "c"], label_counts={})


def test_stopping_hint_moves_from_keep_going_to_enough():
    moving = [{"macro_f1": v, "ci95": [v - 0.05, v + 0.05]} for v in (0.3, 0.4, 0.5, 0.6, 0.7)]
    assert stopping_hint(moving).startswith("keep labelling: macro-F1 moved 30.0 points")
    flat = [{"macro_f1": v, "ci95": [v - 0.05, v + 0.05]} for v in (0.3, 0.70, 0.705, 0.71, 0.70)]
    assert stopping_hint(flat).startswith("probably enough")
    assert stopping_hint([]).startswith("keep labelling: no estimate")


def test_replay_is_reproducible_and_never_labels_the_test_part(frame, lexicon):
    setup = ReplaySetup(budgets=(8, 16, 24), test_share=0.3)
    a = replay(
        frame,
        ("favor", "against", "neutral", "unrelated"),
        "balanced",
        1,
        target="nato",
        lexicon=lexicon,
        setup=setup,
    )
    b = replay(
        frame,
        ("favor", "against", "neutral", "unrelated"),
        "balanced",
        1,
        target="nato",
        lexicon=lexicon,
        setup=setup,
    )
    pd.testing.assert_frame_equal(a, b)
    assert list(a["budget"]) == [8, 16, 24]
    counts = a[[c for c in a if c.startswith("n_")]].sum(axis=1)
    assert list(counts) == [8, 16, 24]
    # the first (retrieved) batch holds no unrelated article
    assert a["n_unrelated"].iloc[0] == 0
    summary = summarise(pd.concat([a.assign(seed=s) for s in range(3)]))
    assert set(summary.columns) >= {"mean", "lo", "hi"}

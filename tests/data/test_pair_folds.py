"""unseen_pair_folds: validation claims and texts never occur in the fitting part."""

from __future__ import annotations

import numpy as np
import pytest

from stance.data.pair_folds import pair_components, unseen_pair_folds


def _toy(n_stories: int = 6, seed: int = 0):
    """Stories of 2 claims x 3 texts linked pairs, plus random unlinked cross pairs."""
    rng = np.random.default_rng(seed)
    targets, texts, linked = [], [], []
    for s in range(n_stories):
        for c in range(2):
            for t in range(3):
                targets.append(f"claim {s}.{c}")
                texts.append(f"text {s}.{t}")
                linked.append(True)
    for _ in range(40):
        a, b = rng.integers(n_stories, size=2)
        targets.append(f"claim {a}.0")
        texts.append(f"text {b}.1")
        linked.append(False)
    return targets, texts, np.array(linked)


def test_components_follow_linked_pairs_only():
    targets, texts, linked = _toy()
    target_story, text_story = pair_components(targets, texts, linked)
    # linked pairs join their claim and text; unlinked pairs join nothing
    assert (target_story[linked] == text_story[linked]).all()
    assert len(np.unique(target_story)) == 6
    assert (target_story[~linked] != text_story[~linked]).any()


def test_folds_hold_out_unseen_claims_and_texts():
    targets, texts, linked = _toy()
    targets, texts = np.array(targets), np.array(texts)
    folds = unseen_pair_folds(targets, texts, linked, n_splits=3, seed=1)
    assert len(folds) == 3
    seen_val = np.zeros(len(targets), dtype=bool)
    for fit, val in folds:
        assert len(fit) and len(val)
        assert not set(targets[val]) & set(targets[fit])
        assert not set(texts[val]) & set(texts[fit])
        seen_val[val] = True
    # every linked pair is validated exactly once (its claim and text share a story)
    assert seen_val[linked].all()


def test_folds_are_reproducible_and_seeded():
    targets, texts, linked = _toy(n_stories=9)
    a = unseen_pair_folds(targets, texts, linked, n_splits=3, seed=0)
    b = unseen_pair_folds(targets, texts, linked, n_splits=3, seed=0)
    assert all((x[1] == y[1]).all() for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("n_splits", [1, 7])
def test_bad_fold_counts_raise(n_splits):
    targets, texts, linked = _toy()
    with pytest.raises(ValueError, match="n_splits|stories"):
        unseen_pair_folds(targets, texts, linked, n_splits=n_splits)

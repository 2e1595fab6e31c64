"""Development folds for claim corpora where both the claim and the text must be new.

A claim corpus pairs texts with per-row targets (headlines, fact-check claims).
Cutting validation by text alone (``group`` = body) leaves every validation
*claim* in the fitted part when claims recur with many texts, so validation
rewards memorising claims, while a real test set brings new claims and new
texts. FNC-1 is the case in point: all of its ``val`` headlines occur in
``train``, and dropping them leaves 7% of the training pairs, because the
"not about the claim" pairs join random claims and bodies into one graph.

The fix: only the pairs that *are* about their claim (``linked``, e.g. every
label except ``unrelated``) say which claims and texts belong together. Their
connected components of the bipartite claim–text graph are the stories; stories
are dealt into folds, and a fold's validation pairs are those whose claim and
text both belong to its stories, its fitting pairs those whose claim and text
both lie outside them. Pairs that straddle the cut are dropped from both sides.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp
from scipy.sparse.csgraph import connected_components


def pair_components(
    targets: Sequence[str], texts: Sequence[str], linked: Sequence[bool]
) -> tuple[np.ndarray, np.ndarray]:
    """Story id of each row's target and of its text (components over the linked pairs).

    A target or text that only occurs in unlinked pairs is a story of its own.
    """
    target_codes, _ = pd.factorize(pd.Series(list(targets), dtype=object))
    text_codes, text_uniques = pd.factorize(pd.Series(list(texts), dtype=object))
    linked = np.asarray(linked, dtype=bool)
    if not (len(target_codes) == len(text_codes) == len(linked)):
        raise ValueError("targets, texts and linked must have the same length")
    n_targets = int(target_codes.max()) + 1 if len(target_codes) else 0
    n = n_targets + len(text_uniques)
    rows, cols = target_codes[linked], text_codes[linked] + n_targets
    graph = sp.coo_matrix((np.ones(len(rows)), (rows, cols)), shape=(n, n))
    _, label = connected_components(graph, directed=False)
    return label[target_codes], label[text_codes + n_targets]


def unseen_pair_folds(
    targets: Sequence[str],
    texts: Sequence[str],
    linked: Sequence[bool],
    n_splits: int = 3,
    seed: int = 0,
) -> list[tuple[np.ndarray, np.ndarray]]:
    """``(fit, val)`` row positions per fold: val claims and texts are unseen in fit.

    Stories (see :func:`pair_components`) are shuffled with ``seed`` and dealt
    into ``n_splits`` folds, largest first, to balance the linked pairs per fold.
    """
    if n_splits < 2:
        raise ValueError(f"n_splits must be at least 2, got {n_splits!r}")
    target_story, text_story = pair_components(targets, texts, linked)
    linked = np.asarray(linked, dtype=bool)
    stories = np.union1d(target_story, text_story)
    if len(stories) < n_splits:
        raise ValueError(f"{len(stories)} stories cannot make {n_splits} folds")
    size = np.bincount(target_story[linked], minlength=int(stories.max()) + 1)
    rng = np.random.default_rng(seed)
    order = rng.permutation(stories)
    order = order[np.argsort(-size[order], kind="stable")]
    fold_of = np.zeros(int(stories.max()) + 1, dtype=int)
    load = np.zeros(n_splits)
    for story in order:  # greedy: the next-largest story goes to the lightest fold
        k = int(np.argmin(load))
        fold_of[story] = k
        load[k] += size[story] + 1
    target_fold, text_fold = fold_of[target_story], fold_of[text_story]
    folds = []
    for k in range(n_splits):
        val = (target_fold == k) & (text_fold == k)
        fit = (target_fold != k) & (text_fold != k)
        folds.append((np.flatnonzero(fit), np.flatnonzero(val)))
    return folds

"""Query strategies: which unlabelled articles to ask about next.

Each strategy is a small function of the current model's class probabilities on
the unlabelled rows (and, for the diversity-aware one, their feature vectors):

- ``random``      — the baseline every benchmark compares against;
- ``uncertainty`` — least confidence: lowest top-class probability;
- ``margin``      — smallest gap between the two most likely classes;
- ``diverse``     — margin among a candidate set, then one article per k-means
  cluster of their features, so a batch does not ask ten times about one story;
- ``balanced``    — class balancing for rare classes: part of the batch goes to
  the articles most likely to belong to the class with the fewest labels so far
  (``favor`` in the Russia–US corpus), the rest by margin.

Why not small-text or modAL: small-text 1.4 imports PyTorch on import whenever it
is installed (20+ s on a loaded two-core machine, against ``stance``'s light-import
rule), its released version has no class-balancing strategy, and its strategies
expect its own ``Dataset``/``Classifier`` types (integer labels, ``embed()``), so
driving a scikit-learn Pipeline over a DataFrame needs an adapter longer than the
strategies below. modAL has had no release since 2023. Both compute the same
scores as these functions (least confidence, breaking ties / margin).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np

#: Share of a ``balanced`` batch spent on the rarest class's likeliest articles.
BALANCE_SHARE = 0.5
#: ``diverse`` clusters the ``DIVERSE_POOL * n`` most uncertain rows.
DIVERSE_POOL = 4


def _top(scores: np.ndarray, n: int) -> list[int]:
    """Positions of the ``n`` highest scores; ties keep the pool order (stable)."""
    return [int(i) for i in np.argsort(-scores, kind="stable")[:n]]


def least_confidence(proba: np.ndarray) -> np.ndarray:
    return 1.0 - proba.max(axis=1)


def margin_score(proba: np.ndarray) -> np.ndarray:
    """Higher = more ambiguous: minus the gap between the two largest probabilities."""
    if proba.shape[1] < 2:
        return np.zeros(len(proba))
    part = np.sort(proba, axis=1)
    return -(part[:, -1] - part[:, -2])


def random_query(proba: np.ndarray, n: int, *, rng: np.random.Generator, **_: Any) -> list[int]:
    return [int(i) for i in rng.permutation(len(proba))[:n]]


def uncertainty_query(proba: np.ndarray, n: int, **_: Any) -> list[int]:
    return _top(least_confidence(proba), n)


def margin_query(proba: np.ndarray, n: int, **_: Any) -> list[int]:
    return _top(margin_score(proba), n)


def diverse_query(
    proba: np.ndarray, n: int, *, features: Any = None, rng: np.random.Generator, **_: Any
) -> list[int]:
    """Margin candidates, then the most ambiguous article of each k-means cluster."""
    if features is None:
        raise ValueError("the 'diverse' strategy needs the rows' feature vectors")
    scores = margin_score(proba)
    candidates = np.asarray(_top(scores, DIVERSE_POOL * n))
    if len(candidates) <= n:
        return [int(i) for i in candidates]
    from sklearn.cluster import KMeans
    from sklearn.decomposition import TruncatedSVD
    from sklearn.preprocessing import normalize

    X = features[candidates]
    dims = min(50, X.shape[1] - 1, len(candidates) - 1)
    if dims >= 2:
        X = TruncatedSVD(dims, random_state=int(rng.integers(2**31))).fit_transform(X)
    X = normalize(np.asarray(X.todense()) if hasattr(X, "todense") else X)
    clusters = KMeans(n, n_init=1, random_state=int(rng.integers(2**31))).fit_predict(X)
    picked = []
    for c in range(n):
        members = candidates[clusters == c]
        if len(members):
            picked.append(int(members[np.argmax(scores[members])]))
    rest = [int(i) for i in candidates if int(i) not in set(picked)]
    return (picked + rest)[:n]


def balanced_query(
    proba: np.ndarray,
    n: int,
    *,
    classes: Sequence[str],
    label_counts: dict[str, int],
    share: float = BALANCE_SHARE,
    **_: Any,
) -> list[int]:
    """Part of the batch for the rarest classes, the rest by margin.

    Rarest = fewest labels so far among the classes the model knows; its slots go
    to the unlabelled rows with the highest probability of that class, then the
    next rarest class gets the next slot, and so on in turn.
    """
    n_rare = int(round(n * share))
    ranked = sorted(range(len(classes)), key=lambda k: (label_counts.get(classes[k], 0), k))
    rare = ranked[: max(1, len(ranked) // 2)]
    picked: list[int] = []
    taken: set[int] = set()
    orders = {k: np.argsort(-proba[:, k], kind="stable") for k in rare}
    cursor = dict.fromkeys(rare, 0)
    while len(picked) < n_rare and any(cursor[k] < len(proba) for k in rare):
        for k in rare:
            while cursor[k] < len(proba) and int(orders[k][cursor[k]]) in taken:
                cursor[k] += 1
            if cursor[k] < len(proba) and len(picked) < n_rare:
                i = int(orders[k][cursor[k]])
                picked.append(i)
                taken.add(i)
    for i in _top(margin_score(proba), len(proba)):
        if len(picked) >= n:
            break
        if i not in taken:
            picked.append(i)
            taken.add(i)
    return picked


STRATEGIES: dict[str, Callable[..., list[int]]] = {
    "random": random_query,
    "uncertainty": uncertainty_query,
    "margin": margin_query,
    "diverse": diverse_query,
    "balanced": balanced_query,
}


def query(
    name: str,
    proba: np.ndarray,
    n: int,
    *,
    classes: Sequence[str],
    label_counts: dict[str, int],
    features: Any = None,
    seed: int = 0,
) -> list[int]:
    """Positions (into ``proba``'s rows) of the next ``n`` articles to label."""
    if name not in STRATEGIES:
        from stance.errors import ConfigError

        raise ConfigError(f"unknown query strategy {name!r}; known: {sorted(STRATEGIES)}")
    n = min(n, len(proba))
    return STRATEGIES[name](
        proba,
        n,
        classes=list(classes),
        label_counts=label_counts,
        features=features,
        rng=np.random.default_rng(seed),
    )

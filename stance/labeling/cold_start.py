"""Cold start: the first batch is retrieved, not drawn at random.

With no labels there is no model to ask, and in a news archive most articles are
unrelated to a given target, so a random first batch is mostly wasted. Instead
each article is scored by TF-IDF similarity to the target's aliases (the alias
lexicons of ``conf/actors/``, or the target's own content words), and the batch
takes the best-scoring articles *spread over outlets and years*: a round robin
over (source, year) strata, so the first labels do not all come from one outlet's
coverage of one summit.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
from sklearn.feature_extraction.text import TfidfVectorizer

from stance.features.actors import resolve_target

#: Only the best ``CANDIDATE_FACTOR * n`` articles compete for a place in the batch:
#: spreading over strata must not pull in articles that do not mention the target.
CANDIDATE_FACTOR = 3


def query_groups(target: str, lexicon: Mapping[str, Any] | None) -> list[list[str]]:
    """The alias groups a target is retrieved by: one per actor, two for a relation."""
    return [[a for a in group if a.strip()] for group in resolve_target(target, lexicon)]


def documents(frame: pd.DataFrame) -> list[str]:
    """Title and body as one document (the title weighs like any sentence)."""
    title = frame["title"].fillna("").astype(str) if "title" in frame else ""
    return (title + "\n" + frame["text"].fillna("").astype(str)).tolist()


def relevance(
    frame: pd.DataFrame, target: str, lexicon: Mapping[str, Any] | None = None
) -> np.ndarray:
    """Each row's similarity to the target's aliases (0 = mentions none of them).

    Rows may carry their own ``target`` (BASIL: one actor per row); otherwise every
    row is scored against ``target``. For a relation (two sides) the score is the
    geometric mean of the two sides' scores, so an article must mention both.
    """
    docs = documents(frame)
    vec = TfidfVectorizer(ngram_range=(1, 3), sublinear_tf=True, lowercase=True, min_df=1)
    X = vec.fit_transform(docs)
    row_targets = (
        frame["target"].fillna("").astype(str).replace("", target).to_numpy()
        if "target" in frame
        else np.full(len(frame), target)
    )
    scores = np.zeros(len(frame))
    for each in pd.unique(row_targets):
        rows = np.flatnonzero(row_targets == each)
        groups = query_groups(str(each), lexicon)
        side_scores = []
        for group in groups:
            q = vec.transform([" ".join(group)])
            side_scores.append(np.asarray((X[rows] @ q.T).todense()).ravel())
        stacked = np.vstack(side_scores)
        scores[rows] = np.exp(np.log(np.clip(stacked, 1e-12, None)).mean(axis=0)) * (
            stacked > 0
        ).all(axis=0)
    return scores


def strata(frame: pd.DataFrame) -> np.ndarray:
    """(outlet, year) of each row; empty strings where the corpus has neither."""
    source = (
        frame["source"].fillna("").astype(str) if "source" in frame else pd.Series("", frame.index)
    )
    year = (
        frame["date"].fillna("").astype(str).str[:4]
        if "date" in frame
        else pd.Series("", frame.index)
    )
    return (source + "|" + year).to_numpy()


def spread(scores: np.ndarray, groups: np.ndarray, n: int) -> list[int]:
    """The ``n`` best rows by score, taken round-robin over ``groups``.

    Candidates are the best ``CANDIDATE_FACTOR * n`` rows with a positive score
    (all rows by score if fewer match); each round takes the best remaining row of
    every stratum, strata in the order of their best candidate.
    """
    order = np.argsort(-scores, kind="stable")
    positive = order[scores[order] > 0]
    candidates = positive[: CANDIDATE_FACTOR * n]
    if len(candidates) < n:  # too few matches: fill up with the rest, best first
        candidates = order[: max(n, len(candidates))]
    queues: dict[str, list[int]] = {}
    for i in candidates:
        queues.setdefault(groups[i], []).append(int(i))
    picked: list[int] = []
    while len(picked) < n and any(queues.values()):
        for key in list(queues):
            if queues[key] and len(picked) < n:
                picked.append(queues[key].pop(0))
    return picked


def cold_start_batch(
    frame: pd.DataFrame,
    target: str,
    n: int,
    lexicon: Mapping[str, Any] | None = None,
    exclude: Sequence[int] = (),
) -> tuple[list[int], np.ndarray]:
    """Row positions of the first batch (and every row's relevance score)."""
    scores = relevance(frame, target, lexicon)
    masked = scores.copy()
    masked[list(exclude)] = -np.inf
    picked = spread(np.where(np.isfinite(masked), masked, -1.0), strata(frame), n)
    return [i for i in picked if np.isfinite(masked[i])], scores

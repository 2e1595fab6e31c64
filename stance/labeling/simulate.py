"""Replay labelling on a corpus whose labels are known: learning curves per arm.

One *arm* is a way of choosing what to label: ``random`` (the baseline), or cold
start (retrieval, :mod:`stance.labeling.cold_start`) followed by a query strategy
(:mod:`stance.labeling.strategies`). Every arm trains the same model — word 1–2-gram
TF-IDF, fitted once per seed on the pool's text (no labels needed, so a labeller has
it too), and class-balanced logistic regression — and is scored by macro-F1 on a
held-out test part that no arm ever labels: the corpus's released test split where
it has one, else a stratified share drawn by the seed.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.exceptions import ConvergenceWarning
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split

from stance.labeling.cold_start import cold_start_batch, documents
from stance.labeling.strategies import query

TEST_SHARE = 0.3


@dataclass(frozen=True)
class ReplaySetup:
    """What a replay needs besides the corpus: the budgets and the test share."""

    #: Labelled-set sizes at which each arm is scored; also the batch schedule
    #: (batches of 10 up to 150 labels, of 30 after).
    budgets: tuple[int, ...] = (*range(10, 151, 10), *range(180, 301, 30))
    test_share: float = TEST_SHARE


def split_pool(frame: pd.DataFrame, seed: int, test_share: float) -> tuple[np.ndarray, np.ndarray]:
    """Row positions of the pool and the test part."""
    if "split" in frame and (frame["split"] == "test").any():
        test = np.flatnonzero(frame["split"].to_numpy() == "test")
        pool = np.flatnonzero(frame["split"].to_numpy() != "test")
        return pool, test
    pool, test = train_test_split(
        np.arange(len(frame)), test_size=test_share, stratify=frame["label"], random_state=seed
    )
    return np.sort(pool), np.sort(test)


def make_model(seed: int) -> LogisticRegression:
    """The one classifier of every arm (the ``logreg`` zoo entry's settings)."""
    return LogisticRegression(C=4.0, class_weight="balanced", max_iter=3000, random_state=seed)


def featurize(pool_docs: list[str], test_docs: list[str]):
    vec = TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True, min_df=2, max_df=0.9)
    return vec.fit_transform(pool_docs), vec.transform(test_docs)


def _fit_predict(X, y, X_eval_list, seed: int):
    """Fit on the labelled rows; predictions / probabilities for each eval matrix."""
    classes = np.unique(y)
    if len(classes) < 2:  # one class seen so far: every row gets it
        return classes, [
            (np.full(Xe.shape[0], classes[0]), np.ones((Xe.shape[0], 1))) for Xe in X_eval_list
        ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        model = make_model(seed).fit(X, y)
    return model.classes_, [(model.predict(Xe), model.predict_proba(Xe)) for Xe in X_eval_list]


def replay(
    frame: pd.DataFrame,
    labels: Sequence[str],
    arm: str,
    seed: int,
    *,
    target: str = "",
    lexicon: Mapping[str, Any] | None = None,
    setup: ReplaySetup = ReplaySetup(),
) -> pd.DataFrame:
    """One learning curve: a row per budget with macro-F1 on the test part and the
    labelled set's class counts (``n_<label>``).

    The budgets are also the batch schedule: after labelling up to one budget the
    model is fitted once, scored on the test part, and asked for the next batch.
    """
    pool, test = split_pool(frame, seed, setup.test_share)
    pool_frame = frame.iloc[pool].reset_index(drop=True)
    y_pool = pool_frame["label"].to_numpy()
    y_test = frame["label"].to_numpy()[test]
    X_pool, X_test = featurize(documents(pool_frame), documents(frame.iloc[test]))
    budgets = [b for b in setup.budgets if b <= len(pool)]
    rng = np.random.default_rng(seed)
    if arm == "random":
        order = [int(i) for i in rng.permutation(len(pool))]
        labelled = order[: budgets[0]]
    else:
        labelled, _ = cold_start_batch(pool_frame, target, budgets[0], lexicon)
    rows = []
    for position in range(len(budgets)):
        unl = np.setdiff1d(np.arange(len(pool)), labelled)
        classes, [(pred, _), (_, proba)] = _fit_predict(
            X_pool[labelled], y_pool[labelled], [X_test, X_pool[unl]], seed
        )
        counts = pd.Series(y_pool[labelled]).value_counts()
        rows.append(
            {
                "arm": arm,
                "seed": seed,
                "budget": len(labelled),
                "macro_f1": f1_score(
                    y_test, pred, labels=list(labels), average="macro", zero_division=0
                ),
                **{f"n_{lab}": int(counts.get(lab, 0)) for lab in labels},
            }
        )
        if position + 1 == len(budgets):
            break
        n = budgets[position + 1] - len(labelled)
        if arm == "random":
            labelled = order[: len(labelled) + n]
        elif len(classes) < 2:  # no model yet: keep retrieving
            more, _ = cold_start_batch(pool_frame, target, n, lexicon, exclude=labelled)
            labelled = labelled + list(more)
        else:
            picked = query(
                arm,
                proba,
                n,
                classes=list(classes),
                label_counts=counts.to_dict(),
                features=X_pool[unl],
                seed=seed + len(labelled),
            )
            labelled = labelled + [int(unl[i]) for i in picked]
    return pd.DataFrame(rows)


def summarise(curves: pd.DataFrame) -> pd.DataFrame:
    """Mean macro-F1 per arm and budget with a 95% t-interval over seeds."""
    from scipy import stats

    def _ci(values: pd.Series) -> pd.Series:
        n = len(values)
        mean = values.mean()
        half = stats.t.ppf(0.975, n - 1) * values.std(ddof=1) / np.sqrt(n) if n > 1 else np.nan
        return pd.Series({"mean": mean, "lo": mean - half, "hi": mean + half, "n_seeds": n})

    return curves.groupby(["arm", "budget"])["macro_f1"].apply(_ci).unstack().reset_index()


def labels_to_reach(summary: pd.DataFrame, arm: str, level: float) -> int | None:
    """The smallest budget at which ``arm``'s mean macro-F1 reaches ``level`` (None: never)."""
    rows = summary[(summary["arm"] == arm) & (summary["mean"] >= level)]
    return int(rows["budget"].min()) if len(rows) else None

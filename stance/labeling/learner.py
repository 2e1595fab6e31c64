"""Retraining between batches, and the stopping hint.

The model is any pipeline of the zoo (``features=`` × ``model=`` of ``stance-run``),
built by :func:`stance.experiment.build_pipeline` from the same Hydra config, so a
project labelled with ``logreg`` trains exactly what ``stance-run model=logreg``
would. Its quality is estimated by cross-validation on the labels so far
(out-of-fold predictions pooled, bootstrap 95% CI); the stopping hint reports that
estimate and how much it moved over the last batches.
"""

from __future__ import annotations

import functools
import hashlib
import warnings
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import clone
from sklearn.metrics import f1_score
from sklearn.model_selection import StratifiedKFold, cross_val_predict

from stance.data.table import model_input

#: Fewer labels than this and no CV estimate is attempted.
MIN_LABELS_FOR_ESTIMATE = 10
#: The hint says "probably enough" when the estimate moved less than this over the
#: last ``STABLE_BATCHES`` batches and the CI is narrower than ``CI_WIDTH``.
STABLE_MOVE = 0.02
STABLE_BATCHES = 3
CI_WIDTH = 0.15


def build_model(features: str = "tfidf", model: str = "logreg", seed: int = 0, clean: bool = True):
    """A fresh (unfitted) zoo pipeline ``features`` + ``model`` (names of ``conf/features``,
    ``conf/model``). Composing the Hydra config takes seconds, so it is done once per
    process and the template is cloned."""
    return clone(_model_template(features, model, seed, clean))


@functools.lru_cache(maxsize=8)
def _model_template(features: str, model: str, seed: int, clean: bool):
    from stance.experiment import build_pipeline, compose_config

    cfg = compose_config([f"features={features}", f"model={model}", f"seed={seed}"])
    cfg.data.clean = clean
    return build_pipeline(cfg)


def model_version(labelled_ids: Sequence[str], features: str, model: str) -> str:
    """A short, stable name for a model trained on these labels with this config."""
    digest = hashlib.sha256(
        "\n".join([features, model, *sorted(map(str, labelled_ids))]).encode()
    ).hexdigest()[:10]
    return f"{model}-{len(labelled_ids)}-{digest}"


@dataclass
class Estimate:
    """Cross-validated macro-F1 on the labels so far."""

    macro_f1: float | None
    ci95: tuple[float, float] | None
    n_labels: int
    n_splits: int

    def as_dict(self) -> dict[str, Any]:
        return {
            "macro_f1": self.macro_f1,
            "ci95": list(self.ci95) if self.ci95 else None,
            "n_labels": self.n_labels,
            "n_splits": self.n_splits,
        }


def estimate(
    pipeline, frame: pd.DataFrame, labels: Sequence[str], seed: int = 0, n_resamples: int = 500
) -> Estimate:
    """Macro-F1 of ``pipeline`` by stratified k-fold CV (k ≤ 5) on the labelled rows."""
    from stance.evaluation.bootstrap import bootstrap_ci

    y = frame["label"].to_numpy()
    counts = pd.Series(y).value_counts()
    seen = counts[counts >= 2]
    if len(frame) < MIN_LABELS_FOR_ESTIMATE or len(seen) < 2:
        return Estimate(None, None, len(frame), 0)
    k = int(min(5, seen.min()))
    keep = np.isin(y, seen.index)  # a class with one label cannot be cross-validated
    X, y = model_input(frame.loc[keep]), y[keep]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        pred = cross_val_predict(
            clone(pipeline), X, y, cv=StratifiedKFold(k, shuffle=True, random_state=seed)
        )
    present = [lab for lab in labels if lab in set(y)]
    value = float(f1_score(y, pred, labels=present, average="macro", zero_division=0))
    lo, hi = bootstrap_ci(y, pred, "macro_f1", n_resamples=n_resamples, seed=seed)
    return Estimate(value, (lo, hi), int(keep.sum()), k)


def stopping_hint(history: Sequence[dict[str, Any]]) -> str:
    """One sentence from the estimates of successive model versions (oldest first)."""
    values = [h["macro_f1"] for h in history if h.get("macro_f1") is not None]
    if not values:
        return (
            f"keep labelling: no estimate before {MIN_LABELS_FOR_ESTIMATE} labels and two classes"
        )
    last = history[-1]
    ci = last.get("ci95") or [0.0, 1.0]
    width = ci[1] - ci[0]
    if len(values) <= STABLE_BATCHES:
        return f"keep labelling: {len(values)} estimate(s) so far, too few to see a trend"
    moved = max(values[-STABLE_BATCHES - 1 :]) - min(values[-STABLE_BATCHES - 1 :])
    if moved < STABLE_MOVE and width < CI_WIDTH:
        return (
            f"probably enough for this model: macro-F1 moved {100 * moved:.1f} points over the "
            f"last {STABLE_BATCHES} batches and its CI is {100 * width:.0f} points wide"
        )
    return (
        f"keep labelling: macro-F1 moved {100 * moved:.1f} points over the last "
        f"{STABLE_BATCHES} batches; CI {100 * width:.0f} points wide"
    )

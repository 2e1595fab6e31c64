"""Checks a run makes about its targets before it trains.

Two ways a corpus with per-row targets (claims, headlines, actors) goes wrong silently:
features that never read the target learn which words predict a label *whatever the
target* (on a claim corpus, below the majority baseline), and features that build a
block per target (``target_conditioned``) grow with the number of distinct targets
until the classifier runs out of memory. The first is a warning (and a report note),
the second is refused before anything is fitted.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pandas as pd
from sklearn.base import BaseEstimator

from stance.errors import ConfigError

#: Feature classes that read the ``target`` column, by class name, for the classes that
#: predate the ``reads_target`` attribute. New transformers set ``reads_target = True``.
_READS_TARGET = {"TargetWindowTfidf", "TargetConditioned", "LexiconFeatures"}


def _estimators(estimator: Any) -> Iterator[Any]:
    """``estimator`` and every estimator nested in its parameters (unions, wrappers)."""
    yield estimator
    if isinstance(estimator, BaseEstimator):
        for value in estimator.get_params(deep=True).values():
            if isinstance(value, BaseEstimator):
                yield value
            elif isinstance(value, list | tuple):  # FeatureUnion / Pipeline step lists
                for item in value:
                    step = item[-1] if isinstance(item, tuple) else item
                    if isinstance(step, BaseEstimator):
                        yield step


def _reads_target(estimator: Any) -> bool:
    flag = getattr(estimator, "reads_target", None)
    if flag is not None:
        return bool(flag)
    name = type(estimator).__name__
    if name in _READS_TARGET:
        return True
    if name == "SentenceEmbedding":  # only its target / relation windows read the target
        return getattr(estimator, "window", None) is not None
    fields = getattr(estimator, "fields", None)
    return isinstance(fields, list | tuple | str) and "target" in fields


def reads_target(features: Any) -> bool:
    """Whether any part of the features transformer reads the ``target`` column."""
    return any(_reads_target(e) for e in _estimators(features))


def distinct_targets(frame: pd.DataFrame) -> int:
    """Distinct non-empty targets of a corpus table."""
    if "target" not in frame:
        return 0
    targets = frame["target"].fillna("").astype(str).str.strip()
    return int(targets[targets != ""].nunique())


def target_blind_note(n_targets: int, features: Any, features_name: str) -> str | None:
    """The warning for per-row targets + features that ignore them, else ``None``."""
    if n_targets < 2 or reads_target(features):
        return None
    return (
        f"the corpus has {n_targets} distinct per-row targets but features={features_name} "
        "never reads the target: the model predicts one stance per text whatever the target "
        "(on claim corpora this can score below the majority class); use features=claim_pair "
        "(free-text claims), target_window or target_conditioned (a few named targets)"
    )


def too_many_targets(n_targets: int, limit: int | None) -> str | None:
    """Why per-target blocks are refused for ``n_targets`` targets, else ``None``."""
    if limit is None or n_targets <= int(limit):
        return None
    return (
        f"features=target_conditioned builds one feature block per distinct target and this "
        f"corpus has {n_targets} (limit features.max_targets={limit}): with per-row free-text "
        "targets use features=claim_pair, whose size does not depend on the number of targets"
    )


def check_targets(
    frame: pd.DataFrame, features: Any, features_name: str, model: Any = None
) -> str | None:
    """Refuse per-target blocks over too many targets (ConfigError); return the warning.

    A model that reads the model-input frame itself (``features=raw`` with an encoder, or
    a blend holding its own claim features) counts as reading the target when it does.
    """
    n_targets = distinct_targets(frame)
    for estimator in _estimators(features):
        problem = too_many_targets(n_targets, getattr(estimator, "max_targets", None))
        if type(estimator).__name__ == "TargetConditioned" and problem:
            raise ConfigError(problem)
    if model is not None and reads_target(model):
        return None
    return target_blind_note(n_targets, features, features_name)

"""Small helpers shared by the feature transformers (config plumbing, input checks)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import pandas as pd
from sklearn.utils.validation import validate_data

from stance.data.table import MODEL_INPUT_COLUMNS


def plain(value: Any) -> Any:
    """Return ``value`` with OmegaConf containers turned into plain lists / dicts.

    Plain Python values are returned *unchanged* (same object). Estimators
    store their parameters as given and call this in ``fit``/``transform``, so a
    parameter built by Hydra without ``_convert_="all"`` still works.
    """
    module = type(value).__module__
    if module.startswith("omegaconf"):
        from omegaconf import OmegaConf

        return OmegaConf.to_container(value, resolve=True)
    return value


def as_tuple(value: Any) -> tuple:
    """A list-like config value as a tuple (``ngram_range`` and friends)."""
    return tuple(plain(value))


def check_frame(
    estimator: Any, X: Any, columns: Sequence[str] = (), *, reset: bool = False
) -> pd.DataFrame:
    """``X`` checked as the model-input frame: a DataFrame with ``columns``.

    With ``reset=True`` (in ``fit``) also records ``n_features_in_`` and
    ``feature_names_in_``, the columns the transformer was fitted on, as
    scikit-learn estimators do. Transform needs only ``columns``: the frame may
    carry more or fewer of the others.
    """
    name = type(estimator).__name__
    if not isinstance(X, pd.DataFrame):
        raise TypeError(
            f"{name} takes the model-input DataFrame (columns {', '.join(MODEL_INPUT_COLUMNS)}), "
            f"not {type(X).__name__}"
        )
    missing = [c for c in columns if c not in X.columns]
    if missing:
        raise ValueError(f"{name}: model input lacks column(s) {missing}; has {list(X.columns)}")
    if reset:
        validate_data(estimator, X, skip_check_array=True)
    return X


class ModelInputMixin:
    """Mark a transformer of the model-input frame (text columns, not a numeric array).

    Its ``string`` input tag tells scikit-learn (and the estimator-contract
    test, ``tests/estimator_contract.py``) that checks feeding it numeric
    arrays cannot apply. Put it first among the bases:
    ``class MyFeature(ModelInputMixin, TransformerMixin, BaseEstimator)``.
    """

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.string = True
        return tags

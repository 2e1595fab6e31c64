"""Train / test splits that respect the corpus's structure.

Every splitter returns a list of :class:`Fold`; one fold for a predefined or
temporal split, ``n_splits`` for k-fold. Grouped k-fold keeps a group (outlet,
story, triplet) on one side, so a model is never scored on a group it saw.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from stance.data.table import Corpus
from stance.errors import ConfigError, DataError


@dataclass(frozen=True)
class Fold:
    """Row positions (into ``corpus.frame``) of one train / test partition."""

    index: int
    train: np.ndarray
    test: np.ndarray


def make_folds(corpus: Corpus, split_cfg: Mapping[str, Any], seed: int) -> list[Fold]:
    """Build the folds a ``split`` config asks for."""
    name = split_cfg.get("name")
    builders = {
        "predefined": _predefined,
        "kfold": _stratified_kfold,
        "group_kfold": _group_kfold,
        "temporal": _temporal,
    }
    if name not in builders:
        raise ConfigError(f"unknown split {name!r}; choose one of {sorted(builders)}")
    folds = builders[name](corpus, split_cfg, seed)
    for fold in folds:
        if len(fold.train) == 0 or len(fold.test) == 0:
            raise DataError(
                f"split {name!r} fold {fold.index}: {len(fold.train)} training and "
                f"{len(fold.test)} test rows; both must be non-empty"
            )
        classes = pd.unique(corpus.frame["label"].to_numpy()[fold.train])
        if len(classes) < 2:
            raise DataError(
                f"split {name!r} fold {fold.index}: the training rows hold a single class "
                f"({classes[0]!r}); a classifier needs at least two"
            )
    return folds


def _check_n_splits(corpus: Corpus, n_splits: int, what: str, count: int) -> None:
    if n_splits < 2:
        raise ConfigError(f"split.n_splits must be at least 2, got {n_splits}")
    if count < n_splits:
        raise DataError(
            f"{corpus.name}: {count} {what} but split.n_splits={n_splits}; lower n_splits"
        )


def _predefined(corpus: Corpus, cfg: Mapping[str, Any], seed: int) -> list[Fold]:
    if not corpus.has_predefined_split:
        raise ConfigError(
            f"{corpus.name} has no predefined split (no 'split' column); "
            "use split=group_kfold, split=kfold or split=temporal"
        )
    parts = corpus.frame["split"].to_numpy()
    train_parts = list(cfg.get("train_parts", ["train", "val"]))
    test_part = cfg.get("test_part", "test")
    train = np.flatnonzero(np.isin(parts, train_parts))
    test = np.flatnonzero(parts == test_part)
    return [Fold(0, train, test)]


def _stratified_kfold(corpus: Corpus, cfg: Mapping[str, Any], seed: int) -> list[Fold]:
    n_splits = int(cfg.get("n_splits", 5))
    labels = corpus.frame["label"].to_numpy()
    smallest = int(pd.Series(labels).value_counts().min())
    _check_n_splits(corpus, n_splits, "rows in the smallest class", smallest)
    splitter = StratifiedKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return [Fold(i, tr, te) for i, (tr, te) in enumerate(splitter.split(labels, labels))]


def _group_kfold(corpus: Corpus, cfg: Mapping[str, Any], seed: int) -> list[Fold]:
    n_splits = int(cfg.get("n_splits", 5))
    groups = corpus.frame["group"].to_numpy()
    if (groups == "").any():
        missing = int((groups == "").sum())
        raise DataError(
            f"{corpus.name}: {missing} rows have an empty 'group'; grouped k-fold needs a group "
            "for every row (map data.columns.group, or use split=kfold)"
        )
    _check_n_splits(corpus, n_splits, "distinct groups", len(set(groups)))
    labels = corpus.frame["label"].to_numpy()
    splitter = StratifiedGroupKFold(n_splits=n_splits, shuffle=True, random_state=seed)
    return [
        Fold(i, np.sort(tr), np.sort(te))
        for i, (tr, te) in enumerate(splitter.split(labels, labels, groups))
    ]


def _temporal(corpus: Corpus, cfg: Mapping[str, Any], seed: int) -> list[Fold]:
    cutoff = cfg.get("cutoff")
    try:
        cutoff_ts = pd.Timestamp(str(cutoff))
    except (ValueError, TypeError) as exc:
        raise ConfigError(
            f"split.cutoff must be an ISO date such as 2018-01-01, got {cutoff!r}"
        ) from exc
    dates = pd.to_datetime(corpus.frame["date"], errors="coerce", utc=False, format="mixed")
    undated = dates.isna().to_numpy()
    if undated.any() and cfg.get("undated", "exclude") != "exclude":
        position = int(np.flatnonzero(undated)[0])
        raise DataError(
            f"{corpus.name}: {int(undated.sum())} rows have no parsable 'date' "
            f"(first: row {position}, value {corpus.frame['date'].iloc[position]!r}); "
            "a temporal split needs a date on every row (or split.undated=exclude)"
        )
    before = (dates < cutoff_ts).to_numpy()
    return [Fold(0, np.flatnonzero(before & ~undated), np.flatnonzero(~before & ~undated))]

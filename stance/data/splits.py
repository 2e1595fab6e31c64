"""Train / test splits that respect the corpus's structure.

A splitter is a small class chosen by ``_target_`` in ``conf/split/*.yaml``
(its other keys are constructor parameters, checked when it is built) with one
method, :meth:`Splitter.folds`, returning a list of :class:`Fold`: one for a
predefined or temporal split, ``n_splits`` for k-fold. Grouped k-fold keeps a
group (outlet, story, triplet) on one side, so a model is never scored on a
group it saw. :func:`make_folds` is the runner's entry point: it builds the
splitter and applies the checks every split shares (non-empty sides, two classes).
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar

import numpy as np
import pandas as pd
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from stance.config_nodes import dotted_name, instantiate_node, plain_node, target_class
from stance.data.table import SPLIT_VALUES, Corpus
from stance.errors import ConfigError, DataError


@dataclass(frozen=True)
class Fold:
    """Row positions (into ``corpus.frame``) of one train / test partition."""

    index: int
    train: np.ndarray
    test: np.ndarray


class Splitter:
    """Base class: ``folds(corpus, seed)`` partitions a corpus's rows."""

    #: The ``split.name`` of the config (reports and errors use it).
    name: ClassVar[str]

    def folds(self, corpus: Corpus, seed: int) -> list[Fold]:
        raise NotImplementedError


def _n_splits(value: Any) -> int:
    try:
        n_splits = int(value)
        whole = not isinstance(value, bool) and float(value) == n_splits
    except (TypeError, ValueError):
        whole = False
    if not whole:
        raise ConfigError(f"split.n_splits must be an integer, got {value!r}")
    if n_splits < 2:
        raise ConfigError(f"split.n_splits must be at least 2, got {n_splits}")
    return n_splits


def _enough(corpus: Corpus, n_splits: int, what: str, count: int) -> None:
    if count < n_splits:
        raise DataError(
            f"{corpus.name}: {count} {what} but split.n_splits={n_splits}; lower n_splits"
        )


class StratifiedKFoldSplit(Splitter):
    """Stratified k-fold (label proportions kept in each fold); ignores groups."""

    name = "kfold"

    def __init__(self, n_splits: int = 5) -> None:
        self.n_splits = _n_splits(n_splits)

    def folds(self, corpus: Corpus, seed: int) -> list[Fold]:
        labels = corpus.frame["label"].to_numpy()
        smallest = int(pd.Series(labels).value_counts().min())
        _enough(corpus, self.n_splits, "rows in the smallest class", smallest)
        splitter = StratifiedKFold(n_splits=self.n_splits, shuffle=True, random_state=seed)
        return [Fold(i, tr, te) for i, (tr, te) in enumerate(splitter.split(labels, labels))]


class GroupKFoldSplit(Splitter):
    """Stratified k-fold in which a group (outlet, story, triplet) never straddles train and test."""

    name = "group_kfold"

    def __init__(self, n_splits: int = 5) -> None:
        self.n_splits = _n_splits(n_splits)

    def folds(self, corpus: Corpus, seed: int) -> list[Fold]:
        groups = corpus.frame["group"].to_numpy()
        if (groups == "").any():
            missing = int((groups == "").sum())
            raise DataError(
                f"{corpus.name}: {missing} rows have an empty 'group'; grouped k-fold needs a "
                "group for every row (map data.columns.group, or use split=kfold)"
            )
        _enough(corpus, self.n_splits, "distinct groups", len(set(groups)))
        labels = corpus.frame["label"].to_numpy()
        splitter = StratifiedGroupKFold(n_splits=self.n_splits, shuffle=True, random_state=seed)
        return [
            Fold(i, np.sort(tr), np.sort(te))
            for i, (tr, te) in enumerate(splitter.split(labels, labels, groups))
        ]


class PredefinedSplit(Splitter):
    """The corpus's own released split (its ``split`` column): fit on ``train_parts``, score ``test_part``."""

    name = "predefined"

    def __init__(self, train_parts: Sequence[str] = ("train", "val"), test_part: str = "test"):
        if isinstance(train_parts, str):
            train_parts = [train_parts]
        parts = [*train_parts, test_part]
        unknown = [p for p in parts if p not in SPLIT_VALUES]
        if unknown or not train_parts:
            raise ConfigError(
                f"split.train_parts / split.test_part must be among {sorted(SPLIT_VALUES)} "
                f"(train_parts non-empty); got train_parts={list(train_parts)}, "
                f"test_part={test_part!r}"
            )
        if test_part in train_parts:
            raise ConfigError(f"split.test_part {test_part!r} is also in split.train_parts")
        self.train_parts = list(train_parts)
        self.test_part = test_part

    def folds(self, corpus: Corpus, seed: int) -> list[Fold]:
        if not corpus.has_predefined_split:
            raise ConfigError(
                f"{corpus.name} has no predefined split (no 'split' column); "
                "use split=group_kfold, split=kfold or split=temporal"
            )
        parts = corpus.frame["split"].to_numpy()
        train = np.flatnonzero(np.isin(parts, self.train_parts))
        test = np.flatnonzero(parts == self.test_part)
        return [Fold(0, train, test)]


class TemporalSplit(Splitter):
    """Train on rows dated before ``cutoff``, test on those on or after it.

    Rows without a parsable date are left out of both sides (``undated: exclude``)
    or fail the run (``undated: fail``).
    """

    name = "temporal"

    def __init__(self, cutoff: Any = None, undated: str = "exclude") -> None:
        try:
            self.cutoff = pd.Timestamp(str(cutoff))
        except (ValueError, TypeError) as exc:
            raise ConfigError(
                f"split.cutoff must be an ISO date such as 2018-01-01, got {cutoff!r}"
            ) from exc
        if pd.isna(self.cutoff):
            raise ConfigError(
                f"split.cutoff must be an ISO date such as 2018-01-01, got {cutoff!r}"
            )
        if undated not in {"exclude", "fail"}:
            raise ConfigError(f"split.undated must be 'exclude' or 'fail', got {undated!r}")
        self.undated = undated

    def folds(self, corpus: Corpus, seed: int) -> list[Fold]:
        dates = pd.to_datetime(corpus.frame["date"], errors="coerce", utc=False, format="mixed")
        undated = dates.isna().to_numpy()
        if undated.any() and self.undated != "exclude":
            position = int(np.flatnonzero(undated)[0])
            raise DataError(
                f"{corpus.name}: {int(undated.sum())} rows have no parsable 'date' "
                f"(first: row {position}, value {corpus.frame['date'].iloc[position]!r}); "
                "a temporal split needs a date on every row (or split.undated=exclude)"
            )
        before = (dates < self.cutoff).to_numpy()
        return [Fold(0, np.flatnonzero(before & ~undated), np.flatnonzero(~before & ~undated))]


SPLITTERS: dict[str, type[Splitter]] = {
    s.name: s for s in (GroupKFoldSplit, StratifiedKFoldSplit, PredefinedSplit, TemporalSplit)
}
#: Keys of the ``split`` config read by the runner, not by the splitter.
RUNNER_KEYS = frozenset({"name", "allow_unseen_labels"})


def _params(cls: type) -> set[str]:
    return {p for p in inspect.signature(cls.__init__).parameters if p != "self"}


def build_splitter(split_cfg: Mapping[str, Any]) -> Splitter:
    """The :class:`Splitter` a ``split`` config describes, via its ``_target_``.

    A config without ``_target_`` (an old run's ``config.yaml``) is looked up by
    ``name``. A parameter of *another* splitter (``n_splits`` left by an
    experiment file after ``split=predefined``) is ignored, because Hydra
    merges config groups that way; any other unknown key is an error.
    """
    options = plain_node(split_cfg, "split")
    target = options.pop("_target_", None)
    name = options.get("name")
    if target is None:
        if name not in SPLITTERS:
            raise ConfigError(f"unknown split {name!r}; choose one of {sorted(SPLITTERS)}")
        cls: type = SPLITTERS[name]
    else:
        known = [dotted_name(s) for s in SPLITTERS.values()]
        cls = target_class(target, Splitter, "split", known)
    accepted = _params(cls)
    shared = set().union(*(_params(s) for s in SPLITTERS.values()))
    unknown = sorted(set(options) - accepted - shared - RUNNER_KEYS)
    if unknown:
        raise ConfigError(
            f"split: {cls.__name__} has no option(s) {unknown}; it takes {sorted(accepted)}"
        )
    kwargs = {k: v for k, v in options.items() if k in accepted}
    return instantiate_node({"_target_": dotted_name(cls), **kwargs}, f"split {cls.__name__}")


def make_folds(corpus: Corpus, split_cfg: Mapping[str, Any], seed: int) -> list[Fold]:
    """Build the folds a ``split`` config asks for, and check each can train and score."""
    splitter = build_splitter(split_cfg)
    name = split_cfg.get("name") or splitter.name
    folds = splitter.folds(corpus, seed)
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

"""Splitters chosen by `_target_`: same folds as before the refactor, parameters checked."""

from __future__ import annotations

import hashlib
import json

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf
from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

from stance.data.corpora.basil import BasilActor, BasilSentence
from stance.data.corpora.semeval2016 import SemEval2016
from stance.data.splits import (
    SPLITTERS,
    GroupKFoldSplit,
    PredefinedSplit,
    StratifiedKFoldSplit,
    TemporalSplit,
    build_splitter,
    make_folds,
)
from stance.data.table import Corpus, Task
from stance.errors import ConfigError, DataError
from stance.paths import default_data_dir
from tests.paths import CONF_DIR

DATA_DIR = default_data_dir()


def split_cfg(name: str, **overrides):
    cfg = OmegaConf.load(CONF_DIR / "split" / f"{name}.yaml")
    return OmegaConf.merge(cfg, overrides)


def digest(folds) -> str:
    payload = [(f.index, f.train.tolist(), f.test.tolist()) for f in folds]
    return hashlib.sha256(json.dumps(payload).encode()).hexdigest()[:16]


def tiny(n: int = 12, **columns) -> Corpus:
    frame = pd.DataFrame(
        {
            "id": [str(i) for i in range(n)],
            "text": [f"text {i}" for i in range(n)],
            "label": ["a", "b"] * (n // 2),
            "group": [f"g{i % 4}" for i in range(n)],
            **columns,
        }
    )
    return Corpus("tiny", frame, Task("tiny", ("a", "b")))


def test_every_split_config_names_its_splitter():
    for name, cls in SPLITTERS.items():
        cfg = OmegaConf.load(CONF_DIR / "split" / f"{name}.yaml")
        assert cfg.name == cls.name
        if name != "temporal":  # cutoff: ??? must be given
            assert type(build_splitter(cfg)) is cls


# Fold digests of the implementation before splitters were classes (commit a616f62, seed 42),
# on corpora whose upstream files do not change. A refactor must reproduce them exactly.
BEFORE = [
    (BasilActor, "group_kfold", {"n_splits": 5}, "8f770d18a3eebc89"),
    (BasilActor, "group_kfold", {"n_splits": 3}, "291ed0a2044f2f2e"),
    (BasilSentence, "kfold", {"n_splits": 5}, "539d2b4e2298e77e"),
    (BasilSentence, "kfold", {"n_splits": 3}, "952ca995cc418aa8"),
    (SemEval2016, "predefined", {}, "5c97988ab3c8d88f"),
    (SemEval2016, "predefined", {"train_parts": ["train"], "test_part": "val"}, "95b12861c96ece5a"),
]


@pytest.mark.parametrize(("spec", "split", "overrides", "expected"), BEFORE)
def test_folds_are_those_of_the_previous_implementation(spec, split, overrides, expected):
    if not spec.present(DATA_DIR):
        pytest.skip(f"{spec.name} not in {DATA_DIR}")
    corpus = spec().load(DATA_DIR)
    assert digest(make_folds(corpus, split_cfg(split, **overrides), seed=42)) == expected
    # Configs from before `_target_` (old run directories) give the same folds.
    legacy = {"name": split, **OmegaConf.to_container(split_cfg(split, **overrides))}
    legacy.pop("_target_")
    assert digest(make_folds(corpus, legacy, seed=42)) == expected


@pytest.mark.parametrize("seed", [0, 7])
def test_kfold_splitters_are_scikit_learns(seed):
    corpus = tiny(24)
    labels, groups = corpus.frame["label"].to_numpy(), corpus.frame["group"].to_numpy()
    ours = GroupKFoldSplit(n_splits=3).folds(corpus, seed)
    theirs = StratifiedGroupKFold(n_splits=3, shuffle=True, random_state=seed)
    for fold, (train, test) in zip(ours, theirs.split(labels, labels, groups), strict=True):
        np.testing.assert_array_equal(fold.train, np.sort(train))
        np.testing.assert_array_equal(fold.test, np.sort(test))
    ours = StratifiedKFoldSplit(n_splits=4).folds(corpus, seed)
    theirs = StratifiedKFold(n_splits=4, shuffle=True, random_state=seed)
    for fold, (train, test) in zip(ours, theirs.split(labels, labels), strict=True):
        np.testing.assert_array_equal(fold.train, train)
        np.testing.assert_array_equal(fold.test, test)


def test_parameters_are_checked_when_built():
    with pytest.raises(ConfigError, match="n_splits must be at least 2"):
        build_splitter(split_cfg("kfold", n_splits=1))
    with pytest.raises(ConfigError, match="n_splits must be an integer"):
        build_splitter({"name": "group_kfold", "n_splits": "five"})
    with pytest.raises(ConfigError, match=r"train_parts / split.test_part must be among"):
        build_splitter(split_cfg("predefined", test_part="dev"))
    with pytest.raises(ConfigError, match="is also in split.train_parts"):
        build_splitter(split_cfg("predefined", test_part="val"))
    with pytest.raises(ConfigError, match="split.cutoff must be set"):
        build_splitter(split_cfg("temporal"))
    with pytest.raises(ConfigError, match="ISO date"):
        build_splitter(split_cfg("temporal", cutoff="soon"))
    with pytest.raises(ConfigError, match="undated must be"):
        build_splitter(split_cfg("temporal", cutoff="2018-01-01", undated="keep"))
    with pytest.raises(ConfigError, match=r"unknown split 'loo'"):
        build_splitter({"name": "loo"})
    with pytest.raises(ConfigError, match="cannot be imported"):
        build_splitter({"name": "x", "_target_": "stance.data.splits.Nope"})
    with pytest.raises(ConfigError, match="is not a Splitter"):
        build_splitter({"name": "x", "_target_": "stance.data.corpora.fnc1.Fnc1"})
    with pytest.raises(ConfigError, match=r"StratifiedKFoldSplit has no option\(s\) \['nsplits'\]"):
        build_splitter({**OmegaConf.to_container(split_cfg("kfold")), "nsplits": 3})


def test_parameters_of_other_splitters_are_ignored():
    """`experiment=basil_actor split=predefined` leaves the experiment's n_splits in the node."""
    splitter = build_splitter(split_cfg("predefined", n_splits=5, allow_unseen_labels=True))
    assert isinstance(splitter, PredefinedSplit) and splitter.test_part == "test"


def test_shared_checks_apply_to_every_splitter():
    corpus = tiny(12, split=["train"] * 12, date=["2020-01-01"] * 12)
    with pytest.raises(DataError, match=r"split 'predefined' fold 0: 12 training and 0 test"):
        make_folds(corpus, split_cfg("predefined"), seed=0)
    with pytest.raises(DataError, match=r"split 'temporal' fold 0: 0 training and 12 test"):
        make_folds(corpus, split_cfg("temporal", cutoff="2019-01-01"), seed=0)
    one_class = tiny(12, split=["train", "test"] * 6)
    with pytest.raises(DataError, match="single class"):
        make_folds(one_class, split_cfg("predefined"), seed=0)
    with pytest.raises(DataError, match="4 distinct groups but split.n_splits=5"):
        make_folds(tiny(12), split_cfg("group_kfold"), seed=0)
    with pytest.raises(ConfigError, match="no predefined split"):
        make_folds(tiny(12), split_cfg("predefined"), seed=0)


def test_temporal_split_excludes_or_refuses_undated_rows():
    dates = ["2017-05-01", "2019-05-01", ""] * 4
    corpus = tiny(12, date=dates)
    (fold,) = TemporalSplit("2018-01-01").folds(corpus, seed=0)
    assert len(fold.train) == len(fold.test) == 4
    with pytest.raises(DataError, match=r"4 rows have no parsable 'date' \(first: row 2"):
        TemporalSplit("2018-01-01", undated="fail").folds(corpus, seed=0)

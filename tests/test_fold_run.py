"""The per-fold stage's pure parts: settling test rows against duplicates, unseen labels."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from sklearn.linear_model import LogisticRegression

from stance.data.splits import Fold
from stance.errors import DataError
from stance.fold_run import settle_test_rows, unseen_label_notes
from stance.reporting.provenance import StageTimer
from stance.run_config import DedupSpec, SplitSpec

FRAME = pd.DataFrame({"id": [f"r{i}" for i in range(6)]})
FOLD = Fold(index=1, train=np.array([0, 1, 2]), test=np.array([3, 4, 5]))


class _Checks:
    """Stands in for DuplicateChecks: r4 duplicates r0."""

    def result(self, fold: Fold) -> pd.DataFrame:
        return pd.DataFrame(
            {"test_id": ["r4"], "train_id": ["r0"], "kind": ["exact_text"], "similarity": [1.0]}
        )


def test_duplicates_are_reported_and_kept_unless_drop() -> None:
    kept = settle_test_rows(FOLD, FRAME, _Checks(), DedupSpec(True, 0.8, False), StageTimer())
    assert kept.rows.tolist() == [3, 4, 5] and kept.notes == ()
    assert kept.duplicates["fold"].tolist() == [1]
    dropped = settle_test_rows(FOLD, FRAME, _Checks(), DedupSpec(True, 0.8, True), StageTimer())
    assert dropped.rows.tolist() == [3, 5]
    assert dropped.notes == ("fold 1: dropped 1 test rows duplicated in train",)


def test_switched_off_check_finds_nothing_and_is_not_timed() -> None:
    timer = StageTimer()
    settled = settle_test_rows(FOLD, FRAME, _Checks(), DedupSpec(False, 0.8, True), timer)
    assert settled.rows.tolist() == [3, 4, 5] and settled.duplicates is None
    assert "dedup" not in timer.timings


def test_unseen_test_label_fails_naming_it_or_becomes_a_note() -> None:
    y = np.array(["a", "b", "a", "a", "c", "c"])
    with pytest.raises(DataError, match=r"split 'predefined' fold 1: test label\(s\) \{'c': 2\}"):
        unseen_label_notes(SplitSpec("predefined", False), FOLD, y, FOLD.test)
    (note,) = unseen_label_notes(SplitSpec("predefined", True), FOLD, y, FOLD.test)
    assert "{'c': 2} never occur in the training part" in note
    assert unseen_label_notes(SplitSpec("kfold", False), FOLD, y, np.array([3])) == ()


class _ArgmaxOnly(LogisticRegression):
    """Claims predict() is argmax(predict_proba); counts the predict_proba calls."""

    predict_is_argmax_of_proba = True
    calls = 0

    def predict(self, X):
        raise AssertionError("predict() must not run: the probabilities already give it")

    def predict_proba(self, X):
        type(self).calls += 1
        return super().predict_proba(X)


def test_scoring_a_fold_reads_the_test_rows_once_when_predict_is_argmax_of_proba():
    """An encoder (or a blend holding one) would read every test text twice otherwise."""
    from stance.fold_run import predict_rows

    rng = np.random.default_rng(0)
    labels = ["unrelated", "agree", "disagree", "discuss"]
    X = np.vstack([rng.normal(i, 0.5, (20, 2)) for i in range(4)])
    y = np.repeat(labels, 20)
    model = _ArgmaxOnly(max_iter=3000).fit(X, y)
    _ArgmaxOnly.calls = 0
    predicted, proba = predict_rows(model, X, labels)
    assert _ArgmaxOnly.calls == 1
    assert list(proba.columns) == [f"proba_{label}" for label in labels]
    assert (predicted == model.classes_[model.predict_proba(X).argmax(axis=1)]).all()
    plain = LogisticRegression(max_iter=3000).fit(X, y)
    assert (predict_rows(plain, X, labels)[0] == plain.predict(X)).all()

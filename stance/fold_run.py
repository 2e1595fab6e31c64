"""One outer fold of a run: settle its test rows, fit, predict, score — returned, not mutated.

:func:`run_fold` is the runner's per-fold stage. It returns a
:class:`FoldOutcome` holding everything the fold produced (predictions,
scores, duplicate pairs, report notes, the fitted pipeline), so the runner
collects folds by building a tuple rather than appending to shared lists.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline

from stance.data.duplicate_checks import DuplicateChecks, no_duplicates
from stance.data.splits import Fold
from stance.data.table import Corpus, model_input
from stance.errors import DataError
from stance.evaluation.metrics import score
from stance.fold_fit import FoldFeatures
from stance.reporting.provenance import StageTimer
from stance.run_config import DedupSpec, SplitSpec
from stance.selection import SelectionChoice

#: Corpus columns copied beside each prediction (for slicing errors by target, outlet, date).
CONTEXT_COLUMNS = ("target", "group", "source", "date")


def row_groups(frame: pd.DataFrame) -> np.ndarray | None:
    """The ``group`` column (outlet, triplet…) when every row has one, else None."""
    if "group" not in frame:
        return None
    groups = frame["group"].fillna("").to_numpy().astype(str)
    return groups if len(groups) and (groups != "").all() else None


@dataclass(frozen=True, eq=False)
class LoadedCorpus:
    """The corpus as every fold sees it: table, fingerprint, model input, labels, groups."""

    corpus: Corpus
    fingerprint: str
    X: pd.DataFrame
    y: np.ndarray
    groups: np.ndarray | None

    @classmethod
    def of(cls, corpus: Corpus, fingerprint: str) -> LoadedCorpus:
        frame = corpus.frame
        return cls(
            corpus, fingerprint, model_input(frame), frame["label"].to_numpy(), row_groups(frame)
        )

    @property
    def frame(self) -> pd.DataFrame:
        return self.corpus.frame

    @property
    def labels(self) -> list[str]:
        return list(self.corpus.task.labels)


@dataclass(frozen=True, eq=False)
class SettledTest:
    """A fold's test rows after the duplicate check, its pairs and what the report says."""

    rows: np.ndarray
    duplicates: pd.DataFrame | None
    notes: tuple[str, ...]


@dataclass(frozen=True, eq=False)
class FoldOutcome:
    """Everything one fold produced."""

    fold: Fold
    predictions: pd.DataFrame
    scores: dict[str, Any]
    duplicates: pd.DataFrame | None
    notes: tuple[str, ...]
    pipeline: Pipeline
    choice: SelectionChoice | None = None


def run_fold(
    fold: Fold,
    data: LoadedCorpus,
    features: FoldFeatures,
    checks: DuplicateChecks,
    dedup: DedupSpec,
    split: SplitSpec,
    timer: StageTimer,
) -> FoldOutcome:
    """Fit one fold; return its predictions, scores, duplicates and notes.

    The duplicate check runs in the background while the pipeline fits (see
    :mod:`stance.data.duplicate_checks`); its pairs are collected before
    predicting. A fold whose test part shows a label training lacks settles
    its test rows first, so that error is raised before the expensive fit.
    """
    checks.start(fold)
    settled, notes = None, ()
    if set(data.y[fold.test]) - set(data.y[fold.train]):
        settled = settle_test_rows(fold, data.frame, checks, dedup, timer)
        notes = unseen_label_notes(split, fold, data.y, settled.rows)
    with timer.stage("fit"):
        fitted = features.fit(fold.train)
    if settled is None:
        settled = settle_test_rows(fold, data.frame, checks, dedup, timer)
    with timer.stage("predict"):
        X_test = fitted.transform(settled.rows)
        predicted, proba = predict_rows(fitted.classifier, X_test, data.labels)
    part = prediction_frame(fold, data, settled.rows, predicted, proba)
    scores = {
        "fold": fold.index,
        "n_train": int(len(fold.train)),
        "n_test": int(len(part)),
        **score(part["gold"], part["predicted"], data.corpus.task),
    }
    notes += truncation_notes(fitted.classifier, len(fold.train), f"fold {fold.index}")
    return FoldOutcome(
        fold, part, scores, settled.duplicates, settled.notes + notes, fitted.pipeline
    )


def prediction_frame(
    fold: Fold,
    data: LoadedCorpus,
    rows: np.ndarray,
    predicted: np.ndarray,
    proba: pd.DataFrame | None,
) -> pd.DataFrame:
    """predictions.csv rows of one fold: id, fold, gold, predicted, proba_*, context columns."""
    part = pd.DataFrame(
        {
            "id": data.frame["id"].iloc[rows].to_numpy(),
            "fold": fold.index,
            "gold": data.y[rows],
            "predicted": np.asarray(predicted, dtype=str),
        }
    )
    if proba is not None:
        part = pd.concat([part, proba.reset_index(drop=True)], axis=1)
    for column in CONTEXT_COLUMNS:
        part[column] = data.frame[column].iloc[rows].to_numpy()
    return part


def predict_rows(
    classifier: Any, X: Any, labels: Sequence[str]
) -> tuple[np.ndarray, pd.DataFrame | None]:
    """Predicted labels and :func:`proba_frame`; one pass when ``predict`` is the argmax of
    ``predict_proba`` (an encoder would otherwise read every test text twice)."""
    if getattr(classifier, "predict_is_argmax_of_proba", False):
        proba = classifier.predict_proba(X)
        return classifier.classes_[np.argmax(proba, axis=1)], _labelled(proba, classifier, labels)
    return classifier.predict(X), proba_frame(classifier, X, labels)


def proba_frame(classifier: Any, X: Any, labels: Sequence[str]) -> pd.DataFrame | None:
    """Class probabilities as ``proba_<label>`` columns in the task's label order, if any."""
    if not hasattr(classifier, "predict_proba"):
        return None
    try:
        proba = classifier.predict_proba(X)
    except AttributeError:
        return None
    return _labelled(proba, classifier, labels)


def _labelled(proba: np.ndarray, classifier: Any, labels: Sequence[str]) -> pd.DataFrame:
    frame = pd.DataFrame(proba, columns=[f"proba_{c}" for c in classifier.classes_])
    return frame.reindex(columns=[f"proba_{label}" for label in labels], fill_value=0.0)


def settle_test_rows(
    fold: Fold, frame: pd.DataFrame, checks: DuplicateChecks, dedup: DedupSpec, timer: StageTimer
) -> SettledTest:
    """The fold's test rows after the duplicate check (dropping twins if configured)."""
    if dedup.enabled:
        with timer.stage("dedup"):
            dups = checks.result(fold)
    else:
        dups = no_duplicates()
    if not len(dups):
        return SettledTest(fold.test, None, ())
    found = dups.assign(fold=fold.index)
    if not dedup.drop:
        return SettledTest(fold.test, found, ())
    keep = ~frame["id"].iloc[fold.test].isin(set(dups["test_id"])).to_numpy()
    note = f"fold {fold.index}: dropped {int((~keep).sum())} test rows duplicated in train"
    return SettledTest(fold.test[keep], found, (note,))


def fitted_encoder(classifier: Any) -> Any | None:
    """The fine-tuned encoder model of a fitted classifier: itself (transformer, SetFit), the
    second stage of a :class:`~stance.models.two_stage.RestBlendClassifier`, or ``None``."""
    for part in (classifier, getattr(classifier, "second_", None)):
        if hasattr(part, "n_truncated_"):
            return part
    return None


def truncation_notes(classifier: Any, n_train: int, where: str) -> tuple[str, ...]:
    """What an encoder model (transformer, SetFit) could not read: a report note.

    Long texts are cut to what ``model.strategy`` reads at ``model.max_length``, not
    dropped; the reader of the report should know how many were. An encoder inside a
    blend reads only the blend's non-gate rows (``n_second_rows_``).
    """
    encoder = fitted_encoder(classifier)
    n_cut = int(getattr(encoder, "n_truncated_", 0) or 0)
    if not n_cut:
        return ()
    if encoder is not classifier:
        n_train = int(getattr(classifier, "n_second_rows_", n_train))
    return (
        f"{where}: {n_cut} of {n_train} training texts were longer than the encoder reads "
        f"(model.strategy={encoder.strategy}, model.max_length={encoder.max_length}) "
        "and were truncated, not dropped; test texts are cut the same way",
    )


def unseen_label_notes(
    split: SplitSpec, fold: Fold, y: np.ndarray, test: np.ndarray
) -> tuple[str, ...]:
    """A test label the training part never shows cannot be predicted: fail, naming it.

    ``+split.allow_unseen_labels=true`` turns the error into a note in the report.
    """
    unseen = sorted(set(y[test]) - set(y[fold.train]))
    if not unseen:
        return ()
    # str(): labels print as 'x', not np.str_('x'), whatever the array's dtype.
    counts = {str(label): int((y[test] == label).sum()) for label in unseen}
    seen = sorted(str(label) for label in set(y[fold.train]))
    message = (
        f"split {split.name!r} fold {fold.index}: test label(s) {counts} never occur in the "
        f"training part (training labels: {seen}); every test label must "
        "also be in training"
    )
    if split.allow_unseen_labels:
        return (message,)
    raise DataError(
        message + ": fix the split column, or pass +split.allow_unseen_labels=true to score anyway"
    )

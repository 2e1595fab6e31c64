"""The corpus table: the one shape every stage agrees on.

A corpus is a :class:`pandas.DataFrame` with the string columns of
:data:`CORPUS_COLUMNS` (empty string, never NaN, where a field is unknown),
plus an optional ``split`` column (``train`` / ``val`` / ``test``) when the
corpus ships predefined splits. The :class:`Task` travels with it: the label
set, the headline metric and which labels that metric averages.
"""

from __future__ import annotations

import hashlib
import warnings
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

import pandas as pd

from stance.errors import DataError

CORPUS_COLUMNS: tuple[str, ...] = (
    "id",
    "text",
    "title",
    "target",
    "label",
    "group",
    "source",
    "date",
)
#: Columns a model sees at fit and predict time (the rest are bookkeeping); see
#: :class:`ModelInput`, the one place that builds such a frame.
MODEL_INPUT_COLUMNS: tuple[str, ...] = ("text", "title", "target", "source", "date")
SPLIT_VALUES: frozenset[str] = frozenset({"train", "val", "test"})


@dataclass(frozen=True)
class Task:
    """What is predicted and how it is scored.

    Parameters
    ----------
    name:
        Short task name, e.g. ``"ru_us_rapprochement"``.
    labels:
        The label set, in a fixed order (report tables and probability columns follow it).
    metric:
        Headline metric: a name registered in :mod:`stance.evaluation.metrics`
        (``macro_f1``, ``f_avg`` -- SemEval-2016: mean F1 of ``metric_labels`` --,
        ``accuracy``, ``fnc_score``).
    metric_labels:
        Labels the headline metric averages; empty means all labels.
    extra_metrics:
        Secondary metrics (registered names), scored beside the headline: pooled,
        per fold and with a bootstrap CI in metrics.json, and in report.md.
    """

    name: str
    labels: tuple[str, ...]
    metric: str = "macro_f1"
    metric_labels: tuple[str, ...] = ()
    extra_metrics: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        # Imported here: the registry pulls in sklearn.metrics, which stance.data.table
        # (imported by `stance predict`) should not pay for at import time.
        from stance.evaluation.metrics import get_metric, metric_names

        object.__setattr__(self, "extra_metrics", tuple(self.extra_metrics))
        if len(set(self.labels)) != len(self.labels) or not self.labels:
            raise DataError(
                f"task {self.name!r}: labels must be unique and non-empty, got {self.labels}"
            )
        unknown = set(self.metric_labels) - set(self.labels)
        if unknown:
            raise DataError(
                f"task {self.name!r}: metric_labels {sorted(unknown)} not in labels {self.labels}"
            )
        for metric in (self.metric, *self.extra_metrics):
            if metric not in metric_names():
                raise DataError(
                    f"task {self.name!r}: unknown metric {metric!r} "
                    f"(registered: {', '.join(metric_names())})"
                )
            problem = get_metric(metric, self.metric_labels).problem(self.labels)
            if problem:
                raise DataError(f"task {self.name!r}: {problem}; labels are {list(self.labels)}")

    @property
    def averaged_labels(self) -> tuple[str, ...]:
        return self.metric_labels or self.labels


@dataclass
class Corpus:
    """A loaded corpus: the table, its task and where it came from."""

    name: str
    frame: pd.DataFrame
    task: Task
    #: Files read, for provenance (absolute paths as strings).
    files: list[str] = field(default_factory=list)
    #: Extra facts for the report (e.g. rows dropped while loading and why).
    notes: list[str] = field(default_factory=list)

    def __post_init__(self) -> None:
        frame = validate_table(self.frame, self.task, where=self.name)
        empty = frame["text"].str.strip() == ""
        if empty.any():
            # One rule for every loader: a row with no text cannot be classified.
            first = int(empty.to_numpy().nonzero()[0][0])
            message = (
                f"{self.name}: dropped {int(empty.sum())} row(s) whose text is empty or "
                f"whitespace only (first: row {first}, id {frame['id'].iloc[first]!r})"
            )
            warnings.warn(message, UserWarning, stacklevel=3)
            self.notes.append(message)
            frame = frame[~empty].reset_index(drop=True)
            if frame.empty:
                raise DataError(f"{self.name}: no row has any text")
        self.frame = frame

    @cached_property
    def fingerprint(self) -> str:
        """SHA-256 over the table's content: same rows, same fingerprint, whatever the files."""
        return fingerprint_frame(self.frame)

    @property
    def has_predefined_split(self) -> bool:
        return "split" in self.frame.columns

    def __len__(self) -> int:
        return len(self.frame)


def fingerprint_frame(frame: pd.DataFrame) -> str:
    """Stable content hash of a table (column names, order and values)."""
    digest = hashlib.sha256()
    digest.update("\x1f".join(map(str, frame.columns)).encode())
    row_hashes = pd.util.hash_pandas_object(frame, index=False).to_numpy()
    digest.update(row_hashes.tobytes())
    return digest.hexdigest()


def validate_table(frame: pd.DataFrame, task: Task, where: str = "corpus") -> pd.DataFrame:
    """Check and normalise a corpus table; raise :class:`DataError` naming what is wrong.

    Missing optional columns are added as empty strings; ``id``, ``text`` and
    ``label`` must be present. Labels outside the task's label set are reported
    with the first offending row.
    """
    if len(frame) == 0:
        raise DataError(f"{where}: the corpus has no rows")
    missing = [c for c in ("id", "text", "label") if c not in frame.columns]
    if missing:
        raise DataError(
            f"{where}: missing column(s) {missing}; columns present: {list(frame.columns)}"
        )
    out = frame.copy()
    for column in CORPUS_COLUMNS:
        if column not in out.columns:
            out[column] = ""
        out[column] = out[column].fillna("").astype(str)
    bad = ~out["label"].isin(task.labels)
    if bad.any():
        position = int(bad.to_numpy().nonzero()[0][0])
        raise DataError(
            f"{where}: row {position} (id {out['id'].iloc[position]!r}) has label "
            f"{out['label'].iloc[position]!r}, expected one of {list(task.labels)} "
            f"({int(bad.sum())} such rows)"
        )
    if "split" in out.columns:
        bad_split = ~out["split"].isin(SPLIT_VALUES)
        if bad_split.any():
            position = int(bad_split.to_numpy().nonzero()[0][0])
            raise DataError(
                f"{where}: row {position} has split {out['split'].iloc[position]!r}, "
                f"expected one of {sorted(SPLIT_VALUES)}"
            )
    extra = [c for c in out.columns if c not in CORPUS_COLUMNS and c != "split"]
    ordered = list(CORPUS_COLUMNS) + (["split"] if "split" in out.columns else []) + extra
    return out[ordered].reset_index(drop=True)


class ModelInput:
    """The frame every pipeline is fitted on and predicts from: one definition of its columns.

    Columns (:data:`MODEL_INPUT_COLUMNS`): ``text``, ``title``, ``target``, and
    ``source`` / ``date``, which only the opt-in metadata features read and which
    are empty (unseen) at inference unless the input has them. Every column is a
    plain string, ``""`` when unknown. Adding a column means changing this class
    and the corpus table, nothing else.

    Three ways in: :meth:`from_corpus` (training, from the corpus table),
    :meth:`from_lists` (the Python API) and :meth:`from_table` (a batch read
    from a user's file, through a column mapping); :meth:`conform` is the last
    step before the pipeline sees a frame.
    """

    columns: tuple[str, ...] = MODEL_INPUT_COLUMNS
    #: Read from a user's table when it has a column of this name and none is mapped.
    by_name: tuple[str, ...] = ("source", "date")

    @classmethod
    def from_corpus(cls, frame: pd.DataFrame) -> pd.DataFrame:
        """The model-input columns of a corpus table, as a fresh frame."""
        return frame.loc[:, list(cls.columns)].reset_index(drop=True)

    @classmethod
    def from_lists(
        cls,
        texts: Sequence[str] | str,
        titles: Sequence[str] | None = None,
        target: str | Sequence[str] | None = None,
        sources: Sequence[str] | None = None,
        dates: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Build the frame from raw texts (and optional per-row fields) at inference."""
        if isinstance(texts, str):
            texts = [texts]
        texts = list(texts)
        n = len(texts)
        values = {
            "title": [""] * n if titles is None else list(titles),
            "target": [target or ""] * n
            if target is None or isinstance(target, str)
            else list(target),
            "source": [""] * n if sources is None else list(sources),
            "date": [""] * n if dates is None else list(dates),
        }
        lengths = {f"{name}s": len(v) for name, v in values.items()}
        if any(length != n for length in lengths.values()):
            given = ", ".join(f"{name} ({length})" for name, length in lengths.items())
            raise DataError(f"texts ({n}) and {given} differ in length")
        return pd.DataFrame({"text": texts, **values}).astype(str)

    @classmethod
    def from_table(
        cls, table: pd.DataFrame, mapping: Mapping[str, str | None], target: str | None = None
    ) -> pd.DataFrame:
        """A batch of a user's table as model input, through ``mapping``.

        ``mapping`` names the table's column for a model-input column (``None``:
        not given). Unmapped, ``source`` / ``date`` come from columns of those
        names when present; ``target`` (a single value) fills the target column
        when none is mapped. Text cells are left as read (``None`` marks a
        missing one) so :meth:`stance.inference.StanceModel.predict_frame` can
        give such rows a status.
        """
        unknown = sorted(set(mapping) - set(cls.columns))
        if unknown:
            raise DataError(f"not model-input columns: {unknown}; known: {list(cls.columns)}")
        frame = pd.DataFrame(index=table.index)
        for column in cls.columns:
            name = mapping.get(column) or (
                column if column in cls.by_name and column in table.columns else None
            )
            if name is not None:
                frame[column] = (
                    table[name].astype(object) if column == "text" else table[name].fillna("")
                )
            elif column == "text":
                frame[column] = pd.Series([None] * len(table), index=table.index, dtype=object)
            else:
                frame[column] = (target or "") if column == "target" else ""
        return frame

    @classmethod
    def conform(cls, frame: pd.DataFrame, text: Any = None) -> pd.DataFrame:
        """Every model-input column as plain strings (``""`` for missing), fresh index.

        ``text``: the already checked texts (an array, one per row) to use instead
        of ``frame["text"]``, which may still hold bytes or undecodable strings.
        """
        return pd.DataFrame(
            {
                column: text
                if column == "text" and text is not None
                else frame[column].fillna("").astype(str).to_numpy()
                if column in frame
                else ""
                for column in cls.columns
            },
            index=pd.RangeIndex(len(frame)),
        )


def model_input(frame: pd.DataFrame) -> pd.DataFrame:
    """The columns a pipeline sees, from a corpus table (:meth:`ModelInput.from_corpus`)."""
    return ModelInput.from_corpus(frame)


def make_input(
    texts: Sequence[str] | str,
    titles: Sequence[str] | None = None,
    target: str | Sequence[str] | None = None,
    sources: Sequence[str] | None = None,
    dates: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Model input from raw texts (:meth:`ModelInput.from_lists`)."""
    return ModelInput.from_lists(texts, titles, target, sources, dates)

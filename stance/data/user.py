"""The ``file`` loader: any user's table mapped onto the corpus table from config alone.

A researcher points ``data.path`` at a CSV / TSV / JSONL(.gz) / Parquet file, a
directory of JSON files, a dataset saved with ``save_to_disk`` or a hub name,
and says in ``data.columns`` which of their columns is the text, the label, etc.
No code: ``stance-run data=file data.path=my.csv data.columns.text=body``.
"""

from __future__ import annotations

import warnings
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from stance.data.files import MissingColumnsError, read_table
from stance.data.table import CORPUS_COLUMNS, Corpus, Task
from stance.errors import ConfigError, DataError

SPLIT_ALIASES = {
    "train": "train",
    "training": "train",
    "val": "val",
    "valid": "val",
    "validation": "val",
    "dev": "val",
    "test": "test",
    "testing": "test",
}


def _as_list(value: Any) -> list:
    if isinstance(value, (list, tuple, set)):
        return list(value)
    return [value]


def _text_of(values: pd.Series) -> pd.Series:
    """Strings for a user column: NaN/None → '', floats like 3.0 from ints kept as '3'."""

    def convert(value: Any) -> str:
        if value is None or (isinstance(value, float) and pd.isna(value)):
            return ""
        if isinstance(value, float) and value.is_integer():
            return str(int(value))
        return str(value)

    if pd.api.types.is_datetime64_any_dtype(values):
        # JSON/Parquet readers turn "2020-01-01" into timestamps; give the date back as written.
        stamps = pd.to_datetime(values)
        midnight = stamps.dropna().dt.normalize().eq(stamps.dropna()).all()
        text = stamps.dt.strftime("%Y-%m-%d" if midnight else "%Y-%m-%dT%H:%M:%S")
        return text.fillna("")
    return values.map(convert) if len(values) else values.astype(str)


def load_file(data_dir: Path, options: Mapping[str, Any]) -> Corpus:
    """Load a user's corpus as the ``file`` config describes (see conf/data/file.yaml)."""
    path_value = options.get("path")
    if not path_value:
        raise ConfigError(
            "data=file needs data.path (a file, directory or Hugging Face dataset name)"
        )
    path = Path(str(path_value)).expanduser()
    if not path.is_absolute() and not path.exists() and (Path(data_dir) / path).exists():
        path = Path(data_dir) / path  # relative to the data directory
    columns = dict(options.get("columns") or {})
    unknown = sorted(set(columns) - set(CORPUS_COLUMNS))
    if unknown:
        raise ConfigError(
            f"data.columns has unknown key(s) {unknown}; known: {list(CORPUS_COLUMNS)}"
        )
    if not columns.get("text"):
        raise ConfigError("data.columns.text must name the column holding the text")
    if not columns.get("label"):
        raise ConfigError("data.columns.label must name the column holding the gold label")
    mapping = {table: str(user) for table, user in columns.items() if user not in (None, "")}
    split_column = options.get("split_column")
    filters = dict(options.get("filter") or {})
    wanted = list(mapping.values()) + ([str(split_column)] if split_column else [])
    wanted += [str(c) for c in filters if str(c) not in mapping]
    where = str(path_value)
    try:
        raw = read_table(
            path if path.exists() else str(path_value),
            str(options.get("format", "auto")),
            wanted,
            encoding=str(options.get("encoding") or "utf-8"),
        )
    except MissingColumnsError as exc:
        reverse = {user: table for table, user in mapping.items()}
        named = [
            f"{c!r} (data.columns.{reverse[c]})" if c in reverse else repr(c) for c in exc.missing
        ]
        raise DataError(
            f"{where}: column(s) {', '.join(named)} not found; columns present: {exc.present}"
        ) from None
    notes: list[str] = []
    n_read = len(raw)
    raw = raw.reset_index(drop=True)
    raw["__row__"] = range(1, n_read + 1)
    for column, allowed in filters.items():
        allowed_values = {str(v) for v in _as_list(allowed)}
        raw = raw[_text_of(raw[str(column)]).isin(allowed_values)]
    if filters:
        notes.append(f"filter {filters} kept {len(raw)} of {n_read} rows")
        if raw.empty:
            raise DataError(f"{where}: filter {filters} leaves no rows")
    frame = pd.DataFrame(index=raw.index)
    for table_column in CORPUS_COLUMNS:
        user_column = mapping.get(table_column)
        frame[table_column] = _text_of(raw[user_column]) if user_column else ""
    if "id" not in mapping:
        frame["id"] = raw["__row__"].astype(str)
    elif frame["id"].duplicated().any():
        dup = frame.loc[frame["id"].duplicated(), "id"].iloc[0]
        raise DataError(f"{where}: id column {mapping['id']!r} is not unique (e.g. {dup!r})")

    label_map = {str(k): str(v) for k, v in dict(options.get("label_map") or {}).items()}
    if label_map:
        frame["label"] = frame["label"].map(lambda v: label_map.get(v, v))
    labels = options.get("labels")
    if labels:
        labels = tuple(str(label) for label in labels)
        bad = ~frame["label"].isin(labels)
        if bad.any():
            first = bad.to_numpy().nonzero()[0][0]
            value = frame["label"].iloc[first]
            raise DataError(
                f"{where}: row {int(raw['__row__'].iloc[first])} has label {value!r}, not in labels "
                f"{list(labels)} ({int(bad.sum())} such row(s)); add it to data.labels or data.label_map"
            )
    empty_label = frame["label"].str.strip() == ""
    if empty_label.any():
        first = int(raw["__row__"][empty_label].iloc[0])
        raise DataError(
            f"{where}: {int(empty_label.sum())} row(s) have no label in column {mapping['label']!r} "
            f"(first: row {first}); filter them out or fix the file"
        )

    empty = frame["text"].str.strip() == ""
    if empty.any():
        count = int(empty.sum())
        first = int(raw["__row__"][empty].iloc[0])
        policy = str(options.get("empty_text", "drop"))
        message = (
            f"{where}: {count} row(s) have an empty, missing or whitespace-only text in column "
            f"{mapping['text']!r} (first: row {first})"
        )
        if policy == "fail":
            raise DataError(message + "; set data.empty_text=drop to skip them")
        if policy != "drop":
            raise ConfigError(f"data.empty_text must be 'drop' or 'fail', got {policy!r}")
        warnings.warn(message + "; dropped", UserWarning, stacklevel=2)
        notes.append(message + "; dropped")
        frame = frame[~empty]
        raw = raw[~empty]
        if frame.empty:
            raise DataError(f"{where}: no rows with text left")

    if mapping.get("target"):
        empty_target = frame["target"].str.strip() == ""
        if empty_target.any():
            first = int(raw["__row__"][empty_target].iloc[0])
            raise DataError(
                f"{where}: {int(empty_target.sum())} row(s) have an empty target in column "
                f"{mapping['target']!r} (first: row {first}); every row needs the target "
                "(claim, actor, topic) its stance is about: fill them or filter them out"
            )

    if split_column:
        splits = _text_of(raw[str(split_column)]).str.strip().str.lower().map(SPLIT_ALIASES)
        if splits.isna().any():
            first = splits.isna().to_numpy().nonzero()[0][0]
            value = raw[str(split_column)].iloc[first]
            raise DataError(
                f"{where}: row {int(raw['__row__'].iloc[first])} has {split_column}={value!r}; "
                f"expected one of {sorted(SPLIT_ALIASES)}"
            )
        frame["split"] = splits
    elif "__split__" in raw.columns and options.get("use_dataset_splits", True):
        splits = raw["__split__"].str.lower().map(SPLIT_ALIASES)
        if splits.notna().all():
            frame["split"] = splits

    if not labels:
        labels = tuple(sorted(frame["label"].unique()))
    metric_labels = tuple(str(x) for x in (options.get("metric_labels") or ()))
    name = str(options.get("name") or "file")
    task = Task(
        name,
        labels,
        metric=str(options.get("metric") or "macro_f1"),
        metric_labels=metric_labels,
        extra_metrics=tuple(str(x) for x in (options.get("extra_metrics") or ())),
    )
    files = [str(path.resolve()) if path.exists() else str(path_value)]
    return Corpus(name, frame.reset_index(drop=True), task, files=files, notes=notes)

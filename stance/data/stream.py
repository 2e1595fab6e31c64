"""Stream a user's table in fixed batches: what ``stance predict`` and ``stance tag`` read.

Why a second reader beside :func:`stance.data.files.read_table`: training needs
the whole table (and gets it through ``datasets``' Arrow cache); tagging a
corpus of millions needs constant memory and batches that are the same rows on
every run, so an interrupted job can resume. Both share
:mod:`stance.data.formats`: the same file names mean the same formats, and the
same encoding check runs up front.

Bad rows do not stop a stream: a JSON line that does not parse becomes a record
flagged in :data:`BAD_RECORD`; a text with bytes undecodable in the encoding
keeps them as lone surrogates (``surrogateescape``), which the model marks
``undecodable``. A file that is not in the encoding at all is refused before
the first batch (its first :data:`ENCODING_SAMPLE_BYTES` are checked).
"""

from __future__ import annotations

import json
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

import pandas as pd

from stance.data.formats import check_encoding, detect_format, json_layout, open_binary
from stance.errors import DataError

__all__ = [
    "BAD_RECORD",
    "InputColumns",
    "ENCODING_SAMPLE_BYTES",
    "STREAM_FORMATS",
    "bad_records",
    "check_columns",
    "iter_batches",
    "stream_format",
]

#: Column marking a record that could not be parsed (its value says why).
BAD_RECORD = "__stance_bad_record__"
#: Bytes (decompressed) checked against the encoding before streaming starts.
ENCODING_SAMPLE_BYTES = 4 << 20
STREAM_FORMATS = ("jsonl", "csv", "tsv", "parquet")


def stream_format(path: str | Path, fmt: str | None = None) -> str:
    """The format of ``path`` (see :mod:`stance.data.formats`), one that can be streamed."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"input file not found: {path}")
    try:
        resolved = detect_format(path, fmt)
    except DataError as exc:
        raise DataError(f"{exc}; pass --format {'|'.join(STREAM_FORMATS)}") from None
    if resolved not in STREAM_FORMATS:
        raise DataError(
            f"{path}: {resolved} input cannot be streamed; expected one of {list(STREAM_FORMATS)}"
        )
    return resolved


@dataclass(frozen=True)
class InputColumns:
    """Which of a user's columns hold what (``stance predict`` / ``tag`` options).

    ``id=None``: the column named ``id`` when the input has one, else the row
    number (see :meth:`resolve`). ``target=None``: one target for every row.
    """

    text: str = "text"
    title: str | None = None
    target: str | None = None
    id: str | None = None

    def resolve(self, present: Sequence[str]) -> InputColumns:
        """Fill the default id column from the columns the input has."""
        if self.id is None and "id" in present:
            return replace(self, id="id")
        return self

    def model_mapping(self) -> dict[str, str | None]:
        """For :meth:`stance.data.table.ModelInput.from_table`."""
        return {"text": self.text, "title": self.title, "target": self.target}

    def options(self) -> list[tuple[str, str | None]]:
        """``(command-line option, column)`` pairs, for messages about missing columns."""
        return [
            ("--text-column", self.text),
            ("--title-column", self.title),
            ("--target-column", self.target),
            ("--id-column", self.id),
        ]

    def model_input(self, batch: pd.DataFrame, target: str | None) -> pd.DataFrame:
        """The batch as model input; unparsable records get no text (nothing to predict)."""
        from stance.data.table import ModelInput

        frame = ModelInput.from_table(batch, self.model_mapping(), target)
        if BAD_RECORD in batch.columns:
            frame.loc[batch[BAD_RECORD].notna(), "text"] = None
        return frame


def bad_records(batch: pd.DataFrame) -> Any:
    """Boolean array: which rows of ``batch`` could not be parsed."""
    import numpy as np

    if BAD_RECORD in batch.columns:
        return batch[BAD_RECORD].notna().to_numpy()
    return np.zeros(len(batch), dtype=bool)


def iter_batches(
    path: str | Path,
    batch_size: int,
    fmt: str,
    notes: list[str] | None = None,
    encoding: str = "utf-8",
) -> Iterator[pd.DataFrame]:
    """Deterministic batches of the source rows (same file, same batches).

    Values are read as strings (CSV/TSV) or as the JSON/Parquet types; ``notes``
    collects facts worth a warning (a file that ends early).
    """
    path = Path(path)
    notes = notes if notes is not None else []
    if fmt in ("jsonl", "csv", "tsv"):
        check_encoding(path, encoding, "--encoding", limit=ENCODING_SAMPLE_BYTES)
    if fmt == "jsonl":
        if json_layout(path, encoding) == "array":
            return _iter_json_array(path, batch_size, encoding)
        return _iter_jsonl(path, batch_size, encoding, notes)
    if fmt in ("csv", "tsv"):
        return _iter_csv(path, batch_size, "," if fmt == "csv" else "\t", encoding, notes)
    return _iter_parquet(path, batch_size)


def check_columns(
    frame: pd.DataFrame, wanted: Sequence[tuple[str, str | None]], where: Any
) -> None:
    """Raise naming the option and the columns present when a wanted column is absent."""
    present = [c for c in frame.columns if c != BAD_RECORD]
    for option, name in wanted:
        if name and name not in frame.columns:
            raise DataError(f"{where}: no column {name!r} ({option}); columns present: {present}")


def _iter_jsonl(
    path: Path, batch_size: int, encoding: str, notes: list[str]
) -> Iterator[pd.DataFrame]:
    """JSON lines, one record per line; bad bytes/JSON become flagged records, not crashes."""
    records: list[dict[str, Any]] = []
    line_no = 0
    try:
        with open_binary(path) as handle:
            for raw in handle:
                line_no += 1
                if not raw.strip():
                    continue
                text = raw.decode(encoding, "surrogateescape")
                try:
                    record = json.loads(text)
                    if not isinstance(record, dict):
                        raise ValueError("not a JSON object")
                except ValueError:
                    record = {BAD_RECORD: f"line {line_no}: not a JSON object"}
                records.append(record)
                if len(records) == batch_size:
                    yield pd.DataFrame(records, dtype=object)
                    records = []
    except (EOFError, OSError) as exc:  # truncated gzip / damaged file
        notes.append(
            f"{path}: input ends early after line {line_no} ({exc}); rows up to there were tagged"
        )
    if records:
        yield pd.DataFrame(records, dtype=object)


def _iter_json_array(path: Path, batch_size: int, encoding: str) -> Iterator[pd.DataFrame]:
    """A file holding one JSON array of objects: parsed whole (it cannot be streamed)."""
    with open_binary(path) as handle:
        text = handle.read().decode(encoding, "surrogateescape")
    try:
        records = json.loads(text)
    except json.JSONDecodeError as exc:
        raise DataError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "expected one array of objects or one object per line"
        ) from None
    if not all(isinstance(r, dict) for r in records):
        raise DataError(f"{path}: the JSON array holds something other than objects")
    for start in range(0, len(records), batch_size):
        yield pd.DataFrame(records[start : start + batch_size], dtype=object)


def _iter_csv(
    path: Path, batch_size: int, sep: str, encoding: str, notes: list[str]
) -> Iterator[pd.DataFrame]:
    """CSV/TSV batches; a file cut inside a quoted field is a DataError naming the row."""
    if not path.name.lower().endswith((".gz", ".bz2", ".xz")) and path.stat().st_size:
        with open(path, "rb") as handle:
            handle.seek(-1, os.SEEK_END)
            if handle.read(1) not in (b"\n", b"\r"):
                notes.append(
                    f"{path}: the file does not end with a newline; its last row may be "
                    "truncated mid-line (check it, or re-export the file)"
                )
    rows = 0
    try:
        reader = pd.read_csv(
            path,  # compression (.gz/.bz2/.xz) inferred from the name, as open_binary does
            sep=sep,
            chunksize=batch_size,
            dtype=object,
            keep_default_na=False,
            na_values=[],
            encoding=encoding,
            encoding_errors="surrogateescape",
            on_bad_lines="warn",
        )
        with reader:
            for chunk in reader:
                rows += len(chunk)
                yield chunk
    except pd.errors.ParserError as exc:
        raise DataError(
            f"{path}: cannot parse the {'CSV' if sep == ',' else 'TSV'}"
            f"{f' after data row {rows}' if rows else ''} "
            f"({str(exc).removeprefix('Error tokenizing data. C error: ')}); the file looks "
            "truncated or malformed (expected every quoted field to be closed)"
        ) from None
    except pd.errors.EmptyDataError:
        raise DataError(f"{path}: the file is empty (expected a header line)") from None


def _iter_parquet(path: Path, batch_size: int) -> Iterator[pd.DataFrame]:
    import pyarrow.dataset as ds

    dataset = ds.dataset(path, format="parquet")
    for batch in dataset.to_batches(batch_size=batch_size):
        if batch.num_rows:
            yield batch.to_pandas(types_mapper=None)

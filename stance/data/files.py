"""Reading tabular files (CSV, TSV, JSONL, Parquet, JSON dirs, HF datasets) into pandas.

Everything goes through Hugging Face ``datasets`` so large files are converted
once to a memory-mapped Arrow cache (keyed by the file's fingerprint) and
re-loaded fast. Any failure is turned into a :class:`DataError` that names the
file and, where it can be found, the byte offset or line: a researcher should
never have to read a pyarrow traceback.
"""

from __future__ import annotations

import csv
import io
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from stance.data.formats import (  # noqa: F401 - detect_format, FORMATS re-exported
    FORMATS,
    TEXT_FORMATS,
    check_encoding,
    detect_format,
    find_bad_json_line,
    find_undecodable,
    json_error,
    open_binary,
)
from stance.errors import DataError
from stance.paths import default_cache_dir

#: How training's ``data=file`` names the encoding in messages.
ENCODING_OPTION = "data.encoding="


class MissingColumnsError(DataError):
    """Columns asked for are absent; carries what is present so callers can say more."""

    def __init__(self, where: str, missing: list[str], present: list[str]):
        self.missing = missing
        self.present = present
        super().__init__(f"{where}: missing column(s) {missing}; columns present: {present}")


def datasets_cache_dir() -> str:
    """Where ``datasets`` keeps its Arrow cache for stance (under the stance cache)."""
    path = default_cache_dir() / "datasets"
    path.mkdir(parents=True, exist_ok=True)
    return str(path)


def _quiet_datasets() -> None:
    import datasets

    datasets.disable_progress_bars()
    # Its failures are logged at ERROR before they are raised, and we raise our own
    # DataError for each one: keep the log quiet so the user reads one message.
    datasets.logging.set_verbosity(logging.CRITICAL)
    logging.getLogger("datasets").setLevel(logging.CRITICAL)


def _check_csv_tail(path: Path, sep: str, encoding: str) -> str | None:
    """A CSV/TSV truncated mid-line parses silently with missing fields; catch that."""
    with open_binary(path) as handle:
        data = handle.read().decode(encoding, errors="replace")
    if not data or data.endswith("\n"):
        return None
    try:
        rows = list(csv.reader(io.StringIO(data), delimiter=sep))
    except csv.Error as exc:
        return f"{path}: the file is truncated or malformed near its end ({exc})"
    if len(rows) >= 2 and len(rows[-1]) < len(rows[0]):
        return (
            f"{path}: the last line has {len(rows[-1])} field(s) but the header has {len(rows[0])}, "
            f"and the file does not end with a newline: it looks truncated mid-line"
        )
    return None


def _check_marker(path: Path, encoding: str) -> Path:
    import hashlib

    stat = path.stat()
    key = hashlib.sha1(
        f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}|{encoding}".encode()
    ).hexdigest()
    return Path(datasets_cache_dir()) / "stance-checked" / key


def _already_checked(path: Path, encoding: str) -> bool:
    return _check_marker(path, encoding).exists()


def _mark_checked(path: Path, encoding: str) -> None:
    marker = _check_marker(path, encoding)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()


def _csv_header(path: Path, sep: str, encoding: str) -> list[str]:
    with open_binary(path) as handle:
        first = handle.readline().decode("utf-8-sig" if encoding == "utf-8" else encoding)
    if not first.strip():
        raise DataError(f"{path}: the file is empty or its first line (the header) is blank")
    header = next(csv.reader([first], delimiter=sep))
    if len(set(header)) != len(header):
        dups = sorted({h for h in header if header.count(h) > 1})
        raise DataError(f"{path}: the header repeats column name(s) {dups}")
    return header


def _diagnose(path: Path, fmt: str, encoding: str = "utf-8") -> str | None:
    if fmt in TEXT_FORMATS:
        problem = find_undecodable(path, encoding)
        if problem:
            return problem
    if fmt in {"jsonl", "json"}:
        return find_bad_json_line(path, encoding)
    if fmt == "parquet":
        try:
            import pyarrow.parquet as pq

            pq.ParquetFile(path)
        except Exception as exc:  # noqa: BLE001 - any pyarrow failure means a broken file
            return f"{path}: not a readable Parquet file ({type(exc).__name__}: {exc})"
    return None


def _root_message(exc: BaseException) -> str:
    while exc.__cause__ is not None or exc.__context__ is not None:
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    text = str(exc).strip().splitlines()
    return f"{type(exc).__name__}: {text[-1] if text else ''}"


def _dataset_to_frame(dataset: Any, split_names: bool) -> pd.DataFrame:
    """A ``Dataset`` or ``DatasetDict`` as pandas; dict splits become a ``__split__`` column."""
    from datasets import DatasetDict

    if isinstance(dataset, DatasetDict):
        frames = []
        for name, part in dataset.items():
            frame = part.to_pandas()
            if split_names:
                frame["__split__"] = name
            frames.append(frame)
        return pd.concat(frames, ignore_index=True)
    return dataset.to_pandas()


def _read_json_dir(path: Path, encoding: str) -> pd.DataFrame:
    records: list[dict] = []
    for file in sorted(path.glob("*.json")):
        check_encoding(file, encoding, ENCODING_OPTION)
        try:
            obj = json.loads(file.read_text(encoding=encoding))
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{file}: not valid JSON (line {exc.lineno}: {json_error(exc)}); truncated?"
            ) from None
        items = obj if isinstance(obj, list) else [obj]
        for item in items:
            if not isinstance(item, dict):
                raise DataError(f"{file}: expected a JSON object (or a list of objects)")
            records.append({**item, "__file__": file.stem})
    if not records:
        raise DataError(f"{path}: no records in its *.json files")
    return pd.DataFrame.from_records(records)


def read_table(
    path: str | Path,
    fmt: str = "auto",
    columns: Sequence[str] | None = None,
    encoding: str = "utf-8",
) -> pd.DataFrame:
    """Read a user's whole table into pandas via ``datasets`` (Arrow-cached).

    ``columns``: if given, only these are materialised in pandas (the rest stay
    on disk in the Arrow cache), which keeps wide corpora cheap. Dataset dicts
    get a ``__split__`` column with their split names. ``encoding`` applies to
    CSV / TSV / JSON; a file not valid in it is refused up front, naming the
    byte and the fix. (``stance predict`` / ``tag`` stream the same formats with
    :func:`stance.data.stream.iter_batches`.)
    """
    fmt = detect_format(path, fmt)
    _quiet_datasets()
    if fmt == "hf_hub":
        from datasets import load_dataset

        try:
            dataset = load_dataset(str(path), cache_dir=datasets_cache_dir())
        except Exception as exc:  # noqa: BLE001 - hub/network errors are many kinds
            raise DataError(
                f"could not load Hugging Face dataset {path!r}: {_root_message(exc)}"
            ) from exc
        return _select(_dataset_to_frame(dataset, True), columns, str(path))
    p = Path(path).expanduser()
    if not p.exists():
        raise DataError(f"missing file {p}")
    if fmt == "json_dir":
        return _select(_read_json_dir(p, encoding), columns, str(p))
    if fmt == "hf_disk":
        from datasets import load_from_disk

        try:
            dataset = load_from_disk(str(p))
        except Exception as exc:  # noqa: BLE001
            raise DataError(
                f"{p}: not a dataset saved with save_to_disk ({_root_message(exc)})"
            ) from exc
        return _select(_dataset_to_frame(dataset, True), columns, str(p))
    from datasets import load_dataset

    builder, kwargs = {
        "csv": ("csv", {"sep": ","}),
        "tsv": ("csv", {"sep": "\t", "quoting": csv.QUOTE_NONE}),
        "jsonl": ("json", {}),
        "parquet": ("parquet", {}),
    }[fmt]
    if fmt in TEXT_FORMATS:
        kwargs["encoding"] = encoding
        if not _already_checked(p, encoding):
            # pyarrow accepts invalid UTF-8 in JSON and fails much later; check once per
            # file version.
            check_encoding(p, encoding, ENCODING_OPTION)
            problem = _check_csv_tail(p, kwargs["sep"], encoding) if fmt != "jsonl" else None
            if problem:
                raise DataError(problem)
            _mark_checked(p, encoding)
    if fmt in {"csv", "tsv"}:
        # Every column as a string: ids like 007 and labels like -1 must survive unchanged.
        from datasets import Features, Value

        header = _csv_header(p, kwargs["sep"], encoding)
        if not _has_data_row(p, encoding):
            raise DataError(f"{p}: the file has a header ({len(header)} columns) but no rows")
        kwargs["features"] = Features({name: Value("string") for name in header})
    try:
        dataset = load_dataset(
            builder, data_files=str(p), split="train", cache_dir=datasets_cache_dir(), **kwargs
        )
    except Exception as exc:  # noqa: BLE001 - datasets wraps pandas/pyarrow errors of many kinds
        problem = _diagnose(p, fmt, encoding)
        raise DataError(problem or f"could not read {p} as {fmt}: {_root_message(exc)}") from exc
    if columns is not None:
        _check_columns(columns, list(dataset.column_names), str(p))
        dataset = dataset.select_columns(list(dict.fromkeys(columns)))
    return dataset.to_pandas()


def _has_data_row(path: Path, encoding: str) -> bool:
    """True when a delimited file has at least one non-blank line after its header."""
    with io.TextIOWrapper(open_binary(path), encoding=encoding, errors="replace") as handle:
        handle.readline()
        return any(line.strip() for line in handle)


def _check_columns(columns: Sequence[str], present: list[str], where: str) -> None:
    missing = [c for c in dict.fromkeys(columns) if c not in present]
    if missing:
        raise MissingColumnsError(where, missing, [c for c in present if not c.startswith("__")])


def _select(frame: pd.DataFrame, columns: Sequence[str] | None, where: str) -> pd.DataFrame:
    if columns is None:
        return frame
    _check_columns(columns, list(frame.columns), where)
    extra = [c for c in ("__split__", "__file__") if c in frame.columns and c not in columns]
    return frame[list(dict.fromkeys(columns)) + extra]

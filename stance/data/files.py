"""Reading tabular files (CSV, TSV, JSONL, Parquet, JSON dirs, HF datasets) into pandas.

Everything goes through Hugging Face ``datasets`` so large files are converted
once to a memory-mapped Arrow cache (keyed by the file's fingerprint) and
re-loaded fast. Any failure is turned into a :class:`DataError` that names the
file and, where it can be found, the byte offset or line: a researcher should
never have to read a pyarrow traceback.
"""

from __future__ import annotations

import codecs
import csv
import gzip
import io
import json
import logging
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pandas as pd

from stance.errors import DataError
from stance.paths import default_cache_dir

FORMATS = ("auto", "csv", "tsv", "jsonl", "json", "parquet", "json_dir", "hf_disk", "hf_hub")


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
    datasets.logging.set_verbosity_error()
    logging.getLogger("datasets").setLevel(logging.ERROR)


def detect_format(path: str | Path, fmt: str = "auto") -> str:
    """Resolve ``fmt='auto'`` from the path: suffix, directory layout, or a hub name."""
    if fmt not in FORMATS:
        raise DataError(f"unknown format {fmt!r}; known: {list(FORMATS)}")
    if fmt != "auto":
        return fmt
    p = Path(path)
    if p.is_dir():
        if (p / "dataset_info.json").exists() or (p / "dataset_dict.json").exists():
            return "hf_disk"
        if any(p.glob("*.json")):
            return "json_dir"
        raise DataError(
            f"{p} is a directory but holds neither *.json files nor a dataset saved with save_to_disk"
        )
    name = p.name.lower()
    for suffix, kind in (
        (".csv", "csv"),
        (".tsv", "tsv"),
        (".tab", "tsv"),
        (".jsonl", "jsonl"),
        (".ndjson", "jsonl"),
        (".json", "json"),
        (".parquet", "parquet"),
        (".pq", "parquet"),
    ):
        if name.endswith(suffix) or name.endswith(suffix + ".gz"):
            return kind
    if not p.exists():
        # "owner/name" without a local file: a Hugging Face hub dataset.
        text = str(path)
        if text.count("/") <= 1 and not text.startswith((".", "/", "~")) and "." not in p.name:
            return "hf_hub"
        raise DataError(f"missing file {p}")
    raise DataError(
        f"cannot tell the format of {p} from its name; set format to one of {list(FORMATS[1:])}"
    )


def _open_binary(path: Path) -> io.BufferedIOBase:
    return gzip.open(path, "rb") if path.name.endswith(".gz") else open(path, "rb")  # noqa: SIM115


def find_undecodable(path: Path, encoding: str = "utf-8") -> str | None:
    """Describe the first undecodable byte of ``path`` (offset, line), or ``None`` if clean."""
    decoder = codecs.getincrementaldecoder(encoding)()
    offset = 0
    line = 1
    try:
        with _open_binary(path) as handle:
            while chunk := handle.read(1 << 20):
                try:
                    decoder.decode(chunk)
                except UnicodeDecodeError as exc:
                    bad = offset + exc.start
                    line += chunk[: exc.start].count(b"\n")
                    where = " (in the decompressed stream)" if path.name.endswith(".gz") else ""
                    return (
                        f"{path}: byte 0x{chunk[exc.start]:02x} at offset {bad}{where}, line {line}, "
                        f"is not valid {encoding}; re-save the file as {encoding}"
                    )
                line += chunk.count(b"\n")
                offset += len(chunk)
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return f"{path}: the file ends inside a multi-byte {encoding} character (truncated?)"
    except (OSError, EOFError) as exc:
        return f"{path}: cannot read the file ({exc}); is it truncated or not really gzip?"
    return None


def find_bad_json_line(path: Path) -> str | None:
    """Describe the first JSON-lines record that does not parse (line number, truncation)."""
    try:
        with _open_binary(path) as handle:
            lines = handle.read().decode("utf-8").split("\n")
    except (OSError, EOFError, UnicodeDecodeError) as exc:
        return f"{path}: cannot read the file ({exc})"
    last = max((i for i, text in enumerate(lines) if text.strip()), default=-1)
    for number, text in enumerate(lines, start=1):
        if not text.strip():
            continue
        try:
            record = json.loads(text)
        except json.JSONDecodeError as exc:
            hint = " (the file looks truncated mid-line)" if number - 1 == last else ""
            return f"{path}: line {number} is not valid JSON{hint}: {exc.msg} at column {exc.colno}"
        if not isinstance(record, dict):
            return f"{path}: line {number} is a JSON {type(record).__name__}, expected an object"
    return None


def _check_csv_tail(path: Path, sep: str) -> str | None:
    """A CSV/TSV truncated mid-line parses silently with missing fields; catch that."""
    with _open_binary(path) as handle:
        data = handle.read().decode("utf-8", errors="replace")
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


def _check_marker(path: Path) -> Path:
    import hashlib

    stat = path.stat()
    key = hashlib.sha1(f"{path.resolve()}|{stat.st_size}|{stat.st_mtime_ns}".encode()).hexdigest()
    return Path(datasets_cache_dir()) / "stance-checked" / key


def _already_checked(path: Path) -> bool:
    return _check_marker(path).exists()


def _mark_checked(path: Path) -> None:
    marker = _check_marker(path)
    marker.parent.mkdir(parents=True, exist_ok=True)
    marker.touch()


def _csv_header(path: Path, sep: str) -> list[str]:
    with _open_binary(path) as handle:
        first = handle.readline().decode("utf-8-sig")
    if not first.strip():
        raise DataError(f"{path}: the file is empty or its first line (the header) is blank")
    header = next(csv.reader([first], delimiter=sep))
    if len(set(header)) != len(header):
        dups = sorted({h for h in header if header.count(h) > 1})
        raise DataError(f"{path}: the header repeats column name(s) {dups}")
    return header


def _diagnose(path: Path, fmt: str) -> str | None:
    if fmt in {"csv", "tsv", "jsonl", "json"}:
        problem = find_undecodable(path)
        if problem:
            return problem
    if fmt in {"jsonl", "json"}:
        return find_bad_json_line(path)
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


def _read_json_dir(path: Path) -> pd.DataFrame:
    records: list[dict] = []
    for file in sorted(path.glob("*.json")):
        problem = find_undecodable(file)
        if problem:
            raise DataError(problem)
        try:
            obj = json.loads(file.read_text(encoding="utf-8"))
        except json.JSONDecodeError as exc:
            raise DataError(
                f"{file}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); truncated?"
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
    path: str | Path, fmt: str = "auto", columns: Sequence[str] | None = None
) -> pd.DataFrame:
    """Read a user's table into pandas via ``datasets`` (Arrow-cached).

    ``columns``: if given, only these are materialised in pandas (the rest stay
    on disk in the Arrow cache), which keeps wide corpora cheap. Dataset dicts
    get a ``__split__`` column with their split names.
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
        return _select(_read_json_dir(p), columns, str(p))
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
        "json": ("json", {}),
        "parquet": ("parquet", {}),
    }[fmt]
    if fmt in {"csv", "tsv", "jsonl", "json"} and not _already_checked(p):
        # pyarrow accepts invalid UTF-8 in JSON and fails much later; check once per file version.
        problem = find_undecodable(p)
        if not problem and fmt in {"csv", "tsv"}:
            problem = _check_csv_tail(p, kwargs["sep"])
        if problem:
            raise DataError(problem)
        _mark_checked(p)
    if fmt in {"csv", "tsv"}:
        # Every column as a string: ids like 007 and labels like -1 must survive unchanged.
        from datasets import Features, Value

        header = _csv_header(p, kwargs["sep"])
        if not _has_data_row(p):
            raise DataError(f"{p}: the file has a header ({len(header)} columns) but no rows")
        kwargs["features"] = Features({name: Value("string") for name in header})
    try:
        dataset = load_dataset(
            builder, data_files=str(p), split="train", cache_dir=datasets_cache_dir(), **kwargs
        )
    except Exception as exc:  # noqa: BLE001 - datasets wraps pandas/pyarrow errors of many kinds
        problem = _diagnose(p, fmt)
        raise DataError(problem or f"could not read {p} as {fmt}: {_root_message(exc)}") from exc
    if columns is not None:
        _check_columns(columns, list(dataset.column_names), str(p))
        dataset = dataset.select_columns(list(dict.fromkeys(columns)))
    return dataset.to_pandas()


def _has_data_row(path: Path) -> bool:
    """True when a delimited file has at least one non-blank line after its header."""
    opener = gzip.open if path.suffix == ".gz" else open
    with opener(path, "rt", encoding="utf-8", errors="replace", newline="") as handle:
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

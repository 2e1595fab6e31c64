"""Tag a large corpus with a saved model: streamed, resumable, atomic.

Why this shape: archives are larger than memory and jobs get interrupted.
The corpus is read in fixed batches (batch *i* is always the same rows), each
finished batch is written as ``OUT.parts/part-<i>.parquet`` (tmp file +
``os.replace``) and recorded in ``OUT.parts/manifest.json``. A rerun with the
same model, corpus and options skips the recorded batches; the final output is
assembled into a temporary file and moved onto ``OUT`` in one step, so ``OUT``
is either absent or complete. Bad rows get a ``status`` instead of stopping
the job.
"""

from __future__ import annotations

import gzip
import hashlib
import json
import os
import shutil
import sys
import tempfile
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stance.errors import DataError, StanceError

__all__ = ["tag_corpus", "iter_batches", "detect_format", "TagSummary"]

_FORMATS = ("jsonl", "csv", "tsv", "parquet")
_BAD_RECORD = "__stance_bad_record__"


def detect_format(path: Path, fmt: str | None = None) -> str:
    """Corpus format from ``fmt`` or the file name (``.jsonl[.gz]``, ``.csv``, ``.parquet``...)."""
    if fmt:
        if fmt not in _FORMATS:
            raise DataError(f"unknown format {fmt!r}; expected one of {list(_FORMATS)}")
        return fmt
    name = path.name.lower()
    for suffix in (".gz", ".bz2", ".xz"):
        name = name.removesuffix(suffix)
    if name.endswith((".jsonl", ".ndjson", ".json")):
        return "jsonl"
    if name.endswith(".csv"):
        return "csv"
    if name.endswith(".tsv"):
        return "tsv"
    if name.endswith((".parquet", ".pq")) or path.is_dir():
        return "parquet"
    raise DataError(
        f"{path}: cannot tell the format from the name; pass --format {'|'.join(_FORMATS)}"
    )


def _open_binary(path: Path):
    if path.name.lower().endswith(".gz"):
        return gzip.open(path, "rb")
    return open(path, "rb")


def _iter_jsonl(path: Path, batch_size: int, notes: list[str]) -> Iterator[pd.DataFrame]:
    """JSON lines, one record per line; bad bytes/JSON become flagged records, not crashes."""
    records: list[dict[str, Any]] = []
    line_no = 0
    try:
        with _open_binary(path) as handle:
            for raw in handle:
                line_no += 1
                if not raw.strip():
                    continue
                text = raw.decode("utf-8", "surrogateescape")
                try:
                    record = json.loads(text)
                    if not isinstance(record, dict):
                        raise ValueError("not a JSON object")
                except ValueError:
                    record = {_BAD_RECORD: f"line {line_no}: not a JSON object"}
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


def _iter_csv(path: Path, batch_size: int, sep: str, notes: list[str]) -> Iterator[pd.DataFrame]:
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
        for chunk in _csv_reader(path, batch_size, sep):
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


def _csv_reader(path: Path, batch_size: int, sep: str):
    reader = pd.read_csv(
        path,
        sep=sep,
        chunksize=batch_size,
        dtype=object,
        keep_default_na=False,
        na_values=[],
        encoding="utf-8",
        encoding_errors="surrogateescape",
        on_bad_lines="warn",
    )
    with reader:
        yield from reader


def _iter_parquet(path: Path, batch_size: int) -> Iterator[pd.DataFrame]:
    import pyarrow.dataset as ds

    dataset = ds.dataset(path, format="parquet")
    for batch in dataset.to_batches(batch_size=batch_size):
        if batch.num_rows:
            yield batch.to_pandas(types_mapper=None)


def iter_batches(
    path: Path, batch_size: int, fmt: str, notes: list[str] | None = None
) -> Iterator[pd.DataFrame]:
    """Deterministic batches of the source rows (same file, same batches)."""
    notes = notes if notes is not None else []
    if fmt == "jsonl":
        return _iter_jsonl(path, batch_size, notes)
    if fmt in ("csv", "tsv"):
        return _iter_csv(path, batch_size, "," if fmt == "csv" else "\t", notes)
    return _iter_parquet(path, batch_size)


@dataclass
class TagSummary:
    """What a tagging job did (printed by the command line)."""

    out: Path
    rows: int = 0
    batches: int = 0
    resumed_batches: int = 0
    status_counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    predict_seconds: float = 0.0


# ---------------------------------------------------------------------------- workers
_WORKER_MODEL: Any = None


def _init_worker(model_path: str, trusted: bool) -> None:
    global _WORKER_MODEL
    warnings.simplefilter("ignore")
    from stance.inference import load

    _WORKER_MODEL = load(model_path, trusted=trusted)


def _worker_predict(frame: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    import time

    start = time.perf_counter()
    out = _WORKER_MODEL.predict_frame(frame)
    return out, time.perf_counter() - start


# ---------------------------------------------------------------------------- helpers
def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def _source_identity(path: Path) -> dict[str, Any]:
    files = sorted(p for p in path.rglob("*") if p.is_file()) if path.is_dir() else [path]
    return {
        "path": str(path.resolve()),
        "files": [
            [
                str(p.relative_to(path)) if path.is_dir() else p.name,
                p.stat().st_size,
                p.stat().st_mtime_ns,
            ]
            for p in files
        ],
    }


def _write_json_atomic(path: Path, payload: dict[str, Any]) -> None:
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(payload, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _discard_if_unstarted(parts: Path, manifest: dict[str, Any]) -> None:
    """Remove ``OUT.parts/`` when it holds no finished batch (nothing to resume)."""
    if not manifest.get("done"):
        shutil.rmtree(parts, ignore_errors=True)


def _column(frame: pd.DataFrame, name: str) -> pd.Series:
    if name in frame.columns:
        return frame[name]
    return pd.Series([None] * len(frame), index=frame.index, dtype=object)


def _check_columns(frame: pd.DataFrame, wanted: list[tuple[str, str | None]], where: Path) -> None:
    present = [c for c in frame.columns if c != _BAD_RECORD]
    for option, name in wanted:
        if name and name not in frame.columns:
            raise DataError(f"{where}: no column {name!r} ({option}); columns present: {present}")


def _output_schema(proba_columns: Sequence[str], keep: Sequence[str], id_is_row: bool):
    import pyarrow as pa

    fields = [
        pa.field("id", pa.int64() if id_is_row else pa.string()),
        pa.field("label", pa.string()),
    ]
    fields += [pa.field(c, pa.float64()) for c in proba_columns]
    fields.append(pa.field("status", pa.string()))
    fields += [pa.field(c, pa.string()) for c in keep]
    return pa.schema(fields)


def _as_clean_strings(series: pd.Series) -> list[str | None]:
    """Strings safe for Parquet: None stays None, bad bytes become U+FFFD."""
    out: list[str | None] = []
    for value in series.tolist():
        if value is None or (isinstance(value, float) and value != value) or value is pd.NA:
            out.append(None)
        else:
            text = value if isinstance(value, str) else str(value)
            out.append(
                text.encode("utf-8", "replace").decode("utf-8") if not text.isascii() else text
            )
    return out


# ---------------------------------------------------------------------------- main entry
def tag_corpus(
    model_path: str | os.PathLike[str],
    corpus: str | os.PathLike[str],
    out: str | os.PathLike[str],
    *,
    batch_size: int = 2048,
    text_column: str = "text",
    title_column: str | None = None,
    target: str | None = None,
    target_column: str | None = None,
    id_column: str | None = None,
    keep: Sequence[str] = (),
    fmt: str | None = None,
    jobs: int = 1,
    progress: bool = True,
    trusted: bool = False,
    restart: bool = False,
    after_batch: Callable[[int], None] | None = None,
) -> TagSummary:
    """Tag every row of ``corpus`` and write ``out`` (Parquet).

    Output columns: ``id`` (``id_column`` or the row number), ``label``,
    ``proba_<label>``..., ``status``, then the ``keep`` columns. ``after_batch``
    is called with each finished batch index (tests use it to interrupt).
    """
    import time

    import pyarrow as pa
    import pyarrow.parquet as pq

    from stance.inference import load

    if batch_size < 1:
        raise StanceError(f"--batch-size must be positive, got {batch_size}")
    model_path, corpus, out = Path(model_path), Path(corpus), Path(out)
    if not corpus.exists():
        raise DataError(f"corpus not found: {corpus}")
    fmt = detect_format(corpus, fmt)
    model = load(model_path, trusted=trusted)
    resolved_target = None if target_column else model.resolve_target(target)
    model_file = model.source or model_path
    keep = list(keep)
    reserved = {"id", "label", "status", *model.proba_columns()}
    clash = [c for c in keep if c in reserved]
    if clash:
        raise StanceError(f"--keep {clash}: these names are output columns already")

    job = {
        "model_sha256": _file_digest(Path(model_file)),
        "source": _source_identity(corpus),
        "format": fmt,
        "batch_size": batch_size,
        "text_column": text_column,
        "title_column": title_column,
        "target": resolved_target,
        "target_column": target_column,
        "id_column": id_column,
        "keep": keep,
    }
    parts = out.with_name(out.name + ".parts")
    manifest_path = parts / "manifest.json"
    done: dict[str, int] = {}
    if parts.exists() and restart:
        shutil.rmtree(parts)
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        if manifest.get("job") != job:
            raise StanceError(
                f"{parts} holds an unfinished job with a different model, corpus or options; "
                "rerun with the same ones to resume, or pass --restart to start over"
            )
        done = {
            k: v
            for k, v in manifest.get("done", {}).items()
            if (parts / f"part-{int(k):06d}.parquet").exists()
        }
    parts.mkdir(parents=True, exist_ok=True)
    manifest = {"job": job, "done": done}
    _write_json_atomic(manifest_path, manifest)

    schema = _output_schema(model.proba_columns(), keep, id_is_row=id_column is None)
    summary = TagSummary(out=out, resumed_batches=len(done))
    notes: list[str] = []

    def finish_batch(index: int, source: pd.DataFrame, first_row: int, pred: pd.DataFrame) -> None:
        ids: Any
        if id_column is None:
            ids = np.arange(first_row, first_row + len(source), dtype=np.int64)
        else:
            ids = _as_clean_strings(source[id_column])
        columns: dict[str, Any] = {"id": ids, "label": pred["label"].tolist()}
        for c in model.proba_columns():
            columns[c] = pred[c].to_numpy(dtype=float)
        status = pred["status"].to_numpy(dtype=object).copy()
        if _BAD_RECORD in source.columns:
            status[source[_BAD_RECORD].notna().to_numpy()] = "bad_record"
        columns["status"] = status.tolist()
        for c in keep:
            columns[c] = _as_clean_strings(_column(source, c))
        table = pa.table(columns, schema=schema)
        final = parts / f"part-{index:06d}.parquet"
        tmp = final.with_name(f".{final.name}.tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, final)
        manifest["done"][str(index)] = len(source)
        _write_json_atomic(manifest_path, manifest)
        if after_batch is not None:
            after_batch(index)

    def model_input(source: pd.DataFrame) -> pd.DataFrame:
        frame = pd.DataFrame(index=source.index)
        frame["text"] = _column(source, text_column).astype(object)
        frame["title"] = _column(source, title_column).astype(object) if title_column else ""
        frame["target"] = (
            _column(source, target_column).fillna("").astype(object)
            if target_column
            else resolved_target
        )
        # Only models trained with metadata features read these; empty unless the
        # source has columns of these names.
        for column in ("source", "date"):
            frame[column] = (
                source[column].fillna("").astype(str).to_numpy() if column in source else ""
            )
        if _BAD_RECORD in source.columns:  # unparsable lines: nothing to predict
            frame.loc[source[_BAD_RECORD].notna(), "text"] = None
        return frame

    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(unit=" rows", desc=f"tagging {corpus.name}", file=sys.stderr, dynamic_ncols=True)
    pool = (
        ProcessPoolExecutor(jobs, initializer=_init_worker, initargs=(str(model_file), trusted))
        if jobs > 1
        else None
    )
    pending: list[tuple[int, pd.DataFrame, int, Future]] = []
    first_row = 0
    checked = False
    try:
        for index, source in enumerate(iter_batches(corpus, batch_size, fmt, notes)):
            if not len(source):
                continue
            source = source.reset_index(drop=True)
            if not checked:
                wanted = [
                    ("--text-column", text_column),
                    ("--title-column", title_column),
                    ("--target-column", target_column),
                    ("--id-column", id_column),
                ]
                _check_columns(source, wanted + [("--keep", c) for c in keep], corpus)
                checked = True
            n = len(source)
            if str(index) in done:
                summary.rows += n
                summary.batches += 1
                first_row += n
                if bar is not None:
                    bar.update(n)
                continue
            if pool is None:
                start = time.perf_counter()
                pred = model.predict_frame(model_input(source))
                summary.predict_seconds += time.perf_counter() - start
                finish_batch(index, source, first_row, pred)
                if bar is not None:
                    bar.update(n)
            else:
                pending.append(
                    (index, source, first_row, pool.submit(_worker_predict, model_input(source)))
                )
                while len(pending) > jobs or (pending and pending[0][3].done()):
                    i, src, row0, fut = pending.pop(0)
                    pred, seconds = fut.result()
                    summary.predict_seconds += seconds
                    finish_batch(i, src, row0, pred)
                    if bar is not None:
                        bar.update(len(src))
            summary.rows += n
            summary.batches += 1
            first_row += n
        for i, src, row0, fut in pending:
            pred, seconds = fut.result()
            summary.predict_seconds += seconds
            finish_batch(i, src, row0, pred)
            if bar is not None:
                bar.update(len(src))
        pending = []
    except StanceError:
        _discard_if_unstarted(parts, manifest)
        raise
    finally:
        if bar is not None:
            bar.close()
        if pool is not None:
            for *_, fut in pending:
                fut.cancel()
            pool.shutdown(wait=True, cancel_futures=True)

    if not checked or summary.rows == 0:
        _discard_if_unstarted(parts, manifest)
        raise DataError(f"{corpus}: the corpus has no rows (expected a header and data rows)")
    summary.notes.extend(notes)
    # Assemble: stream the parts into a temporary file next to OUT, then move it in.
    out.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp_name = tempfile.mkstemp(prefix=f".{out.name}.", suffix=".tmp", dir=out.parent)
    os.close(fd)
    counts: dict[str, int] = {}
    try:
        with pq.ParquetWriter(tmp_name, schema) as writer:
            for index in range(summary.batches):
                part = pq.read_table(parts / f"part-{index:06d}.parquet", schema=schema)
                for value, count in (
                    pd.Series(part.column("status").to_pylist()).value_counts().items()
                ):
                    counts[str(value)] = counts.get(str(value), 0) + int(count)
                writer.write_table(part)
        os.replace(tmp_name, out)
    except BaseException:
        Path(tmp_name).unlink(missing_ok=True)
        raise
    shutil.rmtree(parts, ignore_errors=True)
    summary.status_counts = counts
    return summary

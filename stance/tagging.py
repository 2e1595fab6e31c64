"""Tag a large corpus with a saved model: streamed, resumable, atomic.

Why this shape: archives are larger than memory and jobs get interrupted.
The corpus is read in fixed batches (batch *i* is always the same rows,
:func:`stance.data.stream.iter_batches`); each finished batch is written as
``OUT.parts/part-<i>.parquet`` (tmp file + ``os.replace``) and recorded in
``OUT.parts/manifest.json`` (:class:`PartStore`). A rerun with the same model,
corpus and options skips the recorded batches; the final output is assembled
into a temporary file and moved onto ``OUT`` in one step, so ``OUT`` is either
absent or complete. Bad rows get a ``status`` instead of stopping the job.

The parts, in the order a batch meets them: :func:`_numbered_batches` (read),
:class:`BatchPredictor` (in this process or a pool of ``jobs`` workers),
:class:`OutputTable` (id, label, probabilities, status, kept columns; shared
with the Dask engine, :mod:`stance.distributed`),
:class:`PartStore` (write, resume, assemble) and :class:`TagSummary`.
"""

from __future__ import annotations

import hashlib
import itertools
import json
import os
import shutil
import sys
import tempfile
import time
import warnings
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stance.atomic import write_text_atomic
from stance.data.stream import (
    BAD_RECORD,
    InputColumns,
    bad_records,
    check_columns,
    iter_batches,
    stream_format,
)
from stance.distributed import tag_dask  # re-exported; it imports this module lazily (no cycle)
from stance.errors import DataError, StanceError
from stance.paths import publish

__all__ = [
    "tag_corpus",
    "tag_dask",
    "OutputTable",
    "TagOptions",
    "TagSummary",
    "TagInterrupted",
    "PartStore",
]


#: What ``--out`` may end with: the output is always Parquet.
PARQUET_SUFFIXES = (".parquet", ".pq")


@dataclass(frozen=True)
class TagOptions:
    """How to read the corpus and what to write (the ``stance tag`` options).

    ``columns.id=None`` uses the corpus's ``id`` column when it has one, else
    the row number. ``target`` is one target for every row (default: the
    model's own) unless ``columns.target`` names a per-row column.
    """

    columns: InputColumns = field(default_factory=InputColumns)
    target: str | None = None
    keep: tuple[str, ...] = ()
    batch_size: int = 2048
    fmt: str | None = None
    encoding: str = "utf-8"
    jobs: int = 1
    restart: bool = False
    #: The encoder backend (``--backend``: torch, onnx, onnx-int8); None keeps the saved one.
    backend: str | None = None


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


class TagInterrupted(KeyboardInterrupt):
    """Ctrl-C / SIGTERM during tagging; says what was kept and how to resume."""

    def __init__(self, saved: int, parts: Path):
        self.saved, self.parts = saved, parts
        super().__init__(
            f"interrupted; {saved} finished batch(es) are saved in {parts}: "
            "rerun the same command to resume"
        )


# ---------------------------------------------------------------------------- reading
@dataclass
class _Batch:
    index: int
    source: pd.DataFrame
    first_row: int


def _numbered_batches(batches: Iterator[pd.DataFrame]) -> Iterator[_Batch]:
    """Batches with their index and the row number of their first row; empty ones skipped."""
    first_row = 0
    for index, source in enumerate(batches):
        if not len(source):
            continue
        yield _Batch(index, source.reset_index(drop=True), first_row)
        first_row += len(source)


# ---------------------------------------------------------------------------- predicting
_WORKER_MODEL: Any = None


def _init_worker(
    model_path: str, trusted: bool, backend: str | None = None, threads: int | None = None
) -> None:
    global _WORKER_MODEL
    warnings.simplefilter("ignore")
    from stance.inference import load, silence_library_progress

    if threads is not None:
        _limit_threads(threads)
    _WORKER_MODEL = load(model_path, trusted=trusted, backend=backend, embedding_cache=False)
    if threads is not None and "torch" in sys.modules:  # loaded for an encoder model
        sys.modules["torch"].set_num_threads(threads)
    silence_library_progress()


def worker_threads(jobs: int) -> int:
    """Threads per worker so that ``jobs`` workers share this machine's cores without oversubscribing."""
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    return max(1, (cores or 1) // jobs)


def _limit_threads(threads: int) -> None:
    """Cap the math libraries' thread pools in a worker (BLAS and OpenMP, ONNX Runtime)."""
    from threadpoolctl import threadpool_limits

    from stance.models import onnx_backend

    threadpool_limits(limits=threads)  # stays in force for the worker's life
    onnx_backend.set_session_threads(threads)


def _worker_predict(frame: pd.DataFrame) -> tuple[pd.DataFrame, float]:
    start = time.perf_counter()
    out = _WORKER_MODEL.predict_frame(frame)
    return out, time.perf_counter() - start


class BatchPredictor:
    """Predicts batches in order: here (``jobs=1``) or in ``jobs`` worker processes.

    With workers, at most ``jobs + 1`` batches are in flight, so memory stays
    bounded however long the corpus.
    """

    def __init__(
        self, model: Any, model_file: Path, trusted: bool, jobs: int, backend: str | None = None
    ):
        self.model, self.jobs = model, jobs
        self.pool = (
            ProcessPoolExecutor(
                jobs,
                initializer=_init_worker,
                initargs=(str(model_file), trusted, backend, worker_threads(jobs)),
            )
            if jobs > 1
            else None
        )
        self._pending: list[tuple[_Batch, Future]] = []

    def run(
        self, batches: Iterator[tuple[_Batch, pd.DataFrame]]
    ) -> Iterator[tuple[_Batch, pd.DataFrame, float]]:
        """``(batch, model input)`` in, ``(batch, predictions, seconds)`` out, same order."""
        for batch, frame in batches:
            if self.pool is None:
                start = time.perf_counter()
                pred = self.model.predict_frame(frame)
                yield batch, pred, time.perf_counter() - start
                continue
            self._pending.append((batch, self.pool.submit(_worker_predict, frame)))
            while len(self._pending) > self.jobs or (self._pending and self._pending[0][1].done()):
                yield self._collect()
        while self._pending:
            yield self._collect()

    def _collect(self) -> tuple[_Batch, pd.DataFrame, float]:
        batch, future = self._pending.pop(0)
        pred, seconds = future.result()
        return batch, pred, seconds

    def close(self) -> None:
        if self.pool is not None:
            for _, future in self._pending:
                future.cancel()
            self.pool.shutdown(wait=True, cancel_futures=True)


# ---------------------------------------------------------------------------- output
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


@dataclass(frozen=True)
class OutputTable:
    """The rows ``stance tag`` writes, whichever engine runs it (here or :mod:`stance.distributed`).

    Columns: ``id`` (the ``id_column``'s values, or the row number over the
    whole input when ``None``), ``label``, ``proba_<label>``... (in the model's
    label order), ``status`` (``bad_record`` for unparsable source rows), then
    the ``keep`` columns as strings. Small and picklable: Dask workers get it
    in their task.
    """

    proba_columns: tuple[str, ...]
    id_column: str | None = None
    keep: tuple[str, ...] = ()

    @classmethod
    def for_model(cls, model: Any, id_column: str | None, keep: Sequence[str]) -> OutputTable:
        """The layout for ``model``'s labels; a kept column may not shadow an output column."""
        proba = tuple(model.proba_columns())
        clash = [c for c in keep if c in {"id", "label", "status", *proba}]
        if clash:
            raise StanceError(f"--keep {clash}: these names are output columns already")
        return cls(proba, id_column, tuple(keep))

    def schema(self) -> Any:
        import pyarrow as pa

        fields = [
            pa.field("id", pa.int64() if self.id_column is None else pa.string()),
            pa.field("label", pa.string()),
        ]
        fields += [pa.field(c, pa.float64()) for c in self.proba_columns]
        fields.append(pa.field("status", pa.string()))
        fields += [pa.field(c, pa.string()) for c in self.keep]
        return pa.schema(fields)

    def build(self, source: pd.DataFrame, pred: pd.DataFrame, first_row: int) -> Any:
        """One batch of source rows and their predictions as a pyarrow Table.

        ``first_row``: the row number of ``source``'s first row in the whole input.
        """
        import pyarrow as pa

        source = source.reset_index(drop=True)
        ids: Any
        if self.id_column is None:
            ids = np.arange(first_row, first_row + len(source), dtype=np.int64)
        else:
            ids = _as_clean_strings(source[self.id_column])
        columns: dict[str, Any] = {"id": ids, "label": pred["label"].tolist()}
        for name in self.proba_columns:
            columns[name] = pred[name].to_numpy(dtype=float)
        status = pred["status"].to_numpy(dtype=object).copy()
        status[bad_records(source)] = "bad_record"
        columns["status"] = status.tolist()
        for c in self.keep:
            values = source[c] if c in source.columns else pd.Series([None] * len(source))
            columns[c] = _as_clean_strings(values)
        return pa.table(columns, schema=self.schema())


# ---------------------------------------------------------------------------- parts on disk
def file_digest(path: Path) -> str:
    """SHA-256 of a file (the model's identity in a job record)."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for chunk in iter(lambda: handle.read(1 << 20), b""):
            digest.update(chunk)
    return digest.hexdigest()


def source_identity(path: Path) -> dict[str, Any]:
    """A file or folder as a job record sees it: path, and each file's size and mtime."""
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
    write_text_atomic(path, json.dumps(payload, indent=1, sort_keys=True))


class PartStore:
    """``OUT.parts/``: one Parquet file per finished batch, and a manifest of them.

    The manifest records the job (model digest, corpus identity, options) and
    the finished batches; a part exists only once complete (tmp file + rename),
    and is recorded only after it exists. Opening a store with a different job
    is refused (``restart`` discards the old parts instead).
    """

    def __init__(self, out: Path, job: dict[str, Any], restart: bool = False):
        self.out = out
        self.dir = out.with_name(out.name + ".parts")
        self.manifest_path = self.dir / "manifest.json"
        if self.dir.exists() and restart:
            shutil.rmtree(self.dir)
        done: dict[str, int] = {}
        if self.manifest_path.exists():
            manifest = json.loads(self.manifest_path.read_text(encoding="utf-8"))
            if manifest.get("job") != job:
                raise StanceError(
                    f"{self.dir} holds an unfinished job with a different model, corpus or "
                    "options; rerun with the same ones to resume, or pass --restart to start over"
                )
            done = {k: v for k, v in manifest.get("done", {}).items() if self.part(int(k)).exists()}
        self.dir.mkdir(parents=True, exist_ok=True)
        self.manifest: dict[str, Any] = {"job": job, "done": done}
        _write_json_atomic(self.manifest_path, self.manifest)
        self.resumed = len(done)

    def part(self, index: int) -> Path:
        return self.dir / f"part-{index:06d}.parquet"

    def has(self, index: int) -> bool:
        return str(index) in self.manifest["done"]

    @property
    def saved(self) -> int:
        return len(self.manifest["done"])

    def write(self, index: int, table: Any) -> None:
        import pyarrow.parquet as pq

        final = self.part(index)
        tmp = final.with_name(f".{final.name}.tmp")
        pq.write_table(table, tmp)
        os.replace(tmp, final)
        self.manifest["done"][str(index)] = table.num_rows
        _write_json_atomic(self.manifest_path, self.manifest)

    def discard_if_unstarted(self) -> None:
        """Remove ``OUT.parts/`` when it holds no finished batch (nothing to resume)."""
        if not self.manifest["done"]:
            shutil.rmtree(self.dir, ignore_errors=True)

    def assemble(self, batches: int, schema: Any) -> dict[str, int]:
        """Stream the parts into a temporary file, move it onto OUT; status counts."""
        import pyarrow.parquet as pq

        self.out.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp_name = tempfile.mkstemp(
            prefix=f".{self.out.name}.", suffix=".tmp", dir=self.out.parent
        )
        os.close(fd)
        counts: dict[str, int] = {}
        try:
            with pq.ParquetWriter(tmp_name, schema) as writer:
                for index in range(batches):
                    part = pq.read_table(self.part(index), schema=schema)
                    statuses = pd.Series(part.column("status").to_pylist()).value_counts()
                    for value, count in statuses.items():
                        counts[str(value)] = counts.get(str(value), 0) + int(count)
                    writer.write_table(part)
            publish(tmp_name, self.out)
        except BaseException:
            Path(tmp_name).unlink(missing_ok=True)
            raise
        shutil.rmtree(self.dir, ignore_errors=True)
        return counts


# ---------------------------------------------------------------------------- main entry
def tag_corpus(
    model_path: str | os.PathLike[str],
    corpus: str | os.PathLike[str],
    out: str | os.PathLike[str],
    options: TagOptions | None = None,
    *,
    trusted: bool = False,
    progress: bool = True,
    after_batch: Callable[[int], None] | None = None,
) -> TagSummary:
    """Tag every row of ``corpus`` and write ``out`` (Parquet).

    Output columns: ``id`` (the id column, else the row number), ``label``,
    ``proba_<label>``..., ``status``, then the ``keep`` columns.
    ``after_batch`` is called with each finished batch index (tests use it to
    interrupt). Ctrl-C / SIGTERM raise :class:`TagInterrupted`.
    """
    from stance.inference import load, silence_library_progress

    options = options or TagOptions()
    if options.batch_size < 1:
        raise StanceError(f"--batch-size must be positive, got {options.batch_size}")
    model_path, corpus, out = Path(model_path), Path(corpus), Path(out)
    if out.suffix.lower() not in PARQUET_SUFFIXES:
        # Writing Parquet bytes into tags.jsonl or tags.csv would fool the next reader.
        raise StanceError(
            f"--out {out}: stance tag writes Parquet; name the output *.parquet "
            "(pandas.read_parquet reads it; stance predict writes CSV or JSONL)"
        )
    if not corpus.exists():
        raise DataError(f"corpus not found: {corpus}")
    fmt = stream_format(corpus, options.fmt)
    model = load(model_path, trusted=trusted, backend=options.backend, embedding_cache=False)
    silence_library_progress()  # one bar, ours, not one per batch from sentence-transformers
    columns = options.columns
    target = None if columns.target else model.target_for(options.target)
    keep = list(options.keep)
    OutputTable.for_model(model, None, keep)  # a clashing --keep fails before any reading

    notes: list[str] = []
    batches = _numbered_batches(
        iter_batches(corpus, options.batch_size, fmt, notes, encoding=options.encoding)
    )
    first = next(batches, None)
    if first is None:
        raise DataError(f"{corpus}: the corpus has no rows (expected a header and data rows)")
    columns = columns.resolve(list(first.source.columns))
    check_columns(first.source, columns.options() + [("--keep", c) for c in keep], corpus)

    model_file = Path(model.source or model_path)
    job = {
        "model_sha256": file_digest(model_file),
        "source": source_identity(corpus),
        "format": fmt,
        "encoding": options.encoding,
        "batch_size": options.batch_size,
        "columns": asdict(columns),
        "target": target,
        "keep": keep,
    }
    if options.backend is not None:  # onnx-int8 labels may differ: never mix parts across backends
        job["backend"] = options.backend
    store = PartStore(out, job, restart=options.restart)
    output = OutputTable.for_model(model, columns.id, keep)
    schema = output.schema()
    summary = TagSummary(out=out, resumed_batches=store.resumed)
    bar = _progress_bar(corpus, progress)

    def to_predict() -> Iterator[tuple[_Batch, pd.DataFrame]]:
        for batch in itertools.chain([first], batches):
            summary.rows += len(batch.source)
            summary.batches += 1
            if store.has(batch.index):
                bar.update(len(batch.source))
            else:
                yield batch, columns.model_input(batch.source, target)

    predictor = BatchPredictor(model, model_file, trusted, options.jobs, options.backend)
    try:
        for batch, pred, seconds in predictor.run(to_predict()):
            summary.predict_seconds += seconds
            store.write(batch.index, output.build(batch.source, pred, batch.first_row))
            bar.update(len(batch.source))
            if after_batch is not None:
                after_batch(batch.index)
    except StanceError:
        store.discard_if_unstarted()
        raise
    except KeyboardInterrupt:
        raise TagInterrupted(store.saved, store.dir) from None
    finally:
        bar.close()
        predictor.close()

    summary.notes.extend(notes)
    summary.status_counts = store.assemble(summary.batches, schema)
    return summary


class _NoBar:
    def update(self, n: int) -> None:
        pass

    def close(self) -> None:
        pass


def _progress_bar(corpus: Path, progress: bool) -> Any:
    if not progress:
        return _NoBar()
    from tqdm.auto import tqdm

    return tqdm(unit=" rows", desc=f"tagging {corpus.name}", file=sys.stderr, dynamic_ncols=True)


# Kept for callers of the former private name.
_BAD_RECORD = BAD_RECORD

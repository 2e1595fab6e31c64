"""Tag an archive on a Dask cluster: one input partition becomes one output Parquet part.

Why this shape: past one machine the field's engine is Dask (``dask.distributed``
on any cluster, ``dask-jobqueue`` on SLURM), so we plug into it rather than
hand-roll workers. The unit of work and of commit is a *partition*:

* input partition ``i`` -> ``OUT/part-<i>.parquet``, written to a temporary name
  beside it and moved into place with ``os.replace`` (atomic on one file system),
  so a part is either absent or complete;
* a rerun skips every part already there, so stopping the client (or the whole
  cluster) loses only the partitions in flight;
* a worker killed mid-partition never commits; Dask reschedules the task, the
  partition is redone and committed once under the same name: nothing lost,
  nothing duplicated;
* each worker process loads the model once (a per-process cache keyed by the
  model file's SHA-256) and reuses it for every partition it is given;
* ``OUT/_stance_tag.json`` records the job (model digest, input, options), so an
  output folder holding another model's parts is refused instead of mixed.

Rows, columns and kept fields are those of the single-machine ``stance tag`` by
construction: files are read by its reader (:mod:`stance.data.stream`, with its
``--format`` / ``--encoding`` and its default ``id`` column), options are its
:class:`~stance.tagging.TagOptions`, the model frame is built by
:class:`~stance.data.stream.InputColumns` / ``ModelInput`` and the output rows by
:class:`~stance.tagging.OutputTable`. What is Dask's own: partitions, the
per-worker model cache, the folder of parts and its manifest. Needs the
``[dask]`` extra; nothing here imports dask, pandas or :mod:`stance.tagging` at
module load (:mod:`stance.tagging` re-exports :func:`tag_dask`).
"""

from __future__ import annotations

import argparse
import glob
import json
import os
import sys
import threading
import time
import uuid
import warnings
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from stance.errors import ConfigError, DataError, StanceError

if TYPE_CHECKING:  # pandas is imported where it is used: `stance --help` stays instant
    import pandas as pd

    from stance.tagging import TagOptions

__all__ = [
    "DaskTagSummary",
    "TagSpec",
    "add_dask_options",
    "connect",
    "run_tag_cli",
    "tag_dask",
    "tag_files",
]

MANIFEST = "_stance_tag.json"
_PART = "part-{:06d}.parquet"
_DASK_HINT = "pip install 'stance[dask]'"


# ---------------------------------------------------------------------------- the job
@dataclass(frozen=True)
class TagSpec:
    """Everything a worker needs to tag one partition (small, picklable).

    ``columns`` (:class:`stance.data.stream.InputColumns`, already resolved
    against the input's columns) and ``output`` (:class:`stance.tagging.OutputTable`)
    are the single-machine ``stance tag``'s own pieces; ``None`` only where a
    caller just wants the model loaded (:func:`_worker_model`).
    """

    model_path: str
    model_sha256: str
    trusted: bool
    out: str
    columns: Any = None
    target: str | None = None
    output: Any = None


@dataclass
class DaskTagSummary:
    """What a Dask tagging job did (printed by ``stance tag --engine dask``)."""

    out: Path
    partitions: int = 0
    resumed_partitions: int = 0
    rows: int = 0
    status_counts: dict[str, int] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)
    seconds: float = 0.0


def _require_dask() -> None:
    try:
        import dask  # noqa: F401
        import dask.dataframe  # noqa: F401
        import distributed  # noqa: F401
    except ImportError as exc:
        raise StanceError(
            f"--engine dask needs Dask ({exc.name} is missing): {_DASK_HINT}"
        ) from None


# ---------------------------------------------------------------------------- worker side
_MODELS: dict[str, Any] = {}
_MODEL_LOCK = threading.Lock()
#: How many times this process loaded a model (tests check "once per worker").
MODEL_LOADS = 0


def _worker_model(spec: TagSpec) -> Any:
    """The model for ``spec``, loaded at most once per worker process."""
    global MODEL_LOADS
    with _MODEL_LOCK:
        model = _MODELS.get(spec.model_sha256)
        if model is None:
            from stance.inference import load, silence_library_progress

            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                model = load(spec.model_path, trusted=spec.trusted, embedding_cache=False)
            silence_library_progress()  # as stance tag's workers: no per-batch library bars
            _MODELS[spec.model_sha256] = model
            MODEL_LOADS += 1
        return model


def partition_table(model: Any, source: pd.DataFrame, first_row: int, spec: TagSpec):
    """Predict one partition; a pyarrow Table in ``stance tag``'s layout (:class:`OutputTable`)."""
    if not len(source):
        return spec.output.schema().empty_table()
    source = source.reset_index(drop=True)
    pred = model.predict_frame(spec.columns.model_input(source, spec.target))
    return spec.output.build(source, pred, first_row)


def _tag_partition(source: pd.DataFrame, index: int, first_row: int, spec: TagSpec) -> dict:
    """Worker task: predict partition ``index`` and commit ``part-<index>.parquet`` atomically."""
    import pandas as pd
    import pyarrow.parquet as pq

    start = time.perf_counter()
    model = _worker_model(spec)
    table = partition_table(model, source, first_row, spec)
    final = Path(spec.out) / _PART.format(index)
    # A unique temporary name: two attempts at one partition (a worker presumed dead
    # that is still running) never write into the same file.
    tmp = final.with_name(f".{final.name}.{os.getpid()}-{uuid.uuid4().hex[:8]}.tmp")
    try:
        pq.write_table(table, tmp)
        os.replace(tmp, final)
    except BaseException:
        tmp.unlink(missing_ok=True)
        raise
    counts = pd.Series(table.column("status").to_pylist()).value_counts()
    return {
        "index": index,
        "rows": table.num_rows,
        "status": {str(k): int(v) for k, v in counts.items()},
        "seconds": time.perf_counter() - start,
        "worker_pid": os.getpid(),
    }


# ---------------------------------------------------------------------------- output folder
def _part_path(out: Path, index: int) -> Path:
    return out / _PART.format(index)


def _prepare_out(out: Path, job: dict[str, Any], restart: bool) -> dict[str, Any]:
    """Create or re-open ``out``; refuse a folder that holds another job's parts."""
    manifest_path = out / MANIFEST
    if out.exists() and not out.is_dir():
        raise DataError(f"--out {out} is a file; the Dask engine writes a folder of parts")
    if restart and out.exists():
        for p in out.glob("part-*.parquet"):
            p.unlink()
        manifest_path.unlink(missing_ok=True)
    if manifest_path.exists():
        manifest = json.loads(manifest_path.read_text(encoding="utf-8"))
        old = manifest.get("job", {})
        if old.get("model_sha256") != job["model_sha256"]:
            raise DataError(
                f"{out} holds partitions tagged by another model "
                f"(sha256 {str(old.get('model_sha256'))[:12]}…, this one "
                f"{job['model_sha256'][:12]}…); choose another --out, or --restart to replace them"
            )
        if old != job:
            changed = sorted(k for k in set(old) | set(job) if old.get(k) != job.get(k))
            raise DataError(
                f"{out} holds partitions of the same model with other input or options "
                f"(differs in: {', '.join(changed)}); rerun with the same ones to resume, "
                "or --restart"
            )
        return manifest
    if out.exists() and any(out.glob("*.parquet")):
        raise DataError(
            f"{out} already holds Parquet files not written by `stance tag --engine dask` "
            f"(no {MANIFEST}); choose an empty or new --out"
        )
    out.mkdir(parents=True, exist_ok=True)
    manifest = {"job": job, "complete": False}
    _write_manifest(out, manifest)
    return manifest


def _write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    path = out / MANIFEST
    tmp = path.with_name(f".{path.name}.tmp")
    tmp.write_text(json.dumps(manifest, indent=1, sort_keys=True), encoding="utf-8")
    os.replace(tmp, path)


def _remove_stale_temporaries(out: Path) -> None:
    """Temporaries of attempts that died mid-write (a killed worker): never committed."""
    for p in out.glob(".part-*.tmp"):
        p.unlink(missing_ok=True)


# ---------------------------------------------------------------------------- driver side
def _model_identity(model: Any, trusted: bool) -> tuple[Any, str, str]:
    """(loaded model, model file path, its SHA-256) from a run dir, a file or a StanceModel."""
    from stance.inference import StanceModel, load
    from stance.tagging import file_digest

    if isinstance(model, StanceModel):
        loaded = model
        if loaded.source is None:
            raise StanceError("tag_dask needs a model loaded from a file (model.source is None)")
    else:
        loaded = load(model, trusted=trusted)
    path = Path(loaded.source)
    return loaded, str(path.resolve()), file_digest(path)


def tag_dask(
    model: Any,
    frame: Any,
    out: str | os.PathLike[str],
    options: TagOptions | None = None,
    *,
    trusted: bool = False,
    client: Any = None,
    progress: bool = False,
    source_identity: Any = None,
    partition_rows: Sequence[int] | None = None,
    on_partition: Callable[[int], None] | None = None,
) -> DaskTagSummary:
    """Tag every row of the ``dask.dataframe`` ``frame`` into ``out/part-<i>.parquet``.

    ``model`` is a run directory, a ``.skops`` file or a loaded :class:`StanceModel`.
    ``options`` are ``stance tag``'s (:class:`stance.tagging.TagOptions`): the
    columns (an ``id`` column is the id unless another is named), the target,
    ``keep`` and ``restart``; ``batch_size`` and ``jobs`` do not apply (a
    partition is the batch, the cluster's workers are the jobs).
    Work runs on ``client`` (default: the current ``distributed`` client, else
    Dask's local scheduler). A rerun with the same model, input and options
    skips committed parts. ``source_identity`` names the input for that check
    (default: Dask's token of ``frame``); ``partition_rows`` gives the row count
    of each partition when known (else counted once, for row-number ids, and
    remembered in the manifest). ``on_partition`` is called in the driver with
    each committed partition index (tests use it to stop the client).
    """
    _require_dask()
    import dask
    import numpy as np
    from dask.base import tokenize

    from stance.data.stream import check_columns
    from stance.tagging import OutputTable, TagOptions

    started = time.perf_counter()
    options = options or TagOptions()
    out = Path(out)
    loaded, model_path, sha = _model_identity(model, trusted)
    keep = list(options.keep)
    columns = options.columns.resolve(list(frame.columns))
    target = None if columns.target else loaded.target_for(options.target)
    output = OutputTable.for_model(loaded, columns.id, keep)
    check_columns(frame, columns.options() + [("--keep", c) for c in keep], "the input")

    n = frame.npartitions
    job = {
        "model_sha256": sha,
        "source": source_identity if source_identity is not None else tokenize(frame),
        "partitions": n,
        "columns": asdict(columns),
        "target": target,
        "keep": keep,
    }
    manifest = _prepare_out(out, job, options.restart)
    _remove_stale_temporaries(out)
    spec = TagSpec(
        model_path=model_path,
        model_sha256=sha,
        trusted=trusted,
        out=str(out.resolve()),
        columns=columns,
        target=target,
        output=output,
    )

    if client is None:
        client = _current_client()
    offsets = [0] * n
    if columns.id is None:
        rows = manifest.get("partition_rows") or (
            list(partition_rows) if partition_rows is not None else None
        )
        if rows is None:
            rows = [int(r) for r in _compute(client, frame.map_partitions(len))]
        if len(rows) != n:
            raise DataError(f"expected {n} partition row counts, got {len(rows)}")
        manifest["partition_rows"] = rows
        _write_manifest(out, manifest)
        offsets = np.concatenate([[0], np.cumsum(rows)[:-1]]).astype(int).tolist()

    todo = [i for i in range(n) if not _part_path(out, i).exists()]
    summary = DaskTagSummary(out=out, partitions=n, resumed_partitions=n - len(todo))
    parts = frame.to_delayed()
    tasks = [dask.delayed(_tag_partition, pure=False)(parts[i], i, offsets[i], spec) for i in todo]
    bar = None
    if progress:
        from tqdm.auto import tqdm

        bar = tqdm(total=n, initial=n - len(todo), unit=" partitions", file=sys.stderr)
    try:
        for result in _iter_results(client, tasks):
            summary.rows += result["rows"]
            for k, v in result["status"].items():
                summary.status_counts[k] = summary.status_counts.get(k, 0) + v
            if bar is not None:
                bar.update(1)
            if on_partition is not None:
                on_partition(result["index"])
    finally:
        if bar is not None:
            bar.close()
    missing = [i for i in range(n) if not _part_path(out, i).exists()]
    if missing:  # cannot happen unless parts were deleted underneath us
        raise StanceError(f"{out}: partitions {missing[:5]} were not written; rerun to finish")
    _remove_stale_temporaries(out)
    manifest["complete"] = True
    _write_manifest(out, manifest)
    summary.seconds = time.perf_counter() - started
    return summary


def _current_client() -> Any:
    from distributed import get_client

    try:
        return get_client()
    except ValueError:  # no distributed client: Dask's local scheduler
        return None


def _compute(client: Any, collection: Any) -> Any:
    """``collection`` computed on ``client`` (or Dask's local scheduler)."""
    return collection.compute() if client is None else client.compute(collection).result()


def _iter_results(client: Any, tasks: list[Any]):
    """Results of ``tasks`` as they finish (in completion order)."""
    if not tasks:
        return
    if client is None:
        import dask

        yield from dask.compute(*tasks)
        return
    from distributed import as_completed

    futures = client.compute(tasks)
    try:
        for future in as_completed(futures):
            yield future.result()
    finally:
        client.cancel([f for f in futures if not f.done()])


# ---------------------------------------------------------------------------- files -> frame
def _expand(pattern: str) -> list[Path]:
    path = Path(pattern)
    if path.is_dir():
        files = sorted(
            p for p in path.rglob("*") if p.is_file() and not p.name.startswith((".", "_"))
        )
    elif path.is_file():
        files = [path]
    else:
        files = sorted(Path(p) for p in glob.glob(pattern, recursive=True) if Path(p).is_file())
    if not files:
        raise DataError(f"no input files match {pattern!r}")
    return files


def _read_file(path: str, fmt: str, encoding: str, batch_size: int) -> pd.DataFrame:
    """One input file as one partition, read by ``stance tag``'s own reader."""
    import pandas as pd

    from stance.data.stream import iter_batches

    notes: list[str] = []
    batches = [b for b in iter_batches(Path(path), batch_size, fmt, notes, encoding) if len(b)]
    for note in notes:
        warnings.warn(note, stacklevel=1)
    if not batches:
        return pd.DataFrame()
    return pd.concat(batches, ignore_index=True)


def tag_files(
    model: Any,
    pattern: str,
    out: str | os.PathLike[str],
    options: TagOptions | None = None,
    *,
    client: Any = None,
    **kwargs: Any,
) -> DaskTagSummary:
    """``stance tag MODEL 'archive/*.parquet' --engine dask``: one file is one partition.

    Files are read as ``stance tag`` reads them (:mod:`stance.data.stream`,
    ``options.fmt`` / ``options.encoding``); ``kwargs`` go to :func:`tag_dask`.
    """
    _require_dask()
    import dask.dataframe as dd
    import pandas as pd

    from stance.data.stream import iter_batches, stream_format
    from stance.tagging import TagOptions, source_identity

    options = options or TagOptions()
    files = _expand(pattern)
    formats = {stream_format(p, options.fmt) for p in files}
    if len(formats) > 1:
        raise DataError(f"{pattern!r} mixes formats {sorted(formats)}; pass one kind of file")
    (fmt,) = formats
    head = next(iter(iter_batches(files[0], 64, fmt, [], options.encoding)), pd.DataFrame())
    frame = dd.from_map(
        _read_file,
        [str(p) for p in files],
        fmt=fmt,
        encoding=options.encoding,
        batch_size=options.batch_size,
        meta=head.iloc[:0],
    )
    if fmt == "parquet":
        kwargs["partition_rows"] = [_parquet_rows(p) for p in files]
    identity = {
        "format": fmt,
        "encoding": options.encoding,
        "files": [source_identity(p) for p in files],
    }
    return tag_dask(model, frame, out, options, client=client, source_identity=identity, **kwargs)


def _parquet_rows(path: Path) -> int:
    import pyarrow.dataset as ds

    return ds.dataset(path, format="parquet").count_rows()


# ---------------------------------------------------------------------------- clusters
def cluster_settings(name: str, overrides: Sequence[str] = ()) -> dict[str, Any]:
    """``conf/cluster/<name>.yaml`` merged with ``key=value`` overrides (Hydra-style)."""
    import yaml
    from omegaconf import OmegaConf

    from stance.paths import conf_dir

    path = conf_dir() / "cluster" / f"{name}.yaml"
    if not path.exists():
        known = sorted(p.stem for p in (conf_dir() / "cluster").glob("*.yaml"))
        raise ConfigError(f"unknown --cluster {name!r}; known: {known}")
    cfg = OmegaConf.load(path)
    for item in overrides:
        if "=" not in item:
            raise ConfigError(f"--cluster-option {item!r}: expected key=value")
        key, value = item.split("=", 1)
        OmegaConf.update(cfg, key.strip(), yaml.safe_load(value), merge=True)
    return OmegaConf.to_container(cfg, resolve=True)


def make_cluster(name: str, settings: Mapping[str, Any]) -> Any:
    """A started cluster object for ``--cluster`` (``slurm``: dask-jobqueue; ``local``)."""
    settings = dict(settings)
    workers = int(settings.pop("jobs", settings.pop("n_workers", 1)))
    if name == "slurm":
        try:
            from dask_jobqueue import SLURMCluster
        except ImportError:
            raise StanceError(f"--cluster slurm needs dask-jobqueue: {_DASK_HINT}") from None
        cluster = SLURMCluster(**settings)
        cluster.scale(jobs=workers)
        return cluster
    if name == "local":
        from distributed import LocalCluster

        return LocalCluster(n_workers=workers, **settings)
    raise ConfigError(f"unknown --cluster {name!r}; expected slurm or local")


def connect(
    scheduler: str | None = None,
    cluster: str | None = None,
    cluster_options: Sequence[str] = (),
    timeout: float = 10.0,
) -> tuple[Any, Any]:
    """(client, cluster-or-None) for ``--scheduler ADDRESS`` or ``--cluster NAME``.

    A scheduler that does not answer within ``timeout`` seconds is a one-line error.
    """
    _require_dask()
    from distributed import Client

    if scheduler and cluster:
        raise ConfigError("pass --scheduler or --cluster, not both")
    if scheduler:
        try:
            return Client(scheduler, timeout=timeout), None
        except (OSError, TimeoutError) as exc:
            raise StanceError(
                f"the Dask scheduler {scheduler} did not answer within {timeout:g} s "
                f"({type(exc).__name__}); is it running and reachable?"
            ) from None
        except ValueError as exc:
            raise ConfigError(f"--scheduler {scheduler!r}: {exc}") from None
    made = make_cluster(cluster or "local", cluster_settings(cluster or "local", cluster_options))
    return Client(made), made


# ---------------------------------------------------------------------------- CLI
def add_dask_options(parser: argparse.ArgumentParser) -> None:
    """``stance tag`` options for the Dask engine (no dask import here)."""
    group = parser.add_argument_group("cluster (pip install 'stance[dask]')")
    group.add_argument(
        "--engine",
        choices=["local", "dask"],
        default="local",
        help="local: this machine (default); dask: one output part per input file on a cluster",
    )
    group.add_argument("--scheduler", default=None, help="Dask scheduler, e.g. tcp://HOST:8786")
    group.add_argument(
        "--cluster",
        default=None,
        help="start a cluster from conf/cluster/NAME.yaml: slurm (dask-jobqueue) or local",
    )
    group.add_argument(
        "--cluster-option",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="override a conf/cluster setting, e.g. queue=cpu cores=8 memory=16GB jobs=10",
    )
    group.add_argument(
        "--connect-timeout", type=float, default=10.0, help="seconds to reach the scheduler"
    )


def run_tag_cli(args: argparse.Namespace, options: TagOptions) -> int:
    """``stance tag ... --engine dask``: connect, tag every file, print one summary line.

    ``options`` are the ones ``stance tag`` built from the same arguments.
    """
    _expand(args.corpus)  # a glob matching nothing fails before any cluster is started
    client, cluster = connect(
        args.scheduler, args.cluster, args.cluster_option, timeout=args.connect_timeout
    )
    try:
        summary = tag_files(
            args.model,
            args.corpus,
            args.out,
            options,
            client=client,
            trusted=args.trust,
            progress=not args.no_progress,
        )
    finally:
        client.close()
        if cluster is not None:
            cluster.close()
    counts = ", ".join(f"{k}: {v}" for k, v in sorted(summary.status_counts.items()))
    resumed = (
        f" ({summary.resumed_partitions} partitions resumed)" if summary.resumed_partitions else ""
    )
    print(
        f"tagged {summary.rows} rows in {summary.partitions - summary.resumed_partitions} "
        f"partitions{resumed} -> {summary.out}/ [{counts}] in {summary.seconds:.1f} s",
        file=sys.stderr,
    )
    return 0

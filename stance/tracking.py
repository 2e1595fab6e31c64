"""Track runs in MLflow: ``stance-run +tracking=mlflow``, and read them back as a table.

Why a Hydra callback that reads the finished run directory: the run directory is
the record (``config.yaml``, ``metrics.json``, ``run.json``, ``report.md``,
``plots/``, ``model_card.*``), so MLflow gets a copy of exactly what was written,
and the runner knows nothing about tracking. One run becomes one MLflow run; a
multirun becomes a parent run (created in ``on_multirun_start``) with one child
per job. Tracking is a side channel: a store that is read-only, a server that is
down, anything that goes wrong warns once and never fails the run; only a URI
with a scheme MLflow does not know stops ``stance-run`` before it starts.

Needs the ``[mlflow]`` extra; :func:`load_mlflow_runs` is what
``stance.analysis.load_runs("mlflow:URI#EXPERIMENT")`` calls.
"""

from __future__ import annotations

import contextlib
import json
import logging
import math
import os
import re
import sys
import time
import urllib.request
from collections.abc import Iterable, Mapping
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlparse

from hydra.experimental.callback import Callback
from omegaconf import DictConfig, OmegaConf

from stance.errors import ConfigError

if TYPE_CHECKING:
    import pandas as pd

__all__ = [
    "MlflowTracking",
    "check_uri",
    "default_uri",
    "load_mlflow_runs",
    "log_run_dir",
    "parse_location",
]

DEFAULT_EXPERIMENT = "stance"
_PARENT_FILE = ".mlflow_parent.json"
_KNOWN_SCHEMES = {
    "",
    "file",
    "sqlite",
    "postgresql",
    "mysql",
    "mssql",
    "http",
    "https",
    "databricks",
    "databricks-uc",
}
_HINT = "pip install 'stance[mlflow]'"
_ARTIFACTS = ("report.md", "run.json", "metrics.json", "config.yaml", "model_card.md")
_ARTIFACTS += ("model_card.json",)
_BAD_KEY = re.compile(r"[^\w\-. /]")
#: Set after the first failure in this process: warn once, then stay quiet and fast.
_DISABLED: str | None = None


# ---------------------------------------------------------------------------- where
def default_uri(output_dir: str | os.PathLike[str]) -> str:
    """The default store: one SQLite database under the output directory."""
    return f"sqlite:///{(Path(output_dir) / 'mlruns.db').resolve()}"


def check_uri(uri: str) -> str:
    """``uri`` if MLflow has a store for its scheme; else a one-line :class:`ConfigError`."""
    scheme = urlparse(uri).scheme.split("+", 1)[0].lower()
    if len(scheme) == 1:  # a Windows drive letter: a local path
        scheme = ""
    if scheme not in _KNOWN_SCHEMES:
        known = ", ".join(sorted(s for s in _KNOWN_SCHEMES if s))
        raise ConfigError(
            f"tracking.uri {uri!r}: unknown scheme {scheme!r} (MLflow stores: {known}, "
            "or a local path)"
        )
    return uri


def _settings(config: DictConfig) -> tuple[str, str]:
    node = config.get("tracking") or {}
    uri = node.get("uri") or default_uri(config.paths.output_dir)
    return check_uri(str(uri)), str(node.get("experiment") or DEFAULT_EXPERIMENT)


def _disable(exc: BaseException | str) -> None:
    """Warn once (one line), then turn tracking off for the rest of this process."""
    global _DISABLED
    if _DISABLED is not None:
        return
    reason = exc if isinstance(exc, str) else f"{type(exc).__name__}: {exc}"
    reason = " ".join(str(reason).split())[:300]
    _DISABLED = reason
    print(
        f"stance: warning: MLflow tracking failed ({reason}); the run itself is kept, "
        "tracking is off for the rest of this process",
        file=sys.stderr,
    )


@contextlib.contextmanager
def _quiet():
    """MLflow's and Alembic's own log lines (tracebacks at ERROR) stay out of the run's output."""
    loggers = [logging.getLogger(name) for name in ("mlflow", "alembic", "sqlalchemy")]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.CRITICAL + 1)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)


def _client(uri: str):
    """An ``MlflowClient`` for ``uri``, after a bounded check that a server answers."""
    if urlparse(uri).scheme in ("http", "https"):
        # Fail in seconds, not after MLflow's default retries with back-off (minutes).
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_MAX_RETRIES", "0")
        os.environ.setdefault("MLFLOW_HTTP_REQUEST_TIMEOUT", "10")
        with urllib.request.urlopen(f"{uri.rstrip('/')}/health", timeout=3) as response:
            response.read()
    from mlflow.tracking import MlflowClient

    return MlflowClient(tracking_uri=uri)


def _experiment_id(client: Any, uri: str, name: str) -> str:
    experiment = client.get_experiment_by_name(name)
    if experiment is not None:
        return experiment.experiment_id
    location = None
    parsed = urlparse(uri)
    if parsed.scheme.startswith("sqlite"):  # artifacts beside the database, not in the CWD
        db = Path(parsed.path.split("?", 1)[0])
        location = (db.parent / "mlartifacts" / name).resolve().as_uri()
    return client.create_experiment(name, artifact_location=location)


# ---------------------------------------------------------------------------- what
def _key(name: str) -> str:
    return _BAD_KEY.sub("_", name)


def _flat_params(config: Mapping[str, Any]) -> dict[str, str]:
    from stance.analysis.runs import _flatten

    params = {}
    for key, value in _flatten({k: v for k, v in config.items() if k != "hydra"}).items():
        text = json.dumps(list(value)) if isinstance(value, tuple) else _param_text(value)
        params[_key(key)] = text[:6000]
    return params


def _param_text(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _metrics(metrics: Mapping[str, Any], record: Mapping[str, Any]) -> list[tuple[str, float, int]]:
    """(key, value, step) for the headline, pooled and per-class scores, folds as steps."""
    out: list[tuple[str, float, int]] = []

    def add(key: str, value: Any, step: int = 0) -> None:
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and math.isfinite(float(value)):
            out.append((_key(key), float(value), step))

    head = metrics.get("headline") or {}
    name = head.get("metric", "headline")
    add(name, head.get("value"))
    ci = head.get("ci95") or [None, None]
    add(f"{name}.ci_lo", ci[0])
    add(f"{name}.ci_hi", ci[1])
    for key, value in (metrics.get("pooled") or {}).items():
        if key == "per_class":
            for label, scores in value.items():
                for stat, score in scores.items():
                    add(f"pooled.per_class.{label}.{stat}", score)
        else:
            add(f"pooled.{key}", value)
    for part in ("mean", "std"):
        for key, value in (metrics.get(part) or {}).items():
            add(f"{part}.{key}", value)
    for i, fold in enumerate(metrics.get("folds") or []):
        for key, value in fold.items():
            if key != "fold":
                add(f"fold.{key}", value, int(fold.get("fold", i)))
    for key in ("wall_time_s", "peak_memory_mb"):
        add(key, record.get(key))
    for key, value in (record.get("timings") or {}).items():
        add(f"time.{key}", value)
    return out


def _millis(stamp: str | None) -> int | None:
    if not stamp:
        return None
    try:
        return int(datetime.fromisoformat(stamp).timestamp() * 1000)
    except ValueError:
        return None


def log_run_dir(
    run_dir: str | os.PathLike[str],
    uri: str,
    experiment: str = DEFAULT_EXPERIMENT,
    parent_run_id: str | None = None,
) -> str:
    """Log one finished run directory as an MLflow run; returns the MLflow run id."""
    from mlflow.entities import Metric, Param, RunTag

    run_dir = Path(run_dir)
    record = json.loads((run_dir / "run.json").read_text(encoding="utf-8"))
    metrics = json.loads((run_dir / "metrics.json").read_text(encoding="utf-8"))
    config = record.get("config")
    if config is None:
        config = OmegaConf.to_container(OmegaConf.load(run_dir / "config.yaml"), resolve=True)
    client = _client(uri)
    experiment_id = _experiment_id(client, uri, experiment)
    git = record.get("git") or {}
    from stance.analysis.runs import read_overrides

    overrides = read_overrides(run_dir)
    tags = {
        "stance.run_dir": str(run_dir.resolve()),
        # The command line's own overrides: what names the run in summaries and compare().
        "stance.overrides": " ".join(overrides) if overrides is not None else "",
        "stance.headline_metric": str((metrics.get("headline") or {}).get("metric", "")),
        "stance.n_folds": str(len(metrics.get("folds") or [])),
        "stance.data_fingerprint": str((record.get("data") or {}).get("fingerprint", "")),
        "stance.seed": str(record.get("seed", "")),
        "stance.git_dirty": str(git.get("dirty")),
        "mlflow.source.name": "stance-run",
    }
    if git.get("commit"):
        tags["mlflow.source.git.commit"] = str(git["commit"])
    if parent_run_id:
        tags["mlflow.parentRunId"] = parent_run_id
    run = client.create_run(
        experiment_id,
        start_time=_millis(record.get("started")),
        tags=tags,
        run_name=run_dir.name if not parent_run_id else f"job {run_dir.name}",
    )
    run_id = run.info.run_id
    now = int(time.time() * 1000)
    params = [Param(k, v) for k, v in _flat_params(config).items()]
    values = [Metric(k, v, now, step) for k, v, step in _metrics(metrics, record)]
    for chunk in _chunks(params, 100):
        client.log_batch(run_id, params=chunk)
    for chunk in _chunks(values, 1000):
        client.log_batch(run_id, metrics=chunk)
    client.log_batch(run_id, tags=[RunTag("stance.status", str(record.get("status", "")))])
    for name in _ARTIFACTS:
        if (run_dir / name).is_file():
            client.log_artifact(run_id, str(run_dir / name))
    if (run_dir / "plots").is_dir():
        client.log_artifacts(run_id, str(run_dir / "plots"), artifact_path="plots")
    client.set_terminated(run_id, "FINISHED", end_time=_millis(record.get("finished")))
    return run_id


def _chunks(items: list[Any], size: int) -> Iterable[list[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# ---------------------------------------------------------------------------- the callback
class MlflowTracking(Callback):
    """Hydra callback (``+tracking=mlflow``): each finished job -> one MLflow run."""

    def on_run_start(self, config: DictConfig, **kwargs: Any) -> None:
        self._check(config)

    def on_multirun_start(self, config: DictConfig, **kwargs: Any) -> None:
        uri, experiment = self._check(config)
        sweep_dir = Path(config.hydra.sweep.dir)
        sweep_dir.mkdir(parents=True, exist_ok=True)
        marker = sweep_dir / _PARENT_FILE
        try:
            with _quiet():
                parent = self._create_parent(uri, experiment, config, sweep_dir)
            marker.write_text(json.dumps({"run_id": parent}), encoding="utf-8")
        except Exception as exc:  # noqa: BLE001 - tracking never fails the sweep
            _disable(exc)
            # Jobs in other processes (joblib, SLURM) read this and stay quiet too.
            marker.write_text(json.dumps({"disabled": _DISABLED}), encoding="utf-8")

    @staticmethod
    def _create_parent(uri: str, experiment: str, config: DictConfig, sweep_dir: Path) -> str:
        client = _client(uri)
        experiment_id = _experiment_id(client, uri, experiment)
        overrides = list(config.hydra.overrides.get("task") or [])
        parent = client.create_run(
            experiment_id,
            run_name=f"sweep {sweep_dir.parent.name}/{sweep_dir.name}",
            tags={
                "stance.sweep_dir": str(sweep_dir.resolve()),
                "mlflow.source.name": "stance-run -m",
            },
        )
        client.log_param(parent.info.run_id, "overrides", " ".join(overrides)[:6000])
        return parent.info.run_id

    def on_job_end(self, config: DictConfig, job_return: Any = None, **kwargs: Any) -> None:
        if _DISABLED is not None:
            return
        run_dir = Path(config.hydra.runtime.output_dir)
        if not (run_dir / "run.json").is_file():
            return  # failed or interrupted: the runner removed it
        try:
            uri, experiment = _settings(config)
            parent = self._parent(config)
            if parent is False:
                return
            with _quiet():
                log_run_dir(run_dir, uri, experiment, parent_run_id=parent)
        except Exception as exc:  # noqa: BLE001 - tracking never fails the run
            _disable(exc)

    def on_multirun_end(self, config: DictConfig, **kwargs: Any) -> None:
        parent = self._parent(config)
        if not parent or _DISABLED is not None:
            return
        try:
            with _quiet():
                _client(_settings(config)[0]).set_terminated(parent, "FINISHED")
        except Exception as exc:  # noqa: BLE001
            _disable(exc)

    @staticmethod
    def _check(config: DictConfig) -> tuple[str, str]:
        try:
            return _settings(config)
        except ConfigError as exc:  # bad config: stop before any work, one line
            print(f"stance: error: {exc}", file=sys.stderr)
            sys.exit(2)

    @staticmethod
    def _parent(config: DictConfig) -> str | None | bool:
        """The sweep's parent run id; None outside a multirun; False if tracking is off."""
        if str(config.hydra.get("mode", "")) not in ("RunMode.MULTIRUN", "MULTIRUN"):
            return None
        marker = Path(config.hydra.sweep.dir) / _PARENT_FILE
        if not marker.is_file():
            return None
        saved = json.loads(marker.read_text(encoding="utf-8"))
        return saved.get("run_id") or False


# ---------------------------------------------------------------------------- reading back
def parse_location(location: str) -> tuple[str, str]:
    """``mlflow:URI#EXPERIMENT`` (or ``URI#EXPERIMENT``) -> (uri, experiment)."""
    body = location.removeprefix("mlflow:")
    uri, _, experiment = body.partition("#")
    return check_uri(uri), experiment or DEFAULT_EXPERIMENT


def _typed(text: str) -> Any:
    import yaml

    if not text.strip():
        return text
    try:
        value = yaml.safe_load(text)
    except yaml.YAMLError:
        return text
    if isinstance(value, list):
        return tuple(value)
    return value if isinstance(value, str | int | float | bool | type(None)) else text


def load_mlflow_runs(uri: str, experiment: str = DEFAULT_EXPERIMENT) -> pd.DataFrame:
    """Every stance run of an MLflow experiment, in :func:`stance.analysis.load_runs`'s columns.

    Config values come back from the params (typed), the headline and pooled / mean /
    std scores from the metrics, ``run_dir``, ``seed`` and ``data.fingerprint`` from the
    tags; plus ``mlflow.run_id`` and ``mlflow.parent_run_id``. Parent (sweep) runs are
    not rows. Sorted by headline value, best first.
    """
    import pandas as pd

    from stance.analysis.runs import _SKIP_CONFIG, run_labels

    try:
        from mlflow.tracking import MlflowClient
    except ImportError:
        raise ConfigError(f"reading MLflow runs needs MLflow: {_HINT}") from None
    client = MlflowClient(tracking_uri=check_uri(uri))
    found = client.get_experiment_by_name(experiment)
    if found is None:
        raise ConfigError(f"no MLflow experiment {experiment!r} in {uri}")
    rows = []
    token = None
    while True:
        page = client.search_runs([found.experiment_id], max_results=1000, page_token=token)
        for run in page:
            tags = run.data.tags
            if "stance.run_dir" not in tags:
                continue
            rows.append(_row(run, tags, _SKIP_CONFIG))
        token = page.token
        if not token:
            break
    if not rows:
        return pd.DataFrame(columns=["run", "metric", "value", "ci_lo", "ci_hi", "run_dir"])
    frame = pd.DataFrame(rows)
    frame["label"] = run_labels(
        frame, [None if o is None else o.split() for o in frame["overrides"]]
    )
    frame = frame.sort_values("value", ascending=False, na_position="last", kind="stable")
    return frame.reset_index(drop=True)


def _row(run: Any, tags: Mapping[str, str], skip: Iterable[str]) -> dict[str, Any]:
    run_dir = Path(tags["stance.run_dir"])
    row: dict[str, Any] = {"run": run.info.run_name, "status": tags.get("stance.status")}
    row["overrides"] = tags.get("stance.overrides") if "stance.overrides" in tags else None
    for key, text in sorted(run.data.params.items()):
        if key.split(".", 1)[0] not in skip:
            row[key] = _typed(text)
    metrics = run.data.metrics
    name = tags.get("stance.headline_metric") or "macro_f1"
    row.update(
        metric=name,
        value=metrics.get(name),
        ci_lo=metrics.get(f"{name}.ci_lo"),
        ci_hi=metrics.get(f"{name}.ci_hi"),
    )
    for key, value in sorted(metrics.items()):
        if key.startswith(("pooled.", "mean.", "std.", "time.")) and ".per_class." not in key:
            row[key] = value
    row["n_folds"] = int(tags.get("stance.n_folds") or 0)
    for key in ("wall_time_s", "peak_memory_mb"):
        if key in metrics:
            row[key] = metrics[key]
    row["data.fingerprint"] = tags.get("stance.data_fingerprint")
    row["git.commit"] = tags.get("mlflow.source.git.commit")
    row["run_dir"] = str(run_dir)
    preds = run_dir / "predictions.csv"
    row["predictions"] = str(preds) if preds.exists() else None
    row["mlflow.run_id"] = run.info.run_id
    row["mlflow.parent_run_id"] = tags.get("mlflow.parentRunId")
    return row

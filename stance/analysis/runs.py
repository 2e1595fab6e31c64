"""Collect run directories into one table, so sweeps are compared as data.

A run directory is complete when it holds ``run.json`` (written last by the
runner); anything else under the search path (staging folders, failed or
in-progress runs, Hydra's multirun bookkeeping) is skipped.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import pandas as pd

#: Config subtrees that describe where things are, not what was run.
_SKIP_CONFIG = ("hydra", "paths", "tracking")


def _flatten(obj: Any, prefix: str = "", out: dict[str, Any] | None = None) -> dict[str, Any]:
    out = {} if out is None else out
    if isinstance(obj, Mapping):
        for key, value in obj.items():
            _flatten(value, f"{prefix}{key}.", out)
    elif isinstance(obj, list | tuple):
        out[prefix[:-1]] = (
            json.dumps(list(obj)) if any(isinstance(v, Mapping | list) for v in obj) else tuple(obj)
        )
    else:
        out[prefix[:-1]] = obj
    return out


def find_runs(path: str | Path) -> list[Path]:
    """Every complete run directory under ``path`` (``path`` itself included), sorted."""
    root = Path(path)
    if not root.exists():
        raise FileNotFoundError(f"no such directory: {root}")
    found = [p.parent for p in root.rglob("run.json") if ".staging" not in p.parts]
    return sorted(set(found))


def read_json(path: Path) -> dict[str, Any]:
    with open(path, encoding="utf-8") as fh:
        return json.load(fh)


def read_overrides(run_dir: str | Path) -> list[str] | None:
    """The command-line overrides a run was started with (``.hydra/overrides.yaml``), or None."""
    path = Path(run_dir) / ".hydra" / "overrides.yaml"
    if not path.is_file():
        return None
    from omegaconf import OmegaConf

    return [str(item) for item in OmegaConf.to_container(OmegaConf.load(path)) or []]


def override_labels(overrides: Sequence[Sequence[str] | None]) -> list[str | None]:
    """Name each run by the overrides that set it apart from the others.

    Overrides every run shares (``split.n_splits=2`` given to the whole sweep)
    are left out; a run with none of its own is ``defaults``. None where a run
    has no record of its overrides.
    """
    known = [set(o) for o in overrides if o is not None]
    common = set.intersection(*known) if len(known) > 1 else set()
    labels: list[str | None] = []
    for items in overrides:
        if items is None:
            labels.append(None)
            continue
        own = [o for o in items if o not in common]
        labels.append(" ".join(own) if own else ("defaults" if not items else " ".join(items)))
    return labels


def format_cell(value: Any) -> str:
    """A table cell for people: empty for missing, ``3000`` not ``3000.0``, 4 significant digits."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        return str(int(value)) if value.is_integer() else f"{value:.4g}"
    if isinstance(value, tuple):
        return "[" + ", ".join(format_cell(v) for v in value) + "]"
    return str(value)


def run_row(run_dir: str | Path, root: str | Path | None = None) -> dict[str, Any]:
    """One run as a flat dict: config values, headline metric and CI, fold mean/std, costs."""
    run_dir = Path(run_dir)
    record = read_json(run_dir / "run.json")
    row: dict[str, Any] = {
        "run": str(run_dir.relative_to(root)) if root else run_dir.name,
        "status": record.get("status", "complete"),
    }
    config = record.get("config")
    if config is None and (run_dir / "config.yaml").exists():
        from omegaconf import OmegaConf

        config = OmegaConf.to_container(OmegaConf.load(run_dir / "config.yaml"), resolve=False)
    for key, value in _flatten(
        {k: v for k, v in (config or {}).items() if k not in _SKIP_CONFIG}
    ).items():
        row[key] = value
    if "seed" not in row and "seed" in record:
        row["seed"] = record["seed"]

    metrics_path = run_dir / "metrics.json"
    if metrics_path.exists():
        metrics = read_json(metrics_path)
        head = metrics.get("headline", {})
        ci = head.get("ci95") or [None, None]
        row.update(metric=head.get("metric"), value=head.get("value"), ci_lo=ci[0], ci_hi=ci[1])
        for key, value in (metrics.get("pooled") or {}).items():
            if isinstance(value, int | float):
                row[f"pooled.{key}"] = value
        for part in ("mean", "std"):
            for key, value in (metrics.get(part) or {}).items():
                if isinstance(value, int | float):
                    row[f"{part}.{key}"] = value
        row["n_folds"] = len(metrics.get("folds") or [])
    for key, value in (record.get("timings") or {}).items():
        if isinstance(value, int | float):
            row[f"time.{key}"] = value
    for key in ("wall_time_s", "peak_memory_mb", "started", "finished"):
        if key in record:
            row[key] = record[key]
    data = record.get("data") or {}
    if "fingerprint" in data:
        row["data.fingerprint"] = data["fingerprint"]
    overrides = read_overrides(run_dir)
    row["overrides"] = None if overrides is None else " ".join(overrides)
    row["run_dir"] = str(run_dir.resolve())
    preds = run_dir / "predictions.csv"
    row["predictions"] = str(preds.resolve()) if preds.exists() else None
    return row


def load_runs(path: str | Path) -> pd.DataFrame:
    """Every complete run under ``path`` (single runs and multirun sweeps) as one DataFrame.

    Columns: ``run`` (path relative to ``path``), flattened config values
    (``model.name``, ``model.C``, ``features.name``, ``data.name``,
    ``split.name``, ``seed``...), ``metric``/``value``/``ci_lo``/``ci_hi``
    (headline, fractions), ``pooled.*``, ``mean.*``/``std.*`` over folds,
    ``time.*`` per stage, ``wall_time_s``, ``peak_memory_mb``, ``run_dir`` and
    ``predictions`` (absolute paths), ``overrides`` (the command line's, from
    ``.hydra/overrides.yaml``) and ``label`` (the overrides that set the run apart
    from the others, e.g. ``model=cnb``). Sorted by headline value, best first.
    ``path`` may also be ``"mlflow:URI#EXPERIMENT"`` (e.g.
    ``"mlflow:sqlite:///outputs/mlruns.db#stance"``): the same columns, read from MLflow.
    """
    if str(path).startswith("mlflow:"):  # "mlflow:URI#EXPERIMENT": runs tracked in MLflow
        from stance.tracking import load_mlflow_runs, parse_location

        return load_mlflow_runs(*parse_location(str(path)))
    root = Path(path)
    rows = [run_row(d, root) for d in find_runs(root)]
    if not rows:
        return pd.DataFrame(columns=["run", "metric", "value", "ci_lo", "ci_hi", "run_dir"])
    frame = pd.DataFrame(rows)
    frame["label"] = _labels(frame)
    if "value" in frame:
        frame = frame.sort_values("value", ascending=False, na_position="last", kind="stable")
    return frame.reset_index(drop=True)


def _labels(frame: pd.DataFrame) -> list[str]:
    """What tells each run apart: its own overrides, else its varying config values."""
    return run_labels(frame, [read_overrides(d) for d in frame["run_dir"]])


def run_labels(frame: pd.DataFrame, overrides: Sequence[Sequence[str] | None]) -> list[str]:
    """Label each row of ``frame`` by its own ``overrides`` (those not shared by every
    run), else by its varying config values (runs directories and MLflow runs alike)."""
    labels = override_labels(overrides)
    cols = varying_columns(frame)
    out = []
    for (_, row), label in zip(frame.iterrows(), labels, strict=True):
        if label is None:
            cells = [(c, format_cell(row[c])) for c in cols]
            label = " ".join(f"{c}={v}" for c, v in cells if v) or str(row["run"])
        out.append(label)
    return out


def varying_columns(runs: pd.DataFrame) -> list[str]:
    """Config columns whose value differs between runs: what the sweep actually changed."""
    skip = {
        "run",
        "run_dir",
        "predictions",
        "started",
        "finished",
        "status",
        "metric",
        "value",
        "ci_lo",
        "ci_hi",
        "wall_time_s",
        "peak_memory_mb",
        "n_folds",
        "tag",
        "overrides",
        "label",
    }
    prefixes = ("pooled.", "mean.", "std.", "time.", "data.fingerprint")
    cols = []
    for col in runs.columns:
        if col in skip or col.startswith(prefixes):
            continue
        if runs[col].astype(str).nunique(dropna=False) > 1:
            cols.append(col)
    return cols


def summary_table(runs: pd.DataFrame, config_columns: bool = True) -> pd.DataFrame:
    """A compact, readable view: each run's label (its own overrides), what varied in the
    config (``config_columns``; empty cells blank, integers as integers), the headline with
    95% CI in percent, and costs."""
    cols = varying_columns(runs) if config_columns else []
    out = runs[["run"]].copy()
    if "label" in runs:
        out["overrides"] = runs["label"]
    for col in cols:
        out[col] = [format_cell(v) for v in runs[col]]
    out["score (95% CI)"] = [
        f"{100 * v:.1f} ({100 * lo:.1f}–{100 * hi:.1f})" if pd.notna(lo) else f"{100 * v:.1f}"
        for v, lo, hi in zip(runs["value"], runs["ci_lo"], runs["ci_hi"], strict=True)
    ]
    for col in ("wall_time_s", "peak_memory_mb"):
        if col in runs:
            out[col] = [format_cell(round(v, 1)) if pd.notna(v) else "" for v in runs[col]]
    return out

"""MLflow tracking against a real SQLite store: a real `stance-run -m +tracking=mlflow`."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

import stance.tracking as tracking
from stance.analysis import load_runs
from stance.errors import ConfigError
from tests.paths import REPO_ROOT
from tests.run_dir_fixtures import training_data

QUICK = ["split=kfold", "split.n_splits=2", "report.bootstrap=50", "cache.features=false"]
QUICK += ["dedup.enabled=false"]


def _stance_run(args: list[str], out: Path) -> subprocess.CompletedProcess:
    env = {**os.environ, "STANCE_OUTPUT_DIR": str(out), "PYTHONPATH": str(REPO_ROOT)}
    command = [sys.executable, "-c", "from stance.cli import run_main; run_main()", *args]
    return subprocess.run(command, cwd=out, env=env, capture_output=True, text=True, timeout=300)


@pytest.fixture(scope="module")
def sweep(tmp_path_factory):
    """A two-job multirun on a tiny corpus (the run-dir fixture's 36 labelled texts)."""
    out = tmp_path_factory.mktemp("outputs")
    X, y = training_data()
    corpus = out / "tiny.csv"
    pd.DataFrame({"text": X["text"], "label": y}).to_csv(corpus, index=False)
    data = ["data=file", f"data.path={corpus}"]
    done = _stance_run(["-m", *data, *QUICK, "model.C=0.5,4", "+tracking=mlflow"], out)
    assert done.returncode == 0, done.stderr
    assert "warning" not in done.stderr.lower(), done.stderr
    (sweep_dir,) = out.glob("multiruns/*/*")
    return out, sweep_dir


def test_a_multirun_is_a_parent_run_with_one_child_per_job(sweep):
    out, sweep_dir = sweep
    client = MlflowClient(tracking_uri=tracking.default_uri(out))
    experiment = client.get_experiment_by_name("stance")
    runs = client.search_runs([experiment.experiment_id])
    parents = [r for r in runs if "stance.sweep_dir" in r.data.tags]
    children = [r for r in runs if "stance.run_dir" in r.data.tags]
    assert len(parents) == 1 and len(children) == 2
    assert parents[0].data.tags["stance.sweep_dir"] == str(sweep_dir.resolve())
    assert "model.C=0.5,4" in parents[0].data.params["overrides"]
    assert {c.data.tags["mlflow.parentRunId"] for c in children} == {parents[0].info.run_id}
    assert {r.info.status for r in runs} == {"FINISHED"}


def test_each_run_logs_config_metrics_folds_tags_and_artifacts(sweep):
    out, sweep_dir = sweep
    client = MlflowClient(tracking_uri=tracking.default_uri(out))
    experiment = client.get_experiment_by_name("stance")
    for run in client.search_runs([experiment.experiment_id], "tags.`stance.run_dir` != ''"):
        run_dir = Path(run.data.tags["stance.run_dir"])
        metrics = json.loads((run_dir / "metrics.json").read_text())
        record = json.loads((run_dir / "run.json").read_text())
        params, logged, tags = run.data.params, run.data.metrics, run.data.tags
        # the flattened config as params
        assert params["model.C"] == str(record["config"]["model"]["C"])
        assert params["data.path"] == record["config"]["data"]["path"]
        assert params["seed"] == str(record["seed"]) == tags["stance.seed"]
        # headline, pooled and per-class metrics, folds as steps
        assert logged["macro_f1"] == metrics["headline"]["value"]
        assert [logged["macro_f1.ci_lo"], logged["macro_f1.ci_hi"]] == metrics["headline"]["ci95"]
        for label, scores in metrics["pooled"]["per_class"].items():
            assert logged[f"pooled.per_class.{label}.f1"] == scores["f1"]
        history = client.get_metric_history(run.info.run_id, "fold.macro_f1")
        assert [(m.step, m.value) for m in sorted(history, key=lambda m: m.step)] == [
            (f["fold"], f["macro_f1"]) for f in metrics["folds"]
        ]
        # provenance tags
        assert tags["stance.data_fingerprint"] == record["data"]["fingerprint"]
        if record["git"]["commit"]:
            assert tags["mlflow.source.git.commit"] == record["git"]["commit"]
        # artifacts: report, plots, model card, run.json
        names = {a.path for a in client.list_artifacts(run.info.run_id)}
        assert {"report.md", "run.json", "metrics.json", "model_card.md", "plots"} <= names
        plots = {a.path for a in client.list_artifacts(run.info.run_id, "plots")}
        assert plots == {f"plots/{p.name}" for p in (run_dir / "plots").iterdir()}
    # artifacts sit beside the database, not in the working directory
    assert (out / "mlartifacts").is_dir() and not (out / "mlruns").exists()


def test_load_runs_reads_the_mlflow_experiment_like_the_run_directories(sweep):
    out, sweep_dir = sweep
    from_dirs = load_runs(sweep_dir)
    from_mlflow = load_runs(f"mlflow:{tracking.default_uri(out)}#stance")
    assert len(from_mlflow) == len(from_dirs) == 2
    shared = [c for c in from_dirs.columns if c not in ("run", "started", "finished")]
    missing = [c for c in shared if c not in from_mlflow.columns]
    assert not missing
    pd.testing.assert_frame_equal(
        from_mlflow[shared], from_dirs[shared], check_exact=True, check_dtype=False
    )


def _job_config(run_dir: Path, uri: str) -> OmegaConf:
    return OmegaConf.create(
        {
            "hydra": {
                "mode": "RUN",
                "runtime": {"output_dir": str(run_dir)},
                "sweep": {"dir": str(run_dir.parent)},
            },
            "paths": {"output_dir": str(run_dir.parent)},
            "tracking": {"uri": uri, "experiment": "stance"},
        }
    )


@pytest.fixture()
def fresh_tracking(monkeypatch):
    monkeypatch.setattr(tracking, "_DISABLED", None)
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_MAX_RETRIES", raising=False)
    monkeypatch.delenv("MLFLOW_HTTP_REQUEST_TIMEOUT", raising=False)


def test_a_server_that_is_down_warns_once_and_costs_seconds(sweep, fresh_tracking, capsys):
    _, sweep_dir = sweep
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    callback = tracking.MlflowTracking()
    start = time.perf_counter()
    for job in ("0", "1"):  # two finished jobs, one warning
        callback.on_job_end(_job_config(sweep_dir / job, f"http://127.0.0.1:{port}"))
    assert time.perf_counter() - start < 10
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and err[0].startswith("stance: warning: MLflow tracking failed")


def test_a_read_only_store_warns_once_and_keeps_the_run(sweep, fresh_tracking, capsys):
    out, sweep_dir = sweep
    read_only = f"sqlite:///file:{out / 'mlruns.db'}?mode=ro&uri=true"
    before = len(load_runs(f"mlflow:{tracking.default_uri(out)}#stance"))
    callback = tracking.MlflowTracking()
    for job in ("0", "1"):
        callback.on_job_end(_job_config(sweep_dir / job, read_only))
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "readonly database" in err[0], err
    assert (sweep_dir / "0" / "run.json").is_file()
    assert len(load_runs(f"mlflow:{tracking.default_uri(out)}#stance")) == before


def test_an_unknown_uri_scheme_is_a_one_line_error_before_the_run(tmp_path):
    done = _stance_run(["+tracking=mlflow", "tracking.uri=mlfow://typo:5000", *QUICK], tmp_path)
    assert done.returncode == 2
    lines = done.stderr.strip().splitlines()
    assert lines == [
        "stance: error: tracking.uri 'mlfow://typo:5000': unknown scheme 'mlfow' "
        "(MLflow stores: databricks, databricks-uc, file, http, https, mssql, mysql, "
        "postgresql, sqlite, or a local path)"
    ]
    assert not list(tmp_path.glob("runs/*/*"))
    with pytest.raises(ConfigError, match="unknown scheme 'ftp'"):
        load_runs("mlflow:ftp://host/db#stance")

"""The experiment runner end to end, on the 316-article Russia–US corpus (small, real)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from stance.data.corpora.ru_us import RuUsRapprochement
from stance.errors import ConfigError
from stance.experiment import compose_config, rerun, run_experiment

RU_US_ROWS = RuUsRapprochement.documented.rows
FAST = ["split.n_splits=3", "report.bootstrap=200", "cache.features=false"]


def _cfg(tmp_path: Path, *overrides: str):
    return compose_config([*FAST, f"paths.output_dir={tmp_path}", *overrides])


@pytest.fixture(scope="module")
def default_run(tmp_path_factory, data_dir):
    out = tmp_path_factory.mktemp("runs")
    return run_experiment(_cfg(out), out / "run", quiet=True)


def test_run_directory_holds_every_artifact(default_run):
    run = default_run.run_dir
    for name in (
        "config.yaml",
        "metrics.json",
        "predictions.csv",
        "report.md",
        "model.skops",
        "model_card.json",
        "model_card.md",
        "run.json",
        "plots/confusion_matrix.png",
        "plots/confusion_matrix_normalized.png",
        "plots/pr_curves.png",
    ):
        assert (run / name).is_file(), name
    assert not (run / ".staging").exists()


def test_metrics_have_per_fold_pooled_and_interval(default_run):
    metrics = json.loads((default_run.run_dir / "metrics.json").read_text())
    assert len(metrics["folds"]) == 3
    assert set(metrics["pooled"]["per_class"]) == {"favor", "against", "neutral", "unrelated"}
    lo, hi = metrics["headline"]["ci95"]
    assert lo <= metrics["headline"]["value"] <= hi
    assert metrics["std"]["macro_f1"] >= 0
    # Out-of-fold: every row is scored exactly once.
    preds = pd.read_csv(default_run.run_dir / "predictions.csv")
    assert len(preds) == RU_US_ROWS and preds["id"].is_unique
    support = sum(c["support"] for c in metrics["pooled"]["per_class"].values())
    assert support == RU_US_ROWS


def test_predictions_have_probabilities_that_sum_to_one(default_run):
    preds = pd.read_csv(default_run.run_dir / "predictions.csv")
    proba = preds[[c for c in preds.columns if c.startswith("proba_")]]
    assert list(proba.columns) == [
        "proba_favor",
        "proba_against",
        "proba_neutral",
        "proba_unrelated",
    ]
    np.testing.assert_allclose(proba.sum(axis=1), 1.0, atol=1e-5)
    assert {"fold", "gold", "predicted", "group", "source", "date"} <= set(preds.columns)


def test_grouped_folds_keep_outlets_apart(default_run):
    preds = pd.read_csv(default_run.run_dir / "predictions.csv")
    outlets_per_group = preds.groupby("group")["fold"].nunique()
    assert (outlets_per_group == 1).all()


def test_report_reads_top_to_bottom(default_run):
    report = (default_run.run_dir / "report.md").read_text()
    order = [
        "## Data",
        "## Leakage checks",
        "## Metrics",
        "## Plots",
        "## Top features per class",
        "## Most confident errors",
        "## Reproduce",
    ]
    positions = [report.index(h) for h in order]
    assert positions == sorted(positions)
    assert "plots/confusion_matrix.png" in report


def test_provenance_is_complete(default_run):
    record = json.loads((default_run.run_dir / "run.json").read_text())
    assert record["status"] == "complete"
    assert len(record["data"]["fingerprint"]) == 64
    assert record["seed"] == 42
    assert {"scikit-learn", "numpy", "pandas"} <= set(record["versions"])
    assert {"load", "fit", "predict", "write"} <= set(record["timings"])
    assert record["peak_memory_mb"] > 0
    assert record["peak_memory_scope"] in {"run", "process"}
    assert "commit" in record["git"]


def test_saved_model_is_refit_on_all_rows_and_reloads(default_run):
    from stance.models.io import load_pipeline

    pipeline = load_pipeline(default_run.run_dir / "model.skops")
    card = json.loads((default_run.run_dir / "model_card.json").read_text())
    assert card["trained_on"]["rows"] == RU_US_ROWS
    assert card["default_target"] == "Russia–US rapprochement"
    frame = default_run.corpus.frame.head(5)
    from stance.data.table import model_input

    np.testing.assert_array_equal(
        pipeline.predict(model_input(frame)), default_run.pipeline.predict(model_input(frame))
    )


def test_same_seed_gives_identical_files(tmp_path, default_run):
    again = run_experiment(_cfg(tmp_path), tmp_path / "again", quiet=True)
    for name in ("metrics.json", "predictions.csv"):
        assert (again.run_dir / name).read_bytes() == (default_run.run_dir / name).read_bytes(), (
            name
        )


def test_feature_cache_serves_a_classifier_sweep_without_refitting(
    tmp_path, default_run, monkeypatch
):
    """Cold run fills the cache; a run changing only the classifier fits no features and no
    duplicate check, and a run changing nothing gives byte-identical predictions."""
    cached = [*FAST[:-1], "cache.features=true", f"paths.cache_dir={tmp_path / 'cache'}"]
    cold = run_experiment(
        compose_config([*cached, f"paths.output_dir={tmp_path}"]), tmp_path / "cold", quiet=True
    )
    cold_cache = json.loads((cold.run_dir / "run.json").read_text())["feature_cache"]
    # Fingerprint, then 3 folds + the refit: features, test matrices, duplicate checks.
    assert cold_cache["hits"] == 0 and cold_cache["misses"] == 1 + 3 + 1 + 3 + 3
    assert (cold.run_dir / "predictions.csv").read_bytes() == (
        default_run.run_dir / "predictions.csv"
    ).read_bytes()

    from stance.data import dedup
    from stance.features import text

    def refuse(*args, **kwargs):
        raise AssertionError("features or duplicates were recomputed despite the cache")

    monkeypatch.setattr(text.NgramTfidf, "fit_transform", refuse)
    monkeypatch.setattr(text.NgramTfidf, "transform", refuse)
    monkeypatch.setattr("stance.data.duplicate_checks.cross_split_duplicates", refuse)
    assert dedup.cross_split_duplicates is not refuse
    same = run_experiment(
        compose_config([*cached, f"paths.output_dir={tmp_path}"]), tmp_path / "same", quiet=True
    )
    assert (same.run_dir / "predictions.csv").read_bytes() == (
        cold.run_dir / "predictions.csv"
    ).read_bytes()
    # A model fitted from cached features saves and loads like any other (no memmaps).
    from stance.models.io import load_pipeline

    load_pipeline(same.run_dir / "model.skops")
    swept = run_experiment(
        compose_config([*cached, "model.C=0.5", f"paths.output_dir={tmp_path}"]),
        tmp_path / "swept",
        quiet=True,
    )
    record = json.loads((swept.run_dir / "run.json").read_text())["feature_cache"]
    assert record["misses"] == 0 and record["hits"] == 11
    assert json.loads((swept.run_dir / "run.json").read_text())["config"]["model"]["C"] == 0.5


def test_rerun_from_provenance_reproduces_predictions(tmp_path, default_run):
    again = rerun(default_run.run_dir, tmp_path / "rerun", quiet=True)
    assert (again.run_dir / "predictions.csv").read_bytes() == (
        default_run.run_dir / "predictions.csv"
    ).read_bytes()
    assert again.reproduced == {"metrics.json": True, "predictions.csv": True}


def test_rerun_names_the_files_that_differ_and_the_versions_that_changed(tmp_path):
    from stance.experiment import compare_outputs, describe_reproduction

    for name, text in (("a", "1,2\n"), ("b", "1,3\n")):
        (tmp_path / name).mkdir()
        (tmp_path / name / "predictions.csv").write_text(text)
        (tmp_path / name / "metrics.json").write_text("{}")
    identical = compare_outputs(tmp_path / "a", tmp_path / "b")
    assert identical == {"metrics.json": True, "predictions.csv": False}
    line = describe_reproduction(identical, {"numpy": "1.0"}, {"numpy": "2.0"})
    assert line.startswith("NOT reproduced: predictions.csv differ")
    assert "(metrics.json identical)" in line and "numpy 1.0 → 2.0" in line
    assert describe_reproduction(compare_outputs(tmp_path / "a", tmp_path / "a"), {}, {}) == (
        "reproduced: metrics.json, predictions.csv byte-identical to the original"
    )


def test_run_log_holds_stages_notes_and_headline(default_run):
    log = (default_run.run_dir / "stance-run.log").read_text()
    metrics = default_run.metrics
    for line in ("Loading corpus 'ru_us_rapprochement'", "Splitting (group_kfold)", "Scoring"):
        assert line in log
    assert f"macro_f1 = {100 * metrics['headline']['value']:.2f}" in log
    assert "run.json written last" in log
    for fold in metrics["folds"]:
        assert f"fold {fold['fold']}: n_train {fold['n_train']}, n_test {fold['n_test']}" in log
    for note in default_run.corpus.notes:
        assert f"note: {note}" in log


def test_peak_memory_is_this_runs_not_the_process_high_water_mark(tmp_path, data_dir):
    import resource

    ballast = np.ones(125_000_000)  # 1 GB touched, freed before the run starts
    del ballast
    process_peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = run_experiment(
        _cfg(tmp_path, "split.n_splits=2", "save_model=false", "dedup.enabled=false"),
        tmp_path / "r",
        quiet=True,
    )
    record = json.loads((result.run_dir / "run.json").read_text())
    if record["peak_memory_scope"] != "run":
        pytest.skip("this platform cannot reset the peak; run.json says scope 'process'")
    assert 0 < record["peak_memory_mb"] < process_peak_mb - 200


def test_failed_run_leaves_no_directory(tmp_path, data_dir):
    cfg = _cfg(tmp_path, "model._target_=sklearn.linear_model.NoSuchModel")
    with pytest.raises(ConfigError, match="could not build the model"):
        run_experiment(cfg, tmp_path / "broken", quiet=True)
    assert not (tmp_path / "broken").exists()


def test_predefined_split_needs_a_split_column(tmp_path, data_dir):
    with pytest.raises(ConfigError, match="no predefined split"):
        cfg = compose_config(
            ["split=predefined", "report.bootstrap=0", f"paths.output_dir={tmp_path}"]
        )
        run_experiment(cfg, tmp_path / "x", quiet=True)
    assert not (tmp_path / "x").exists()


def _env(tmp_path: Path) -> dict:
    env = dict(os.environ)
    env["STANCE_OUTPUT_DIR"] = str(tmp_path)
    return env


@pytest.mark.slow
def test_stance_run_command_prints_headline_and_report(tmp_path, data_dir):
    out = subprocess.run(
        ["stance-run", *FAST, "model.C=0.5", "split=kfold"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert out.returncode == 0, out.stderr
    assert "macro_f1 = " in out.stderr and "report.md" in out.stderr
    runs = list((tmp_path / "runs").glob("*/*/run.json"))
    assert len(runs) == 1
    cfg = json.loads(runs[0].read_text())["config"]
    assert cfg["model"]["C"] == 0.5 and cfg["split"]["name"] == "kfold"


def test_malformed_override_fails_clearly(tmp_path):
    out = subprocess.run(
        ["stance-run", "model.C=="],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode != 0
    assert "model.C" in out.stderr
    assert not (tmp_path / "runs").exists() or not list((tmp_path / "runs").glob("*/*/run.json"))


def test_missing_data_dir_is_a_clear_error(tmp_path):
    env = _env(tmp_path)
    env["STANCE_DATA_DIR"] = str(tmp_path / "nowhere")
    out = subprocess.run(
        ["stance-run", *FAST], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 2
    assert "nowhere" in out.stderr and "Traceback" not in out.stderr
    assert not list(tmp_path.glob("runs/*/*"))


@pytest.mark.slow
def test_sigterm_during_training_leaves_no_run_directory(tmp_path, data_dir):
    proc = subprocess.Popen(
        ["stance-run", *FAST, "split.n_splits=5", "features=word_char"],
        cwd=tmp_path,
        env=_env(tmp_path),
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not list(tmp_path.glob("runs/*/*/.staging")):
        time.sleep(0.2)
    time.sleep(2.0)
    proc.send_signal(signal.SIGTERM)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted" in err
    assert not list(tmp_path.glob("runs/*/*"))


@pytest.mark.slow
def test_multirun_writes_a_sweep_summary(tmp_path, data_dir):
    out = subprocess.run(
        ["stance-run", "-m", *FAST, "split.n_splits=2", "model.C=0.5,4"],
        cwd=tmp_path,
        env=_env(tmp_path),
        capture_output=True,
        text=True,
        timeout=600,
    )
    assert out.returncode == 0, out.stderr
    sweeps = list(tmp_path.glob("multiruns/*/*"))
    assert len(sweeps) == 1
    summary = pd.read_csv(sweeps[0] / "summary.csv")
    assert len(summary) == 2 and sorted(summary["model.C"]) == [0.5, 4.0]
    assert (sweeps[0] / "summary.md").is_file() and (sweeps[0] / "summary.png").is_file()


def test_split_unit_behaviour(data_dir):
    from stance.data.loading import load_corpus
    from stance.data.splits import make_folds

    corpus = load_corpus({"name": "ru_us_rapprochement", "loader": "ru_us_rapprochement"}, data_dir)
    folds = make_folds(corpus, {"name": "temporal", "cutoff": "2018-01-01"}, seed=0)
    assert len(folds[0].train) + len(folds[0].test) == (corpus.frame["date"] != "").sum()
    dates = pd.to_datetime(corpus.frame["date"], format="mixed")
    assert (
        dates.iloc[folds[0].train].max()
        < pd.Timestamp("2018-01-01")
        <= dates.iloc[folds[0].test].min()
    )
    with pytest.raises(Exception, match="n_splits"):
        make_folds(corpus, {"name": "kfold", "n_splits": 50}, seed=0)
    kfold = make_folds(corpus, {"name": "kfold", "n_splits": 4}, seed=1)
    assert sorted(np.concatenate([f.test for f in kfold]).tolist()) == list(range(len(corpus)))


def test_stance_help_lists_commands():
    out = subprocess.run(
        [sys.executable, "-m", "stance.cli", "--help"], capture_output=True, text=True
    )
    assert out.returncode == 0
    for command in ("data", "predict", "tag", "rerun"):
        assert command in out.stdout


def test_duplicate_check_can_be_switched_off_and_says_so(tmp_path, data_dir):
    result = run_experiment(
        _cfg(tmp_path, "dedup.enabled=false", "split.n_splits=2"), tmp_path / "r", quiet=True
    )
    report = (result.run_dir / "report.md").read_text()
    assert "Not checked (dedup.enabled=false)." in report
    assert "dedup" not in json.loads((result.run_dir / "run.json").read_text())["timings"]

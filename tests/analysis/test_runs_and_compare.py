"""Analysis API on synthetic run directories (no corpus, no runner needed)."""

from __future__ import annotations

import json
from pathlib import Path

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pandas as pd
import pytest

from stance.analysis import (
    breakdown,
    compare,
    learning_curve_table,
    load_runs,
    most_confident_errors,
    plot_breakdown,
    plot_calibration,
    plot_learning_curve,
    save_figure,
    summary_table,
)
from stance.evaluation.bootstrap import bootstrap_ci, get_metric

LABELS = ["against", "favor", "neutral", "unrelated"]


def make_predictions(n: int, acc: float, seed: int, truth_seed: int = 0) -> pd.DataFrame:
    """Out-of-fold predictions over the same items (truth fixed by truth_seed)."""
    rt = np.random.default_rng(truth_seed)
    gold = rt.choice(LABELS, size=n, p=[0.2, 0.1, 0.3, 0.4])
    sources = rt.choice(["Outlet A", "Outlet B", "Outlet C"], size=n)
    dates = rt.choice(["2016-03-01", "2017-06-15", "2018-11-30", ""], size=n)
    r = np.random.default_rng(seed)
    right = r.random(n) < acc
    pred = np.where(right, gold, r.choice(LABELS, size=n))
    proba = r.dirichlet(np.ones(len(LABELS)), size=n) * 0.5
    proba[np.arange(n), [LABELS.index(p) for p in pred]] += 0.5
    frame = pd.DataFrame(
        {
            "id": [f"a{i:04d}" for i in range(n)],
            "fold": np.arange(n) % 5,
            "gold": gold,
            "predicted": pred,
        }
    )
    for j, lab in enumerate(LABELS):
        frame[f"proba_{lab}"] = proba[:, j]
    frame["target"] = "Russia–US rapprochement"
    frame["group"] = sources
    frame["source"] = sources
    frame["date"] = dates
    return frame


def make_run(
    path: Path,
    predictions: pd.DataFrame,
    model: str,
    C: float,
    seed: int = 42,
    complete: bool = True,
    overrides: list[str] | None = None,
    model_extra: dict | None = None,
) -> Path:
    """A run directory as ARCHITECTURE.md describes it (the parts analysis reads)."""
    path.mkdir(parents=True)
    predictions.to_csv(path / "predictions.csv", index=False)
    metric = get_metric("macro_f1", LABELS)
    value = metric(predictions["gold"], predictions["predicted"])
    ci = bootstrap_ci(predictions["gold"], predictions["predicted"], metric, n_resamples=200)
    folds = []
    for f, part in predictions.groupby("fold"):
        folds.append(
            {
                "fold": int(f),
                "n_train": len(predictions) - len(part),
                "n_test": len(part),
                "macro_f1": metric(part["gold"], part["predicted"]),
                "accuracy": float((part["gold"] == part["predicted"]).mean()),
            }
        )
    fold_scores = pd.DataFrame(folds)
    metrics = {
        "task": {"name": "ru_us", "labels": LABELS, "metric": "macro_f1", "metric_labels": LABELS},
        "headline": {"metric": "macro_f1", "value": value, "ci95": list(ci)},
        "pooled": {
            "macro_f1": value,
            "accuracy": float((predictions["gold"] == predictions["predicted"]).mean()),
        },
        "folds": folds,
        "mean": fold_scores[["macro_f1", "accuracy"]].mean().to_dict(),
        "std": fold_scores[["macro_f1", "accuracy"]].std().to_dict(),
    }
    (path / "metrics.json").write_text(json.dumps(metrics))
    config = {
        "data": {"name": "ru_us_rapprochement", "loader": "ru_us_rapprochement", "clean": True},
        "split": {"name": "group_kfold", "n_splits": 5},
        "features": {"name": "tfidf", "ngram_range": [1, 2]},
        "model": {"name": model, "C": C, **(model_extra or {})},
        "seed": seed,
        "paths": {"data_dir": "/somewhere"},
        "report": {"bootstrap": 200},
    }
    if overrides is not None:  # what Hydra writes for every run
        (path / ".hydra").mkdir()
        (path / ".hydra" / "overrides.yaml").write_text("".join(f"- {o}\n" for o in overrides))
    if complete:
        (path / "run.json").write_text(
            json.dumps(
                {
                    "status": "complete",
                    "config": config,
                    "seed": seed,
                    "timings": {"fit": 1.5, "predict": 0.2},
                    "wall_time_s": 2.0,
                    "peak_memory_mb": 321.0,
                }
            )
        )
    return path


@pytest.fixture
def runs_root(tmp_path: Path) -> Path:
    root = tmp_path / "outputs"
    make_run(
        root / "runs" / "2026-01-01" / "12-00-00", make_predictions(600, 0.45, 1), "logreg", 1.0
    )
    sweep = root / "multirun" / "2026-01-02" / "09-00-00"
    make_run(sweep / "0", make_predictions(600, 0.55, 2), "logreg", 4.0)
    make_run(sweep / "1", make_predictions(600, 0.75, 3), "svm", 1.0)
    make_run(sweep / "2", make_predictions(600, 0.75, 4), "svm", 2.0, complete=False)
    (sweep / "multirun.yaml").write_text("hydra: {}\n")
    return root


def test_load_runs_finds_complete_runs_including_multirun(runs_root: Path) -> None:
    runs = load_runs(runs_root)
    assert len(runs) == 3  # the run without run.json is incomplete and skipped
    for col in (
        "model.name",
        "model.C",
        "features.name",
        "data.name",
        "split.name",
        "seed",
        "metric",
        "value",
        "ci_lo",
        "ci_hi",
        "mean.macro_f1",
        "std.macro_f1",
        "time.fit",
        "peak_memory_mb",
        "run_dir",
        "predictions",
    ):
        assert col in runs.columns, col
    assert "paths.data_dir" not in runs.columns
    assert runs["value"].is_monotonic_decreasing
    assert runs.iloc[0]["model.name"] == "svm"
    assert (runs["ci_lo"] <= runs["value"]).all() and (runs["value"] <= runs["ci_hi"]).all()
    assert runs["features.ngram_range"].iloc[0] == (1, 2)
    table = summary_table(runs)
    assert {"model.name", "model.C", "score (95% CI)"} <= set(table.columns)


def test_load_runs_empty_and_missing(tmp_path: Path) -> None:
    assert load_runs(tmp_path).empty
    with pytest.raises(FileNotFoundError):
        load_runs(tmp_path / "nope")


def test_compare_reliable_difference(runs_root: Path) -> None:
    runs = load_runs(runs_root)
    weak = runs[(runs["model.C"] == 1.0) & (runs["model.name"] == "logreg")].iloc[0]
    strong = runs[runs["model.name"] == "svm"].iloc[0]
    result = compare(weak, strong, name_a="logreg", name_b="svm", n_resamples=300)
    assert result.delta > 0.1 and result.ci95[0] > 0
    assert result.mcnemar_p < 0.001
    assert result.verdict.startswith("svm beats logreg by ")
    assert "McNemar p=" in result.verdict and "95% CI" in result.verdict
    assert str(result) == result.verdict
    assert "B − A" in result._repr_markdown_()
    # Order matters only for the sign.
    flipped = compare(Path(strong["run_dir"]), Path(weak["run_dir"]), n_resamples=300)
    assert flipped.delta == pytest.approx(-result.delta)


def test_compare_no_difference(tmp_path: Path) -> None:
    a = make_run(tmp_path / "a", make_predictions(300, 0.6, 10), "logreg", 1.0)
    b = make_run(tmp_path / "b", make_predictions(300, 0.6, 11), "logreg", 2.0)
    result = compare(a, b, n_resamples=300)
    assert result.ci95[0] < 0 < result.ci95[1]
    assert result.verdict.startswith("no reliable macro-F1 difference")


def test_compare_refuses_different_items(tmp_path: Path) -> None:
    a = make_run(tmp_path / "a", make_predictions(300, 0.6, 1), "logreg", 1.0)
    b = make_run(tmp_path / "b", make_predictions(200, 0.6, 1), "logreg", 1.0)
    with pytest.raises(ValueError, match="different test items"):
        compare(a, b)


def test_compare_pairs_by_id_when_folds_differ(tmp_path: Path) -> None:
    pa = make_predictions(300, 0.6, 1)
    pb = make_predictions(300, 0.6, 2).assign(fold=lambda f: (f["fold"] + 1) % 5)
    result = compare(
        make_run(tmp_path / "a", pa, "x", 1), make_run(tmp_path / "b", pb, "y", 1), n_resamples=100
    )
    assert result.n_items == 300 and result.notes


def test_breakdown_and_plots(tmp_path: Path) -> None:
    preds = make_predictions(900, 0.6, 5)
    by_source = breakdown(preds, "source", n_resamples=200)
    assert list(by_source.columns[:5]) == ["source", "n", "macro_f1", "ci_lo", "ci_hi"]
    assert by_source["n"].sum() == 900
    assert (
        (by_source["ci_lo"] <= by_source["macro_f1"])
        & (by_source["macro_f1"] <= by_source["ci_hi"])
    ).all()
    by_year = breakdown(preds, "year", n_resamples=200)
    assert list(by_year["year"]) == [2016, 2017, 2018]  # undated rows dropped
    leaning = {"Outlet A": "left", "Outlet B": "center", "Outlet C": "right"}
    by_leaning = breakdown(preds, "leaning", mapping=leaning, n_resamples=200)
    assert set(by_leaning["leaning"]) == {"left", "center", "right"}
    with pytest.raises(KeyError, match="mapping"):
        breakdown(preds, "leaning")
    written = save_figure(
        plot_breakdown(by_source, pooled=0.5),
        tmp_path / "plots" / "by_source",
        formats=("png", "svg"),
    )
    assert [p.suffix for p in written] == [".png", ".svg"] and all(
        p.stat().st_size > 0 for p in written
    )
    written = save_figure(plot_calibration(preds), tmp_path / "plots" / "calibration.png")
    assert written[0].exists()
    with pytest.raises(ValueError, match="format"):
        save_figure(plot_calibration(preds), tmp_path / "x", formats="jpg")


def test_most_confident_errors() -> None:
    preds = make_predictions(200, 0.5, 6)
    texts = pd.DataFrame({"id": preds["id"], "title": "T", "text": ["word " * 100] * len(preds)})
    errors = most_confident_errors(preds, texts, n=5, snippet_chars=50)
    assert len(errors) == 5
    assert (errors["gold"] != errors["predicted"]).all()
    assert errors["confidence"].is_monotonic_decreasing
    assert errors["snippet"].str.len().max() <= 50
    assert (errors["p_gold"] < errors["confidence"]).all()


def test_learning_curve() -> None:
    from sklearn.feature_extraction.text import TfidfVectorizer
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline

    rng = np.random.default_rng(0)
    y = rng.choice(["pos", "neg"], size=120)
    text = [
        f"{'good great' if lab == 'pos' else 'bad awful'} filler {i}" for i, lab in enumerate(y)
    ]
    pipe = make_pipeline(TfidfVectorizer(), LogisticRegression())
    table = learning_curve_table(pipe, np.array(text), y, cv=3, train_sizes=(0.3, 1.0))
    assert list(table.columns[:3]) == ["n_train", "train_mean", "train_std"]
    assert table["test_mean"].iloc[-1] > 0.9
    assert plot_learning_curve(table).axes[0].get_xlabel() == "training articles"


@pytest.fixture
def model_sweep(tmp_path: Path) -> Path:
    """A sweep ``-m model=logreg,cnb split.n_splits=2``: the two models have different keys."""
    sweep = tmp_path / "multiruns" / "2026-01-02" / "09-00-00"
    common = ["split.n_splits=2"]
    make_run(
        sweep / "0",
        make_predictions(600, 0.45, 1),
        "cnb",
        float("nan"),
        overrides=["model=cnb", *common],
        model_extra={"alpha": 0.3},
    )
    make_run(
        sweep / "1",
        make_predictions(600, 0.75, 2),
        "logreg",
        4.0,
        overrides=["model=logreg", *common],
        model_extra={"max_iter": 3000, "class_weight": "balanced"},
    )
    return sweep


def test_runs_are_labelled_by_the_overrides_that_set_them_apart(model_sweep: Path) -> None:
    runs = load_runs(model_sweep)
    assert list(runs["label"]) == ["model=logreg", "model=cnb"]  # best first
    assert list(runs["overrides"]) == [
        "model=logreg split.n_splits=2",
        "model=cnb split.n_splits=2",
    ]


def test_runs_without_hydra_overrides_are_labelled_by_varying_config(runs_root: Path) -> None:
    runs = load_runs(runs_root)
    assert runs["overrides"].isna().all()
    assert runs["label"].iloc[0] == "model.name=svm model.C=1"
    assert runs["label"].is_unique


def test_summary_table_leaves_missing_cells_empty_and_integers_whole(model_sweep: Path) -> None:
    table = summary_table(load_runs(model_sweep))
    assert list(table["model.max_iter"]) == ["3000", ""]
    assert list(table["model.alpha"]) == ["", "0.3"]
    assert "nan" not in table.to_string()


def test_sweep_summary_names_runs_by_overrides(model_sweep: Path, monkeypatch) -> None:
    from matplotlib.figure import Figure

    from stance.reporting.multirun import write_sweep_summary

    ticks: list[str] = []
    savefig = Figure.savefig

    def record(fig, *args, **kwargs):
        ticks.extend(t.get_text() for t in fig.axes[0].get_yticklabels())
        return savefig(fig, *args, **kwargs)

    monkeypatch.setattr(Figure, "savefig", record)
    summary = write_sweep_summary(model_sweep).read_text(encoding="utf-8")
    assert "| 1 | model=logreg |" in summary and "| 0 | model=cnb |" in summary
    for noise in ("nan", "3000.0", "_target_", "split.n_splits"):
        assert noise not in summary
    assert ticks == ["model=logreg", "model=cnb"]
    assert (model_sweep / "summary.png").stat().st_size > 0


def test_compare_names_runs_by_what_differs(model_sweep: Path) -> None:
    result = compare(model_sweep / "0", model_sweep / "1", n_resamples=200)
    assert result.verdict.startswith("model=logreg beats model=cnb by ")
    assert (result.name_a, result.name_b) == ("model=cnb", "model=logreg")
    rows = load_runs(model_sweep)
    assert compare(rows.iloc[0], rows.iloc[1], n_resamples=200).name_a == "model=logreg"

"""The Metric contract: every registered metric's label and confusion forms agree exactly,
tasks name metrics through the registry, and extra metrics reach metrics.json and report.md."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.metrics import accuracy_score, confusion_matrix, f1_score

from stance.data.table import Task
from stance.errors import DataError
from stance.evaluation.bootstrap import bootstrap_ci, bootstrap_distribution, secondary_block
from stance.evaluation.metrics import (
    display_name,
    get_metric,
    headline_score,
    metric_names,
    register,
    score,
)
from stance.models.zoo import _score as tuner_score

LABELS = ("agree", "disagree", "discuss", "unrelated")


def _every_metric(labels: tuple[str, ...] | None):
    """Each registered metric, with and without labels to average."""
    return [get_metric(name, labels) for name in metric_names()]


@st.composite
def _label_pairs(draw):
    n = draw(st.integers(1, 60))
    pool = draw(st.lists(st.sampled_from(LABELS), min_size=1, max_size=4, unique=True))
    y = draw(st.lists(st.sampled_from(pool), min_size=n, max_size=n))
    p = draw(st.lists(st.sampled_from(LABELS), min_size=n, max_size=n))
    averaged = draw(st.sampled_from([None, LABELS, ("agree", "discuss"), ("disagree",)]))
    return np.array(y), np.array(p), averaged


# sklearn warns that a 1x1 confusion matrix may be missing labels; here it is not.
@pytest.mark.filterwarnings("ignore:A single label was found")
@settings(max_examples=150, deadline=None)
@given(_label_pairs())
def test_confusion_form_equals_label_form_exactly(case) -> None:
    y, p, averaged = case
    # The confusion matrix over the sample's own labels, as the bootstrap builds it.
    labels = sorted(set(y) | set(p))
    cm = confusion_matrix(y, p, labels=labels)
    for metric in _every_metric(averaged):
        assert metric.from_confusion(cm, labels) == metric.from_labels(y, p), metric


def test_bootstrap_resamples_score_like_the_label_form() -> None:
    # The vectorised path (stacked confusion matrices) and a loop over the label form
    # must give the same distribution bit for bit, so metrics.json CIs mean what they say.
    rng = np.random.default_rng(0)
    y = rng.choice(LABELS, size=120, p=[0.2, 0.05, 0.25, 0.5])
    p = np.where(rng.random(120) < 0.6, y, rng.choice(LABELS, size=120))
    for metric in _every_metric(("agree", "disagree")) + _every_metric(None):
        fast = bootstrap_distribution(y, p, metric, n_resamples=40, seed=3)
        slow = bootstrap_distribution(y, p, metric.from_labels, n_resamples=40, seed=3)
        np.testing.assert_array_equal(fast, slow)


def test_built_in_metrics_are_scikit_learn_s() -> None:
    rng = np.random.default_rng(1)
    y = rng.choice(["favor", "against", "none"], size=90)
    p = rng.choice(["favor", "against", "none"], size=90)
    assert get_metric("accuracy")(y, p) == accuracy_score(y, p)
    assert get_metric("macro_f1")(y, p) == f1_score(y, p, average="macro")
    assert get_metric("f_avg")(y, p) == f1_score(
        y, p, labels=["favor", "against"], average="macro", zero_division=0
    )


def test_registry() -> None:
    assert {"macro_f1", "f_avg", "accuracy", "fnc_score"} <= set(metric_names())
    assert display_name("macro_f1") == "macro-F1" and display_name("f_avg") == "F_avg"
    assert display_name("not_registered") == "not_registered"
    with pytest.raises(ValueError, match="unknown metric 'auc'.*macro_f1"):
        get_metric("auc")
    with pytest.raises(ValueError, match="already registered"):
        register("macro_f1")(lambda labels: get_metric("accuracy"))


def test_task_validates_metric_names_against_the_registry() -> None:
    with pytest.raises(DataError, match="unknown metric 'auc'.*fnc_score"):
        Task("t", ("a", "b"), metric="auc")
    with pytest.raises(DataError, match="unknown metric 'f1'"):
        Task("t", ("a", "b"), extra_metrics=("f1",))
    with pytest.raises(DataError, match="fnc_score needs an 'unrelated' label"):
        Task("t", ("favor", "against"), extra_metrics=("fnc_score",))
    task = Task("t", LABELS, extra_metrics=["fnc_score"])  # a YAML list is fine
    assert task.extra_metrics == ("fnc_score",)


def test_headline_and_pooled_scores_keep_their_shape() -> None:
    y = ["favor", "against", "none", "none", "favor"]
    p = ["favor", "none", "none", "against", "against"]
    semeval = Task("s", ("favor", "against", "none"), "f_avg", ("favor", "against"))
    f_avg = f1_score(y, p, labels=["favor", "against"], average="macro", zero_division=0)
    assert headline_score(y, p, semeval) == f_avg
    assert list(score(y, p, semeval)) == ["macro_f1", "accuracy", "f_avg", "per_class"]
    plain = Task("p", ("favor", "against", "none"))
    assert list(score(y, p, plain)) == ["macro_f1", "accuracy", "per_class"]
    assert headline_score(y, p, Task("a", ("favor", "against", "none"), "accuracy")) == 0.4
    # A macro-F1 headline over chosen labels; pooled macro_f1 stays over all labels.
    subset = Task("m", ("favor", "against", "none"), "macro_f1", ("favor", "none"))
    assert headline_score(y, p, subset) == f1_score(y, p, labels=["favor", "none"], average="macro")
    assert score(y, p, subset)["macro_f1"] == f1_score(y, p, average="macro")


def test_tuner_optimises_the_metric_the_run_reports() -> None:
    # Regression: ClassOffsetTuner's score ignored metric_labels for macro_f1.
    y = ["favor", "against", "none", "none", "favor"]
    p = ["favor", "none", "none", "against", "against"]
    task = Task("m", ("favor", "against", "none"), "macro_f1", ("favor", "none"))
    assert tuner_score(y, p, "macro_f1", task.metric_labels) == headline_score(y, p, task)
    assert tuner_score(y, p, "macro_f1", None) == f1_score(y, p, average="macro")


def test_secondary_block() -> None:
    rng = np.random.default_rng(2)
    y = rng.choice(LABELS, size=200)
    p = np.where(rng.random(200) < 0.5, y, rng.choice(LABELS, size=200))
    assert secondary_block(y, p, Task("t", LABELS), 100, 0) == {}
    block = secondary_block(y, p, Task("t", LABELS, extra_metrics=("fnc_score",)), 100, 0)
    entry = block["secondary"]["fnc_score"]
    assert entry["value"] == get_metric("fnc_score")(y, p)
    assert entry["ci95"] == list(bootstrap_ci(y, p, "fnc_score", n_resamples=100, seed=0))
    assert entry["ci95"][0] <= entry["value"] <= entry["ci95"][1]
    no_ci = secondary_block(y, p, Task("t", LABELS, extra_metrics=("fnc_score",)), 0, 0)
    assert no_ci["secondary"]["fnc_score"]["ci95"] is None


def _four_label_csv(path: Path) -> Path:
    rng = np.random.default_rng(4)
    words = {
        "agree": "confirms supports backs",
        "disagree": "denies refutes rejects",
        "discuss": "reports says claims",
        "unrelated": "weather football museum",
    }
    labels = rng.choice(LABELS, size=80, p=[0.25, 0.15, 0.25, 0.35])
    text = [
        f"{words[lab]} {rng.choice(['alpha', 'beta', 'gamma'])} item {i}"
        for i, lab in enumerate(labels)
    ]
    pd.DataFrame({"text": text, "label": labels}).to_csv(path / "pairs.csv", index=False)
    return path / "pairs.csv"


def test_extra_metrics_reach_metrics_json_and_report(tmp_path, monkeypatch) -> None:
    import stance.experiment as experiment

    load = experiment.load_corpus

    def with_fnc_score(data_cfg, data_dir):
        corpus = load(data_cfg, data_dir)
        corpus.task = dataclasses.replace(corpus.task, extra_metrics=("fnc_score",))
        return corpus

    monkeypatch.setattr(experiment, "load_corpus", with_fnc_score)
    cfg = experiment.compose_config(
        [
            "data=file",
            f"data.path={_four_label_csv(tmp_path)}",
            f"data.labels=[{','.join(LABELS)}]",
            "split=kfold",
            "split.n_splits=2",
            "report.bootstrap=100",
            "cache.features=false",
            "save_model=false",
            "dedup.enabled=false",
            f"paths.output_dir={tmp_path}",
        ]
    )
    run = experiment.run_experiment(cfg, tmp_path / "run", quiet=True).run_dir
    metrics = json.loads((run / "metrics.json").read_text())
    preds = pd.read_csv(run / "predictions.csv", keep_default_na=False)
    fnc = get_metric("fnc_score")
    assert metrics["pooled"]["fnc_score"] == fnc(preds["gold"], preds["predicted"])
    for fold in metrics["folds"]:
        part = preds[preds["fold"] == fold["fold"]]
        assert fold["fnc_score"] == fnc(part["gold"], part["predicted"])
    assert metrics["mean"]["fnc_score"] == np.mean([f["fnc_score"] for f in metrics["folds"]])
    secondary = metrics["secondary"]["fnc_score"]
    assert secondary["value"] == metrics["pooled"]["fnc_score"]
    assert secondary["ci95"] == list(
        bootstrap_ci(preds["gold"], preds["predicted"], fnc, n_resamples=100, seed=cfg.seed)
    )
    assert metrics["headline"]["metric"] == "macro_f1"
    report = (run / "report.md").read_text()
    first = report.splitlines()[2]
    assert (
        first.startswith("**macro-F1 ") and f"; FNC score {100 * secondary['value']:.2f}" in first
    )
    assert f"| FNC score | {100 * secondary['value']:.2f} |" in report

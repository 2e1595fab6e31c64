"""Nested selection: inner CV sees only the outer fold's training rows, and picks honestly."""

from __future__ import annotations

import json

import numpy as np
import pytest

from stance.errors import ConfigError
from stance.experiment import compose_config, run_experiment
from stance.selection import Candidate, inner_folds, parse_candidates, select


def test_inner_folds_stay_inside_the_training_rows_and_keep_groups_apart() -> None:
    rng = np.random.default_rng(0)
    y = np.array(["a", "b"] * 30)
    groups = np.array([f"g{i % 12}" for i in range(60)])
    rows = np.sort(rng.choice(60, size=40, replace=False))
    folds = inner_folds(rows, y, groups, 3, seed=0)
    assert len(folds) == 3
    for train, validation in folds:
        assert set(train) | set(validation) <= set(rows)
        assert not set(train) & set(validation)
        assert not set(groups[train]) & set(groups[validation])
    assert sorted(np.concatenate([v for _, v in folds])) == sorted(rows)


def test_without_groups_inner_folds_are_stratified() -> None:
    y = np.array(["a"] * 20 + ["b"] * 10)
    folds = inner_folds(np.arange(30), y, None, 5, seed=0)
    assert all(set(y[v]) == {"a", "b"} for _, v in folds)


def test_select_picks_the_best_pooled_score_and_the_first_on_ties() -> None:
    y = np.array(["a", "b", "a", "b"])
    folds = [(np.array([0, 1]), np.array([2, 3])), (np.array([2, 3]), np.array([0, 1]))]
    good = Candidate("tfidf", "logreg", {}, {})
    bad = Candidate("char", "svm", {}, {})
    twin = Candidate("tfidf", "svm", {}, {})
    answers = {good.name: y, bad.name: np.array(["b", "a", "b", "a"]), twin.name: y}

    def fit_predict(candidate, train, validation):
        assert not set(train) & set(validation)
        return answers[candidate.name][validation]

    accuracy = lambda gold, pred: float((gold == pred).mean())  # noqa: E731
    best, table = select([bad, good, twin], folds, y, fit_predict, accuracy)
    assert best == good
    assert table["chosen"].tolist() == [False, True, False]
    assert table["inner_score"].tolist() == [0.0, 1.0, 1.0]


def test_candidates_are_validated() -> None:
    with pytest.raises(ConfigError, match="at least two"):
        parse_candidates({"candidates": [{"features": "tfidf", "model": "logreg"}]})
    with pytest.raises(ConfigError, match="no features config 'nope'"):
        parse_candidates(
            {
                "candidates": [
                    {"features": "nope", "model": "logreg"},
                    {"features": "tfidf", "model": "svm"},
                ]
            }
        )
    with pytest.raises(ConfigError, match=r"candidates\[1\]: expected keys"):
        parse_candidates(
            {"candidates": [{"features": "tfidf", "model": "logreg"}, {"model": "svm"}]}
        )


def test_nested_run_records_every_choice_and_never_scores_on_outer_test_rows(
    tmp_path, data_dir, monkeypatch
):
    from stance.selection import NestedChooser

    outer = {}
    seen = []
    original = NestedChooser.choose

    def spy_choose(self, fold, rows):
        outer[fold] = set(rows.tolist())
        return original(self, fold, rows)

    original_fit_predict = NestedChooser._fit_predict

    def spy_fit_predict(self, candidate, train, validation):
        seen.append(set(train.tolist()) | set(validation.tolist()))
        return original_fit_predict(self, candidate, train, validation)

    monkeypatch.setattr(NestedChooser, "choose", spy_choose)
    monkeypatch.setattr(NestedChooser, "_fit_predict", spy_fit_predict)
    cfg = compose_config(
        [
            "+selection=inner_cv",
            "selection.n_splits=2",
            "selection.candidates=[{features: tfidf, model: logreg},"
            " {features: tfidf, model: cnb, model_params: {alpha: 0.5}}]",
            "split.n_splits=3",
            "report.bootstrap=0",
            f"paths.cache_dir={tmp_path / 'cache'}",
            f"paths.output_dir={tmp_path}",
        ]
    )
    result = run_experiment(cfg, tmp_path / "run", quiet=True)
    record = json.loads((result.run_dir / "metrics.json").read_text())["selection"]
    assert [f["fold"] for f in record["folds"]] == [0, 1, 2, "final"]
    assert all(len(f["candidates"]) == 2 for f in record["folds"])
    assert record["folds"][1]["candidates"][1]["candidate"] == "tfidf + cnb model.alpha=0.5"
    # Every inner fit and score used rows of its own outer training part only.
    per_fold = len(seen) // 4
    for i, fold in enumerate([0, 1, 2]):
        assert all(rows <= outer[fold] for rows in seen[i * per_fold : (i + 1) * per_fold])
    report = (result.run_dir / "report.md").read_text()
    assert "nested selection chose" in report

"""The pinned benchmark configs (conf/experiment) and the Optuna sweep config compose, and
pin what experiments/RESULTS.md says they pin. Composition only: nothing is trained."""

from __future__ import annotations

import json
import sys

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from omegaconf import OmegaConf

from stance.experiment import build_pipeline, compose_config
from stance.paths import conf_dir
from tests.paths import EXPERIMENTS_DIR

PINNED = {
    # name: (data, split, split settings, features, model)
    "semeval2016": (
        "semeval2016",
        "predefined",
        {"train_parts": ["train", "val"], "test_part": "test"},
        "target_conditioned",
        "voting",
    ),
    "allsides_random": (
        "allsides",
        "predefined",
        {"train_parts": ["train", "val"], "test_part": "test"},
        "word_char_style",
        "svm",
    ),
    "allsides_media": (
        "allsides_media",
        "predefined",
        {"train_parts": ["train", "val"], "test_part": "test"},
        "tfidf",
        "logreg",
    ),
    "basil_actor": ("basil_actor", "group_kfold", {"n_splits": 5}, "actor_full", "logreg"),
    "ru_us_rapprochement": (  # nested selection: see the test below
        "ru_us_rapprochement",
        "group_kfold",
        {"n_splits": 5},
        "embed_sentences",
        "logreg",
    ),
    "ru_us_tfidf_lr": ("ru_us_rapprochement", "group_kfold", {"n_splits": 5}, "tfidf", "logreg"),
    "ru_us_transformer": (
        "ru_us_rapprochement",
        "group_kfold",
        {"n_splits": 5},
        "raw",
        "transformer",
    ),
    "ru_us_setfit": ("ru_us_rapprochement", "group_kfold", {"n_splits": 5}, "raw", "setfit"),
    "ru_us_majority": (
        "ru_us_rapprochement",
        "group_kfold",
        {"n_splits": 5},
        "tfidf",
        "majority",
    ),
    "fnc1": (
        "fnc1",
        "predefined",
        {"train_parts": ["train", "val"], "test_part": "test"},
        "claim_pair",
        "tuned_vote_hgb",
    ),
    "fnc1_encoder_blend": (
        "fnc1",
        "predefined",
        {"train_parts": ["train", "val"], "test_part": "test"},
        "raw",
        "claim_encoder_blend",
    ),
    "fnc1_encoder_blend_fast": (
        "fnc1",
        "predefined",
        {"train_parts": ["train", "val"], "test_part": "test"},
        "raw",
        "claim_encoder_blend",
    ),
    "fnc1_tfidf_lr": (
        "fnc1",
        "predefined",
        {"train_parts": ["train", "val"], "test_part": "test"},
        "tfidf",
        "logreg",
    ),
}


def test_every_experiment_file_is_pinned_here():
    files = {p.stem for p in (conf_dir() / "experiment").glob("*.yaml")}
    assert files == set(PINNED)


@pytest.mark.parametrize("name", sorted(PINNED))
def test_experiment_pins_its_setting(name):
    data, split, split_settings, features, model = PINNED[name]
    cfg = compose_config([f"experiment={name}"])
    assert cfg.data.name == data
    assert cfg.split.name == split
    for key, value in split_settings.items():
        assert OmegaConf.to_container(cfg.split)[key] == value
    assert cfg.features.name == features
    assert cfg.model.name == model
    assert cfg.seed == 42
    assert cfg.tag == f"bench_{name}"  # the experiment's own values win over config.yaml's
    assert int(cfg.report.bootstrap) >= 1000  # RESULTS.md promises 95% intervals
    if split == "predefined":
        assert cfg.split.test_part not in cfg.split.train_parts


def test_ru_us_chooses_by_inner_cv_among_baseline_windows_and_sentence_vectors():
    from stance.selection import parse_candidates

    cfg = compose_config(["experiment=ru_us_rapprochement"])
    names = [c.name for c in parse_candidates(OmegaConf.to_container(cfg.selection))]
    assert "tfidf + logreg" in names  # the baseline itself is a candidate
    assert {"relation_window + logreg", "embed_sentences + logreg"} <= set(names)
    assert int(cfg.selection.n_splits) >= 3


def test_majority_baseline_is_a_plain_dummy_classifier():
    cfg = compose_config(["experiment=ru_us_majority"])
    assert OmegaConf.to_container(cfg.model) == {
        "name": "majority",
        "_target_": "sklearn.dummy.DummyClassifier",
        "strategy": "most_frequent",
    }
    pipeline = build_pipeline(cfg)
    assert type(pipeline.named_steps["clf"]).__name__ == "DummyClassifier"


def test_optuna_sweep_tunes_on_validation_only():
    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        cfg = compose(
            "config", overrides=["hparams_search=optuna_logreg"], return_hydra_config=True
        )
    GlobalHydra.instance().clear()
    sweeper = cfg.hydra.sweeper
    assert "OptunaSweeper" in sweeper._target_
    assert sweeper.direction == "maximize"
    assert "model.C" in sweeper.params
    assert cfg.split.name == "predefined"
    assert list(cfg.split.train_parts) == ["train"]
    assert cfg.split.test_part == "val"  # never the test part
    assert str(cfg.hydra.mode) == "RunMode.MULTIRUN"


def _run_benchmarks():
    """``experiments/run_benchmarks.py`` as a module (it is a script, not in the package)."""
    sys.path.insert(0, str(EXPERIMENTS_DIR))
    try:
        import run_benchmarks
    finally:
        sys.path.pop(0)
    return run_benchmarks


def test_results_renderer_knows_every_row():
    run_benchmarks = _run_benchmarks()
    assert set(run_benchmarks.BY_NAME) == set(PINNED)
    assert "| benchmark |" in run_benchmarks.render()


def test_rendering_without_speed_json_keeps_the_measured_speed_section(tmp_path, monkeypatch):
    run_benchmarks = _run_benchmarks()
    results = tmp_path / "RESULTS.md"
    results.write_text("# Benchmark results\n\n## Speed\n\n| measure | 0.63× |\n", encoding="utf-8")
    monkeypatch.setattr(run_benchmarks, "RESULTS", results)
    monkeypatch.setattr(run_benchmarks, "SPEED", tmp_path / "missing.json")
    assert run_benchmarks._speed_section() == ["## Speed", "", "| measure | 0.63× |", ""]
    results.unlink()
    assert "Not measured yet" in "\n".join(run_benchmarks._speed_section())


def test_rendering_keeps_the_sections_after_speed(tmp_path, monkeypatch):
    run_benchmarks = _run_benchmarks()
    results = tmp_path / "RESULTS.md"
    cluster = ["## Tagging on a cluster (issue 18)", "", "| workers | articles/s |", "| 2 | 811 |"]
    results.write_text(
        "\n".join(["# Benchmark results", "", "## Speed", "", "| measure | 0.63× |", "", *cluster])
        + "\n",
        encoding="utf-8",
    )
    monkeypatch.setattr(run_benchmarks, "RESULTS", results)
    monkeypatch.setattr(run_benchmarks, "SPEED", tmp_path / "missing.json")
    assert run_benchmarks._speed_section() == ["## Speed", "", "| measure | 0.63× |", ""]
    rendered = run_benchmarks.render().splitlines()
    speed = rendered.index("## Speed")
    assert rendered[speed:] == ["## Speed", "", "| measure | 0.63× |", "", *cluster]
    # Rendering what was rendered changes nothing (no section doubled or lost).
    results.write_text("\n".join(rendered) + "\n", encoding="utf-8")
    assert run_benchmarks.render().splitlines() == rendered
    # A fresh measurement replaces the Speed section only.
    speed_json = tmp_path / "speed.json"
    speed_json.write_text(json.dumps({"markdown": ["| measure | 0.70× |"]}), encoding="utf-8")
    monkeypatch.setattr(run_benchmarks, "SPEED", speed_json)
    rendered = run_benchmarks.render().splitlines()
    speed = rendered.index("## Speed")
    assert rendered[speed:] == ["## Speed", "", "| measure | 0.70× |", "", *cluster]


def test_rendering_keeps_measured_rows_whose_run_directory_is_absent(tmp_path, monkeypatch):
    """A fresh checkout rerunning one row must not blank the others' figures and commits."""
    run_benchmarks = _run_benchmarks()
    monkeypatch.setattr(run_benchmarks, "RUNS", tmp_path / "runs")  # no run directory at all
    results = tmp_path / "RESULTS.md"
    monkeypatch.setattr(run_benchmarks, "RESULTS", results)
    monkeypatch.setattr(run_benchmarks, "SPEED", tmp_path / "missing.json")
    blank = run_benchmarks.render()
    assert blank.count("| not run |") == len(run_benchmarks.BENCHMARKS)
    measured = (
        "| BASIL article–actor stance | macro_f1 | **38.55 (35.45–41.44)** | anchors | ≥ 55.0 |"
        " no | `stance-run experiment=basil_actor` | 31 s | 549 MB | `b913d1b51a` |"
    )
    basil = next(line for line in blank.splitlines() if "experiment=basil_actor`" in line)
    results.write_text(blank.replace(basil, measured), encoding="utf-8")
    rendered = run_benchmarks.render()
    assert measured in rendered.splitlines()
    assert rendered.count("| not run |") == len(run_benchmarks.BENCHMARKS) - 1
    # A row is matched by its own experiment name, not by a prefix of another's.
    assert run_benchmarks._committed_row("basil") is None


def test_fnc1_vote_slices_exactly_the_dense_cue_and_embed_columns():
    """tuned_vote_hgb's HGB reads claim_pair's leading columns by position: if the dense,
    cue or sentence-vector block changes size, the pinned `stop` must change with it (or
    the HGB silently reads n-gram columns, or misses dense ones)."""
    from stance.features.claim_pair import CUE_NAMES, DENSE_NAMES, EMBED_NAMES

    cfg = compose_config(["experiment=fnc1"])
    assert cfg.features.cue_features is True
    assert not cfg.features.get("cue_words")
    assert cfg.features.embedding_model  # the embed block sits right after the cue block
    hgb = cfg.model.estimator.estimators.hgb
    assert int(hgb.get("start", 0)) == 0
    assert int(hgb.stop) == len(DENSE_NAMES) + len(CUE_NAMES) + len(EMBED_NAMES)


@pytest.mark.parametrize("experiment", ["fnc1_encoder_blend", "fnc1_encoder_blend_fast"])
def test_the_encoder_blend_base_is_the_pinned_fnc1_model(experiment: str):
    """claim_encoder_blend holds its own copy of experiment=fnc1's features and model (a
    Hydra list cannot include another config group): the copy must not drift."""
    pin = compose_config(["experiment=fnc1"])
    blend = compose_config([f"experiment={experiment}"])
    features, classifier = OmegaConf.to_container(blend.model.base)["_args_"]
    expected_features = OmegaConf.to_container(pin.features)
    expected_features.pop("name")
    assert features == expected_features
    expected_model = OmegaConf.to_container(pin.model)
    expected_model.pop("name")
    assert classifier == expected_model
    assert blend.model.second.strategy == "closest_sentences"

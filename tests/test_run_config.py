"""Each stage's piece of the config is read once, from the composed Hydra config."""

from __future__ import annotations

from pathlib import Path

from stance.experiment import compose_config
from stance.fold_fit import pipeline_from_spec
from stance.run_config import RunSettings
from stance.selection import Candidate, candidate_spec


def test_settings_read_every_piece_from_the_config(tmp_path: Path) -> None:
    cfg = compose_config(
        [
            "data=semeval2016",
            "seed=7",
            "dedup.drop=true",
            "dedup.threshold=0.5",
            "+split.allow_unseen_labels=true",
            "report.bootstrap=12",
            "save_model=false",
            f"paths.cache_dir={tmp_path}",
        ]
    )
    settings = RunSettings.from_config(cfg)
    assert settings.seed == settings.pipeline.seed == 7
    assert settings.pipeline.clean is False  # tweets: data.clean=false
    assert settings.pipeline.features["name"] == "tfidf"
    assert settings.pipeline.model["name"] == "logreg"
    assert (settings.dedup.enabled, settings.dedup.threshold, settings.dedup.drop) == (
        True,
        0.5,
        True,
    )
    assert settings.split.name == "group_kfold" and settings.split.allow_unseen_labels
    assert settings.bootstrap == 12 and settings.save_model is False
    assert settings.cache_dir == tmp_path and settings.selection is None


def test_a_candidate_keeps_the_runs_cleaner_and_seed() -> None:
    cfg = compose_config(["+selection=inner_cv", "seed=3", "selection.n_splits=2"])
    settings = RunSettings.from_config(cfg)
    assert settings.selection is not None and settings.selection.n_splits == 2
    assert len(settings.selection.candidates) >= 2
    spec = candidate_spec(settings.pipeline, Candidate("char", "svm", {}, {"C": 0.25}))
    assert (spec.clean, spec.seed) == (settings.pipeline.clean, 3)
    assert spec.features["name"] == "char" and spec.model["C"] == 0.25
    pipeline = pipeline_from_spec(spec)
    seeded = {k: v for k, v in pipeline.get_params().items() if k.endswith("random_state")}
    assert seeded and set(seeded.values()) == {3}

"""Metadata features: outlet and date one-hots, unseen values silent, clear errors; opt-in."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stance.data.table import MODEL_INPUT_COLUMNS, make_input
from stance.experiment import _instantiate, compose_config
from stance.features.metadata import MetadataFeatures


def _frame(sources, dates):
    return pd.DataFrame({"source": sources, "date": dates, "text": "x", "title": "", "target": ""})


def test_one_hot_outlet_and_year() -> None:
    X = _frame(["CNN", "Fox", "CNN", ""], ["2019-05-01", "2020-01-02T10:00:00Z", "nonsense", ""])
    features = MetadataFeatures().fit(X)
    names = features.get_feature_names_out().tolist()
    assert names == [
        "source=CNN",
        "source=Fox",
        "source=unknown",
        "year=2019",
        "year=2020",
        "year=unknown",
    ]
    dense = features.transform(X).toarray()
    assert dense.shape == (4, 6) and (dense.sum(axis=1) == 2).all()
    assert dense[2, names.index("year=unknown")] == 1  # unparsable date
    assert dense[3, names.index("source=unknown")] == 1


def test_unseen_outlet_contributes_nothing() -> None:
    features = MetadataFeatures(date_part=None).fit(_frame(["CNN", "Fox"], ["", ""]))
    row = features.transform(_frame(["Breitbart"], [""])).toarray()
    assert row.sum() == 0


def test_month_and_rare_outlets_pooled() -> None:
    X = _frame(["A", "A", "A", "B"], ["2020-01-05", "2020-02-05", "2020-02-07", "2020-02-09"])
    features = MetadataFeatures(date_part="month", min_frequency=2).fit(X)
    names = features.get_feature_names_out().tolist()
    assert "month=2020-02" in names and "source=A" in names
    assert "source=B" not in names  # seen once: pooled into the infrequent category


def test_clear_errors() -> None:
    with pytest.raises(ValueError, match=r"needs column\(s\) \['source'\]"):
        MetadataFeatures().fit(pd.DataFrame({"text": ["a"], "date": [""]}))
    with pytest.raises(
        ValueError, match="'date_part' parameter of MetadataFeatures must be a str among"
    ):
        MetadataFeatures(date_part="week").fit(_frame(["A"], ["2020-01-01"]))


def test_model_input_and_inference_frames_carry_source_and_date() -> None:
    assert {"source", "date"} <= set(MODEL_INPUT_COLUMNS)
    frame = make_input(["a", "b"], sources=["CNN", "Fox"])
    assert frame["source"].tolist() == ["CNN", "Fox"] and frame["date"].tolist() == ["", ""]
    with pytest.raises(Exception, match="differ in length"):
        make_input(["a", "b"], dates=["2020"])


def test_config_block_is_opt_in_and_builds() -> None:
    assert compose_config([]).features.name == "tfidf"  # default: no metadata
    cfg = compose_config(["features=tfidf_metadata"])
    union = _instantiate(cfg.features, "features")
    X = _frame(["CNN", "Fox"] * 3, ["2019-01-01"] * 6).assign(
        text=["talks resume", "sanctions bite", "summit planned"] * 2
    )
    matrix = union.fit_transform(X)
    assert matrix.shape[0] == 6 and np.isfinite(matrix.data).all()
    assert any(n.startswith("metadata__source=") for n in union.get_feature_names_out())


def test_a_run_with_metadata_features_saves_a_model_that_tags_new_text(tmp_path, data_dir):
    import stance
    from stance.experiment import run_experiment

    cfg = compose_config(
        [
            "features=tfidf_metadata",
            "split.n_splits=3",
            "report.bootstrap=0",
            "cache.features=false",
            f"paths.output_dir={tmp_path}",
        ]
    )
    result = run_experiment(cfg, tmp_path / "run", quiet=True)
    names = result.pipeline.named_steps["features"].get_feature_names_out()
    assert any(n.startswith("metadata__source=") for n in names)
    model = stance.load(result.run_dir)
    (label,) = model.predict(["Moscow and Washington agreed to resume arms control talks."])
    assert label in model.labels

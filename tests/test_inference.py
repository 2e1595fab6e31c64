"""Python API: stance.load / StanceModel."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

import stance
from stance.errors import ModelFileError, StanceError
from tests.run_dir_fixtures import LABELS, TARGET, make_run_dir


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return make_run_dir(tmp_path_factory.mktemp("api"))


@pytest.fixture(scope="module")
def model(run: Path) -> stance.StanceModel:
    return stance.load(run)


def test_load_dir_and_file_and_card(run: Path, model) -> None:
    assert model.labels == LABELS
    assert model.card["default_target"] == TARGET
    assert stance.load(run / "model.skops").labels == LABELS


def test_predict_single_and_list(model) -> None:
    assert model.predict("New sanctions deepen the conflict") == "against"
    labels = model.predict(["Putin and Trump agreed to resume talks", "Football results"])
    assert labels == ["favor", "none"]


def test_predict_proba_columns_follow_labels(model) -> None:
    proba = model.predict_proba(["talks and cooperation", "sanctions"])
    assert list(proba.columns) == LABELS
    np.testing.assert_allclose(proba.sum(axis=1), 1.0)
    assert model.predict_proba("talks").shape == (1, 3)


def test_cleaning_is_applied(model) -> None:
    messy = "New   sanctions\tdeepen the conflict\r\n\r\n"
    assert model.predict(messy) == model.predict("New sanctions deepen the conflict")


def test_explain_linear(model) -> None:
    table = model.explain("New sanctions deepen the conflict between Russia and the United States")
    assert list(table.columns) == ["feature", "value", "weight", "contribution"]
    assert table.attrs == {"label": "against", "method": "linear", "target": model.default_target}
    assert 0 < len(table) <= 10
    assert any("sanctions" in f for f in table["feature"])
    assert table["contribution"].abs().is_monotonic_decreasing


def test_explain_occlusion_for_nonlinear(run: Path, tmp_path: Path) -> None:
    from sklearn.ensemble import RandomForestClassifier
    from sklearn.pipeline import Pipeline

    from stance.models.io import save_model
    from tests.run_dir_fixtures import training_data

    base = stance.load(run).pipeline
    X, y = training_data()
    pipe = Pipeline(
        base.steps[:2] + [("clf", RandomForestClassifier(n_estimators=10, random_state=0))]
    )
    pipe.fit(X, y)
    save_model(pipe, tmp_path / "model.skops")
    table = stance.load(tmp_path / "model.skops").explain(
        "New sanctions deepen the conflict. The weather was mild.", target=TARGET
    )
    assert table.attrs["method"] == "occlusion"
    assert set(table["feature"]) == {"New sanctions deepen the conflict.", "The weather was mild."}


def test_needs_target(tmp_path: Path) -> None:
    model = stance.load(make_run_dir(tmp_path, default_target=None, needs_target=True))
    with pytest.raises(StanceError, match="needs one"):
        model.predict("talks")
    assert model.predict("talks", target=TARGET) in LABELS


def test_other_target_warns(model) -> None:
    with pytest.warns(UserWarning, match="trained only on target"):
        model.predict("talks", target="NATO")


@pytest.mark.parametrize("bad", ["", "   \n", None])
def test_bad_texts_raise_clearly(model, bad) -> None:
    with pytest.raises(StanceError, match="text 1 cannot be classified"):
        model.predict(["talks", bad])


def test_undecodable_text_is_refused(model) -> None:
    broken = b"caf\xe9 talks".decode("utf-8", "surrogateescape")
    with pytest.raises(StanceError, match="undecodable"):
        model.predict(broken)


def test_predict_frame_statuses(model) -> None:
    frame = pd.DataFrame(
        {
            "text": pd.Series(["talks", "", None, "x\udc80"], dtype=object),
            "title": "",
            "target": TARGET,
        }
    )
    out = model.predict_frame(frame)
    assert out["status"].tolist() == ["ok", "empty_text", "missing_text", "undecodable"]
    assert out["label"].isna().tolist() == [False, True, True, True]


def test_missing_model_and_bad_card(tmp_path: Path, run: Path) -> None:
    with pytest.raises(ModelFileError, match="no model.skops"):
        stance.load(tmp_path)
    bad = tmp_path / "bad"
    bad.mkdir()
    (bad / "model.skops").write_bytes((run / "model.skops").read_bytes())
    (bad / "model_card.json").write_text("{oops")
    with pytest.raises(ModelFileError, match="model card"):
        stance.load(bad)
    (bad / "model_card.json").write_text(json.dumps({"labels": ["x", "y"]}))
    with pytest.raises(ModelFileError, match="do not cover"):
        stance.load(bad)


def test_import_stance_is_light() -> None:
    code = (
        "import sys, time; t = time.perf_counter(); import stance; dt = time.perf_counter() - t; "
        "bad = [m for m in ('matplotlib', 'hydra', 'torch', 'sklearn', 'pandas') if m in sys.modules]; "
        "print(dt, bad)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    seconds, bad = out.stdout.split(" ", 1)
    assert bad.strip() == "[]"
    assert float(seconds) < 0.5


def test_loading_does_not_import_torch(run: Path) -> None:
    code = f"import sys, stance; stance.load({str(run)!r}); print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_explain_sentence_vectors_by_occlusion_not_by_dimension(monkeypatch) -> None:
    """A linear model over sentence vectors: 'feature_250' would explain nothing."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from stance.features import embeddings
    from stance.inference import StanceModel
    from tests.features.test_text_actors_lexicon import _HashEncoder
    from tests.run_dir_fixtures import training_data

    monkeypatch.setattr(embeddings, "_load_model", lambda name, device: _HashEncoder())
    X, y = training_data()
    pipe = Pipeline(
        [
            ("features", embeddings.SentenceEmbedding(pooling="sentences", cache_dir="")),
            ("clf", LogisticRegression(max_iter=1000)),
        ]
    ).fit(X, y)
    text = "New sanctions deepen the conflict. The weather was mild."
    table = StanceModel(pipe).explain(text, target=TARGET)
    assert table.attrs["method"] == "occlusion"
    assert set(table["feature"]) == {"New sanctions deepen the conflict.", "The weather was mild."}


def test_model_input_is_one_spec_for_corpus_lists_and_tables() -> None:
    """Training, the Python API and predict/tag build the same frame for the same article."""
    from stance.data.stream import InputColumns
    from stance.data.table import MODEL_INPUT_COLUMNS, ModelInput

    corpus = pd.DataFrame(
        {
            "id": ["1"],
            "text": ["Talks resumed."],
            "title": ["Summit"],
            "target": [TARGET],
            "label": ["favor"],
            "group": ["g"],
            "source": ["outlet"],
            "date": ["2020-01-01"],
        }
    )
    table = pd.DataFrame(
        {
            "body": ["Talks resumed."],
            "head": ["Summit"],
            "source": ["outlet"],
            "date": ["2020-01-01"],
        }
    )
    from_corpus = ModelInput.from_corpus(corpus)
    from_lists = ModelInput.from_lists(
        ["Talks resumed."], ["Summit"], TARGET, ["outlet"], ["2020-01-01"]
    )
    batch = InputColumns(text="body", title="head").model_input(table, TARGET)
    assert list(from_corpus.columns) == list(MODEL_INPUT_COLUMNS)
    for frame in (from_lists, ModelInput.conform(batch)):
        pd.testing.assert_frame_equal(
            ModelInput.conform(frame), ModelInput.conform(from_corpus), check_dtype=False
        )
    empty = ModelInput.from_table(pd.DataFrame({"text": ["x"]}), {"text": "text"})
    assert empty.loc[0, ["title", "target", "source", "date"]].tolist() == ["", "", "", ""]


def test_explanations_cut_sentences_like_the_features(model) -> None:
    """One splitter: a sentence ending inside a closing quote is its own unit everywhere
    (the former explanation splitter kept it glued to the next sentence)."""
    from stance.data.sentences import split_sentences
    from stance.features import actors, embeddings, lexicon

    assert actors.split_sentences is embeddings.split_sentences is split_sentences
    assert lexicon.split_sentences is split_sentences
    text = 'He said "talks resumed." Sanctions deepen the conflict.'
    # The features' splitter consumes closing quotes with the boundary; kept as trained.
    assert split_sentences(text) == ['He said "talks resumed.', "Sanctions deepen the conflict."]
    table = model._explain_occlusion(pd.DataFrame({"text": [text], "title": [""]}), "favor")
    assert table["feature"].tolist() == split_sentences(text)

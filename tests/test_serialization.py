"""Compact vocabularies: exact round trip through skops, for any Unicode term."""

from __future__ import annotations

import pandas as pd
import skops.io as sio
from hypothesis import given, settings
from hypothesis import strategies as st

from stance.features.text import NgramTfidf


def _roundtrip(estimator, tmp_path):
    path = tmp_path / "m.skops"
    sio.dump(estimator, path)
    return sio.load(path, trusted=sio.get_untrusted_types(file=path))


def test_vocabulary_survives_skops_exactly(tmp_path):
    X = pd.DataFrame(
        {
            "text": [
                "Москва и Вашингтон 🤝 talks",
                "naïve détente — 東京",
                "talks resumed in Helsinki",
            ],
            "title": ["", "a", "b"],
            "target": "",
        }
    )
    fitted = NgramTfidf(min_df=1, separate=True, analyzer="char_wb", ngram_range=(1, 3)).fit(X)
    loaded = _roundtrip(fitted, tmp_path)
    for a, b in zip(fitted.vectorizers_, loaded.vectorizers_, strict=True):
        assert a.vocabulary_ == b.vocabulary_
        assert not hasattr(b, "stop_words_")
    assert (fitted.transform(X) != loaded.transform(X)).nnz == 0
    assert list(loaded.get_feature_names_out()) == list(fitted.get_feature_names_out())
    # The live estimator keeps its own vocabulary after being saved.
    assert fitted.vectorizer_.vocabulary_


@settings(max_examples=25, deadline=None)
@given(st.lists(st.text(min_size=1, max_size=40), min_size=2, max_size=6))
def test_any_unicode_vocabulary_round_trips(tmp_path_factory, texts):
    X = pd.DataFrame({"text": texts, "title": "", "target": ""})
    fitted = NgramTfidf(min_df=1, analyzer="char", ngram_range=(1, 2), fields=("text",)).fit(X)
    loaded = _roundtrip(fitted, tmp_path_factory.mktemp("v"))
    assert loaded.vectorizer_.vocabulary_ == fitted.vectorizer_.vocabulary_


def test_fit_transform_equals_fit_then_transform():
    X = pd.DataFrame(
        {
            "text": [
                "Putin met Trump in Helsinki.",
                "Sanctions on Russia were extended.",
                "Talks in Helsinki resumed",
                "",
            ],
            "title": ["Summit", "", "Talks", ""],
            "target": "",
        }
    )
    for params in ({}, {"separate": True}, {"analyzer": "char_wb", "ngram_range": (2, 3)}):
        one_pass = NgramTfidf(min_df=1, **params).fit_transform(X)
        two_pass = NgramTfidf(min_df=1, **params).fit(X).transform(X)
        assert one_pass.shape == two_pass.shape
        assert abs(one_pass - two_pass).max() < 1e-12

"""FastTfidfVectorizer must return exactly what scikit-learn's TfidfVectorizer returns."""

from __future__ import annotations

import gzip
import json
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from sklearn.feature_extraction.text import TfidfVectorizer

from stance.features import vectorizer as fast_module
from stance.features.vectorizer import FastTfidfVectorizer

WORDS = [
    "russia",
    "usa",
    "talks",
    "sanctions",
    "Kremlin",
    "café",
    "naïve",
    "ÉTÉ",
    "a",
    "I",
    "peace",
    "war",
]


def _random_docs(seed: int, n: int) -> list[str]:
    rng = random.Random(seed)
    docs = []
    for _ in range(n):
        words = [rng.choice(WORDS) for _ in range(rng.randint(0, 30))]
        docs.append(rng.choice([" ", ", ", ".\n", "—"]).join(words))
    return docs


def assert_same(reference, fast, train, test) -> None:
    A0, A1 = reference.fit_transform(train), fast.fit_transform(train)
    assert reference.vocabulary_ == fast.vocabulary_
    np.testing.assert_array_equal(reference.idf_, fast.idf_)
    for M0, M1 in ((A0, A1), (reference.transform(test), fast.transform(test))):
        assert type(M0) is type(M1)
        assert M0.dtype == M1.dtype and M0.shape == M1.shape
        # Bitwise: same stored order, so even the row-norm rounding agrees.
        np.testing.assert_array_equal(M0.indptr, M1.indptr)
        np.testing.assert_array_equal(M0.indices, M1.indices)
        np.testing.assert_array_equal(M0.data, M1.data)


PARAMS = [
    {"ngram_range": (1, 2), "min_df": 2, "sublinear_tf": True},
    {"ngram_range": (1, 1)},
    {"ngram_range": (2, 2)},
    {"ngram_range": (1, 2), "min_df": 0.1, "max_df": 0.6},
    {"ngram_range": (1, 2), "max_features": 7},
    {"ngram_range": (1, 2), "stop_words": "english", "binary": True},
    {"ngram_range": (1, 2), "lowercase": False, "strip_accents": "unicode"},
    {"ngram_range": (1, 2), "vocabulary": ["russia", "russia usa", "peace talks", "war"]},
]


@pytest.mark.parametrize("params", PARAMS, ids=[str(p) for p in PARAMS])
def test_matches_scikit_learn(params, monkeypatch) -> None:
    # Small chunks and no small-batch shortcut, so the vectorised paths and the
    # chunk boundaries are exercised on test-sized inputs.
    monkeypatch.setattr(fast_module, "_CHUNK", 7)
    monkeypatch.setattr(fast_module, "_MIN_BATCH_FOR_TABLES", 0)
    train, test = _random_docs(0, 60), _random_docs(1, 40) + ["", "unseen words only", "x y z"]
    assert_same(TfidfVectorizer(**params), FastTfidfVectorizer(**params), train, test)


@settings(max_examples=60, deadline=None)
@given(
    train=st.lists(st.text(min_size=0, max_size=60), min_size=1, max_size=12),
    test=st.lists(st.text(min_size=0, max_size=60), min_size=1, max_size=6),
    ngram_range=st.sampled_from([(1, 1), (1, 2), (2, 2)]),
)
def test_matches_scikit_learn_on_any_unicode(train, test, ngram_range) -> None:
    fast_module._MIN_BATCH_FOR_TABLES, saved = 0, fast_module._MIN_BATCH_FOR_TABLES
    try:
        reference, fast = (
            TfidfVectorizer(ngram_range=ngram_range),
            FastTfidfVectorizer(ngram_range=ngram_range),
        )
        try:
            reference.fit(train)
        except ValueError as error:  # empty vocabulary: both must refuse alike
            with pytest.raises(ValueError, match=str(error).split(";")[0]):
                fast.fit(train)
            return
        assert_same(reference, fast, train, test)
    finally:
        fast_module._MIN_BATCH_FOR_TABLES = saved


def test_matches_scikit_learn_on_real_articles(data_dir) -> None:
    path = data_dir / "allsides" / "articles.jsonl.gz"
    docs = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            docs.append(f"{record.get('title') or ''}\n{record.get('content') or ''}")
            if len(docs) == 400:
                break
    params = {"ngram_range": (1, 2), "min_df": 2, "sublinear_tf": True}
    assert_same(TfidfVectorizer(**params), FastTfidfVectorizer(**params), docs[:300], docs[300:])


def test_falls_back_to_scikit_learn_for_other_analyzers() -> None:
    docs = _random_docs(2, 80)
    for params in (
        {"analyzer": "char_wb", "ngram_range": (2, 4)},
        {"ngram_range": (1, 3)},
        {"token_pattern": r"\S+"},
    ):
        assert_same(TfidfVectorizer(**params), FastTfidfVectorizer(**params), docs, docs[::-1])


def test_lookup_tables_are_not_saved_and_are_rebuilt_after_refit(monkeypatch) -> None:
    monkeypatch.setattr(fast_module, "_MIN_BATCH_FOR_TABLES", 0)
    vec = FastTfidfVectorizer().fit(["russia usa talks", "usa talks"])
    vec.transform(["russia talks"])
    assert "_fast_tables" in vec.__dict__
    assert "_fast_tables" not in vec.__getstate__()
    vec.fit(["peace war", "war peace peace"])
    assert vec.transform(["peace"]).nnz == 1  # stale tables would find nothing

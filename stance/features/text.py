"""N-gram TF-IDF over one or more text fields of the model-input frame."""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from stance.features._util import ModelInputMixin, as_tuple, check_frame, plain
from stance.features.vectorizer import FastTfidfVectorizer
from stance.serialization import CompactVocabularyMixin

ANALYZERS = ("word", "char", "char_wb")


def require_columns(X: pd.DataFrame, fields: Sequence[str]) -> None:
    """A clear error when the model input lacks a column a feature reads."""
    missing = [f for f in fields if f not in X.columns]
    if missing:
        raise ValueError(f"model input lacks column(s) {missing}; has {list(X.columns)}")


def field_documents(
    X: pd.DataFrame, fields: Sequence[str], max_chars: int | None = None
) -> list[str]:
    """Join ``fields`` of each row with newlines, optionally truncated to ``max_chars``."""
    require_columns(X, fields)
    docs = X[list(fields)].fillna("").astype(str).agg("\n".join, axis=1).tolist()
    if max_chars:
        docs = [d[:max_chars] for d in docs]
    return docs


def make_tfidf(analyzer: str, ngram_range: Sequence[int], **params: Any) -> TfidfVectorizer:
    """The one place a TfidfVectorizer is configured for every n-gram feature block.

    Returns :class:`FastTfidfVectorizer`: same parameters and output as
    scikit-learn's, with word 1–2-grams counted about twice as fast. Values are
    float32: TF-IDF weights need no more precision, the matrix is a third
    smaller, and logistic regression (lbfgs keeps float32) fits ~1.5× faster.
    """
    if analyzer not in ANALYZERS:
        raise ValueError(f"analyzer must be one of {ANALYZERS}, got {analyzer!r}")
    return FastTfidfVectorizer(
        analyzer=analyzer, ngram_range=as_tuple(ngram_range), dtype=np.float32, **params
    )


def fit_transform_vectorizer(vec: TfidfVectorizer, docs: list[str]):
    """Fit ``vec`` and return ``(vec, matrix)`` tokenising ``docs`` once, not twice."""
    try:
        return vec, vec.fit_transform(docs)
    except ValueError:
        vec = fit_vectorizer(vec, docs)
        return vec, vec.transform(docs)


def fit_vectorizer(vec: TfidfVectorizer, docs: list[str]) -> TfidfVectorizer:
    """Fit ``vec``; if nothing survives (empty titles, tiny data) fall back to a
    one-column placeholder vocabulary so the block contributes zeros, not an error."""
    try:
        return vec.fit(docs)
    except ValueError:
        return TfidfVectorizer(vocabulary=[EMPTY_TOKEN], dtype=np.float32).fit(docs)


EMPTY_TOKEN = "zzemptyvocabularyzz"


class NgramTfidf(ModelInputMixin, CompactVocabularyMixin, TransformerMixin, BaseEstimator):
    """TF-IDF of word or character n-grams over the text ``fields`` of the model input.

    When to use: the default, strong and fast representation for any stance or
    leaning task. Word 1–2-grams carry topic and evaluative words; character
    3–5-grams (``analyzer="char_wb"``) add robustness to spelling, hashtags and
    morphology (good on tweets) but also learn an outlet's house style, which
    hurts when test outlets are unseen.

    Parameters
    ----------
    fields:
        Columns to featurise (``title``, ``text``, even ``target``).
    separate:
        ``False``: one vectoriser over the fields joined by newlines (title and
        body share a vocabulary). ``True``: one vectoriser per field, stacked,
        so a word in the headline is a different feature from the same word in
        the body.
    analyzer, ngram_range, min_df, max_df, max_features, sublinear_tf, lowercase,
    binary, stop_words:
        As in :class:`sklearn.feature_extraction.text.TfidfVectorizer`.
    max_chars:
        Truncate each document to this many characters first (long articles);
        ``None`` or ``0`` keeps them whole.

    Attributes
    ----------
    vectorizers_ : list of TfidfVectorizer
        One fitted vectoriser per field group (one unless ``separate``).
    vectorizer_ : TfidfVectorizer
        The first (or only) of ``vectorizers_``.
    n_features_in_ : int
        Number of columns of the frame seen in ``fit``.
    feature_names_in_ : ndarray of str
        Those columns' names.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"text": ["good deal", "bad deal"], "title": ["", ""], "target": ["a", "a"]})
    >>> NgramTfidf(min_df=1).fit_transform(X).shape[0]
    2
    """

    _vectorizer_attributes = ("vectorizers_",)
    _parameter_constraints: dict = {
        "fields": [str, Sequence],
        "analyzer": [StrOptions(set(ANALYZERS))],
        "ngram_range": [Sequence],
        "min_df": TfidfVectorizer._parameter_constraints["min_df"],
        "max_df": TfidfVectorizer._parameter_constraints["max_df"],
        "max_features": TfidfVectorizer._parameter_constraints["max_features"],
        "sublinear_tf": ["boolean"],
        "lowercase": ["boolean"],
        "separate": ["boolean"],
        "binary": ["boolean"],
        "stop_words": [StrOptions({"english"}), Sequence, None],
        "max_chars": [Interval(Integral, 0, None, closed="left"), None],
    }

    def __init__(
        self,
        fields: Sequence[str] = ("title", "text"),
        analyzer: str = "word",
        ngram_range: Sequence[int] = (1, 2),
        min_df: int | float = 2,
        max_df: float = 1.0,
        max_features: int | None = None,
        sublinear_tf: bool = True,
        lowercase: bool = True,
        separate: bool = False,
        binary: bool = False,
        stop_words: str | None = None,
        max_chars: int | None = None,
    ):
        self.fields = fields
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.lowercase = lowercase
        self.separate = separate
        self.binary = binary
        self.stop_words = stop_words
        self.max_chars = max_chars

    def _vectorizer(self) -> TfidfVectorizer:
        return make_tfidf(
            self.analyzer,
            self.ngram_range,
            min_df=self.min_df,
            max_df=self.max_df,
            max_features=self.max_features,
            sublinear_tf=self.sublinear_tf,
            lowercase=self.lowercase,
            binary=self.binary,
            stop_words=plain(self.stop_words),
        )

    def _groups(self) -> list[tuple[str, ...]]:
        fields = (self.fields,) if isinstance(self.fields, str) else tuple(plain(self.fields))
        return [(f,) for f in fields] if self.separate else [fields]

    def _documents(self, X: pd.DataFrame) -> list[str]:
        return field_documents(X, self._groups()[0], self.max_chars)

    def _start_fit(self, X: pd.DataFrame) -> None:
        self._validate_params()
        check_frame(self, X, reset=True)

    def fit(self, X: pd.DataFrame, y=None) -> NgramTfidf:
        """Learn each field group's vocabulary and IDF weights."""
        self._start_fit(X)
        self.vectorizers_ = []
        for group in self._groups():
            docs = field_documents(X, group, self.max_chars)
            self.vectorizers_.append(fit_vectorizer(self._vectorizer(), docs))
        return self

    @property
    def vectorizer_(self):
        """The first (or only) fitted vectorizer."""
        return self.vectorizers_[0]

    def transform(self, X: pd.DataFrame):
        """Sparse TF-IDF rows (CSR), one block per field group side by side."""
        check_is_fitted(self)
        check_frame(self, X)
        blocks = [
            vec.transform(field_documents(X, group, self.max_chars))
            for vec, group in zip(self.vectorizers_, self._groups(), strict=False)
        ]
        return blocks[0].tocsr() if len(blocks) == 1 else sp.hstack(blocks, format="csr")

    def fit_transform(self, X: pd.DataFrame, y=None, **fit_params):
        # Tokenising is most of the cost: fit and transform in one pass per block.
        self._start_fit(X)
        self.vectorizers_, blocks = [], []
        for group in self._groups():
            vec, block = fit_transform_vectorizer(
                self._vectorizer(), field_documents(X, group, self.max_chars)
            )
            self.vectorizers_.append(vec)
            blocks.append(block)
        return blocks[0].tocsr() if len(blocks) == 1 else sp.hstack(blocks, format="csr")

    def get_feature_names_out(self, input_features=None):
        """``"<fields>:<n-gram>"`` per output column."""
        check_is_fitted(self)
        names = []
        for vec, group in zip(self.vectorizers_, self._groups(), strict=False):
            prefix = "+".join(group)
            names += [f"{prefix}:{name}" for name in vec.get_feature_names_out()]
        return np.asarray(names, dtype=object)

"""N-gram TF-IDF over one or more text fields of the model-input frame."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer


class NgramTfidf(TransformerMixin, BaseEstimator):
    """TF-IDF of word or character n-grams over the concatenation of ``fields``."""

    def __init__(self, fields: Sequence[str] = ("title", "text"), analyzer: str = "word",
                 ngram_range: Sequence[int] = (1, 2), min_df: int | float = 2,
                 max_df: float = 1.0, max_features: int | None = None, sublinear_tf: bool = True,
                 lowercase: bool = True):
        self.fields = fields
        self.analyzer = analyzer
        self.ngram_range = ngram_range
        self.min_df = min_df
        self.max_df = max_df
        self.max_features = max_features
        self.sublinear_tf = sublinear_tf
        self.lowercase = lowercase

    def _documents(self, X: pd.DataFrame) -> list[str]:
        return X[list(self.fields)].agg("\n".join, axis=1).tolist()

    def fit(self, X: pd.DataFrame, y=None) -> NgramTfidf:
        self.vectorizer_ = TfidfVectorizer(
            analyzer=self.analyzer, ngram_range=tuple(self.ngram_range), min_df=self.min_df,
            max_df=self.max_df, max_features=self.max_features, sublinear_tf=self.sublinear_tf,
            lowercase=self.lowercase, dtype=float,
        )
        self.vectorizer_.fit(self._documents(X))
        return self

    def transform(self, X: pd.DataFrame):
        return self.vectorizer_.transform(self._documents(X))

    def fit_transform(self, X: pd.DataFrame, y=None, **fit_params):
        self.fit(X)
        return self.transform(X)

    def get_feature_names_out(self, input_features=None):
        prefix = "+".join(self.fields)
        return [f"{prefix}:{name}" for name in self.vectorizer_.get_feature_names_out()]

"""Cleaning scraped article text (minimal version; extended in the data layer)."""

from __future__ import annotations

import re

import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin


def clean_article(text: str) -> str:
    """Normalise whitespace; keep paragraph breaks."""
    paragraphs = [re.sub(r"[ \t]+", " ", p).strip() for p in re.split(r"\n\s*\n", text)]
    return "\n\n".join(p for p in paragraphs if p)


class TextCleaner(TransformerMixin, BaseEstimator):
    """Clean the ``text`` and ``title`` columns of a model-input frame (stateless)."""

    def __init__(self, enabled: bool = True):
        self.enabled = enabled

    def fit(self, X: pd.DataFrame, y=None) -> TextCleaner:
        return self

    def transform(self, X: pd.DataFrame) -> pd.DataFrame:
        if not self.enabled:
            return X
        out = X.copy()
        for column in ("text", "title"):
            if column in out.columns:
                out[column] = out[column].map(clean_article)
        return out

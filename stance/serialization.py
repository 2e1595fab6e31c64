"""Fast, safe skops files for estimators that hold fitted text vectorizers.

skops writes a Python dict entry by entry, so a fitted ``TfidfVectorizer``
with a 200k-term ``vocabulary_`` takes minutes to save and seconds to load.
:class:`CompactVocabularyMixin` stores each vocabulary as one NumPy string
array instead (milliseconds either way) and drops ``stop_words_``, which
scikit-learn documents as safe to remove before saving. Mix it into any
estimator whose fitted attributes are vectorizers and list those attributes in
``_vectorizer_attributes``.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

_TERMS_SUFFIX = "__terms"


def _compact(vectorizer: Any) -> tuple[Any, np.ndarray | None]:
    vocabulary = getattr(vectorizer, "vocabulary_", None)
    if not isinstance(vocabulary, dict):
        return vectorizer, None
    terms = np.empty(len(vocabulary), dtype=object)
    for term, index in vocabulary.items():
        terms[index] = term
    slim = copy.copy(vectorizer)
    del slim.vocabulary_
    if hasattr(slim, "stop_words_"):
        del slim.stop_words_
    return slim, terms.astype(str)


def _restore(vectorizer: Any, terms: np.ndarray) -> Any:
    vectorizer.vocabulary_ = {str(term): i for i, term in enumerate(terms.tolist())}
    return vectorizer


class CompactVocabularyMixin:
    """Serialise the named fitted vectorizer attributes with array vocabularies."""

    _vectorizer_attributes: tuple[str, ...] = ("vectorizer_",)

    def __getstate__(self) -> dict:
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__.copy()
        state = dict(state)
        for name in self._vectorizer_attributes:
            value = state.get(name)
            if value is None:
                continue
            values = value if isinstance(value, list) else [value]
            slim_list, terms_list = [], []
            for vectorizer in values:
                slim, terms = _compact(vectorizer)
                slim_list.append(slim)
                terms_list.append(terms if terms is not None else np.array([], dtype=str))
            state[name] = slim_list if isinstance(value, list) else slim_list[0]
            state[name + _TERMS_SUFFIX] = terms_list if isinstance(value, list) else terms_list[0]
        return state

    def __setstate__(self, state: dict) -> None:
        state = dict(state)
        for name in self._vectorizer_attributes:
            key = name + _TERMS_SUFFIX
            if key not in state:
                continue
            terms = state.pop(key)
            value = state.get(name)
            if isinstance(value, list):
                for vectorizer, vocab in zip(value, terms, strict=True):
                    if len(vocab):
                        _restore(vectorizer, vocab)
            elif value is not None and len(terms):
                _restore(value, terms)
        if hasattr(super(), "__setstate__"):
            super().__setstate__(state)
        else:
            self.__dict__.update(state)

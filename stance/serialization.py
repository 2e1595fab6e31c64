"""Fast, safe skops files for estimators that hold fitted text vectorizers.

skops writes a Python dict entry by entry, so a fitted ``TfidfVectorizer``
with a 200k-term ``vocabulary_`` takes minutes to save and seconds to load.
:class:`CompactVocabularyMixin` stores each vocabulary as one UTF-8 byte array
and an array of lengths instead (milliseconds either way) and drops ``stop_words_``, which
scikit-learn documents as safe to remove before saving. Mix it into any
estimator whose fitted attributes are vectorizers and list those attributes in
``_vectorizer_attributes``.
"""

from __future__ import annotations

import copy
from typing import Any

import numpy as np

_TERMS_SUFFIX = "__terms"


def _compact(vectorizer: Any) -> tuple[Any, dict[str, np.ndarray] | None]:
    vocabulary = getattr(vectorizer, "vocabulary_", None)
    if not isinstance(vocabulary, dict):
        return vectorizer, None
    terms: list[str] = [""] * len(vocabulary)
    for term, index in vocabulary.items():
        terms[index] = term
    # UTF-8 bytes plus lengths: exact for any term, and no fixed-width padding
    # (a NumPy "<U" array pads every term to the longest one).
    encoded = [term.encode("utf-8") for term in terms]
    packed = {
        "bytes": np.frombuffer(b"".join(encoded), dtype=np.uint8).copy(),
        "lengths": np.fromiter((len(e) for e in encoded), dtype=np.int64, count=len(encoded)),
    }
    slim = copy.copy(vectorizer)
    del slim.vocabulary_
    if hasattr(slim, "stop_words_"):
        del slim.stop_words_
    return slim, packed


def _restore(vectorizer: Any, packed: dict[str, np.ndarray]) -> Any:
    blob = packed["bytes"].tobytes()
    ends = np.cumsum(packed["lengths"]).tolist()
    starts = [0, *ends[:-1]]
    vectorizer.vocabulary_ = {
        blob[a:b].decode("utf-8"): i for i, (a, b) in enumerate(zip(starts, ends, strict=True))
    }
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
                terms_list.append(terms)
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
                    if vocab is not None:
                        _restore(vectorizer, vocab)
            elif value is not None and terms is not None:
                _restore(value, terms)
        if hasattr(super(), "__setstate__"):
            super().__setstate__(state)
        else:
            self.__dict__.update(state)

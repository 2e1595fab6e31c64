"""A ``TfidfVectorizer`` whose word 1–2-gram counting runs in NumPy.

Why this exists: on news articles (≈6,000 characters, ≈1,900 n-grams each)
scikit-learn's ``CountVectorizer._count_vocab`` spends most of its time in a
Python loop that builds every bigram string and looks it up one by one
(≈500 articles/s per core to fit, ≈650/s to transform). That loop is the
bottleneck of both a training run and ``stance tag``.

:class:`FastTfidfVectorizer` overrides only that counting step. Tokens are
mapped to integer ids once per occurrence; bigrams become ``int64`` keys built
with array arithmetic; counting is ``np.unique``. Everything else — the
preprocessor, tokenizer, stop words, ``min_df``/``max_df``/``max_features``
pruning, the alphabetical feature order, IDF weighting — is scikit-learn's own
code, so the output is identical (``tests/test_fast_vectorizer.py`` checks
this against ``TfidfVectorizer`` on random and real text). Anything the fast
path does not cover (character analyzers, callables, custom token patterns,
n > 2, tiny batches) falls through to scikit-learn unchanged.
"""

from __future__ import annotations

import re
from collections import defaultdict
from numbers import Integral
from typing import Any

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.feature_extraction.text import TfidfVectorizer

try:  # scikit-learn >= 1.8 returns sparse arrays or matrices to match the config
    from sklearn.utils._sparse import _align_api_if_sparse
except ImportError:  # pragma: no cover - older scikit-learn

    def _align_api_if_sparse(X):
        return X


_DEFAULT_TOKEN_PATTERN = r"(?u)\b\w\w+\b"
# Same matches as the default pattern (every maximal run of 2+ word characters:
# a greedy run always ends at a word boundary), 20% faster without the \b checks.
_WORD_RUNS = re.compile(r"\w\w+")
_BIGRAM_SHIFT = 31  # bigram key = ((first + 1) << 31) + second; unigram key = id
_MAX_TOKEN_ID = (1 << _BIGRAM_SHIFT) - 1
# Below this many documents the lookup tables cost more than they save
# (a cold `stance predict` of one article should not build them).
_MIN_BATCH_FOR_TABLES = 64
_CHUNK = 1024


def _count_matrix(rows: np.ndarray, columns: np.ndarray, n_rows: int, n_columns: int):
    """Occurrences of (row, column) counted into an intc CSR matrix."""
    counts = sp.csr_array(
        (np.ones(len(rows), dtype=np.intc), (rows, columns)), shape=(n_rows, n_columns)
    )
    counts.sum_duplicates()  # sorts each row's indices and adds repeats
    return counts


class _UnknownIsMinusOne(dict):
    """Token → id, with -1 for tokens the vocabulary never uses (looked up in C)."""

    def __missing__(self, key: str) -> int:
        return -1


class FastTfidfVectorizer(TfidfVectorizer):
    """:class:`~sklearn.feature_extraction.text.TfidfVectorizer` with fast word n-gram counts.

    When to use: always in place of ``TfidfVectorizer`` for word 1–2-grams; it
    takes the same parameters and returns the same matrix, 3–4× faster on
    article-length text. Saved models hold no extra state (the lookup tables
    are rebuilt from ``vocabulary_`` on first use).
    """

    # ---- when the fast path applies --------------------------------------

    def _fast_path_applies(self) -> bool:
        min_n, max_n = self.ngram_range
        return (
            self.analyzer == "word"
            and self.tokenizer is None
            and self.token_pattern == _DEFAULT_TOKEN_PATTERN
            and 1 <= min_n <= max_n <= 2
        )

    def _tokens_per_document(self, raw_documents):
        """Yield each document's token list exactly as scikit-learn's analyzer sees it."""
        preprocess = self.build_preprocessor()
        tokenize = _WORD_RUNS.findall
        stop_words = self.get_stop_words()
        decode = self.decode
        for doc in raw_documents:
            tokens = tokenize(preprocess(decode(doc)))
            if stop_words is not None:
                tokens = [w for w in tokens if w not in stop_words]
            yield tokens

    # ---- counting ----------------------------------------------------------

    def _count_vocab(self, raw_documents, fixed_vocab):
        if not self._fast_path_applies():
            return super()._count_vocab(raw_documents, fixed_vocab)
        if fixed_vocab:
            documents = raw_documents if isinstance(raw_documents, list) else list(raw_documents)
            if len(documents) < _MIN_BATCH_FOR_TABLES:
                return super()._count_vocab(documents, fixed_vocab)
            return self.vocabulary_, self._count_fixed(documents)
        return self._count_learning(raw_documents)

    def _gram_keys(self, ids: np.ndarray, starts: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Keys of every n-gram in a chunk of concatenated token ids, and their document.

        ``ids`` holds the token ids of several documents back to back and
        ``starts`` the offset of each document (plus the total at the end).
        Bigrams spanning two documents, or touching a token id < 0 (a token
        outside the vocabulary), are dropped. The keys come out in the order
        scikit-learn's analyzer yields n-grams: per document, its unigrams in
        text order, then its bigrams.
        """
        min_n, max_n = self.ngram_range
        n_docs = len(starts) - 1
        doc_of_token = np.repeat(np.arange(n_docs), np.diff(starts))
        blocks = []  # (keys, docs) per n, each grouped by document
        if min_n == 1:
            known = ids >= 0
            blocks.append((ids[known], doc_of_token[known]))
        if max_n == 2:
            first, second = ids[:-1], ids[1:]
            ok = (doc_of_token[:-1] == doc_of_token[1:]) & (first >= 0) & (second >= 0)
            blocks.append((((first[ok] + 1) << _BIGRAM_SHIFT) + second[ok], doc_of_token[:-1][ok]))
        if len(blocks) == 1:
            return blocks[0]
        # Interleave the two blocks document by document (a stable merge by doc).
        sizes = np.stack([np.bincount(docs, minlength=n_docs) for _, docs in blocks])
        doc_offset = np.concatenate([[0], np.cumsum(sizes.sum(axis=0))[:-1]])
        keys = np.empty(int(sizes.sum()), dtype=np.int64)
        docs_out = np.empty_like(keys)
        before = np.zeros(n_docs, dtype=np.int64)  # slots taken by earlier blocks
        for (block_keys, block_docs), block_sizes in zip(blocks, sizes, strict=True):
            block_start = np.concatenate([[0], np.cumsum(block_sizes)[:-1]])
            rank = np.arange(len(block_keys)) - block_start[block_docs]
            slot = doc_offset[block_docs] + before[block_docs] + rank
            keys[slot] = block_keys
            docs_out[slot] = block_docs
            before += block_sizes
        return keys, docs_out

    def _chunks(self, raw_documents, token_id):
        """Yield ``(ids, starts)`` for chunks of documents, ids from ``token_id(tokens)``."""
        ids: list[int] = []
        starts = [0]
        for tokens in self._tokens_per_document(raw_documents):
            ids.extend(token_id(tokens))
            starts.append(len(ids))
            if len(starts) > _CHUNK:
                yield np.asarray(ids, dtype=np.int64), np.asarray(starts, dtype=np.int64)
                ids, starts = [], [0]
        if len(starts) > 1:
            yield np.asarray(ids, dtype=np.int64), np.asarray(starts, dtype=np.int64)

    def _count_learning(self, raw_documents):
        """Fit-time counting: a provisional vocabulary of every n-gram seen.

        Provisional column numbers follow first appearance, as scikit-learn's
        ``defaultdict`` does, so even the order of stored values (and with it
        the floating-point rounding of the row norms) matches scikit-learn.
        """
        token_ids: defaultdict[str, int] = defaultdict()
        token_ids.default_factory = token_ids.__len__  # a new token gets the next id

        def token_id(tokens: list[str]):
            return map(token_ids.__getitem__, tokens)

        chunk_counts, chunk_uniques = [], []
        for ids, starts in self._chunks(raw_documents, token_id):
            if len(token_ids) > _MAX_TOKEN_ID:  # ~2 billion distinct tokens: not a real corpus
                raise ValueError("too many distinct tokens for int64 bigram keys")
            keys, docs = self._gram_keys(ids, starts)
            codes, uniques = pd.factorize(keys)  # uniques in order of first appearance
            # Count each chunk at once: memory then scales with distinct
            # n-grams per document, not with every occurrence in the corpus.
            chunk_counts.append(_count_matrix(docs, codes, len(starts) - 1, len(uniques)))
            chunk_uniques.append(uniques)
        if not chunk_uniques or not sum(len(u) for u in chunk_uniques):
            raise ValueError("empty vocabulary; perhaps the documents only contain stop words")
        global_codes, all_keys = pd.factorize(np.concatenate(chunk_uniques))
        offset = 0
        for i, (counts, uniques) in enumerate(zip(chunk_counts, chunk_uniques, strict=True)):
            chunk_counts[i] = sp.csr_array(
                (counts.data, global_codes[offset + counts.indices], counts.indptr),
                shape=(counts.shape[0], len(all_keys)),
            )
            offset += len(uniques)
        X = self._stack(chunk_counts, len(all_keys))
        X, all_keys = self._drop_below_min_df(X, all_keys)
        terms = self._key_terms(all_keys, token_ids)
        vocabulary = dict(zip(terms, range(len(terms)), strict=True))
        return vocabulary, X

    def _drop_below_min_df(self, X, keys: np.ndarray):
        """Drop n-grams that ``min_df`` will prune anyway, before their strings exist.

        scikit-learn's ``_limit_features`` removes them a few steps later with
        the same threshold; dropping them here keeps the relative order of the
        rest, so its result is unchanged, but saves building, sorting and
        deleting millions of one-off n-gram strings. If nothing would survive,
        nothing is dropped, so scikit-learn raises its usual error.
        """
        n_docs = X.shape[0]
        low = self.min_df if isinstance(self.min_df, Integral) else self.min_df * n_docs
        document_frequency = np.bincount(X.indices, minlength=X.shape[1])
        keep = document_frequency >= low
        if keep.all() or not keep.any():
            return X, keys
        kept = np.flatnonzero(keep)
        return _align_api_if_sparse(sp.csr_array(X)[:, kept]), keys[kept]

    @staticmethod
    def _key_terms(keys: np.ndarray, token_ids: dict[str, int]) -> list[str]:
        """The n-gram string of each key (only distinct n-grams are ever joined)."""
        tokens = list(token_ids)
        first = (keys >> _BIGRAM_SHIFT) - 1
        second = keys & _MAX_TOKEN_ID
        return [
            tokens[b] if a < 0 else f"{tokens[a]} {tokens[b]}"
            for a, b in zip(first.tolist(), second.tolist(), strict=True)
        ]

    def _lookup_tables(self) -> dict[str, Any]:
        """Token ids, unigram columns and a bigram hash index for the fitted vocabulary.

        Cached on the instance but never saved; rebuilt if ``vocabulary_`` changes.
        """
        tables = self.__dict__.get("_fast_tables")
        if tables is not None and tables["vocabulary"] is self.vocabulary_:
            return tables
        token_ids = _UnknownIsMinusOne()
        setdefault = token_ids.setdefault
        unigrams: list[tuple[int, int]] = []
        bigram_keys, bigram_columns = [], []
        for term, column in self.vocabulary_.items():
            parts = term.split(" ")
            if len(parts) == 1:
                unigrams.append((setdefault(parts[0], len(token_ids)), column))
            elif len(parts) == 2:
                a = setdefault(parts[0], len(token_ids))
                bigram_keys.append(
                    ((a + 1) << _BIGRAM_SHIFT) + setdefault(parts[1], len(token_ids))
                )
                bigram_columns.append(column)
            # else: a term the default tokenizer cannot produce; it never matches
        unigram_column = np.full(len(token_ids) + 1, -1, dtype=np.int64)  # [-1] → -1
        for token, column in unigrams:
            unigram_column[token] = column
        tables = {
            "vocabulary": self.vocabulary_,
            "token_ids": token_ids,
            "unigram_column": unigram_column,
            "bigram_index": pd.Index(np.asarray(bigram_keys, dtype=np.int64)),
            "bigram_columns": np.asarray(bigram_columns + [-1], dtype=np.int64),  # [-1] → -1
        }
        self.__dict__["_fast_tables"] = tables
        return tables

    def _count_fixed(self, documents: list) -> Any:
        """Transform-time counting against the fitted vocabulary."""
        tables = self._lookup_tables()
        lookup = tables["token_ids"].__getitem__
        unigram_column = tables["unigram_column"]
        bigram_index, bigram_columns = tables["bigram_index"], tables["bigram_columns"]

        def token_id(tokens: list[str]):
            return map(lookup, tokens)

        n_columns = len(self.vocabulary_)
        pieces = []
        for ids, starts in self._chunks(documents, token_id):
            keys, docs = self._gram_keys(ids, starts)
            is_bigram = keys > _MAX_TOKEN_ID
            column = np.where(
                is_bigram,
                bigram_columns[bigram_index.get_indexer(np.where(is_bigram, keys, -1))],
                unigram_column[np.where(is_bigram, -1, keys)],
            )
            hit = column >= 0
            pieces.append(_count_matrix(docs[hit], column[hit], len(starts) - 1, n_columns))
        return self._stack(pieces, n_columns)

    def _stack(self, pieces: list, n_columns: int):
        """Stack per-chunk counts into the matrix scikit-learn builds: intc counts
        as ``self.dtype`` values, sorted column indices, int32 indices if they fit."""
        if not pieces:
            X = sp.csr_array((0, n_columns), dtype=self.dtype)
        else:
            counts = pieces[0] if len(pieces) == 1 else sp.vstack(pieces, format="csr")
            nnz = counts.indptr[-1]
            index_dtype = np.int64 if nnz > np.iinfo(np.int32).max else np.int32
            X = sp.csr_array(
                (
                    counts.data,
                    counts.indices.astype(index_dtype, copy=False),
                    counts.indptr.astype(index_dtype, copy=False),
                ),
                shape=(counts.shape[0], n_columns),
                dtype=self.dtype,
            )
        X.sort_indices()
        return _align_api_if_sparse(X)

    def __getstate__(self) -> dict:
        state = super().__getstate__() if hasattr(super(), "__getstate__") else self.__dict__.copy()
        state = dict(state)
        state.pop("_fast_tables", None)
        return state

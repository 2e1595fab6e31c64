"""Leakage guards: test articles that also appear (exactly or nearly) in train.

News corpora repeat stories: wire copy syndicated across outlets, one article
crawled twice, a headline reused. A test row whose twin is in train inflates
scores, so the experiment runner reports (and can drop) such rows.

Near-duplicates are found with word 5-shingle Jaccard similarity: shingles are
hashed into a sparse binary matrix (scikit-learn ``HashingVectorizer``), very
common shingles (boilerplate) are left out of candidate generation so the sparse
product stays cheap, and each candidate pair's exact Jaccard is then computed on
its full shingle sets.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import pandas as pd
import scipy.sparse as sp

DUPLICATE_COLUMNS = ("test_id", "train_id", "kind", "similarity")
KINDS = ("exact_text", "same_title", "near_text")


def _normalise(values: pd.Series) -> pd.Series:
    return values.fillna("").astype(str).str.casefold().str.split().str.join(" ")


def _exact_keys(values: pd.Series) -> pd.Series:
    """Stripped text as the key for exact copies (cheap on 200 MB of news)."""
    return values.fillna("").astype(str).str.strip()


def _key_pairs(test_keys: pd.Series, train_keys: pd.Series) -> set[tuple[int, int]]:
    """Positional (test, train) pairs whose non-empty keys are equal."""
    train_index: dict[str, list[int]] = {}
    for j, key in enumerate(train_keys):
        if key:
            train_index.setdefault(key, []).append(j)
    return {(i, j) for i, key in enumerate(test_keys) if key for j in train_index.get(key, ())}


_P = np.uint64(1099511628211)
_Q = np.uint64(0x9E3779B97F4A7C15)
_MIX = np.uint64(0xBF58476D1CE4E5B9)
_POW = np.cumprod(np.full(64, _P, dtype=np.uint64)) // _P  # P**0 .. P**63, wrapping


#: Documents shingled per NumPy pass. The pass holds ~40 bytes per character,
#: so one pass over 28k AllSides articles peaked at 4.4 GB; 2,048 keeps it ~250 MB.
SHINGLE_CHUNK = 2048


def shingle_matrix(
    texts: Sequence[str], size: int = 5, max_chars: int | None = 3000, bits: int = 22
) -> sp.csr_matrix:
    """Binary document × hashed word-``size``-shingle matrix, vectorised in numpy.

    Words are runs of ASCII letters/digits or non-ASCII bytes, lower-cased, so
    punctuation and whitespace differences do not matter. Only the first
    ``max_chars`` characters of each text are shingled (``None``: all): copies
    of one article share their opening, and this keeps 35k long news articles
    to a few seconds. A pure-Python tokenizer (or ``HashingVectorizer``) is
    about ten times slower on AllSides. Documents are processed in chunks of
    :data:`SHINGLE_CHUNK` so memory stays flat on large corpora.
    """
    texts = list(texts)
    if len(texts) <= SHINGLE_CHUNK:
        return _shingle_block(texts, size, max_chars, bits)
    blocks = [
        _shingle_block(texts[i : i + SHINGLE_CHUNK], size, max_chars, bits)
        for i in range(0, len(texts), SHINGLE_CHUNK)
    ]
    return sp.vstack(blocks, format="csr")


def _shingle_block(
    texts: Sequence[str], size: int, max_chars: int | None, bits: int
) -> sp.csr_matrix:
    n = len(texts)
    encoded = [
        (t if isinstance(t, str) else "")[:max_chars].lower().encode("utf-8", "replace")
        for t in texts
    ]
    empty = sp.csr_matrix((n, 1 << bits), dtype=np.float32)
    if n == 0:
        return empty
    doc_start = np.zeros(n, dtype=np.int64)
    np.cumsum([len(e) + 1 for e in encoded[:-1]], out=doc_start[1:])
    data = np.frombuffer(b"\n".join(encoded) + b"\n", dtype=np.uint8)
    word = ((data >= 48) & (data <= 57)) | ((data >= 97) & (data <= 122)) | (data >= 128)
    first = word.copy()
    first[1:] &= ~word[:-1]
    starts = np.flatnonzero(first).astype(np.int64)
    if len(starts) < size:
        return empty
    position = np.arange(len(data), dtype=np.int32)
    start_of = np.maximum.accumulate(np.where(first, position, 0))
    local = np.minimum(position - start_of, 63)
    values = np.where(word, data.astype(np.uint64) * _POW[local], np.uint64(0))
    word_hash = np.add.reduceat(values, starts)
    word_hash ^= word_hash >> np.uint64(31)
    word_hash *= _MIX
    word_hash ^= word_hash >> np.uint64(29)
    word_doc = np.searchsorted(doc_start, starts, side="right") - 1
    m = len(word_hash) - size + 1
    shingle = np.zeros(m, dtype=np.uint64)
    for k in range(size):
        shingle = shingle * _Q + word_hash[k : k + m]
    same_doc = word_doc[:m] == word_doc[size - 1 :]
    cols = (shingle[same_doc] >> np.uint64(64 - bits)).astype(np.int64)
    rows = word_doc[:m][same_doc]
    matrix = sp.csr_matrix(
        (np.ones(len(cols), dtype=np.float32), (rows, cols)), shape=(n, 1 << bits)
    )
    matrix.sum_duplicates()
    matrix.data[:] = 1.0
    return matrix


def _row_jaccard(
    a: sp.csr_matrix, b: sp.csr_matrix, rows_a: np.ndarray, rows_b: np.ndarray
) -> np.ndarray:
    if len(rows_a) == 0:
        return np.zeros(0)
    left, right = a[rows_a], b[rows_b]
    inter = np.asarray(left.multiply(right).sum(axis=1)).ravel()
    size_a = np.asarray(left.sum(axis=1)).ravel()
    size_b = np.asarray(right.sum(axis=1)).ravel()
    union = size_a + size_b - inter
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(union > 0, inter / union, 0.0)


def cross_split_duplicates(
    train: pd.DataFrame,
    test: pd.DataFrame,
    threshold: float = 0.8,
    shingle_size: int = 5,
    max_df: int = 50,
    max_chars: int | None = 3000,
) -> pd.DataFrame:
    """Pairs (test row, train row) that are the same article or nearly so.

    Parameters
    ----------
    train, test:
        Corpus-table frames (``id``, ``text``, optionally ``title``).
    threshold:
        Shingle Jaccard at or above which two texts count as near duplicates.
    max_df:
        Shingles in more than this many documents are boilerplate; they still
        count in the final Jaccard but do not generate candidates.
    max_chars:
        Only the first ``max_chars`` characters are shingled (``None``: all).

    Returns
    -------
    DataFrame with ``test_id``, ``train_id``, ``kind`` (``exact_text`` >
    ``near_text`` > ``same_title``, the strongest that applies) and
    ``similarity`` (text Jaccard; 1.0 for exact copies), one row per pair.
    """
    if not 0.0 < threshold <= 1.0:
        raise ValueError(f"threshold must be in (0, 1], got {threshold}")
    if len(train) == 0 or len(test) == 0:
        return pd.DataFrame(columns=list(DUPLICATE_COLUMNS))
    exact = _key_pairs(_exact_keys(test["text"]), _exact_keys(train["text"]))
    titles: set[tuple[int, int]] = set()
    if "title" in train.columns and "title" in test.columns:
        titles = _key_pairs(_normalise(test["title"]), _normalise(train["title"]))

    a = shingle_matrix(test["text"].tolist(), shingle_size, max_chars)
    b = shingle_matrix(train["text"].tolist(), shingle_size, max_chars)
    df = np.bincount(a.indices, minlength=a.shape[1]) + np.bincount(b.indices, minlength=b.shape[1])
    rare = df <= max_df
    a_rare, b_rare = a.copy(), b.copy()
    a_rare.data *= rare[a_rare.indices]
    b_rare.data *= rare[b_rare.indices]
    a_rare.eliminate_zeros()
    b_rare.eliminate_zeros()
    # Jaccard >= t needs |A∩B| >= t*max(|A|,|B|); at most min(common_A, common_B) of it is common.
    overlap = (a_rare @ b_rare.T).tocoo()
    size_a = np.asarray(a.sum(axis=1)).ravel()
    size_b = np.asarray(b.sum(axis=1)).ravel()
    common_a = size_a - np.asarray(a_rare.sum(axis=1)).ravel()
    common_b = size_b - np.asarray(b_rare.sum(axis=1)).ravel()
    bound = threshold * np.maximum(size_a[overlap.row], size_b[overlap.col]) - np.minimum(
        common_a[overlap.row], common_b[overlap.col]
    )
    keep = overlap.data >= bound - 1e-6
    candidates = set(zip(overlap.row[keep].tolist(), overlap.col[keep].tolist(), strict=True))

    pairs = sorted(candidates | titles | exact)
    if not pairs:
        return pd.DataFrame(columns=list(DUPLICATE_COLUMNS))
    rows = np.array([p[0] for p in pairs])
    cols = np.array([p[1] for p in pairs])
    similarity = _row_jaccard(a, b, rows, cols)
    records = []
    for (i, j), sim in zip(pairs, similarity, strict=True):
        if (i, j) in exact:
            kind, sim = "exact_text", 1.0
        elif sim >= threshold:
            kind = "near_text"
        elif (i, j) in titles:
            kind = "same_title"
        else:
            continue
        records.append((str(test["id"].iloc[i]), str(train["id"].iloc[j]), kind, float(sim)))
    return pd.DataFrame.from_records(records, columns=list(DUPLICATE_COLUMNS))


def drop_duplicated_test_rows(
    train: pd.DataFrame, test: pd.DataFrame, threshold: float = 0.8
) -> pd.DataFrame:
    """``test`` without the rows :func:`cross_split_duplicates` finds in ``train``."""
    found = cross_split_duplicates(train, test, threshold)
    return test[~test["id"].astype(str).isin(set(found["test_id"]))]

"""Threaded sparse products give scipy's result bits, and so the same fitted classifiers."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression

from stance.models import threaded_sparse
from stance.models.threaded_sparse import ThreadedCSR, threaded


@pytest.fixture()
def matrix() -> sp.csr_matrix:
    rng = np.random.default_rng(0)
    m = sp.random(400, 300, density=0.05, format="csr", random_state=rng, dtype=np.float32)
    m.data = rng.random(m.nnz, dtype=np.float32)
    return m


@pytest.mark.parametrize("n_threads", [2, 3, 7])
def test_products_are_bit_identical(matrix, n_threads, monkeypatch) -> None:
    monkeypatch.setattr(threaded_sparse, "MIN_NNZ", 0)
    fast = threaded(matrix, n_threads)
    assert isinstance(fast, ThreadedCSR)
    rng = np.random.default_rng(1)
    for dtype in (np.float32, np.float64):
        W = rng.standard_normal((3, 300)).astype(dtype)
        G = rng.standard_normal((400, 3)).astype(dtype)
        v = rng.standard_normal(300).astype(dtype)
        g = rng.standard_normal(400).astype(dtype)
        assert np.array_equal(fast @ W.T, matrix @ W.T)  # F-ordered, as sklearn passes it
        assert np.array_equal(G.T @ fast, G.T @ matrix)
        assert np.array_equal(fast @ v, matrix @ v)
        assert np.array_equal(g @ fast, g @ matrix)


def test_logistic_regression_fit_is_unchanged(matrix, monkeypatch) -> None:
    monkeypatch.setattr(threaded_sparse, "MIN_NNZ", 0)
    y = np.random.default_rng(2).integers(0, 3, matrix.shape[0])
    plain = LogisticRegression(C=2.0, max_iter=500).fit(matrix, y)
    fast = LogisticRegression(C=2.0, max_iter=500).fit(threaded(matrix, 2), y)
    assert np.array_equal(plain.coef_, fast.coef_)
    assert np.array_equal(plain.predict_proba(matrix), fast.predict_proba(matrix))


def test_small_matrices_one_core_and_other_formats_are_left_alone(matrix, monkeypatch) -> None:
    assert threaded(matrix, 2) is matrix  # below MIN_NNZ
    monkeypatch.setattr(threaded_sparse, "MIN_NNZ", 0)
    assert threaded(matrix, 1) is matrix  # one core: nothing to split
    assert threaded(matrix.tocsc(), 2) is not None
    assert not isinstance(threaded(matrix.tocsc(), 2), ThreadedCSR)
    dense = matrix.toarray()
    assert threaded(dense, 2) is dense


def test_mismatched_shapes_still_raise(matrix, monkeypatch) -> None:
    monkeypatch.setattr(threaded_sparse, "MIN_NNZ", 0)
    with pytest.raises(ValueError, match="dimension mismatch"):
        np.ones((2, 5)) @ threaded(matrix, 2)

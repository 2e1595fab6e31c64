"""A CSR matrix whose products with dense matrices use every core, with the same result bits.

Why: scikit-learn's lbfgs logistic regression spends ~90% of its fit in two
sparse products per step, ``X @ W`` and ``G.T @ X``, and scipy runs each on
one core. scipy's kernels release the GIL, so splitting the rows of ``X`` (and
of its transpose) into blocks and running the blocks in threads gives ~1.8× on
two cores. Each output element is accumulated by the same kernel over the
same terms in the same order as scipy's serial product — the blocks partition
the *outputs*, never a sum — so a fit on :class:`ThreadedCSR` is bit-for-bit
the fit on the plain matrix (tested), whatever the number of cores.

The estimator is untouched: :func:`threaded` wraps only the matrix handed to
``fit``/``predict``. Anything that converts it (a solver that wants CSC, a
dtype change) gets a plain scipy matrix and simply runs serially.
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import numpy as np
import scipy.sparse as sp

#: Below this many stored values a product takes milliseconds: threads would not pay.
MIN_NNZ = 2_000_000


def _row_blocks(matrix: sp.csr_matrix, n_blocks: int) -> list[tuple[int, int]]:
    """Contiguous row ranges holding about equal numbers of stored values."""
    bounds = np.searchsorted(matrix.indptr, np.linspace(0, matrix.nnz, n_blocks + 1))
    bounds[0], bounds[-1] = 0, matrix.shape[0]
    return [(int(a), int(b)) for a, b in zip(bounds[:-1], bounds[1:], strict=True) if b > a]


def _rows(matrix: sp.csr_matrix, start: int, stop: int) -> sp.csr_matrix:
    """Rows ``start:stop`` as a plain CSR sharing ``matrix``'s buffers (no copy)."""
    lo, hi = matrix.indptr[start], matrix.indptr[stop]
    return sp.csr_matrix(
        (matrix.data[lo:hi], matrix.indices[lo:hi], matrix.indptr[start : stop + 1] - lo),
        shape=(stop - start, matrix.shape[1]),
        copy=False,
    )


class _Blocked:
    """A plain CSR matrix cut into row blocks, multiplied block-parallel."""

    def __init__(self, matrix: sp.csr_matrix, pool: ThreadPoolExecutor, n_blocks: int):
        self.blocks = [_rows(matrix, a, b) for a, b in _row_blocks(matrix, n_blocks)]
        self.pool = pool

    def dot(self, dense: np.ndarray) -> np.ndarray:
        parts = list(self.pool.map(lambda block: block @ dense, self.blocks))
        return np.concatenate(parts, axis=0)


class ThreadedCSR(sp.csr_matrix):
    """``csr_matrix`` whose ``self @ dense`` and ``dense @ self`` run row blocks in threads."""

    _n_threads: int = 1

    def _blocked(self) -> _Blocked:
        cached = self.__dict__.get("_blocked_self")
        if cached is None:
            plain = sp.csr_matrix((self.data, self.indices, self.indptr), shape=self.shape)
            cached = _Blocked(plain, _pool(self._n_threads), self._n_threads)
            self.__dict__["_blocked_self"] = cached
        return cached

    def _blocked_transpose(self) -> _Blocked:
        cached = self.__dict__.get("_blocked_transpose_")
        if cached is None:
            # CSR of Xᵀ with sorted indices: row j sums over documents in increasing
            # order, exactly as scipy's CSC kernel does for Xᵀ @ G.
            transpose = sp.csr_matrix(self.T)
            transpose.sort_indices()
            cached = _Blocked(transpose, _pool(self._n_threads), self._n_threads)
            self.__dict__["_blocked_transpose_"] = cached
        return cached

    def _matmul_multivector(self, other: np.ndarray) -> np.ndarray:
        return self._blocked().dot(other)

    def _matmul_vector(self, other: np.ndarray) -> np.ndarray:
        return self._blocked().dot(other.reshape(-1, 1)).ravel()

    def _rmatmul_dispatch(self, other: Any) -> Any:
        if isinstance(other, np.ndarray) and other.ndim in (1, 2) and not sp.issparse(other):
            if other.shape[-1] != self.shape[0]:
                raise ValueError(f"dimension mismatch: {other.shape} @ {self.shape}")
            if other.ndim == 1:
                return self._blocked_transpose().dot(other.reshape(-1, 1)).ravel()
            return self._blocked_transpose().dot(np.ascontiguousarray(other.T)).T
        return super()._rmatmul_dispatch(other)


_POOLS: dict[int, ThreadPoolExecutor] = {}


def _pool(n_threads: int) -> ThreadPoolExecutor:
    if n_threads not in _POOLS:
        _POOLS[n_threads] = ThreadPoolExecutor(n_threads, thread_name_prefix="stance-spmm")
    return _POOLS[n_threads]


def _usable_cores() -> int:
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1


def threaded(matrix: Any, n_threads: int | None = None) -> Any:
    """``matrix`` as a :class:`ThreadedCSR` when that pays (big CSR, several cores), else as is."""
    n_threads = n_threads or _usable_cores()
    if not sp.isspmatrix_csr(matrix) and not isinstance(matrix, sp.csr_array):
        return matrix
    if n_threads < 2 or matrix.nnz < MIN_NNZ:
        return matrix
    wrapped = ThreadedCSR((matrix.data, matrix.indices, matrix.indptr), shape=matrix.shape)
    wrapped._n_threads = n_threads
    return wrapped

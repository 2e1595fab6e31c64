"""The per-fold cache: keys name what a value depends on; entries are written atomically."""

from __future__ import annotations

import os

import numpy as np
import pytest

from stance.fold_cache import MISSING, FoldCache, rows_digest


def test_keys_change_with_every_part() -> None:
    base = FoldCache.key("features", data="abc", train=rows_digest(np.arange(5)), seed=1)
    assert base == FoldCache.key("features", seed=1, train=rows_digest(np.arange(5)), data="abc")
    assert base != FoldCache.key("features", data="abd", train=rows_digest(np.arange(5)), seed=1)
    assert base != FoldCache.key("features", data="abc", train=rows_digest(np.arange(6)), seed=1)
    assert base != FoldCache.key("features", data="abc", train=rows_digest(np.arange(5)), seed=2)
    assert base != FoldCache.key("duplicates", data="abc", train=rows_digest(np.arange(5)), seed=1)


def test_row_order_is_part_of_the_digest() -> None:
    assert rows_digest(np.array([1, 2, 3])) != rows_digest(np.array([3, 2, 1]))
    assert rows_digest(np.array([1, 2], dtype=np.int32)) == rows_digest(np.array([1, 2]))


def test_compute_once_then_hit(tmp_path) -> None:
    cache = FoldCache(tmp_path)
    calls = []
    for _ in range(2):
        value = cache.get_or_compute("k", lambda: calls.append(1) or {"x": np.arange(3)})
        np.testing.assert_array_equal(value["x"], np.arange(3))
    assert len(calls) == 1
    assert (cache.hits, cache.misses) == (1, 1)
    assert cache.summary()["location"] == str(tmp_path)


def test_disabled_cache_always_computes(tmp_path) -> None:
    cache = FoldCache(None)
    calls = []
    for _ in range(2):
        cache.get_or_compute("k", lambda: calls.append(1) or 1)
    assert len(calls) == 2 and not cache.enabled


def test_a_corrupt_entry_is_a_miss_and_is_rewritten(tmp_path) -> None:
    cache = FoldCache(tmp_path)
    cache.put("k", [1, 2, 3])
    path = tmp_path / "folds" / "k.joblib"
    path.write_bytes(path.read_bytes()[:10])
    assert cache.get("k") is MISSING
    assert cache.get_or_compute("k", lambda: [4]) == [4]
    assert FoldCache(tmp_path).get("k") == [4]


def test_a_failed_write_leaves_no_entry_and_no_temporary_file(tmp_path) -> None:
    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("cannot pickle")

    cache = FoldCache(tmp_path)
    with pytest.raises(RuntimeError, match="cannot pickle"):
        cache.put("k", Unpicklable())
    assert cache.get("k") is MISSING
    assert list((tmp_path / "folds").iterdir()) == []


def test_arrays_come_back_writable_and_entries_readable_by_the_group(tmp_path) -> None:
    import scipy.sparse as sp

    cache = FoldCache(tmp_path)
    matrix = sp.random(50, 40, density=0.2, format="csr", random_state=0, dtype=np.float32)
    cache.put("m", matrix)
    loaded = cache.get("m")
    np.testing.assert_array_equal(loaded.toarray(), matrix.toarray())
    loaded.data *= 2  # copy-on-write map: a classifier may scale its input in place
    np.testing.assert_array_equal(cache.get("m").toarray(), matrix.toarray())
    mode = (tmp_path / "folds" / "m.joblib").stat().st_mode & 0o777
    umask = os.umask(0)
    os.umask(umask)
    assert mode == 0o666 & ~umask  # as open() would create it, not mkstemp's 0600

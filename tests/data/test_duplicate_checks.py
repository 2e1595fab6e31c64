"""Duplicate checks give the same pairs inline and in the background worker."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from stance.data.dedup import cross_split_duplicates
from stance.data.duplicate_checks import DuplicateChecks
from stance.data.splits import Fold
from stance.fold_cache import FoldCache

STORY = "the senator sent a letter to the kremlin urging cooperation on arms control talks"


@pytest.fixture()
def frame() -> pd.DataFrame:
    texts = [
        f"{STORY} number {i}" if i % 3 == 0 else f"unrelated report {i} about weather"
        for i in range(12)
    ]
    texts[10] = texts[0]  # exact copy across the split
    return pd.DataFrame(
        {"id": [f"a{i}" for i in range(12)], "text": texts, "title": [f"t{i}" for i in range(12)]}
    )


def _fold(index: int) -> Fold:
    return Fold(index=index, train=np.arange(0, 9), test=np.arange(9, 12))


@pytest.mark.parametrize("background", [False, True])
def test_same_pairs_inline_and_in_background(frame, background, tmp_path) -> None:
    expected = cross_split_duplicates(
        frame.iloc[:9].reset_index(drop=True), frame.iloc[9:].reset_index(drop=True), threshold=0.8
    )
    assert "a10" in set(expected["test_id"])  # the planted copy is found
    cache = FoldCache(tmp_path)
    with DuplicateChecks(frame, 0.8, cache=cache, background=background) as checks:
        checks.start(_fold(0))
        found = checks.result(_fold(0))
        assert (checks.worker_peak_mb is not None) == background
    pd.testing.assert_frame_equal(found.reset_index(drop=True), expected.reset_index(drop=True))
    assert (cache.hits, cache.misses) == (0, 1)


def test_a_cached_check_starts_no_worker(frame, tmp_path) -> None:
    with DuplicateChecks(frame, 0.8, cache=FoldCache(tmp_path), background=True) as checks:
        checks.start(_fold(0))
        first = checks.result(_fold(0))
    cache = FoldCache(tmp_path)
    with DuplicateChecks(frame, 0.8, cache=cache, background=True) as checks:
        checks.start(_fold(0))
        assert checks._pool is None
        again = checks.result(_fold(0))
        assert checks.worker_peak_mb is None
    pd.testing.assert_frame_equal(again, first)
    assert (cache.hits, cache.misses) == (1, 0)


def test_the_cache_key_follows_the_data_and_threshold(frame, tmp_path) -> None:
    cache = FoldCache(tmp_path)
    with DuplicateChecks(frame, 0.8, cache=cache, background=False) as checks:
        checks.result(_fold(0))
    changed = frame.assign(text=frame["text"].str.upper())
    with DuplicateChecks(changed, 0.8, cache=cache, background=False) as checks:
        checks.result(_fold(0))
    with DuplicateChecks(frame, 0.5, cache=cache, background=False) as checks:
        checks.result(_fold(0))
    assert (cache.hits, cache.misses) == (0, 3)


def test_leaving_the_block_stops_the_worker(frame) -> None:
    checks = DuplicateChecks(frame, 0.8, background=True)
    with checks:
        checks.start(_fold(0))
        pool = checks._pool
        workers = list(pool._pool)
    assert checks._pool is None
    assert all(not worker.is_alive() for worker in workers)


def test_small_corpora_run_inline_by_default(frame) -> None:
    assert DuplicateChecks(frame, 0.8).background is False

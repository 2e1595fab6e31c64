"""Run each fold's train/test duplicate check, on a second core when it pays.

The check (:func:`stance.data.dedup.cross_split_duplicates`) depends only on
the data, never on the model, and on a large corpus it costs as much as a
tenth of the run (13 s on AllSides). Fitting TF-IDF and a linear model uses
one core, so on a large corpus the check runs in a worker process while the
fold fits, and the runner collects it before predicting. Small corpora (or a
one-core machine) run it inline: starting a process would cost more than it
saves.

Results go through the same joblib cache either way, so a sweep over
classifiers pays for the check once.
"""

from __future__ import annotations

import multiprocessing
import os
import resource
from collections.abc import Sequence
from typing import Any

import pandas as pd

from stance.data.dedup import DUPLICATE_COLUMNS, cross_split_duplicates
from stance.data.splits import Fold

#: Below this many rows the check takes well under a second: run it inline.
BACKGROUND_MIN_ROWS = 5000
_COLUMNS = ["id", "text", "title"]


def _check(train: pd.DataFrame, test: pd.DataFrame, threshold: float, cache_dir: str | None):
    """Worker entry point: the duplicate pairs and this process's peak RSS (MB)."""
    find = cross_split_duplicates
    if cache_dir is not None:
        from joblib import Memory

        find = Memory(cache_dir, verbose=0).cache(cross_split_duplicates)
    found = find(train, test, threshold=threshold)
    return found, _own_peak_mb()


def _own_peak_mb() -> float:
    """This process's own peak RSS in MB.

    ``ru_maxrss`` is no good in a spawned worker: Linux carries the forking
    parent's high-water mark across ``exec``, so it reports the parent's size.
    ``VmHWM`` belongs to the worker's own address space.
    """
    try:
        with open("/proc/self/status", encoding="ascii") as status:
            for line in status:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


class DuplicateChecks:
    """Duplicate pairs between each fold's training and test rows.

    Use as a context manager; call :meth:`start` for a fold as early as
    possible and :meth:`result` when its pairs are needed. Leaving the block
    (also on Ctrl-C) stops the worker.
    """

    def __init__(
        self,
        frame: pd.DataFrame,
        threshold: float,
        cache_dir: str | None = None,
        background: bool | None = None,
    ):
        self.frame = frame
        self.threshold = threshold
        self.cache_dir = cache_dir
        if background is None:
            background = len(frame) >= BACKGROUND_MIN_ROWS and (os.cpu_count() or 1) > 1
        self.background = background
        self._pool: Any = None
        self._pending: dict[int, Any] = {}
        #: Peak resident memory of the worker process (MB), if one ran.
        self.worker_peak_mb: float | None = None

    def __enter__(self) -> DuplicateChecks:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def _parts(self, fold: Fold) -> tuple[pd.DataFrame, pd.DataFrame]:
        columns = [c for c in _COLUMNS if c in self.frame.columns]
        train = self.frame.iloc[fold.train][columns].reset_index(drop=True)
        test = self.frame.iloc[fold.test][columns].reset_index(drop=True)
        return train, test

    def start(self, fold: Fold) -> None:
        """Begin ``fold``'s check in the worker (no-op inline or if already started)."""
        if not self.background or fold.index in self._pending:
            return
        if self._pool is None:
            # spawn, not fork: the parent may hold threads (progress bar, BLAS).
            self._pool = multiprocessing.get_context("spawn").Pool(1)
        train, test = self._parts(fold)
        self._pending[fold.index] = self._pool.apply_async(
            _check, (train, test, self.threshold, self.cache_dir)
        )

    def result(self, fold: Fold) -> pd.DataFrame:
        """``fold``'s duplicate pairs (waits for the worker if it is still busy)."""
        pending = self._pending.pop(fold.index, None)
        if pending is None:
            train, test = self._parts(fold)
            found, _ = _check(train, test, self.threshold, self.cache_dir)
            return found
        found, peak = pending.get()
        self.worker_peak_mb = max(self.worker_peak_mb or 0.0, peak)
        return found

    def close(self) -> None:
        """Stop the worker; an unfinished check is abandoned, not waited for."""
        if self._pool is not None:
            self._pool.terminate()
            self._pool.join()
            self._pool = None
        self._pending.clear()


def no_duplicates() -> pd.DataFrame:
    """The empty pairs table (duplicate check switched off)."""
    return pd.DataFrame(columns=list(DUPLICATE_COLUMNS))


__all__: Sequence[str] = ("DuplicateChecks", "no_duplicates", "BACKGROUND_MIN_ROWS")

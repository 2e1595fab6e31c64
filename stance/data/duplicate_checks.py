"""Run each fold's train/test duplicate check, on a second core when it pays.

The check (:func:`stance.data.dedup.cross_split_duplicates`) depends only on
the data, never on the model, and on a large corpus it costs as much as a
tenth of the run (13 s on AllSides). Fitting TF-IDF and a linear model uses
one core, so on a large corpus the check runs in a worker process while the
fold fits, and the runner collects it before predicting. Small corpora (or a
one-core machine) run it inline: starting a process would cost more than it
saves.

Results are cached per fold (:class:`stance.fold_cache.FoldCache`, keyed by
the corpus fingerprint, the fold's rows and the threshold), looked up in the
main process: a sweep over classifiers pays for the check once, and a rerun
starts no worker at all.
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
from stance.data.table import fingerprint_frame
from stance.fold_cache import MISSING, FoldCache, rows_digest

#: Below this many rows the check takes well under a second: run it inline.
BACKGROUND_MIN_ROWS = 5000
_COLUMNS = ["id", "text", "title"]


def _check(train: pd.DataFrame, test: pd.DataFrame, threshold: float):
    """Worker entry point: the duplicate pairs and this process's peak RSS (MB)."""
    return cross_split_duplicates(train, test, threshold=threshold), _own_peak_mb()


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
        cache: FoldCache | None = None,
        fingerprint: str | None = None,
        background: bool | None = None,
    ):
        self.frame = frame
        self.threshold = threshold
        self.cache = cache if cache is not None else FoldCache(None)
        self._fingerprint = fingerprint
        if background is None:
            background = len(frame) >= BACKGROUND_MIN_ROWS and (os.cpu_count() or 1) > 1
        self.background = background
        self._pool: Any = None
        self._pending: dict[int, Any] = {}
        self._found: dict[int, pd.DataFrame] = {}
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

    def _key(self, fold: Fold) -> str:
        if self._fingerprint is None:  # hashed only when a cache needs the key
            self._fingerprint = fingerprint_frame(self.frame)
        return FoldCache.key(
            "duplicates",
            data=self._fingerprint,
            train=rows_digest(fold.train),
            test=rows_digest(fold.test),
            threshold=float(self.threshold),
        )

    def _cached(self, fold: Fold) -> Any:
        return self.cache.lookup(self._key(fold)) if self.cache.enabled else MISSING

    def start(self, fold: Fold) -> None:
        """Begin ``fold``'s check in the worker (no-op if cached, inline or already started)."""
        if fold.index in self._pending or fold.index in self._found:
            return
        cached = self._cached(fold)
        if cached is not MISSING:
            self._found[fold.index] = cached
            return
        if not self.background:
            return
        if self._pool is None:
            # spawn, not fork: the parent may hold threads (progress bar, BLAS).
            self._pool = multiprocessing.get_context("spawn").Pool(1)
        train, test = self._parts(fold)
        self._pending[fold.index] = self._pool.apply_async(_check, (train, test, self.threshold))

    def result(self, fold: Fold) -> pd.DataFrame:
        """``fold``'s duplicate pairs (waits for the worker if it is still busy)."""
        if fold.index in self._found:
            return self._found.pop(fold.index)
        pending = self._pending.pop(fold.index, None)
        if pending is None:
            cached = self._cached(fold)  # result() without start()
            if cached is not MISSING:
                return cached
            found, _ = _check(*self._parts(fold), self.threshold)
        else:
            found, peak = pending.get()
            self.worker_peak_mb = max(self.worker_peak_mb or 0.0, peak)
        if self.cache.enabled:
            self.cache.add_computed(self._key(fold), found)
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

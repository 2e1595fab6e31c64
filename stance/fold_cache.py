"""Per-fold cache of fitted features and duplicate checks, keyed without reading the text.

Why not ``Pipeline(memory=...)`` (joblib.Memory)? It keys each step by hashing
the step's *input*: on AllSides that is ~150 MB of article text hashed once
for the cleaner and again for the cleaned text, plus slicing the text out of
the corpus first — about 7 s of a 35 s rerun that only changes the classifier.
Everything that input depends on is already known in a few bytes: the corpus
fingerprint (SHA-256 over every cell, computed once at load), the fold's row
positions, the feature and cleaner config and the seed. The code itself is
covered by the directory, which :func:`stance.cache.feature_cache_dir`
namespaces by a digest of the package source and library versions.

A cache entry is a joblib file written to a temporary name and renamed into
place, so an interrupted run never leaves a half-written entry behind; an
unreadable entry counts as a miss and is rewritten.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np

#: Returned by :meth:`FoldCache.get` when there is no (readable) entry.
MISSING = object()


def rows_digest(rows: np.ndarray) -> str:
    """SHA-256 of a fold's row positions (order matters: it is the training order)."""
    return hashlib.sha256(np.ascontiguousarray(rows, dtype=np.int64).tobytes()).hexdigest()


def _umask() -> int:
    mask = os.umask(0)
    os.umask(mask)
    return mask


class FoldCache:
    """Key → value store under ``root`` (``None`` disables it: every lookup misses).

    Keys are built by :meth:`key` from JSON-serialisable parts; the caller
    names everything its value depends on.
    """

    def __init__(self, root: Path | str | None):
        self.root = None if root is None else Path(root)
        #: Lookups that found an entry / had to compute it, for run.json.
        self.hits = 0
        self.misses = 0

    @property
    def enabled(self) -> bool:
        return self.root is not None

    @staticmethod
    def key(kind: str, **parts: Any) -> str:
        """A stable key for ``kind`` (e.g. ``"features"``) and its named parts."""
        blob = json.dumps({"kind": kind, **parts}, sort_keys=True, default=str)
        return f"{kind}-{hashlib.sha256(blob.encode()).hexdigest()[:32]}"

    def _path(self, key: str) -> Path:
        assert self.root is not None
        return self.root / "folds" / f"{key}.joblib"

    def get(self, key: str, *, mmap: bool = True) -> Any:
        """The cached value, or :data:`MISSING`.

        ``mmap=False`` for values that end up in a saved model: skops refuses
        ``numpy.memmap``, and a fitted model should not point into the cache.
        """
        if self.root is None:
            return MISSING
        path = self._path(key)
        if not path.is_file():
            return MISSING
        import joblib

        try:
            # Copy-on-write maps: a 260 MB training matrix "loads" in 0.1 s instead of
            # 1.2 s, pages are read as the classifier touches them, and a classifier
            # that writes into its input gets private pages rather than an error.
            return joblib.load(path, mmap_mode="c" if mmap else None)
        except Exception:  # a truncated or foreign file: recompute and overwrite
            return MISSING

    def put(self, key: str, value: Any) -> None:
        """Store ``value`` atomically (write a temporary file, then rename)."""
        if self.root is None:
            return
        import joblib

        path = self._path(key)
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{key}.", suffix=".tmp")
        os.close(fd)
        try:
            joblib.dump(value, tmp)
            os.chmod(tmp, 0o666 & ~_umask())  # mkstemp makes it 0600; a cache may be shared
            os.replace(tmp, path)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise

    def lookup(self, key: str) -> Any:
        """:meth:`get`, counting a hit when the entry exists."""
        value = self.get(key)
        if value is not MISSING:
            self.hits += 1
        return value

    def add_computed(self, key: str, value: Any) -> None:
        """:meth:`put` a value that had to be computed, counting a miss."""
        self.misses += 1
        self.put(key, value)

    def get_or_compute(self, key: str, compute: Callable[[], Any]) -> Any:
        """The cached value for ``key``, computing and storing it on a miss."""
        value = self.lookup(key)
        if value is MISSING:
            value = compute()
            self.add_computed(key, value)
        return value

    def summary(self) -> dict[str, Any]:
        """What run.json records about the cache."""
        return {
            "enabled": self.enabled,
            "location": None if self.root is None else str(self.root),
            "hits": self.hits,
            "misses": self.misses,
        }

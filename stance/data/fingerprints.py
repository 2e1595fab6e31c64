"""The corpus fingerprint, remembered while the corpus's source files are unchanged.

Why: the fingerprint (SHA-256 over every cell, :attr:`Corpus.fingerprint`)
costs 1.3 s on AllSides — 5% of a rerun that only changes the classifier. The
corpus was itself read through caches keyed by each file's path, size and
modification time (``datasets``' Arrow cache, :mod:`stance.data.files`), so a
fingerprint keyed the same way, plus the data config and library versions,
trusts nothing those caches do not already trust. A corpus with no local
source files (a hub dataset) is always hashed.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from importlib import metadata
from pathlib import Path
from typing import Any

from stance.data.table import Corpus
from stance.fold_cache import FoldCache


def _stat(path: Path) -> list[Any]:
    stat = path.stat()
    return [str(path), stat.st_size, stat.st_mtime_ns]


def source_state(files: list[str]) -> list[list[Any]] | None:
    """(path, size, mtime) of every source file (directories walked), or ``None`` if unknown."""
    state: list[list[Any]] = []
    for name in files:
        path = Path(name).resolve()
        if path.is_file():
            state.append(_stat(path))
        elif path.is_dir():
            for root, dirs, names in os.walk(path):
                dirs.sort()
                state.extend(_stat(Path(root) / n) for n in sorted(names))
        else:
            return None
    return state or None


def _versions() -> dict[str, str]:
    found = {}
    for package in ("pandas", "pyarrow", "datasets"):
        try:
            found[package] = metadata.version(package)
        except metadata.PackageNotFoundError:
            continue
    return found


def corpus_fingerprint(corpus: Corpus, data_cfg: Mapping[str, Any], cache: FoldCache) -> str:
    """``corpus.fingerprint``, from ``cache`` when the same files and config produced it before.

    The value is also set on ``corpus`` so that later reads (the report, the
    model card) do not hash the table again.
    """
    state = source_state(corpus.files) if cache.enabled else None
    if state is None:
        return corpus.fingerprint
    key = FoldCache.key(
        "fingerprint", name=corpus.name, data=dict(data_cfg), files=state, versions=_versions()
    )
    value = cache.get_or_compute(key, lambda: corpus.fingerprint)
    corpus.__dict__["fingerprint"] = value  # the cached_property's slot
    return value

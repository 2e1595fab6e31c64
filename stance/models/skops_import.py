"""Import ``skops.io`` in a fraction of a second instead of several.

On import, skops builds its default allow-list by calling scikit-learn's
``all_estimators()``, which imports every scikit-learn module (≈1 s) and, via
``sklearn.externals.array_api_compat.torch``, PyTorch when it is installed
(several more). A cold ``stance predict`` of one article paid for both.

Two remedies, neither of which changes what skops trusts:

* torch is hidden for the duration of the import (no scikit-learn estimator
  lives in the torch compatibility shim, and the walk skips modules that fail
  to import);
* the expensive part of the allow-list — the fully qualified names of
  scikit-learn's estimators — is cached per (scikit-learn, skops) version pair
  in the user's cache directory. When the cache exists, ``all_estimators`` is
  answered from it during skops's import: skops gets the same names without
  importing every module. The first import on a machine (or after an
  upgrade) does the full walk and writes the cache.
"""

from __future__ import annotations

import contextlib
import importlib.abc
import json
import os
import re
import sys
import tempfile
from collections.abc import Iterator
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

#: What a cached estimator name must look like (skops itself only keeps ``sklearn.`` names).
_SKLEARN_NAME = re.compile(r"sklearn(\.[A-Za-z_][A-Za-z0-9_]*)+")


class _HideTorch(importlib.abc.MetaPathFinder):
    """Meta-path finder that makes ``import torch`` fail while skops is imported."""

    def find_spec(self, name: str, path: Any = None, target: Any = None) -> None:
        if name == "torch" or name.startswith("torch."):
            raise ModuleNotFoundError(f"torch hidden while importing skops: {name}", name=name)
        return None


def cache_file() -> Path | None:
    """Where the estimator names for the installed scikit-learn and skops are cached."""
    from stance.paths import default_cache_dir

    try:
        versions = "-".join(f"{name}-{version(name)}" for name in ("scikit-learn", "skops"))
    except PackageNotFoundError:
        return None
    return default_cache_dir() / "skops" / f"estimators-{versions}.json"


def read_cached_names(path: Path | None) -> list[str] | None:
    """The cached names, or ``None`` when absent, unreadable or not all ``sklearn.`` names."""
    if path is None:
        return None
    try:
        names = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(names, list) or not names:
        return None
    if not all(isinstance(n, str) and _SKLEARN_NAME.fullmatch(n) for n in names):
        return None
    return names


def _write_cached_names(path: Path | None, names: list[str]) -> None:
    if path is None or not names:
        return
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=".estimators.", dir=path.parent)
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            json.dump(names, handle)
        os.replace(tmp, path)
    except OSError:  # a read-only home only costs speed
        return


def _stand_in(name: str) -> type:
    """A bare class whose module and name spell ``name`` (all skops reads from it)."""
    module, _, short = name.rpartition(".")
    return type(short, (), {"__module__": module})


@contextlib.contextmanager
def _all_estimators_cached(names: list[str] | None, record: list[str]) -> Iterator[None]:
    """Answer ``sklearn.utils.all_estimators`` from ``names``, or record its answer."""
    import sklearn.utils

    original = sklearn.utils.all_estimators

    def all_estimators(*args: Any, **kwargs: Any) -> list[tuple[str, type]]:
        if names is None:
            found = original(*args, **kwargs)
            record.extend(f"{cls.__module__}.{cls.__name__}" for _, cls in found)
            return found
        return [(name.rpartition(".")[2], _stand_in(name)) for name in names]

    sklearn.utils.all_estimators = all_estimators
    try:
        yield
    finally:
        sklearn.utils.all_estimators = original


def import_skops_io() -> Any:
    """Return ``skops.io``, importing it the fast way if this process has not yet."""
    if "skops.io" in sys.modules:
        return sys.modules["skops.io"]
    path = cache_file()
    cached = read_cached_names(path)
    record: list[str] = []
    blocker = None if "torch" in sys.modules else _HideTorch()
    if blocker is not None:
        sys.meta_path.insert(0, blocker)
    try:
        with _all_estimators_cached(cached, record):
            import skops.io as sio
    finally:
        if blocker is not None:
            sys.meta_path.remove(blocker)
    if cached is None:
        _write_cached_names(path, [n for n in record if n.startswith("sklearn.")])
    return sio

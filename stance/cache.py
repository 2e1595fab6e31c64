"""Where fitted features are cached, keyed so that stale entries can never be reused.

The feature cache (:class:`stance.fold_cache.FoldCache`) keys each entry by
the data fingerprint, the fold's rows and the config. It does not see the
*code* of our transformers, so the cache directory is namespaced by a digest
of the stance source and the scikit-learn version: change a transformer, and
old entries are simply not found.
"""

from __future__ import annotations

import hashlib
from functools import lru_cache
from pathlib import Path

from stance.paths import PACKAGE_DIR


@lru_cache(maxsize=1)
def code_digest() -> str:
    """SHA-256 (first 16 hex digits) over the package's Python source and key library versions."""
    from importlib import metadata

    digest = hashlib.sha256()
    for path in sorted(PACKAGE_DIR.rglob("*.py")):
        digest.update(path.relative_to(PACKAGE_DIR).as_posix().encode())
        digest.update(path.read_bytes())
    for package in ("scikit-learn", "numpy", "scipy"):
        try:
            digest.update(f"{package}=={metadata.version(package)}".encode())
        except metadata.PackageNotFoundError:
            continue
    return digest.hexdigest()[:16]


def feature_cache_dir(cache_root: Path) -> Path:
    """Where fitted features live under ``cache_root``, namespaced by :func:`code_digest`."""
    return Path(cache_root) / "features" / code_digest()

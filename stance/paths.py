"""Where data, runs and packaged configs live.

The data directory is resolved once, in one place, so every entry point agrees:
``STANCE_DATA_DIR`` wins; otherwise the first existing candidate among
``./shared/data``, ``../shared/data`` (a checkout beside the shared corpora) and
the same relative to the installed package; finally ``~/.cache/stance/data``.
"""

from __future__ import annotations

import os
from pathlib import Path

PACKAGE_DIR = Path(__file__).resolve().parent
DATA_DIR_ENV = "STANCE_DATA_DIR"


def conf_dir() -> Path:
    """The Hydra config directory: shipped inside the wheel, or the checkout's ``conf/``."""
    packaged = PACKAGE_DIR / "conf"
    if packaged.is_dir():
        return packaged
    checkout = PACKAGE_DIR.parent / "conf"
    if checkout.is_dir():
        return checkout
    raise FileNotFoundError(f"no Hydra config directory found in {packaged} or {checkout}")


def default_data_dir() -> Path:
    """Return the data directory (see module docstring for the search order)."""
    env = os.environ.get(DATA_DIR_ENV)
    if env:
        return Path(env).expanduser().resolve()
    cwd = Path.cwd()
    candidates = [
        cwd / "shared" / "data",
        cwd.parent / "shared" / "data",
        PACKAGE_DIR.parent.parent / "shared" / "data",
    ]
    for candidate in candidates:
        if candidate.is_dir():
            return candidate.resolve()
    return (Path.home() / ".cache" / "stance" / "data").resolve()


def default_cache_dir() -> Path:
    """The one cache root: Arrow tables, fitted features, embeddings, skops allow-list.

    ``STANCE_CACHE_DIR`` overrides ``~/.cache/stance``; every cache lives below it.
    """
    env = os.environ.get("STANCE_CACHE_DIR")
    if env:
        return Path(env).expanduser().resolve()
    return (Path.home() / ".cache" / "stance").resolve()


def embedding_cache_dir() -> Path:
    """Sentence vectors: ``$STANCE_EMBEDDING_CACHE_DIR``, else ``<cache root>/embeddings``.

    A separate override because vectors are large and shareable across users.
    """
    env = os.environ.get("STANCE_EMBEDDING_CACHE_DIR")
    if env:
        return Path(env).expanduser()
    return default_cache_dir() / "embeddings"


def _umask() -> int:
    current = os.umask(0)
    os.umask(current)
    return current


def publish(tmp: str | os.PathLike[str], dest: str | os.PathLike[str]) -> None:
    """Move a finished temporary file onto ``dest`` in one step, with a normal file mode.

    ``tempfile.mkstemp`` creates files readable only by their owner (0600); an
    output a user asked for should follow their umask like any file they create.
    """
    os.chmod(tmp, 0o666 & ~_umask())
    os.replace(tmp, dest)

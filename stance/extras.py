"""How to install an optional extra, said the way this copy of stance was installed.

An editable checkout needs ``pip install -e "<checkout>[embed]"``; a wheel from an
index needs ``pip install 'stance[embed]'``. pip records which in the
distribution's ``direct_url.json`` (PEP 610), read here through
:mod:`importlib.metadata`.
"""

from __future__ import annotations

import json
from importlib import metadata
from pathlib import Path
from urllib.parse import unquote, urlparse

from stance.paths import PACKAGE_DIR


def _local_source() -> tuple[Path, bool] | None:
    """(directory, editable) when stance was installed from a local directory, else None."""
    try:
        dist = metadata.distribution("stance")
    except metadata.PackageNotFoundError:
        checkout = PACKAGE_DIR.parent
        # Imported from a source tree that was never installed (PYTHONPATH=checkout).
        return (checkout, True) if (checkout / "pyproject.toml").is_file() else None
    raw = dist.read_text("direct_url.json")
    if not raw:
        return None  # installed from an index (PyPI or a mirror)
    info = json.loads(raw)
    url = urlparse(info.get("url", ""))
    if url.scheme != "file" or "dir_info" not in info:
        return None  # a wheel/archive URL or a VCS URL: the index form fits best
    return Path(unquote(url.path)), bool(info["dir_info"].get("editable"))


def install_command(extra: str) -> str:
    """The pip command that adds ``extra`` to this installation of stance."""
    source = _local_source()
    if source is None:
        return f"pip install 'stance[{extra}]'"
    directory, editable = source
    where = "." if directory.resolve() == Path.cwd().resolve() else str(directory)
    return f'pip install {"-e " if editable else ""}"{where}[{extra}]"'

"""Save and load fitted pipelines with skops (minimal version; hardened in inference work)."""

from __future__ import annotations

from pathlib import Path

import skops.io as sio


def save_model(pipeline, path: Path) -> None:
    """Write ``pipeline`` to ``path`` in skops format."""
    sio.dump(pipeline, path)


def load_pipeline(path: Path, trusted: bool = False):
    """Load a skops model file."""
    untrusted = sio.get_untrusted_types(file=path)
    return sio.load(path, trusted=untrusted)

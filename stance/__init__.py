"""stance: stance toward actors and relations in news articles.

Importing the package is deliberately light (no matplotlib, Hydra or torch):
the heavy pieces load on first use, so ``stance predict`` starts fast.

>>> import stance
>>> model = stance.load("runs/2026-11-27/12-00-00")      # doctest: +SKIP
>>> model.predict(["Putin and Trump agreed to resume talks."])  # doctest: +SKIP
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"
__all__ = ["__version__", "load", "StanceModel"]


def __getattr__(name: str) -> Any:
    # Lazy exports keep `import stance` cheap (PEP 562).
    if name in {"load", "StanceModel"}:
        from stance import inference

        return getattr(inference, name)
    raise AttributeError(f"module 'stance' has no attribute {name!r}")

"""The corpus specs: one module per corpus (or family of corpora reading one folder).

Every :class:`~stance.data.corpora.base.CorpusSpec` subclass with a ``name`` in
a module of this package is a known corpus: :func:`spec_classes` imports the
package's modules and returns them, and :mod:`stance.data.registry` derives
everything ``stance data`` needs from them. Adding a corpus never means
editing a list.
"""

from __future__ import annotations

import importlib
import pkgutil
from functools import cache

from stance.data.corpora.base import CorpusSpec, Counts, Dataset, require

__all__ = ["Counts", "CorpusSpec", "Dataset", "require", "spec_classes"]


@cache
def spec_classes() -> dict[str, type[CorpusSpec]]:
    """Every registered corpus spec by name, sorted by name."""
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
    return dict(sorted(CorpusSpec._registry.items()))

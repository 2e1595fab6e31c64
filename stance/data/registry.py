"""What corpora stance knows, derived from the corpus spec classes (:mod:`stance.data.corpora`).

Two levels: a *dataset* is a folder in the data directory (``allsides``,
``basil``, ...), with one upstream source and one ``SHA256SUMS``; a *corpus* is
a ``data=`` config built from one or more datasets (``basil_actor`` and
``basil_sentence`` both read ``basil``). Nothing here is typed by hand: a new
spec class appears in both tables.
"""

from __future__ import annotations

from stance.data.corpora import CorpusSpec, Dataset, spec_classes
from stance.errors import DataError

__all__ = ["CORPORA", "DATASETS", "CorpusSpec", "Dataset", "dataset_names"]


def _datasets(corpora: dict[str, type[CorpusSpec]]) -> dict[str, Dataset]:
    found: dict[str, Dataset] = {}
    for spec in corpora.values():
        for dataset in spec.datasets:
            if found.setdefault(dataset.name, dataset) != dataset:
                raise TypeError(
                    f"dataset {dataset.name!r} is described twice, differently "
                    f"(second time by {spec.target()}); import the one Dataset object instead"
                )
    return found


#: Corpus name -> spec class (``stance data list`` order: by name).
CORPORA: dict[str, type[CorpusSpec]] = spec_classes()
#: Folder name -> dataset, from the specs' ``datasets``.
DATASETS: dict[str, Dataset] = _datasets(CORPORA)


def dataset_names(name: str) -> list[str]:
    """The dataset folders behind ``name`` (a corpus config name or a dataset name)."""
    if name in DATASETS:
        return [name]
    if name in CORPORA:
        return [d.name for d in CORPORA[name].datasets]
    raise DataError(
        f"unknown corpus {name!r}; known: {sorted(CORPORA)} (datasets: {sorted(DATASETS)})"
    )

"""Corpora: loading into the corpus table, cleaning, splitting, fingerprints."""

from stance.data.table import CORPUS_COLUMNS, Corpus, Task

__all__ = ["CORPUS_COLUMNS", "Corpus", "Task"]

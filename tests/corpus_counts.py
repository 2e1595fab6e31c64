"""Corpus counts that prose (README, notebooks) must not type: they change as labels are added."""

from __future__ import annotations

import re

import pandas as pd

from stance.data.registry import CORPORA
from stance.paths import default_data_dir


def corpus_counts() -> set[int]:
    """Every documented corpus size and label count (the registry), and the Russia–US
    labels' actual counts when the data is present."""
    counts = set()
    for spec in CORPORA.values():
        counts.add(spec.documented.rows)
        counts.update(spec.documented.labels.values())
    labels = default_data_dir() / "ru_us_rapprochement" / "labels.csv"
    if labels.exists():
        frame = pd.read_csv(labels, usecols=["label"])
        counts.add(len(frame))
        counts.update(int(n) for n in frame["label"].value_counts())
    return counts


def counts_in(text: str) -> list[str]:
    """The corpus counts ``text`` states, as written (``316``, ``36,274``)."""
    found = []
    for n in sorted(corpus_counts()):
        for form in sorted({str(n), f"{n:,}"}):
            # A whole number: not part of a longer number, a word, a path or a version.
            if re.search(rf"(?<![\w.,/-]){re.escape(form)}(?!\w|[.,]\d)", text):
                found.append(form)
    return found

"""What corpora stance knows: the data folder each needs, where it comes from, its documented size.

Two levels: a *dataset* is a folder in the data directory (``allsides``,
``basil``, ...), with one upstream source and one ``SHA256SUMS``; a *corpus* is
a ``data=`` config built from one or more datasets (``basil_actor`` and
``basil_sentence`` both read ``basil``).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from stance.errors import DataError


@dataclass(frozen=True)
class Dataset:
    """A folder of raw files in the data directory and how to obtain it."""

    name: str
    description: str
    #: A file whose presence means the dataset is there (relative to its folder).
    marker: str
    #: Archive of the upstream repository at the pinned commit (``None``: no public upstream).
    url: str | None = None
    #: SHA-256 of that archive, when pinned; the download is refused if it differs.
    sha256: str | None = None
    #: Name of the converter in :mod:`stance.data.fetch` that lays the archive out.
    layout: str = "copy"


@dataclass(frozen=True)
class CorpusEntry:
    """A ``data=`` config: the datasets it reads and its documented size."""

    name: str
    datasets: tuple[str, ...]
    rows: int
    labels: dict[str, int] = field(default_factory=dict)
    note: str = ""


DATASETS: dict[str, Dataset] = {
    d.name: d
    for d in (
        Dataset(
            "allsides",
            "AllSides article leaning (Baly et al., EMNLP 2020)",
            "articles.jsonl.gz",
            "https://github.com/ramybaly/Article-Bias-Prediction/archive/"
            "ced8111a720948e6a410e52031ace99c4e53f096.tar.gz",
            layout="allsides",
        ),
        Dataset(
            "basil",
            "BASIL bias spans and stance (Fan et al., EMNLP 2019)",
            "articles",
            "https://github.com/launchnlp/BASIL/archive/4fdbc4f68d5ddae648990063cb6dd11424d96222.tar.gz",
            layout="basil",
        ),
        Dataset(
            "tweeteval_stance",
            "SemEval-2016 Task 6 stance as packaged by TweetEval",
            "mapping.txt",
            "https://github.com/cardiffnlp/tweeteval/archive/4fbd22cd78421f05b1ecdb4fc5725bc7a7bd8f66.tar.gz",
            layout="tweeteval_stance",
        ),
        Dataset(
            "ru_us_rapprochement",
            "Stance toward Russia–US rapprochement (made for this project; labels only)",
            "labels.csv",
            None,
        ),
    )
}

CORPORA: dict[str, CorpusEntry] = {
    c.name: c
    for c in (
        CorpusEntry("allsides", ("allsides",), 36274, {}, "random split 27,978 / 6,996 / 1,300"),
        CorpusEntry(
            "allsides_media", ("allsides",), 30246, {}, "media split 26,590 / 2,356 / 1,300"
        ),
        CorpusEntry("basil_actor", ("basil",), 612, {"neu": 463, "neg": 126, "pos": 23}),
        CorpusEntry("basil_relative", ("basil",), 300, {"center": 144, "left": 81, "right": 75}),
        CorpusEntry("basil_sentence", ("basil",), 7977, {"none": 6354, "biased": 1623}),
        CorpusEntry(
            "semeval2016",
            ("tweeteval_stance",),
            4163,
            {"against": 2110, "favor": 1057, "none": 996},
            "train 2,620 / val 294 / test 1,249",
        ),
        CorpusEntry(
            "ru_us_rapprochement",
            ("ru_us_rapprochement", "allsides"),
            316,
            {"unrelated": 163, "neutral": 87, "against": 53, "favor": 13},
        ),
    )
}


def dataset_names(name: str) -> list[str]:
    """The dataset folders behind ``name`` (a corpus config name or a dataset name)."""
    if name in DATASETS:
        return [name]
    if name in CORPORA:
        return list(CORPORA[name].datasets)
    raise DataError(
        f"unknown corpus {name!r}; known: {sorted(CORPORA)} (datasets: {sorted(DATASETS)})"
    )

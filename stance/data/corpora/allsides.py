"""AllSides (Baly et al., EMNLP 2020): the outlet leaning (left / center / right) of articles.

Two corpora read the same folder: ``allsides`` (released random split) and
``allsides_media`` (released media split: outlets kept apart). The Russia–US
corpus reads its texts from here too (:func:`read_allsides_articles`).
"""

from __future__ import annotations

import gzip
import json
import shutil
from pathlib import Path
from typing import ClassVar

import pandas as pd

from stance.data.corpora.base import CorpusSpec, Counts, Dataset, require
from stance.data.files import _quiet_datasets, datasets_cache_dir
from stance.data.table import Corpus, Task
from stance.errors import DataError

ALLSIDES_LABELS = ("left", "center", "right")
ALLSIDES_COLUMNS = ("ID", "source", "title", "date", "authors", "topic", "content_original", "bias")
#: Split file name -> ``split`` value.
SPLIT_FILES = {"train": "train", "valid": "val", "test": "test"}


def layout_allsides(src: Path, dest: Path) -> None:
    """Upstream ``data/jsons/*.json`` -> one ``articles.jsonl.gz`` (reproducible gzip) + splits."""
    jsons = sorted((src / "data" / "jsons").glob("*.json"))
    if not jsons:
        raise DataError(f"{src}: no data/jsons/*.json in the AllSides archive")
    with (
        open(dest / "articles.jsonl.gz", "wb") as raw,
        gzip.GzipFile(fileobj=raw, mode="wb", mtime=0) as out,
    ):
        for path in jsons:
            record = json.loads(path.read_text(encoding="utf-8"))
            out.write((json.dumps(record, ensure_ascii=False) + "\n").encode("utf-8"))
    shutil.copytree(src / "data" / "splits", dest / "splits", dirs_exist_ok=True)
    if (src / "LICENSE").exists():
        shutil.copy2(src / "LICENSE", dest / "LICENSE")


ALLSIDES = Dataset(
    "allsides",
    "AllSides article leaning (Baly et al., EMNLP 2020)",
    "articles.jsonl.gz",
    "https://github.com/ramybaly/Article-Bias-Prediction/archive/"
    "ced8111a720948e6a410e52031ace99c4e53f096.tar.gz",
    layout=layout_allsides,
)


def read_allsides_articles(data_dir: Path, ids: set[str] | None = None) -> pd.DataFrame:
    """AllSides articles as a raw frame (optionally only ``ids``), via the Arrow cache.

    The first call converts the 37,554-line JSONL to Arrow under the stance
    cache; later calls memory-map it and take a few seconds at most.
    """
    path = require(Path(data_dir) / "allsides" / "articles.jsonl.gz")
    _quiet_datasets()
    from datasets import load_dataset

    try:
        dataset = load_dataset(
            "json", data_files=str(path), split="train", cache_dir=datasets_cache_dir()
        )
    except Exception as exc:  # noqa: BLE001 - turned into a readable message below
        from stance.data.files import _diagnose

        raise DataError(_diagnose(path, "jsonl") or f"could not read {path}: {exc}") from exc
    columns = [c for c in ALLSIDES_COLUMNS if c in dataset.column_names]
    if "ID" not in columns:
        raise DataError(f"{path}: records have no 'ID' field; fields: {dataset.column_names}")
    if ids is not None:
        # Pick rows in Arrow before converting: ru_us needs a few hundred of 37,554 long articles.
        wanted = set(ids)
        dataset = dataset.select([i for i, key in enumerate(dataset["ID"]) if key in wanted])
    return dataset.select_columns(columns).to_pandas()


def read_allsides_split(data_dir: Path, scheme: str) -> pd.DataFrame:
    """The released split files of ``scheme`` (random / media) as ``ID, split``."""
    if scheme not in {"random", "media"}:
        raise DataError(f"allsides: split_scheme must be 'random' or 'media', got {scheme!r}")
    parts = []
    for file_part, split in SPLIT_FILES.items():
        path = require(Path(data_dir) / "allsides" / "splits" / scheme / f"{file_part}.tsv")
        part = pd.read_csv(path, sep="\t", dtype=str)
        if "ID" not in part.columns:
            raise DataError(f"{path}: missing column 'ID'; columns present: {list(part.columns)}")
        parts.append(pd.DataFrame({"ID": part["ID"], "split": split}))
    return pd.concat(parts, ignore_index=True)


class AllSides(CorpusSpec):
    """Outlet leaning (left / center / right) of AllSides articles, released random split.

    ``split_scheme=media`` reads the media split instead (what ``allsides_media`` does).
    """

    name = "allsides"
    datasets = (ALLSIDES,)
    task = Task("allsides", ALLSIDES_LABELS)
    documented = Counts(rows=36274, splits={"train": 27978, "val": 6996, "test": 1300})
    notes = "group = source = outlet; 1,280 articles are in no split file of the random scheme"
    split_scheme: ClassVar[str] = "random"

    def __init__(
        self, name: str | None = None, clean: bool = True, split_scheme: str | None = None
    ) -> None:
        super().__init__(name, clean)
        if split_scheme is not None:
            self.split_scheme = split_scheme

    def load(self, data_dir: Path) -> Corpus:
        scheme = str(self.split_scheme)
        articles = read_allsides_articles(data_dir)
        splits = read_allsides_split(data_dir, scheme)
        merged = articles.merge(splits, on="ID", how="inner", validate="one_to_one")
        notes = []
        dropped = len(articles) - len(merged)
        if dropped:
            notes.append(f"{dropped} article(s) not in the {scheme} split files were dropped")
        missing = len(splits) - len(merged)
        if missing:
            notes.append(f"{missing} split-file id(s) have no article")
        straddling = merged.groupby("source")["split"].nunique()
        straddling = sorted(straddling[straddling > 1].index)
        if straddling and scheme == "media":
            notes.append(
                f"{len(straddling)} outlet name(s) appear in more than one part of the released "
                f"media split (e.g. {straddling[:3]}); use split=group_kfold for strictly "
                "outlet-disjoint folds"
            )
        frame = pd.DataFrame(
            {
                "id": merged["ID"],
                "text": merged["content_original"],
                "title": merged["title"],
                "target": "",
                "label": merged["bias"].map({0: "left", 1: "center", 2: "right"}),
                "group": merged["source"],
                "source": merged["source"],
                "date": merged["date"],
                "split": merged["split"],
            }
        )
        # A name given in the config wins; otherwise the scheme decides (allsides / allsides_media).
        name = self.config_name or ("allsides" if scheme == "random" else f"allsides_{scheme}")
        files = [str(Path(data_dir) / "allsides" / "articles.jsonl.gz")]
        files += [
            str(Path(data_dir) / "allsides" / "splits" / scheme / f"{p}.tsv") for p in SPLIT_FILES
        ]
        return Corpus(name, frame, Task(name, ALLSIDES_LABELS), files=files, notes=notes)


class AllSidesMedia(AllSides):
    """AllSides with the released media split: train / val / test drawn from different outlets."""

    name = "allsides_media"
    task = Task("allsides_media", ALLSIDES_LABELS)
    documented = Counts(
        rows=30246,
        splits={"train": 26590, "val": 2356, "test": 1300},
        split_labels={"val": {"left": 1640, "center": 618, "right": 98}},
    )
    notes = (
        "the README says no outlet is in two parts; by `source` name, 19 of 203 are "
        "(a handful of articles each): use split=group_kfold for strictly outlet-disjoint folds"
    )
    split_scheme = "media"
    #: Outlet names found in more than one part of the media split (checked by the tests).
    straddling_outlets: ClassVar[int] = 19

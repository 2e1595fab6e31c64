"""Dispatch from a ``data`` config to the loader that builds the corpus table."""

from __future__ import annotations

import gzip
import json
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from stance.data.table import Corpus, Task
from stance.errors import DataError

RU_US_TARGET = "Russia–US rapprochement"


def _require(path: Path, hint: str = "") -> Path:
    if not path.exists():
        raise DataError(f"missing file {path}{': ' + hint if hint else ''}")
    return path


def read_allsides_articles(data_dir: Path, ids: set[str] | None = None) -> pd.DataFrame:
    """AllSides articles as a raw frame (optionally only ``ids``)."""
    path = _require(data_dir / "allsides" / "articles.jsonl.gz", "set STANCE_DATA_DIR or paths.data_dir")
    rows = []
    with gzip.open(path, "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            if ids is None or record["ID"] in ids:
                rows.append(record)
    return pd.DataFrame(rows)


def load_ru_us_rapprochement(data_dir: Path, options: Mapping[str, Any]) -> Corpus:
    labels_path = _require(data_dir / "ru_us_rapprochement" / "labels.csv")
    labels = pd.read_csv(labels_path, dtype=str)
    articles = read_allsides_articles(data_dir, set(labels["id"]))
    merged = labels.merge(articles, left_on="id", right_on="ID", how="left", validate="one_to_one")
    frame = pd.DataFrame({
        "id": merged["id"],
        "text": merged["content_original"],
        "title": merged["title"],
        "target": merged["target"],
        "label": merged["label"],
        "group": merged["source"],
        "source": merged["source"],
        "date": merged["date"],
    })
    task = Task("ru_us_rapprochement", ("favor", "against", "neutral", "unrelated"))
    return Corpus("ru_us_rapprochement", frame, task, files=[str(labels_path)])


LOADERS = {"ru_us_rapprochement": load_ru_us_rapprochement}


def load_corpus(data_cfg: Mapping[str, Any], data_dir: Path) -> Corpus:
    """Load the corpus a ``data`` config names, from ``data_dir``."""
    loader = data_cfg.get("loader", data_cfg.get("name"))
    if loader not in LOADERS:
        raise DataError(f"unknown data loader {loader!r}; known: {sorted(LOADERS)}")
    if not Path(data_dir).is_dir():
        raise DataError(f"data directory {data_dir} does not exist; set STANCE_DATA_DIR or paths.data_dir")
    return LOADERS[loader](Path(data_dir), data_cfg.get("options") or {})

"""Stance toward Russia–US rapprochement (made for this project): labels joined to AllSides texts."""

from __future__ import annotations

from pathlib import Path

import pandas as pd

from stance.data.corpora.allsides import ALLSIDES, read_allsides_articles
from stance.data.corpora.base import CorpusSpec, Counts, Dataset, require
from stance.data.table import Corpus, Task
from stance.errors import DataError

RU_US_TARGET = "Russia–US rapprochement"

RU_US_LABELS_DATASET = Dataset(
    "ru_us_rapprochement",
    "Stance toward Russia–US rapprochement (made for this project; labels only)",
    "labels.csv",
    None,
)


class RuUsRapprochement(CorpusSpec):
    """Article stance toward Russia–US rapprochement; group = outlet (from AllSides)."""

    name = "ru_us_rapprochement"
    datasets = (RU_US_LABELS_DATASET, ALLSIDES)
    task = Task("ru_us_rapprochement", ("favor", "against", "neutral", "unrelated"))
    documented = Counts(
        rows=552, labels={"unrelated": 289, "neutral": 158, "against": 88, "favor": 17}
    )
    notes = (
        "silver labels (two model-assisted passes); labels.csv `sample` says how each article "
        "was drawn (random / enriched / pool), reported as a note"
    )

    def load(self, data_dir: Path) -> Corpus:
        labels_path = require(Path(data_dir) / "ru_us_rapprochement" / "labels.csv")
        labels = pd.read_csv(labels_path, dtype=str, keep_default_na=False)
        missing_cols = [c for c in ("id", "label") if c not in labels.columns]
        if missing_cols:
            raise DataError(
                f"{labels_path}: missing column(s) {missing_cols}; "
                f"columns present: {list(labels.columns)}"
            )
        if labels["id"].duplicated().any():
            dup = labels.loc[labels["id"].duplicated(), "id"].iloc[0]
            raise DataError(f"{labels_path}: id {dup!r} is listed more than once")
        articles = read_allsides_articles(data_dir, set(labels["id"]))
        absent = sorted(set(labels["id"]) - set(articles["ID"]))
        if absent:
            raise DataError(
                f"{labels_path}: {len(absent)} id(s) not found in allsides/articles.jsonl.gz "
                f"(first: {absent[:5]}); is the allsides corpus complete? "
                "(`stance data verify allsides`)"
            )
        merged = labels.merge(
            articles, left_on="id", right_on="ID", how="left", validate="one_to_one"
        )
        target = merged["target"] if "target" in merged.columns else RU_US_TARGET
        frame = pd.DataFrame(
            {
                "id": merged["id"],
                "text": merged["content_original"],
                "title": merged["title"],
                "target": target,
                "label": merged["label"],
                "group": merged["source"],
                "source": merged["source"],
                "date": merged["date"],
            }
        )
        notes = []
        if "sample" in labels.columns:
            # How each article was drawn; kept out of the table (its columns are fixed).
            drawn = labels["sample"].value_counts()
            notes.append("sampled as " + ", ".join(f"{k} {v}" for k, v in drawn.items()))
        files = [str(labels_path), str(Path(data_dir) / "allsides" / "articles.jsonl.gz")]
        return Corpus(type(self).name, frame, self.task, files=files, notes=notes)

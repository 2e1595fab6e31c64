"""Loaders for the shipped benchmark corpora (AllSides, BASIL, SemEval-2016, Russia–US).

Each loader maps one corpus's raw layout onto the corpus table
(:mod:`stance.data.table`) and fixes the task (labels, metric), so a
``data=<name>`` config is all a researcher needs. Counts are documented in each
corpus README and asserted by ``tests/test_data_corpora.py``.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import pandas as pd

from stance.data.files import _quiet_datasets, datasets_cache_dir
from stance.data.table import Corpus, Task
from stance.errors import DataError

RU_US_TARGET = "Russia–US rapprochement"
ALLSIDES_LABELS = ("left", "center", "right")
ALLSIDES_COLUMNS = ("ID", "source", "title", "date", "authors", "topic", "content_original", "bias")
SPLIT_FILES = {"train": "train", "valid": "val", "test": "test"}

SEMEVAL_TARGETS = {
    "abortion": "Legalization of abortion",
    "atheism": "Atheism",
    "climate": "Climate change is a real concern",
    "feminist": "Feminist movement",
    "hillary": "Hillary Clinton",
}
SEMEVAL_LABELS = ("none", "against", "favor")


def require(
    path: Path, hint: str = "set STANCE_DATA_DIR or paths.data_dir, or run `stance data fetch`"
) -> Path:
    """Return ``path`` or raise a :class:`DataError` saying which file is missing."""
    if not path.exists():
        raise DataError(f"missing file {path}{': ' + hint if hint else ''}")
    return path


# ---------------------------------------------------------------- AllSides


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
        # Pick rows in Arrow before converting: ru_us needs 316 of 37,554 long articles.
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


def load_allsides(data_dir: Path, options: Mapping[str, Any]) -> Corpus:
    """Outlet leaning (left / center / right) of AllSides articles, released splits."""
    scheme = str(options.get("split_scheme", "random"))
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
            f"{len(straddling)} outlet name(s) appear in more than one part of the released media "
            f"split (e.g. {straddling[:3]}); use split=group_kfold for strictly outlet-disjoint folds"
        )
    labels = merged["bias"].map({0: "left", 1: "center", 2: "right"})
    frame = pd.DataFrame(
        {
            "id": merged["ID"],
            "text": merged["content_original"],
            "title": merged["title"],
            "target": "",
            "label": labels,
            "group": merged["source"],
            "source": merged["source"],
            "date": merged["date"],
            "split": merged["split"],
        }
    )
    name = str(options.get("name") or ("allsides" if scheme == "random" else f"allsides_{scheme}"))
    task = Task(name, ALLSIDES_LABELS)
    files = [str(Path(data_dir) / "allsides" / "articles.jsonl.gz")]
    files += [
        str(Path(data_dir) / "allsides" / "splits" / scheme / f"{p}.tsv") for p in SPLIT_FILES
    ]
    return Corpus(name, frame, task, files=files, notes=notes)


# ---------------------------------------------------------------- Russia–US


def load_ru_us_rapprochement(data_dir: Path, options: Mapping[str, Any]) -> Corpus:
    """Stance toward Russia–US rapprochement: labels joined with AllSides texts by id."""
    labels_path = require(Path(data_dir) / "ru_us_rapprochement" / "labels.csv")
    labels = pd.read_csv(labels_path, dtype=str, keep_default_na=False)
    missing_cols = [c for c in ("id", "label") if c not in labels.columns]
    if missing_cols:
        raise DataError(
            f"{labels_path}: missing column(s) {missing_cols}; columns present: {list(labels.columns)}"
        )
    if labels["id"].duplicated().any():
        dup = labels.loc[labels["id"].duplicated(), "id"].iloc[0]
        raise DataError(f"{labels_path}: id {dup!r} is listed more than once")
    articles = read_allsides_articles(data_dir, set(labels["id"]))
    absent = sorted(set(labels["id"]) - set(articles["ID"]))
    if absent:
        raise DataError(
            f"{labels_path}: {len(absent)} id(s) not found in allsides/articles.jsonl.gz "
            f"(first: {absent[:5]}); is the allsides corpus complete? (`stance data verify allsides`)"
        )
    merged = labels.merge(articles, left_on="id", right_on="ID", how="left", validate="one_to_one")
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
    task = Task("ru_us_rapprochement", ("favor", "against", "neutral", "unrelated"))
    files = [str(labels_path), str(Path(data_dir) / "allsides" / "articles.jsonl.gz")]
    return Corpus("ru_us_rapprochement", frame, task, files=files)


# ---------------------------------------------------------------- BASIL


def _basil_pairs(data_dir: Path) -> Iterable[tuple[Path, dict, dict]]:
    root = Path(data_dir) / "basil"
    articles = sorted(require(root / "articles").glob("*/*.json"))
    if not articles:
        raise DataError(f"{root / 'articles'}: no article files (expected YEAR/TRIPLET_N.json)")
    for article_path in articles:
        ann_path = root / "annotations" / article_path.parent.name / f"{article_path.stem}_ann.json"
        require(ann_path)
        try:
            article = json.loads(article_path.read_text(encoding="utf-8"))
            annotation = json.loads(ann_path.read_text(encoding="utf-8"))
        except (json.JSONDecodeError, UnicodeDecodeError) as exc:
            raise DataError(f"basil: cannot parse {article_path} or {ann_path}: {exc}") from None
        yield article_path, article, annotation


def _basil_base(article_path: Path, article: dict) -> dict[str, str]:
    paragraphs = [" ".join(sentences) for sentences in article.get("body-paragraphs", [])]
    return {
        # Some upstream files have uuid "empty"; the file stem (TRIPLET_N) is always unique.
        "id": article_path.stem,
        "text": "\n\n".join(p for p in paragraphs if p.strip()),
        "title": article.get("title", ""),
        "group": article.get("triplet-uuid", ""),
        "source": str(article.get("source", "")).strip().lower(),  # upstream mixes FOX / fox
        "date": article.get("date", ""),
    }


def load_basil_actor(data_dir: Path, options: Mapping[str, Any]) -> Corpus:
    """Article–actor stance: one row per (article, main entity), label neg / neu / pos."""
    rows = []
    for article_path, article, annotation in _basil_pairs(data_dir):
        base = _basil_base(article_path, article)
        level = annotation.get("article-level-annotations", {})
        for key, value in level.items():
            if not key.startswith("author_feeling_") or key == "author_feeling_main_event":
                continue
            entity = key[len("author_feeling_") :].replace("_", " ")
            rows.append({**base, "id": f"{base['id']}:{entity}", "target": entity, "label": value})
    task = Task("basil_actor", ("neg", "neu", "pos"))
    return Corpus("basil_actor", pd.DataFrame(rows), task, files=[str(Path(data_dir) / "basil")])


RELATIVE_STANCE = {
    "left": "left",
    "liberal": "left",
    "center": "center",
    "right": "right",
    "conservative": "right",
}


def load_basil_relative(data_dir: Path, options: Mapping[str, Any]) -> Corpus:
    """Relative stance of each article within its triplet: left / center / right."""
    rows = []
    for article_path, article, annotation in _basil_pairs(data_dir):
        raw = str(annotation.get("article-level-annotations", {}).get("relative_stance", ""))
        label = RELATIVE_STANCE.get(raw.strip().lower())
        if label is None:
            raise DataError(f"basil: {article_path.name} has relative_stance {raw!r}")
        rows.append({**_basil_base(article_path, article), "label": label})
    task = Task("basil_relative", ("left", "center", "right"))
    return Corpus("basil_relative", pd.DataFrame(rows), task, files=[str(Path(data_dir) / "basil")])


def load_basil_sentence(data_dir: Path, options: Mapping[str, Any]) -> Corpus:
    """Sentence-level bias: ``biased`` if a lexical/informational span falls in the sentence.

    Span ids ``pN`` index the article's body sentences (flattened, from 0);
    title spans (``t…``, 3 in all) are not sentences of the body and are skipped.
    """
    rows = []
    for article_path, article, annotation in _basil_pairs(data_dir):
        base = _basil_base(article_path, article)
        biased = set()
        for span in annotation.get("phrase-level-annotations", []):
            span_id = str(span.get("id", ""))
            if span_id.startswith("p") and span.get("bias") in {"lex", "inf"}:
                biased.add(int(span_id[1:]))
        sentences = [s for paragraph in article.get("body-paragraphs", []) for s in paragraph]
        for index, sentence in enumerate(sentences):
            rows.append(
                {
                    **base,
                    "id": f"{base['id']}:s{index}",
                    "text": sentence,
                    "label": "biased" if index in biased else "none",
                }
            )
    task = Task("basil_sentence", ("none", "biased"))
    return Corpus("basil_sentence", pd.DataFrame(rows), task, files=[str(Path(data_dir) / "basil")])


# ---------------------------------------------------------------- SemEval-2016


def _resolve_targets(targets: Any) -> list[str]:
    if targets is None or targets == "all":
        return list(SEMEVAL_TARGETS)
    if isinstance(targets, str):
        targets = [targets]
    by_name = {v.lower(): k for k, v in SEMEVAL_TARGETS.items()}
    out = []
    for target in targets:
        key = str(target).strip().lower()
        key = by_name.get(key, key)
        if key not in SEMEVAL_TARGETS:
            raise DataError(
                f"semeval2016: unknown target {target!r}; known: {list(SEMEVAL_TARGETS)} "
                f"or {list(SEMEVAL_TARGETS.values())}"
            )
        out.append(key)
    return out


def _read_lines(path: Path) -> list[str]:
    try:
        text = require(path).read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise DataError(f"{path}: byte offset {exc.start} is not valid UTF-8") from None
    lines = text.split("\n")
    if lines and lines[-1] == "":
        lines.pop()
    return lines


def load_semeval2016(data_dir: Path, options: Mapping[str, Any]) -> Corpus:
    """SemEval-2016 Task 6A tweets (TweetEval packaging): official train / val / test."""
    root = Path(data_dir) / "tweeteval_stance"
    mapping = dict(enumerate(SEMEVAL_LABELS))
    rows = []
    files = []
    for key in _resolve_targets(options.get("targets")):
        for split in ("train", "val", "test"):
            text_path = root / key / f"{split}_text.txt"
            label_path = root / key / f"{split}_labels.txt"
            texts, labels = _read_lines(text_path), _read_lines(label_path)
            files += [str(text_path), str(label_path)]
            if len(texts) != len(labels):
                raise DataError(
                    f"{text_path}: {len(texts)} tweets but {len(labels)} labels in {label_path}"
                )
            for index, (text, raw) in enumerate(zip(texts, labels, strict=True)):
                try:
                    label = mapping[int(raw.strip())]
                except (ValueError, KeyError):
                    raise DataError(
                        f"{label_path}: line {index + 1} has label {raw!r}, expected 0/1/2"
                    ) from None
                rows.append(
                    {
                        "id": f"{key}-{split}-{index}",
                        "text": text,
                        "target": SEMEVAL_TARGETS[key],
                        "label": label,
                        "group": SEMEVAL_TARGETS[key],
                        "split": split,
                    }
                )
    task = Task("semeval2016", SEMEVAL_LABELS, metric="f_avg", metric_labels=("favor", "against"))
    return Corpus("semeval2016", pd.DataFrame(rows), task, files=files)

"""BASIL (Fan et al., EMNLP 2019): 100 events, each told by Fox, NYT and HuffPost.

Three corpora read the same folder: article–actor stance (``basil_actor``),
relative stance within the triplet (``basil_relative``) and sentence-level bias
(``basil_sentence``). ``group`` is the triplet, so an event never straddles folds.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path

import pandas as pd

from stance.data.corpora.base import CorpusSpec, Counts, Dataset, require
from stance.data.table import Corpus, Task
from stance.errors import DataError


def layout_basil(src: Path, dest: Path) -> None:
    """Keep ``articles/`` and ``annotations/`` (and the upstream notes) of the BASIL repository."""
    for folder in ("articles", "annotations"):
        if not (src / folder).is_dir():
            raise DataError(f"{src}: no {folder}/ in the BASIL archive")
        shutil.copytree(src / folder, dest / folder, dirs_exist_ok=True)
    if (src / "README.md").exists():
        shutil.copy2(src / "README.md", dest / "UPSTREAM_README.md")
    if (src / "annotation_changes.txt").exists():
        shutil.copy2(src / "annotation_changes.txt", dest / "annotation_changes.txt")


BASIL = Dataset(
    "basil",
    "BASIL bias spans and stance (Fan et al., EMNLP 2019)",
    "articles",
    "https://github.com/launchnlp/BASIL/archive/4fdbc4f68d5ddae648990063cb6dd11424d96222.tar.gz",
    layout=layout_basil,
)

RELATIVE_STANCE = {
    "left": "left",
    "liberal": "left",
    "center": "center",
    "right": "right",
    "conservative": "right",
}


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


class _Basil(CorpusSpec):
    """What the three BASIL corpora share: the folder, and the files they report reading."""

    datasets = (BASIL,)

    def _corpus(self, rows: list[dict], data_dir: Path) -> Corpus:
        name = type(self).name
        return Corpus(name, pd.DataFrame(rows), self.task, files=[str(Path(data_dir) / "basil")])


class BasilActor(_Basil):
    """Article–actor stance: one row per (article, main entity), label neg / neu / pos."""

    name = "basil_actor"
    task = Task("basil_actor", ("neg", "neu", "pos"))
    documented = Counts(rows=612, labels={"neu": 463, "neg": 126, "pos": 23}, groups=100)
    notes = "target = the entity (author_feeling_<entity>); group = triplet"

    def load(self, data_dir: Path) -> Corpus:
        rows = []
        for article_path, article, annotation in _basil_pairs(data_dir):
            base = _basil_base(article_path, article)
            level = annotation.get("article-level-annotations", {})
            for key, value in level.items():
                if not key.startswith("author_feeling_") or key == "author_feeling_main_event":
                    continue
                entity = key[len("author_feeling_") :].replace("_", " ")
                rows.append(
                    {**base, "id": f"{base['id']}:{entity}", "target": entity, "label": value}
                )
        return self._corpus(rows, data_dir)


class BasilRelative(_Basil):
    """Relative stance of each article within its triplet: left / center / right."""

    name = "basil_relative"
    task = Task("basil_relative", ("left", "center", "right"))
    # README: 144 center, 56 liberal + 25 left, 38 conservative + 37 right.
    documented = Counts(rows=300, labels={"center": 144, "left": 81, "right": 75}, groups=100)
    notes = "liberal -> left, conservative -> right"

    def load(self, data_dir: Path) -> Corpus:
        rows = []
        for article_path, article, annotation in _basil_pairs(data_dir):
            raw = str(annotation.get("article-level-annotations", {}).get("relative_stance", ""))
            label = RELATIVE_STANCE.get(raw.strip().lower())
            if label is None:
                raise DataError(f"basil: {article_path.name} has relative_stance {raw!r}")
            rows.append({**_basil_base(article_path, article), "label": label})
        return self._corpus(rows, data_dir)


class BasilSentence(_Basil):
    """Sentence-level bias: ``biased`` if a lexical/informational span falls in the sentence.

    Span ids ``pN`` index the article's body sentences (flattened, from 0);
    title spans (``t…``, 3 in all) are not sentences of the body and are skipped.
    """

    name = "basil_sentence"
    task = Task("basil_sentence", ("none", "biased"))
    # 7,984 body sentences; 1,623 hold one of the 1,723 body spans; the 7 empty ones are dropped.
    documented = Counts(rows=7977, labels={"none": 6354, "biased": 1623}, groups=100, dropped=7)
    notes = "one row per body sentence; the article's fields are repeated on each"

    def load(self, data_dir: Path) -> Corpus:
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
        return self._corpus(rows, data_dir)

"""SemEval-2016 Task 6A stance in tweets, as packaged by TweetEval (official train / val / test)."""

from __future__ import annotations

import shutil
from pathlib import Path
from typing import Any

import pandas as pd

from stance.data.corpora.base import CorpusSpec, Counts, Dataset, require
from stance.data.table import Corpus, Task
from stance.errors import DataError

SEMEVAL_TARGETS = {
    "abortion": "Legalization of abortion",
    "atheism": "Atheism",
    "climate": "Climate change is a real concern",
    "feminist": "Feminist movement",
    "hillary": "Hillary Clinton",
}
SEMEVAL_LABELS = ("none", "against", "favor")


def layout_tweeteval_stance(src: Path, dest: Path) -> None:
    """Keep ``datasets/stance/`` of the TweetEval repository."""
    stance = src / "datasets" / "stance"
    if not stance.is_dir():
        raise DataError(f"{src}: no datasets/stance/ in the TweetEval archive")
    shutil.copytree(stance, dest, dirs_exist_ok=True)


TWEETEVAL_STANCE = Dataset(
    "tweeteval_stance",
    "SemEval-2016 Task 6 stance as packaged by TweetEval",
    "mapping.txt",
    "https://github.com/cardiffnlp/tweeteval/archive/4fbd22cd78421f05b1ecdb4fc5725bc7a7bd8f66.tar.gz",
    layout=layout_tweeteval_stance,
)


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


class SemEval2016(CorpusSpec):
    """Tweets toward five targets; ``targets`` picks some (keys or full names), None = all five."""

    name = "semeval2016"
    datasets = (TWEETEVAL_STANCE,)
    task = Task("semeval2016", SEMEVAL_LABELS, metric="f_avg", metric_labels=("favor", "against"))
    documented = Counts(
        rows=4163,
        labels={"against": 2110, "favor": 1057, "none": 996},
        splits={"train": 2620, "val": 294, "test": 1249},
        groups=5,
    )
    notes = "metric F_avg = mean F1 of favor and against; group = target"

    def __init__(self, name: str | None = None, clean: bool = False, targets: Any = None) -> None:
        super().__init__(name, clean)
        self.targets = targets

    def load(self, data_dir: Path) -> Corpus:
        root = Path(data_dir) / "tweeteval_stance"
        mapping = dict(enumerate(SEMEVAL_LABELS))
        rows = []
        files = []
        for key in _resolve_targets(self.targets):
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
        return Corpus("semeval2016", pd.DataFrame(rows), self.task, files=files)

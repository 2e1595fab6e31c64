"""FNC-1 (Fake News Challenge stage 1, 2017): a body's stance toward a headline (a claim).

One row per (headline, body) pair: ``target`` = headline, ``text`` = body,
``group`` = ``Body ID``. ``split``: the competition test set is ``test``; the
training pairs are ``train`` except those of a fixed 10% of the training
bodies (chosen by a salted hash of the Body ID, so no body is on both sides and
the cut never changes), which are ``val``: choose on ``val``, score ``test`` once.
"""

from __future__ import annotations

import gzip
import hashlib
import shutil
from pathlib import Path

import pandas as pd

from stance.data.corpora.base import CorpusSpec, Counts, Dataset, require
from stance.data.table import Corpus, Task
from stance.errors import ConfigError, DataError

#: The four files, as named upstream (``.csv``) and here (``.csv.gz``).
FILES = ("train_stances", "train_bodies", "competition_test_stances", "competition_test_bodies")
FNC1_LABELS = ("agree", "disagree", "discuss", "unrelated")
#: Salt of the hash that puts a training body in ``val``: changing it changes the cut.
VAL_SALT = "fnc1-val"


def layout_fnc1(src: Path, dest: Path) -> None:
    """The upstream repository's four CSVs, gzipped reproducibly (mtime 0) as the folder holds them."""
    for stem in FILES:
        path = src / f"{stem}.csv"
        if not path.is_file():
            raise DataError(f"{src}: no {path.name} in the FNC-1 archive")
        with (
            open(path, "rb") as raw_in,
            open(dest / f"{stem}.csv.gz", "wb") as raw_out,
            gzip.GzipFile(fileobj=raw_out, mode="wb", mtime=0) as out,
        ):
            shutil.copyfileobj(raw_in, out)


FNC1 = Dataset(
    "fnc1",
    "Fake News Challenge stage 1: body stance toward a headline (2017)",
    "competition_test_stances.csv.gz",
    # The FakeNewsChallenge/fnc-1 repository at the commit that added the competition test
    # labels. Not checksum-pinned: the archive could not be downloaded when this was written.
    "https://github.com/FakeNewsChallenge/fnc-1/archive/e31ff0faab04036c4685f8de956bcef55d8abce5.tar.gz",
    layout=layout_fnc1,
)


def _read(path: Path, columns: tuple[str, ...]) -> pd.DataFrame:
    try:
        frame = pd.read_csv(require(path), dtype=str, keep_default_na=False)
    except (UnicodeDecodeError, EOFError, OSError, pd.errors.ParserError) as exc:
        raise DataError(f"{path}: not a readable gzipped CSV ({exc})") from None
    missing = [c for c in columns if c not in frame.columns]
    if missing:
        raise DataError(
            f"{path}: missing column(s) {missing}; columns present: {list(frame.columns)}"
        )
    return frame


def _pairs(root: Path, part: str) -> pd.DataFrame:
    """Stances joined to their bodies; every Body ID must have a body."""
    stances_path = root / f"{part}_stances.csv.gz"
    stances = _read(stances_path, ("Headline", "Body ID", "Stance"))
    bodies = _read(root / f"{part}_bodies.csv.gz", ("Body ID", "articleBody"))
    if bodies["Body ID"].duplicated().any():
        dup = bodies.loc[bodies["Body ID"].duplicated(), "Body ID"].iloc[0]
        raise DataError(f"{root / f'{part}_bodies.csv.gz'}: Body ID {dup!r} appears twice")
    merged = stances.merge(bodies, on="Body ID", how="left", validate="many_to_one")
    orphan = merged["articleBody"].isna().to_numpy()
    if orphan.any():
        row = int(orphan.nonzero()[0][0])
        raise DataError(
            f"{stances_path}: row {row + 2} has Body ID {merged['Body ID'].iloc[row]!r}, "
            f"which is not in {part}_bodies.csv.gz ({int(orphan.sum())} such rows)"
        )
    return merged


def in_val(body_ids: pd.Series, share: float) -> pd.Series:
    """Whether each training Body ID falls in the validation share (salted SHA-256, no seed)."""

    def bucket(body_id: str) -> float:
        digest = hashlib.sha256(f"{VAL_SALT}:{body_id}".encode()).digest()
        return int.from_bytes(digest[:8], "big") / 2**64

    return body_ids.map(bucket) < share


class Fnc1(CorpusSpec):
    """FNC-1 headline–body pairs; ``val_share`` of the training bodies form the ``val`` part."""

    name = "fnc1"
    datasets = (FNC1,)
    task = Task("fnc1", FNC1_LABELS, extra_metrics=("fnc_score",))
    documented = Counts(
        rows=49972 + 25413,
        labels={"unrelated": 54894, "discuss": 13373, "agree": 5581, "disagree": 1537},
        # test: the README's 25,413; train / val: the fixed 10% body cut of the 49,972.
        splits={"train": 44518, "val": 5454, "test": 25413},
        split_labels={
            "val": {"unrelated": 4153, "discuss": 964, "agree": 281, "disagree": 56},
            "test": {"unrelated": 18349, "discuss": 4464, "agree": 1903, "disagree": 697},
        },
        groups=1683 + 904,
    )
    notes = (
        "target = headline, text = body, group = Body ID; headline metric macro-F1 "
        "(the official FNC score rewards the majority `unrelated`; report both)"
    )

    def __init__(self, name: str | None = None, clean: bool = True, val_share: float = 0.1) -> None:
        super().__init__(name, clean)
        self.val_share = val_share

    def load(self, data_dir: Path) -> Corpus:
        share = float(self.val_share)
        if not 0.0 <= share < 1.0:
            raise ConfigError(f"data.val_share must be in [0, 1), got {self.val_share!r}")
        root = Path(data_dir) / "fnc1"
        train = _pairs(root, "train")
        test = _pairs(root, "competition_test")
        train_split = in_val(train["Body ID"], share).map({True: "val", False: "train"})
        frame = pd.concat(
            [
                self._table(train, "train", train_split),
                self._table(test, "test", pd.Series("test", index=test.index)),
            ],
            ignore_index=True,
        )
        files = [str(root / f"{stem}.csv.gz") for stem in FILES]
        return Corpus(type(self).name, frame, self.task, files=files)

    @staticmethod
    def _table(pairs: pd.DataFrame, part: str, split: pd.Series) -> pd.DataFrame:
        return pd.DataFrame(
            {
                # Row number in the stances file: a headline–body pair can repeat.
                "id": [f"{part}-{i}" for i in range(len(pairs))],
                "text": pairs["articleBody"],
                "title": "",
                "target": pairs["Headline"],
                "label": pairs["Stance"],
                "group": pairs["Body ID"],
                "source": "",
                "date": "",
                "split": split,
            }
        )

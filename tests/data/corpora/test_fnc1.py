"""FNC-1: the loader on the real files, its val cut, its errors, and fetching its layout."""

from __future__ import annotations

import gzip
import io
import tarfile
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf

from stance.data.corpora.fnc1 import FILES, FNC1, Fnc1, in_val
from stance.data.fetch import fetch_dataset, verify
from stance.data.loading import load_corpus
from stance.errors import ConfigError, DataError
from stance.paths import default_data_dir
from tests.paths import CONF_DIR

DATA_DIR = default_data_dir()
CONFIG = OmegaConf.load(CONF_DIR / "data" / "fnc1.yaml")


@pytest.fixture(scope="module")
def corpus():
    if not FNC1.present(DATA_DIR):
        pytest.skip("fnc1 not in the data directory")
    return load_corpus(CONFIG, DATA_DIR)


def test_fields_follow_the_readme(corpus):
    frame = corpus.frame
    raw = pd.read_csv(DATA_DIR / "fnc1" / "train_stances.csv.gz", dtype=str, nrows=3)
    first = frame.iloc[0]
    assert first["target"] == raw["Headline"][0] and first["group"] == raw["Body ID"][0]
    assert first["label"] == raw["Stance"][0] and len(first["text"]) > len(first["target"])
    assert corpus.task.metric == "macro_f1" and corpus.name == "fnc1"
    # Competition bodies are test only; no training body is on both sides of the val cut.
    assert (frame.groupby("group")["split"].nunique() == 1).all()
    assert frame["id"].is_unique


def test_val_is_a_tenth_of_training_bodies_and_never_moves(corpus):
    train_bodies = corpus.frame[corpus.frame["split"] != "test"].drop_duplicates("group")
    share = (train_bodies["split"] == "val").mean()
    assert 0.07 < share < 0.13
    again = in_val(train_bodies["group"], 0.1)
    assert (again == (train_bodies["split"] == "val")).all()
    assert not in_val(train_bodies["group"], 0.0).any()


def _write(folder: Path, name: str, frame: pd.DataFrame) -> None:
    with gzip.open(folder / f"{name}.csv.gz", "wt", encoding="utf-8", newline="") as handle:
        frame.to_csv(handle, index=False)


def _tiny(root: Path, orphan: bool = False) -> Path:
    folder = root / "fnc1"
    folder.mkdir(parents=True)
    bodies = pd.DataFrame({"Body ID": ["1", "2"], "articleBody": ["made up body", "another"]})
    stances = pd.DataFrame(
        {
            "Headline": ["claim one", "claim two"],
            "Body ID": ["1", "9" if orphan else "2"],
            "Stance": ["agree", "unrelated"],
        }
    )
    for part in ("train", "competition_test"):
        _write(folder, f"{part}_bodies", bodies)
        _write(folder, f"{part}_stances", stances)
    return root


def test_body_id_without_body_is_named(tmp_path):
    root = _tiny(tmp_path, orphan=True)
    with pytest.raises(DataError, match=r"train_stances.csv.gz: row 3 has Body ID '9'"):
        load_corpus(CONFIG, root)


def test_missing_file_and_bad_option(tmp_path):
    with pytest.raises(DataError, match=r"missing file .*fnc1.*train_stances.csv.gz"):
        load_corpus(CONFIG, tmp_path)
    root = _tiny(tmp_path / "ok")
    with pytest.raises(ConfigError, match=r"data.val_share must be in \[0, 1\)"):
        load_corpus({**OmegaConf.to_container(CONFIG), "val_share": 1.5}, root)
    assert len(Fnc1(val_share=0.0).load(root)) == 4


def test_fetch_lays_the_upstream_csvs_out_as_gzip(tmp_path):
    """`stance data fetch fnc1 --from archive`: the upstream CSVs become the loader's .csv.gz."""
    source = _tiny(tmp_path / "src") / "fnc1"
    archive = tmp_path / "fnc-1-abc.tar.gz"
    with tarfile.open(archive, "w:gz") as handle:
        for stem in FILES:
            data = gzip.decompress((source / f"{stem}.csv.gz").read_bytes())
            info = tarfile.TarInfo(f"fnc-1-abc/{stem}.csv")
            info.size = len(data)
            handle.addfile(info, io.BytesIO(data))
    dest = fetch_dataset(FNC1, tmp_path / "data", archive)
    assert verify(dest) == []
    assert len(load_corpus(CONFIG, tmp_path / "data")) == 4
    with tarfile.open(tmp_path / "empty.tar.gz", "w:gz") as handle:
        info = tarfile.TarInfo("fnc-1-abc/README.md")
        handle.addfile(info, io.BytesIO(b""))
    with pytest.raises(DataError, match=r"no train_stances.csv in the FNC-1 archive"):
        fetch_dataset(FNC1, tmp_path / "other", tmp_path / "empty.tar.gz")


def test_fnc1_task_reports_the_official_fnc_score_beside_macro_f1():
    """macro-F1 is the headline (the FNC score rewards the majority class); the score is reported too."""
    assert Fnc1.task.metric == "macro_f1"
    assert Fnc1.task.extra_metrics == ("fnc_score",)

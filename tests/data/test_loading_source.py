"""The loading progress line names what is read: the user's file for ``data=file``."""

from __future__ import annotations

from pathlib import Path

from omegaconf import OmegaConf

from stance.data.loading import describe_source
from tests.paths import CONF_DIR


def _file_cfg(path: str | None):
    cfg = OmegaConf.load(CONF_DIR / "data" / "file.yaml")
    if path is not None:
        cfg.path = path
    return cfg


def test_file_corpus_names_the_file_not_the_data_directory(tmp_path: Path) -> None:
    corpus = tmp_path / "mine.csv"
    corpus.write_text("text,label\na,b\n")
    assert describe_source(_file_cfg(str(corpus)), "/data") == f"corpus 'file' from {corpus}"


def test_relative_file_found_in_the_data_directory(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)
    (tmp_path / "data").mkdir()
    (tmp_path / "data" / "mine.csv").write_text("text,label\na,b\n")
    line = describe_source(_file_cfg("mine.csv"), tmp_path / "data")
    assert line == f"corpus 'file' from {tmp_path / 'data' / 'mine.csv'}"


def test_tilde_is_expanded_and_a_missing_file_is_named_as_given(tmp_path, monkeypatch) -> None:
    monkeypatch.setenv("HOME", str(tmp_path))
    (tmp_path / "c.csv").write_text("text,label\na,b\n")
    assert describe_source(_file_cfg("~/c.csv"), "/data") == f"corpus 'file' from {tmp_path}/c.csv"
    assert describe_source(_file_cfg("nowhere.csv"), "/data") == "corpus 'file' from nowhere.csv"


def test_unset_path_and_named_corpora_name_the_data_directory() -> None:
    assert describe_source(_file_cfg(None), "/data") == "corpus 'file' from /data"
    cfg = OmegaConf.load(CONF_DIR / "data" / "allsides.yaml")
    assert describe_source(cfg, "/data") == "corpus 'allsides' from /data"

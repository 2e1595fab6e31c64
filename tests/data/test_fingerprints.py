"""The corpus fingerprint is remembered only while its source files and config are unchanged."""

from __future__ import annotations

import os

import pandas as pd
import pytest
from omegaconf import OmegaConf

from stance.data import table
from stance.data.fingerprints import corpus_fingerprint, source_state
from stance.data.loading import load_corpus
from stance.fold_cache import FoldCache
from stance.paths import conf_dir


@pytest.fixture()
def corpus_file(tmp_path, monkeypatch):
    monkeypatch.setenv("STANCE_CACHE_DIR", str(tmp_path / "stance-cache"))
    path = tmp_path / "corpus.csv"
    pd.DataFrame(
        {"text": [f"article {i} about talks" for i in range(8)], "label": ["favor", "against"] * 4}
    ).to_csv(path, index=False)
    return path


def _cfg(path, **extra):
    cfg = OmegaConf.load(conf_dir() / "data" / "file.yaml")
    cfg.path = str(path)
    for key, value in extra.items():
        OmegaConf.update(cfg, key, value)
    return OmegaConf.to_container(cfg, resolve=True)


def _load(path, **extra):
    cfg = _cfg(path, **extra)
    return load_corpus(cfg, path.parent), cfg


def test_second_load_reuses_the_fingerprint_without_hashing(corpus_file, tmp_path, monkeypatch):
    cache = FoldCache(tmp_path / "cache")
    corpus, cfg = _load(corpus_file)
    first = corpus_fingerprint(corpus, cfg, cache)
    assert first == table.fingerprint_frame(corpus.frame)

    def refuse(frame):
        raise AssertionError("hashed again")

    monkeypatch.setattr(table, "fingerprint_frame", refuse)
    again, cfg = _load(corpus_file)
    assert corpus_fingerprint(again, cfg, cache) == first
    assert again.fingerprint == first  # later readers (report, model card) see it too
    assert (cache.hits, cache.misses) == (1, 1)


def test_an_edited_file_or_a_changed_config_is_hashed_afresh(corpus_file, tmp_path):
    cache = FoldCache(tmp_path / "cache")
    corpus, cfg = _load(corpus_file)
    first = corpus_fingerprint(corpus, cfg, cache)

    filtered, cfg = _load(corpus_file, label_map={"favor": "against", "against": "favor"})
    swapped = corpus_fingerprint(filtered, cfg, cache)
    assert swapped != first and swapped == table.fingerprint_frame(filtered.frame)

    frame = pd.read_csv(corpus_file)
    frame.loc[0, "text"] = "an edited article"
    frame.to_csv(corpus_file, index=False)
    stat = corpus_file.stat()
    os.utime(corpus_file, ns=(stat.st_atime_ns, stat.st_mtime_ns + 1_000_000))
    edited, cfg = _load(corpus_file)
    value = corpus_fingerprint(edited, cfg, cache)
    assert value != first and value == table.fingerprint_frame(edited.frame)
    assert cache.hits == 0


def test_without_local_files_or_cache_it_is_always_computed(corpus_file, tmp_path):
    corpus, cfg = _load(corpus_file)
    assert corpus_fingerprint(corpus, cfg, FoldCache(None)) == corpus.fingerprint
    assert source_state([str(tmp_path / "missing.csv")]) is None
    assert source_state([]) is None
    folder = tmp_path / "folder"
    (folder / "b").mkdir(parents=True)
    (folder / "b" / "x.json").write_text("{}")
    (folder / "a.json").write_text("{}")
    assert [row[0] for row in source_state([str(folder)])] == [
        str((folder / "a.json").resolve()),
        str((folder / "b" / "x.json").resolve()),
    ]

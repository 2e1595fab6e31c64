"""Every shipped corpus loads with the row and label counts its README documents."""

from __future__ import annotations

from pathlib import Path

import pytest

from stance.data.loading import load_corpus, read_allsides_articles
from stance.errors import DataError
from stance.paths import default_data_dir
from tests.paths import CONF_DIR

DATA_DIR = default_data_dir()
needs_data = pytest.mark.skipif(
    not (DATA_DIR / "allsides").is_dir(), reason="shared corpora not available"
)


def _load(name: str, **extra):
    loader = "allsides" if name.startswith("allsides") else name
    return load_corpus({"name": name, "loader": loader, "clean": True, **extra}, DATA_DIR)


@needs_data
def test_basil_actor_counts_match_readme():
    corpus = _load("basil_actor")
    assert len(corpus) == 612
    assert corpus.frame["label"].value_counts().to_dict() == {"neu": 463, "neg": 126, "pos": 23}
    assert corpus.task.labels == ("neg", "neu", "pos")
    assert set(corpus.frame["source"]) == {"fox", "nyt", "hpo"}
    assert "Barack Obama" in set(corpus.frame["target"])
    assert not corpus.frame["target"].str.contains("_").any()
    # group = triplet: 100 events, each told by three outlets
    assert corpus.frame["group"].nunique() == 100
    assert (corpus.frame["text"].str.len() > 0).all()


@needs_data
def test_basil_relative_counts_match_readme():
    corpus = _load("basil_relative")
    assert len(corpus) == 300
    # README: 144 center, 56 liberal + 25 left, 38 conservative + 37 right
    assert corpus.frame["label"].value_counts().to_dict() == {
        "center": 144,
        "left": 81,
        "right": 75,
    }


@needs_data
def test_basil_sentence_counts():
    corpus = _load("basil_sentence")
    # 7,984 body sentences; 1,623 hold at least one of the 1,723 body spans (3 more are in titles)
    # 7,984 body sentences; the 7 empty ones (no text to classify, none biased) are dropped.
    assert len(corpus) == 7977
    assert corpus.frame["label"].value_counts().to_dict() == {"none": 6354, "biased": 1623}
    assert any("dropped 7 row(s)" in note for note in corpus.notes)
    assert corpus.frame["id"].is_unique


@needs_data
def test_semeval2016_counts_and_task():
    corpus = _load("semeval2016")
    assert len(corpus) == 2620 + 294 + 1249
    assert corpus.frame["split"].value_counts().to_dict() == {
        "train": 2620,
        "test": 1249,
        "val": 294,
    }
    assert corpus.task.metric == "f_avg"
    assert corpus.task.metric_labels == ("favor", "against")
    assert set(corpus.task.labels) == {"none", "against", "favor"}
    assert set(corpus.frame["target"]) == {
        "Hillary Clinton",
        "Legalization of abortion",
        "Atheism",
        "Climate change is a real concern",
        "Feminist movement",
    }
    assert (corpus.frame["group"] == corpus.frame["target"]).all()


@needs_data
def test_semeval2016_single_target_by_key_or_name():
    by_key = _load("semeval2016", targets=["hillary"])
    by_name = _load("semeval2016", targets=["Hillary Clinton"])
    assert set(by_key.frame["target"]) == {"Hillary Clinton"}
    assert by_key.fingerprint == by_name.fingerprint
    with pytest.raises(DataError, match="unknown target"):
        _load("semeval2016", targets=["brexit"])


@needs_data
def test_ru_us_rapprochement_counts_match_readme():
    corpus = _load("ru_us_rapprochement")
    assert len(corpus) == 316
    assert corpus.frame["label"].value_counts().to_dict() == {
        "unrelated": 163,
        "neutral": 87,
        "against": 53,
        "favor": 13,
    }
    assert set(corpus.frame["target"]) == {"Russia–US rapprochement"}
    assert (corpus.frame["text"].str.len() > 0).all()


@needs_data
def test_allsides_counts_match_readme():
    articles = read_allsides_articles(DATA_DIR)
    assert len(articles) == 37554
    corpus = _load("allsides")
    assert corpus.frame["split"].value_counts().to_dict() == {
        "train": 27978,
        "val": 6996,
        "test": 1300,
    }
    assert corpus.task.labels == ("left", "center", "right")
    assert any("not in the random split" in note for note in corpus.notes)
    assert (corpus.frame["group"] == corpus.frame["source"]).all()


@needs_data
def test_allsides_media_split_counts_match_readme():
    corpus = _load("allsides_media", split_scheme="media")
    frame = corpus.frame
    assert frame["split"].value_counts().to_dict() == {"train": 26590, "val": 2356, "test": 1300}
    valid = frame[frame["split"] == "val"]["label"].value_counts().to_dict()
    assert valid == {"left": 1640, "center": 618, "right": 98}
    # The README says no outlet is in more than one part; by `source` name, 19 of 203 are
    # (mostly a handful of articles each). The loader notes it so reports can say so.
    straddling = frame.groupby("group")["split"].nunique()
    assert (straddling > 1).sum() == 19
    assert any("more than one part" in note for note in corpus.notes)


def test_ru_us_missing_article_id_is_a_clear_error(tmp_path: Path):
    import gzip
    import json

    (tmp_path / "allsides").mkdir()
    with gzip.open(tmp_path / "allsides" / "articles.jsonl.gz", "wt", encoding="utf-8") as handle:
        for i in range(2):
            record = {
                "ID": f"a{i}",
                "source": "X",
                "title": "t",
                "date": "2020-01-01",
                "content_original": "body",
                "bias": 0,
            }
            handle.write(json.dumps(record) + "\n")
    (tmp_path / "ru_us_rapprochement").mkdir()
    (tmp_path / "ru_us_rapprochement" / "labels.csv").write_text(
        "id,target,label\na0,Russia–US rapprochement,favor\nzz9,Russia–US rapprochement,against\n",
        encoding="utf-8",
    )
    with pytest.raises(DataError, match=r"1 id\(s\) not found in allsides.*zz9"):
        load_corpus({"name": "ru_us_rapprochement"}, tmp_path)


def test_missing_corpus_file_names_it(tmp_path: Path):
    with pytest.raises(DataError, match=r"missing file .*basil"):
        load_corpus({"name": "basil_actor"}, tmp_path)
    with pytest.raises(DataError, match="unknown data loader"):
        load_corpus({"name": "nope"}, tmp_path)


def test_every_data_config_names_a_known_loader():
    from omegaconf import OmegaConf

    from stance.data.loading import LOADERS

    conf = CONF_DIR / "data"
    for path in conf.glob("*.yaml"):
        cfg = OmegaConf.load(path)
        assert cfg.loader in LOADERS, path.name
        assert "clean" in cfg, path.name

"""Every shipped corpus loads with the counts its spec documents (the one place they live)."""

from __future__ import annotations

from pathlib import Path

import pytest
from omegaconf import OmegaConf

from stance.data.corpora.allsides import AllSidesMedia
from stance.data.loading import build_spec, load_corpus, read_allsides_articles
from stance.data.registry import CORPORA, DATASETS, dataset_names
from stance.errors import ConfigError, DataError
from stance.paths import default_data_dir
from tests.paths import CONF_DIR

DATA_DIR = default_data_dir()
needs_data = pytest.mark.skipif(
    not (DATA_DIR / "allsides").is_dir(), reason="shared corpora not available"
)
#: Corpora of 30,000+ rows: their generic count check is left to their own tests below.
LARGE = {"allsides", "allsides_media"}


def _load(name: str, **extra):
    """Load through the shipped YAML, as ``stance-run data=<name>`` does."""
    cfg = OmegaConf.merge(OmegaConf.load(CONF_DIR / "data" / f"{name}.yaml"), extra)
    return load_corpus(cfg, DATA_DIR)


def _label_counts(frame):
    return frame["label"].value_counts().to_dict()


@pytest.mark.parametrize("name", sorted(set(CORPORA) - LARGE))
def test_corpus_matches_its_documented_counts(name):
    spec = CORPORA[name]
    if not spec.present(DATA_DIR):
        pytest.skip(f"{name} not in {DATA_DIR}")
    corpus = _load(name)
    counts = spec.documented
    assert len(corpus) == counts.rows
    assert corpus.task == spec.task
    if counts.labels:
        assert _label_counts(corpus.frame) == dict(counts.labels)
    if counts.splits:
        assert corpus.frame["split"].value_counts().to_dict() == dict(counts.splits)
    for part, labels in counts.split_labels.items():
        assert _label_counts(corpus.frame[corpus.frame["split"] == part]) == dict(labels)
    if counts.groups is not None:
        assert corpus.frame["group"].nunique() == counts.groups
    dropped = [note for note in corpus.notes if "dropped" in note]
    assert bool(dropped) == bool(counts.dropped)
    if counts.dropped:
        assert f"dropped {counts.dropped} row(s)" in dropped[0]
    assert corpus.frame["id"].is_unique


def test_registry_is_derived_from_the_specs():
    """Each corpus has a YAML pointing at its spec, and each dataset one description."""
    for name, spec in CORPORA.items():
        cfg = OmegaConf.load(CONF_DIR / "data" / f"{name}.yaml")
        assert cfg._target_ == spec.target(), name
        assert type(build_spec(cfg)) is spec
        assert dataset_names(name)  # fetch / verify know where its files live
        assert sum(spec.documented.labels.values()) in {0, spec.documented.rows}, name
        assert sum(spec.documented.splits.values()) in {0, spec.documented.rows}, name
        for dataset in spec.datasets:
            assert DATASETS[dataset.name] is dataset
    assert "file" not in CORPORA  # data=file has no folder or documented size


def test_every_data_config_builds_its_spec():
    for path in (CONF_DIR / "data").glob("*.yaml"):
        cfg = OmegaConf.load(path)
        assert "_target_" in cfg and "clean" in cfg, path.name
        if path.stem != "file":  # its path: ??? must be set first
            assert build_spec(cfg).clean == cfg.clean, path.name


@needs_data
def test_basil_actor_targets_and_triplets():
    corpus = _load("basil_actor")
    assert corpus.task.labels == ("neg", "neu", "pos")
    assert set(corpus.frame["source"]) == {"fox", "nyt", "hpo"}
    assert "Barack Obama" in set(corpus.frame["target"])
    assert not corpus.frame["target"].str.contains("_").any()
    # group = triplet: each event told by the three outlets
    assert (corpus.frame.groupby("group")["source"].nunique() == 3).all()
    assert (corpus.frame["text"].str.len() > 0).all()


@needs_data
def test_semeval2016_task():
    corpus = _load("semeval2016")
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
def test_ru_us_rapprochement_text_target_and_sample_note():
    corpus = _load("ru_us_rapprochement")
    assert set(corpus.frame["target"]) == {"Russia–US rapprochement"}
    assert (corpus.frame["text"].str.len() > 0).all()
    assert "sample" not in corpus.frame.columns  # the table keeps its documented columns
    (note,) = [n for n in corpus.notes if n.startswith("sampled as")]
    drawn = {part.rsplit(" ", 1)[0]: int(part.rsplit(" ", 1)[1]) for part in note[11:].split(", ")}
    assert set(drawn) == {"random", "enriched", "pool"}
    assert sum(drawn.values()) == len(corpus)


@needs_data
@pytest.mark.parametrize("name", sorted(LARGE))
def test_large_corpus_matches_its_documented_counts(name):
    corpus = _load(name)
    counts = CORPORA[name].documented
    assert len(corpus) == counts.rows
    assert corpus.frame["split"].value_counts().to_dict() == dict(counts.splits)
    for part, labels in counts.split_labels.items():
        assert _label_counts(corpus.frame[corpus.frame["split"] == part]) == dict(labels)


@needs_data
def test_allsides_notes_and_groups():
    articles = read_allsides_articles(DATA_DIR)
    corpus = _load("allsides")
    assert len(articles) > len(corpus)
    assert corpus.task.labels == ("left", "center", "right")
    assert any("not in the random split" in note for note in corpus.notes)
    assert (corpus.frame["group"] == corpus.frame["source"]).all()


@needs_data
def test_allsides_media_notes_outlets_in_several_parts():
    corpus = _load("allsides_media")
    assert corpus.name == "allsides_media"
    # The README says no outlet is in more than one part; by `source` name, some are
    # (mostly a handful of articles each). The loader notes it so reports can say so.
    straddling = corpus.frame.groupby("group")["split"].nunique()
    assert (straddling > 1).sum() == AllSidesMedia.straddling_outlets
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
        load_corpus(OmegaConf.load(CONF_DIR / "data" / "ru_us_rapprochement.yaml"), tmp_path)


def test_missing_corpus_file_names_it(tmp_path: Path):
    with pytest.raises(DataError, match=r"missing file .*basil"):
        load_corpus(OmegaConf.load(CONF_DIR / "data" / "basil_actor.yaml"), tmp_path)


def test_bad_target_or_option_is_a_config_error(tmp_path: Path):
    with pytest.raises(ConfigError, match=r"no _target_ and 'nope' is not a known corpus"):
        load_corpus({"name": "nope"}, tmp_path)
    with pytest.raises(ConfigError, match=r"_target_ 'stance.data.corpora.nope.Nope' cannot be"):
        load_corpus({"_target_": "stance.data.corpora.nope.Nope"}, tmp_path)
    with pytest.raises(ConfigError, match=r"not a CorpusSpec"):
        load_corpus({"_target_": "stance.data.splits.PredefinedSplit"}, tmp_path)
    target = CORPORA["semeval2016"].target()
    with pytest.raises(ConfigError, match=r"SemEval2016 has no option\(s\) \['tragets'\]"):
        load_corpus({"_target_": target, "tragets": ["hillary"]}, tmp_path)


@needs_data
def test_pre_spec_configs_still_load():
    """Old run directories' config.yaml say `loader:` (or only `name:`): same corpus."""
    new = _load("allsides_media")
    old = load_corpus(
        {"name": "allsides_media", "loader": "allsides", "clean": True, "split_scheme": "media"},
        DATA_DIR,
    )
    assert (old.name, old.fingerprint) == (new.name, new.fingerprint)
    by_name = load_corpus({"name": "basil_relative"}, DATA_DIR)
    assert by_name.fingerprint == _load("basil_relative").fingerprint

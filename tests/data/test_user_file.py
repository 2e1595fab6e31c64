"""The ``file`` loader: a user's own table, mapped onto the corpus table by config alone."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf, open_dict

from stance.data.loading import load_corpus
from stance.errors import ConfigError
from tests.paths import CONF_DIR

CONF = CONF_DIR / "data" / "file.yaml"
WORDS = {
    "pro": "support welcome applaud agreement progress hope",
    "con": "condemn reject threat sanctions danger hostile",
}


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    """Keep the Arrow cache of these tiny files out of the user's cache."""
    monkeypatch.setenv("STANCE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "stance-cache"))


def user_rows(n: int = 40) -> pd.DataFrame:
    """A user's table with unfamiliar column names (no corpus text)."""
    rows = []
    for i in range(n):
        kind = "pro" if i % 2 else "con"
        rows.append(
            {
                "doc_key": f"k{i:03d}",
                "body": f"Article {i}. Officials {WORDS[kind]} the talks {i % 7}.",
                "headline": f"Headline {i}",
                "stance": "1" if kind == "pro" else "-1",
                "actor": "Russia" if i % 4 < 2 else "China",
                "outlet": f"outlet{i % 5}",
                "published": f"2020-01-{1 + i % 28:02d}",
                "part": ["train", "validation", "test"][i % 3],
            }
        )
    return pd.DataFrame(rows)


def file_cfg(path: Path, overrides: dict | None = None):
    """conf/data/file.yaml with the user's keys merged in, as Hydra would compose it."""
    base = OmegaConf.load(CONF)
    cfg = OmegaConf.merge(
        base,
        {
            "path": str(path),
            "columns": {
                "id": "doc_key",
                "text": "body",
                "title": "headline",
                "target": "actor",
                "label": "stance",
                "group": "outlet",
                "source": "outlet",
                "date": "published",
            },
            "label_map": {"1": "favor", "-1": "against"},
        },
        overrides or {},
    )
    return cfg


def test_file_yaml_declares_every_key():
    cfg = OmegaConf.load(CONF)
    for key in (
        "path",
        "format",
        "columns",
        "label_map",
        "labels",
        "filter",
        "metric",
        "metric_labels",
        "empty_text",
        "split_column",
    ):
        assert key in cfg.keys()  # noqa: SIM118 - 'in' is False for ??? values
    assert set(cfg.columns) == {"id", "text", "title", "target", "label", "group", "source", "date"}


def test_csv_with_unfamiliar_columns_from_yaml(tmp_path: Path):
    path = tmp_path / "mine.csv"
    user_rows().to_csv(path, index=False)
    yaml_path = tmp_path / "mine.yaml"
    yaml_path.write_text(OmegaConf.to_yaml(file_cfg(path)), encoding="utf-8")
    corpus = load_corpus(OmegaConf.load(yaml_path), tmp_path)
    frame = corpus.frame
    assert len(corpus) == 40
    assert corpus.task.labels == ("against", "favor")
    assert frame["id"].iloc[0] == "k000"
    assert frame["label"].value_counts().to_dict() == {"against": 20, "favor": 20}
    assert set(frame["target"]) == {"Russia", "China"}
    assert frame["date"].iloc[0] == "2020-01-01"
    assert not corpus.has_predefined_split
    assert corpus.files == [str(path.resolve())]


@pytest.mark.parametrize("kind", ["tsv", "jsonl", "jsonl.gz", "parquet", "json_dir", "hf_disk"])
def test_every_format_gives_the_same_table(tmp_path: Path, kind: str):
    rows = user_rows(12)
    csv_path = tmp_path / "ref.csv"
    rows.to_csv(csv_path, index=False)
    reference = load_corpus(file_cfg(csv_path), tmp_path)
    if kind == "tsv":
        path = tmp_path / "mine.tsv"
        rows.to_csv(path, sep="\t", index=False)
    elif kind == "jsonl":
        path = tmp_path / "mine.jsonl"
        rows.to_json(path, orient="records", lines=True)
    elif kind == "jsonl.gz":
        path = tmp_path / "mine.jsonl.gz"
        with gzip.open(path, "wt", encoding="utf-8") as handle:
            handle.write(rows.to_json(orient="records", lines=True))
    elif kind == "parquet":
        path = tmp_path / "mine.parquet"
        rows.to_parquet(path)
    elif kind == "json_dir":
        path = tmp_path / "docs"
        path.mkdir()
        for record in rows.to_dict(orient="records"):
            (path / f"{record['doc_key']}.json").write_text(json.dumps(record), encoding="utf-8")
    else:
        from datasets import Dataset

        path = tmp_path / "saved"
        Dataset.from_pandas(rows).save_to_disk(str(path))
    corpus = load_corpus(file_cfg(path), tmp_path)
    assert corpus.fingerprint == reference.fingerprint


def test_hf_datasetdict_on_disk_gives_splits(tmp_path: Path):
    from datasets import Dataset, DatasetDict

    rows = user_rows(12)
    path = tmp_path / "dd"
    DatasetDict(
        {"train": Dataset.from_pandas(rows[:8]), "test": Dataset.from_pandas(rows[8:])}
    ).save_to_disk(str(path))
    corpus = load_corpus(file_cfg(path), tmp_path)
    assert corpus.frame["split"].value_counts().to_dict() == {"train": 8, "test": 4}


def test_filter_split_column_labels_and_metric(tmp_path: Path):
    path = tmp_path / "mine.csv"
    user_rows().to_csv(path, index=False)
    cfg = file_cfg(
        path,
        {
            "filter": {"actor": "Russia"},
            "split_column": "part",
            "labels": ["favor", "against", "none"],
            "metric": "f_avg",
            "metric_labels": ["favor", "against"],
            "name": "my_corpus",
        },
    )
    corpus = load_corpus(cfg, tmp_path)
    assert set(corpus.frame["target"]) == {"Russia"}
    assert len(corpus) == 20
    assert set(corpus.frame["split"]) == {"train", "val", "test"}
    assert corpus.task.labels == ("favor", "against", "none")
    assert corpus.task.metric == "f_avg"
    assert corpus.name == "my_corpus"
    assert any("filter" in note for note in corpus.notes)


def test_filter_with_list_and_row_number_ids(tmp_path: Path):
    path = tmp_path / "mine.csv"
    user_rows().to_csv(path, index=False)
    cfg = file_cfg(path, {"filter": {"outlet": ["outlet1", "outlet2"]}})
    cfg.columns.id = None
    corpus = load_corpus(cfg, tmp_path)
    assert len(corpus) == 16
    # id absent: 1-based data row numbers of the file
    assert corpus.frame["id"].tolist()[:2] == ["2", "3"]


def test_command_line_style_overrides(tmp_path: Path):
    """What `stance-run data=file data.path=... data.columns.text=body ...` composes to."""
    path = tmp_path / "my.csv"
    user_rows().to_csv(path, index=False)
    cfg = OmegaConf.merge(
        OmegaConf.load(CONF),
        OmegaConf.from_dotlist([f"path={path}", "columns.text=body", "columns.label=stance"]),
    )
    corpus = load_corpus(cfg, tmp_path)
    assert corpus.task.labels == ("-1", "1")
    assert corpus.frame["title"].eq("").all()


def test_config_errors(tmp_path: Path):
    cfg = OmegaConf.load(CONF)
    with pytest.raises(ConfigError, match="data.path must be set"):
        load_corpus(cfg, tmp_path)  # path: ??? is mandatory
    path = tmp_path / "my.csv"
    user_rows().to_csv(path, index=False)
    with pytest.raises(ConfigError, match="unknown key"):
        load_corpus(
            {
                "loader": "file",
                "path": str(path),
                "columns": {"text": "body", "label": "stance", "body": "x"},
            },
            tmp_path,
        )
    with pytest.raises(ConfigError, match="columns.label"):
        load_corpus({"loader": "file", "path": str(path), "columns": {"text": "body"}}, tmp_path)


def test_user_csv_trains_end_to_end(tmp_path: Path):
    experiment = pytest.importorskip("stance.experiment")
    path = tmp_path / "mine.csv"
    user_rows(60).to_csv(path, index=False)
    cfg = experiment.compose_config(["data=file", "split=kfold", "split.n_splits=3"])
    with open_dict(cfg):
        cfg.data = OmegaConf.merge(cfg.data, file_cfg(path))
    cfg.report.bootstrap = 0
    cfg.save_model = False
    cfg.cache.features = False
    cfg.paths.cache_dir = str(tmp_path / "cache")
    result = experiment.run_experiment(cfg, tmp_path / "run", quiet=True)
    assert (tmp_path / "run" / "run.json").exists()
    assert result.metrics["headline"]["value"] > 0.9


def test_hydra_command_line_alone(tmp_path: Path):
    """`stance-run data=file data.path=my.csv data.columns.text=body data.columns.label=stance`."""
    experiment = pytest.importorskip("stance.experiment")
    path = tmp_path / "my.csv"
    user_rows().to_csv(path, index=False)
    cfg = experiment.compose_config(
        [
            "data=file",
            f"data.path={path}",
            "data.columns.text=body",
            "data.columns.label=stance",
            "data.columns.target=actor",
            "data.label_map={1:favor,-1:against}",
        ]
    )
    corpus = load_corpus(cfg.data, tmp_path)
    assert corpus.task.labels == ("against", "favor")
    assert set(corpus.frame["target"]) == {"Russia", "China"}


def test_csv_in_another_encoding_names_the_fix_and_data_encoding_reads_it(tmp_path: Path):
    from stance.errors import DataError

    path = tmp_path / "latin.csv"
    rows = user_rows(8)
    rows.loc[2, "body"] = "Caf\u00e9 diplomacy: officials welcome the talks."
    path.write_bytes(rows.to_csv(index=False).encode("latin-1"))
    with pytest.raises(DataError, match=r"latin\.csv: byte 0xe9 .*pass data\.encoding=latin-1"):
        load_corpus(file_cfg(path), tmp_path)
    corpus = load_corpus(file_cfg(path, {"encoding": "latin-1"}), tmp_path)
    assert "Caf\u00e9 diplomacy" in corpus.frame["text"].iloc[2]


def test_json_means_json_records_lines_or_one_array(tmp_path: Path):
    rows = user_rows(12)
    reference = tmp_path / "ref.jsonl"
    rows.to_json(reference, orient="records", lines=True)
    lines = tmp_path / "lines.json"
    lines.write_bytes(reference.read_bytes())
    array = tmp_path / "array.json"
    rows.to_json(array, orient="records")
    expected = load_corpus(file_cfg(reference), tmp_path).fingerprint
    for path in (lines, array):
        assert load_corpus(file_cfg(path), tmp_path).fingerprint == expected


def test_malformed_jsonl_is_one_error_naming_file_and_line(tmp_path: Path, capfd):
    from stance.errors import DataError

    path = tmp_path / "bad.jsonl"
    good = user_rows(4).to_json(orient="records", lines=True).splitlines()
    good[2] = '{"doc_key": "k2", "body": "unterminated'
    path.write_text("\n".join(good) + "\n", encoding="utf-8")
    with pytest.raises(DataError) as caught:
        load_corpus(file_cfg(path), tmp_path)
    message = str(caught.value)
    assert message.startswith(f"{path}: line 3 is not valid JSON")
    assert "at at" not in message and "column" in message
    captured = capfd.readouterr()
    assert "Failed to load JSON" not in captured.err + captured.out

"""`stance label init / status / batch / export / import` end to end, and bad input."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
import pytest

from stance.cli import main
from stance.labeling.store import LabelStore
from tests.labeling.conftest import COLUMNS


def _init_args(tmp_path: Path, pool_file: Path, actors_file: Path, *extra: str) -> list[str]:
    cols = [f"--{k}-column={v}" for k, v in COLUMNS.items()]
    return [
        "label",
        "init",
        "nato",
        "--dir",
        str(tmp_path / "p"),
        "--target",
        "NATO enlargement",
        "--pool",
        str(pool_file),
        "--actors",
        str(actors_file),
        "--batch-size",
        "8",
        *cols,
        *extra,
    ]


def _label_all_queued(store: LabelStore, gold: dict[str, str], who: str = "alice") -> int:
    n = 0
    while (a := store.next_article(who)) is not None:
        store.submit(a.id, gold[a.id], who, seen_event=a.seen_event)
        n += 1
    return n


def test_init_status_batch_export_roundtrip(tmp_path, pool_file, actors_file, gold, capsys):
    assert main(_init_args(tmp_path, pool_file, actors_file)) == 0
    assert "first batch of 8 retrieved" in capsys.readouterr().out
    store = LabelStore(tmp_path / "p" / "nato.sqlite")
    assert store.meta["settings"]["batch_size"] == 8

    _label_all_queued(store, gold)
    assert main(["label", "batch", "nato", "--dir", str(tmp_path / "p")]) == 0  # retrain + query
    assert "batch 1: 8 articles proposed" in capsys.readouterr().out
    _label_all_queued(store, gold)
    assert main(["label", "batch", "nato", "--dir", str(tmp_path / "p")]) == 0
    capsys.readouterr()
    batches = store.batches()
    assert list(batches["strategy"]) == ["cold_start", "balanced", "balanced"]
    assert batches["model_version"].iloc[1].startswith("logreg-")

    assert main(["label", "status", "nato", "--dir", str(tmp_path / "p"), "--json"]) == 0
    info = json.loads(capsys.readouterr().out)
    assert info["n_labelled"] == 16 and sum(info["counts"].values()) == 16
    assert info["estimate"]["macro_f1"] is not None and len(info["estimate"]["ci95"]) == 2
    assert "keep labelling" in info["hint"]
    assert len(info["next"]) == 5

    out = tmp_path / "labels.csv"
    assert main(["label", "export", "nato", "--dir", str(tmp_path / "p"), "-o", str(out)]) == 0
    # the export is a corpus `stance-run data=file` reads as it is
    from stance.data.loading import load_corpus

    corpus = load_corpus(
        {
            "name": "file",
            "loader": "file",
            "path": str(out),
            "columns": {"id": "id", "text": "text", "label": "label"},
        },
        tmp_path,
    )
    assert len(corpus.frame) == 16
    assert dict(zip(corpus.frame["id"], corpus.frame["label"], strict=True)) == {
        i: gold[i] for i in corpus.frame["id"]
    }


def test_import_table_into_project(tmp_path, project, gold, capsys):
    ids = list(project.articles()["id"][:5])
    table = tmp_path / "old_labels.csv"
    pd.DataFrame({"id": ids, "label": [gold[i] for i in ids]}).to_csv(table, index=False)
    args = [
        "label",
        "import",
        "nato",
        str(table),
        "--dir",
        str(project.path.parent),
        "--labeller",
        "carol",
    ]
    assert main(args) == 0
    assert "imported 5 new label(s)" in capsys.readouterr().out
    assert main(args) == 0  # idempotent
    assert "imported 0 new label(s)" in capsys.readouterr().out
    labels = project.current_labels()
    assert set(labels["labeller"]) == {"carol"} and len(labels) == 5


def test_pool_without_text_column(tmp_path, capsys):
    pool = tmp_path / "pool.csv"
    pool.write_text("id,headline\n1,Hello\n", encoding="utf-8")
    code = main(
        ["label", "init", "x", "--dir", str(tmp_path / "p"), "--target", "T", "--pool", str(pool)]
    )
    assert code == 2
    err = capsys.readouterr().err
    assert "no text column 'text'" in err and "'headline'" in err and "--text-column" in err
    assert not (tmp_path / "p" / "x.sqlite").exists()
    assert list((tmp_path / "p").glob("*")) == []  # no half-made project


def test_existing_project(tmp_path, pool_file, actors_file, capsys):
    assert main(_init_args(tmp_path, pool_file, actors_file)) == 0
    path = tmp_path / "p" / "nato.sqlite"
    before = path.read_bytes()
    capsys.readouterr()
    assert main(_init_args(tmp_path, pool_file, actors_file)) == 2
    assert "already exists" in capsys.readouterr().err
    assert path.read_bytes() == before


def test_import_unknown_label_is_all_or_nothing(tmp_path, project, capsys):
    ids = list(project.articles()["id"][:3])
    table = tmp_path / "bad.csv"
    pd.DataFrame({"id": ids, "label": ["favor", "against", "sceptical"]}).to_csv(table, index=False)
    assert main(["label", "import", "nato", str(table), "--dir", str(project.path.parent)]) == 2
    assert "['sceptical']" in capsys.readouterr().err
    assert project.current_labels().empty


def test_missing_project_and_bad_strategy(tmp_path, pool_file, actors_file, capsys):
    assert main(["label", "status", "ghost", "--dir", str(tmp_path)]) == 2
    assert "no labelling project" in capsys.readouterr().err
    assert main(_init_args(tmp_path, pool_file, actors_file, "--strategy", "psychic")) == 2
    assert "unknown query strategy 'psychic'" in capsys.readouterr().err
    assert main(_init_args(tmp_path, pool_file, actors_file, "--model", "oracle")) == 2
    assert "unknown model 'oracle'" in capsys.readouterr().err
    assert not (tmp_path / "p" / "nato.sqlite").exists()


@pytest.mark.parametrize("fmt", ["label-studio"])
def test_label_studio_roundtrip(tmp_path, project, gold, fmt, capsys, pool_file, actors_file):
    _label_all_queued(project, gold)
    project.undo("alice")  # an undone label must not be exported
    out = tmp_path / "ls.json"
    assert main(["label", "export", "nato", "--dir", str(project.path.parent), "-o", str(out)]) == 0
    tasks = json.loads(out.read_text())
    assert len(tasks) == 7
    result = tasks[0]["annotations"][0]["result"][0]
    assert result["type"] == "choices" and result["from_name"] == "stance"
    assert '<Choice value="favor"/>' in out.with_suffix(".xml").read_text()

    # a fresh project takes the annotations back
    from stance.labeling.project import init_project

    other = init_project(
        "copy",
        "NATO enlargement",
        pool_file,
        actors=str(actors_file),
        columns=COLUMNS,
        directory=tmp_path / "other",
    )
    assert main(["label", "import", "copy", str(out), "--dir", str(tmp_path / "other")]) == 0
    expected = project.current_labels().set_index("id")["label"].to_dict()
    assert other.current_labels().set_index("id")["label"].to_dict() == expected
    assert set(other.current_labels()["labeller"]) == {"label-studio:alice"}


def test_label_studio_bad_file(tmp_path, project, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps([{"data": {"text": "no id"}, "annotations": []}]))
    assert main(["label", "import", "nato", str(bad), "--dir", str(project.path.parent)]) == 2
    assert "task 0 has no data.id" in capsys.readouterr().err

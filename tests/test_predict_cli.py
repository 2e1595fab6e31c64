"""stance predict / stance tag on the command line: outputs, exit codes, one-line errors."""

from __future__ import annotations

import argparse
import io
import json
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

from stance.predict_cli import add_predict_parser, add_tag_parser
from tests.paths import SEED_DOCUMENT
from tests.run_dir_fixtures import TARGET, make_run_dir

SEED = SEED_DOCUMENT


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return make_run_dir(tmp_path_factory.mktemp("cli"))


def cli(argv: list[str]) -> int:
    """The way the top-level dispatcher will call us."""
    parser = argparse.ArgumentParser(prog="stance")
    sub = parser.add_subparsers(dest="command", required=True)
    add_predict_parser(sub)
    add_tag_parser(sub)
    args = parser.parse_args(argv)
    return args.func(args)


def test_predict_text_file(run: Path, tmp_path: Path, capsys) -> None:
    doc = tmp_path / "a.txt"
    doc.write_text("Putin and Trump agreed to resume talks.\n\nRead more", encoding="utf-8")
    assert cli(["predict", str(run), str(doc)]) == 0
    out = pd.read_csv(io.StringIO(capsys.readouterr().out))
    assert out.columns.tolist() == [
        "id",
        "target",
        "label",
        "proba_favor",
        "proba_against",
        "proba_none",
        "status",
    ]
    assert out.loc[0, "label"] == "favor" and out.loc[0, "target"] == TARGET


@pytest.mark.skipif(not SEED.exists(), reason="seed document not available")
def test_seed_document_subprocess(run: Path) -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "stance.predict_cli", "predict", str(run), str(SEED)],
        capture_output=True,
        text=True,
    )
    assert proc.returncode == 0, proc.stderr
    row = pd.read_csv(io.StringIO(proc.stdout)).iloc[0]
    assert row["target"] == TARGET and row["status"] == "ok"
    assert abs(row[["proba_favor", "proba_against", "proba_none"]].sum() - 1) < 1e-3


def test_predict_jsonl_to_jsonl_file(run: Path, tmp_path: Path) -> None:
    src = tmp_path / "in.jsonl"
    src.write_text('{"k": 1, "body": "New sanctions deepen the conflict"}\n{"k": 2, "body": ""}\n')
    dest = tmp_path / "out.jsonl"
    code = cli(
        [
            "predict",
            str(run),
            str(src),
            "--text-column",
            "body",
            "--id-column",
            "k",
            "-o",
            str(dest),
        ]
    )
    assert code == 0
    rows = [json.loads(line) for line in dest.read_text().splitlines()]
    assert [r["status"] for r in rows] == ["ok", "empty_text"]
    assert rows[0]["id"] == 1 and rows[0]["label"] == "against"


def test_predict_csv_stdin_text(run: Path, tmp_path: Path, monkeypatch, capsys) -> None:
    src = tmp_path / "in.csv"
    pd.DataFrame({"text": ["Football results were published"]}).to_csv(src, index=False)
    assert cli(["predict", str(run), str(src)]) == 0
    assert "none" in capsys.readouterr().out
    monkeypatch.setattr(sys, "stdin", io.TextIOWrapper(io.BytesIO(b"Leaders praised the summit")))
    assert cli(["predict", str(run), "-", "--output-format", "jsonl"]) == 0
    assert json.loads(capsys.readouterr().out)["id"] == "stdin"


@pytest.mark.parametrize(
    ("content", "extra", "message"),
    [
        (b"", [], "empty"),
        (b"caf\xe9 au lait", [], "not valid utf-8"),
        (b'{"body": "x"}\n', ["--format", "jsonl"], "no column 'text'"),
    ],
)
def test_predict_bad_input_one_line_error(
    run: Path, tmp_path: Path, capsys, content, extra, message
) -> None:
    src = tmp_path / "doc.txt"
    src.write_bytes(content)
    assert cli(["predict", str(run), str(src), *extra]) == 2
    err = capsys.readouterr().err.strip()
    assert message in err and len(err.splitlines()) == 1 and "Traceback" not in err


def test_predict_needs_target_and_refused_model(tmp_path: Path, capsys) -> None:
    multi = make_run_dir(tmp_path, default_target=None, needs_target=True, name="multi")
    doc = tmp_path / "a.txt"
    doc.write_text("talks")
    assert cli(["predict", str(multi), str(doc)]) == 2
    assert "--target" in capsys.readouterr().err
    assert cli(["predict", str(multi), str(doc), "--target", TARGET]) == 0
    capsys.readouterr()
    evil = tmp_path / "evil.pkl"
    evil.write_bytes(b"\x80\x04N.")
    assert cli(["predict", str(evil), str(doc)]) == 2
    assert "refusing" in capsys.readouterr().err


def test_tag_command(run: Path, tmp_path: Path, capsys) -> None:
    src = tmp_path / "c.csv"
    pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "text": ["talks", "", "sanctions"],
            "source": ["x", "y", "z"],
            "date": ["1", "2", "3"],
        }
    ).to_csv(src, index=False)
    out = tmp_path / "o.parquet"
    code = cli(
        [
            "tag",
            str(run),
            str(src),
            "--out",
            str(out),
            "--id-column",
            "id",
            "--keep",
            "source,date",
            "--batch-size",
            "2",
            "--no-progress",
        ]
    )
    assert code == 0
    frame = pd.read_parquet(out)
    assert frame["id"].tolist() == ["a", "b", "c"] and frame.columns[-2:].tolist() == [
        "source",
        "date",
    ]
    assert "tagged 3 rows" in capsys.readouterr().err
    assert (
        cli(["tag", str(run), str(src), "--out", str(out), "--keep", "nope", "--no-progress"]) == 2
    )
    assert "columns present: ['id', 'text', 'source', 'date']" in capsys.readouterr().err


def test_an_id_column_is_used_by_default(run: Path, tmp_path: Path, capsys) -> None:
    src = tmp_path / "in.csv"
    pd.DataFrame({"id": ["x7", "x9"], "text": ["talks", "sanctions"]}).to_csv(src, index=False)
    assert cli(["predict", str(run), str(src)]) == 0
    assert pd.read_csv(io.StringIO(capsys.readouterr().out))["id"].tolist() == ["x7", "x9"]
    out = tmp_path / "o.parquet"
    assert cli(["tag", str(run), str(src), "--out", str(out), "--no-progress"]) == 0
    assert pd.read_parquet(out)["id"].tolist() == ["x7", "x9"]
    for add in (add_predict_parser, add_tag_parser):
        parser = add(argparse.ArgumentParser(prog="stance").add_subparsers())
        assert "the input's 'id' column when it has one" in " ".join(parser.format_help().split())


@pytest.mark.parametrize("umask", [0o022, 0o077])
def test_outputs_follow_the_umask(run: Path, tmp_path: Path, umask: int) -> None:
    import os

    src = tmp_path / "in.csv"
    pd.DataFrame({"text": ["talks", "sanctions"]}).to_csv(src, index=False)
    old = os.umask(umask)
    try:
        assert cli(["predict", str(run), str(src), "-o", str(tmp_path / "p.csv")]) == 0
        out = tmp_path / "t.parquet"
        assert cli(["tag", str(run), str(src), "--out", str(out), "--no-progress"]) == 0
    finally:
        os.umask(old)
    for path in (tmp_path / "p.csv", out):
        assert path.stat().st_mode & 0o777 == 0o666 & ~umask, path


def test_one_progress_bar_for_a_long_input_none_for_one_article(
    run: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    from stance import predict_cli

    monkeypatch.setattr(predict_cli, "PROGRESS_DELAY_S", 0.0)
    monkeypatch.setattr(predict_cli, "PREDICT_CHUNK", 3)
    src = tmp_path / "in.csv"
    pd.DataFrame({"text": ["talks", "sanctions"] * 5}).to_csv(src, index=False)
    assert cli(["predict", str(run), str(src), "-o", str(tmp_path / "p.csv")]) == 0
    err = capsys.readouterr().err
    assert "predicting" in err and "10/10" in err and err.count("predicting") >= 1
    doc = tmp_path / "a.txt"
    doc.write_text("Putin and Trump agreed to resume talks.", encoding="utf-8")
    assert cli(["predict", str(run), str(doc)]) == 0
    assert "predicting" not in capsys.readouterr().err


def test_library_progress_bars_are_silenced(monkeypatch) -> None:
    from stance.features import embeddings
    from stance.inference import silence_library_progress

    monkeypatch.setattr(embeddings, "PROGRESS_FROM", embeddings.PROGRESS_FROM)
    monkeypatch.delenv("HF_HUB_DISABLE_PROGRESS_BARS", raising=False)
    silence_library_progress()
    import os

    assert sys.maxsize == embeddings.PROGRESS_FROM
    assert os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] == "1"


def test_interrupted_tag_says_what_was_saved_and_how_to_resume(
    run: Path, tmp_path: Path, capsys, monkeypatch
) -> None:
    from stance.tagging import PartStore

    src = tmp_path / "c.csv"
    pd.DataFrame({"text": ["talks", "sanctions", "summit"] * 3}).to_csv(src, index=False)
    out = tmp_path / "o.parquet"
    write = PartStore.write

    def write_then_interrupt(self, index, table):
        write(self, index, table)
        if index == 1:
            raise KeyboardInterrupt

    monkeypatch.setattr(PartStore, "write", write_then_interrupt)
    argv = ["tag", str(run), str(src), "--out", str(out), "--batch-size", "2", "--no-progress"]
    assert cli(argv) == 130
    err = capsys.readouterr().err
    assert "interrupted; 2 finished batch(es) are saved in" in err
    assert "rerun the same command to resume" in err
    monkeypatch.setattr(PartStore, "write", write)
    assert cli(argv) == 0
    assert "(2 batches resumed)" in capsys.readouterr().err
    assert len(pd.read_parquet(out)) == 9


def test_predict_explain_prints_why_on_stderr(run: Path, tmp_path: Path, capsys) -> None:
    """--explain K: the predictions on stdout are unchanged; stderr names label, target and K rows."""
    doc = tmp_path / "a.txt"
    doc.write_text("Putin and Trump agreed to resume talks.", encoding="utf-8")
    assert cli(["predict", str(run), str(doc)]) == 0
    plain = capsys.readouterr().out
    assert cli(["predict", str(run), str(doc), "--explain", "3"]) == 0
    captured = capsys.readouterr()
    assert captured.out == plain
    lines = captured.err.strip().splitlines()
    label = pd.read_csv(io.StringIO(plain)).loc[0, "label"]
    assert lines[0].startswith(f"a.txt: {label} toward {TARGET!r}")
    assert len(lines) == 1 + 1 + 3  # heading, table header, K rows

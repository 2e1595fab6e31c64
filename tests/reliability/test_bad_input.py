"""Issue 7: every entry point fails clearly on bad input and leaves nothing half-written.

Cases x entry points (``stance-run``, ``stance predict``, ``stance tag``,
``stance data``, ``stance.load(...).predict``). Command-line cases assert a
one-line message naming what / where / what was expected, a non-zero exit
status, no traceback, and no run directory or output file left behind.
``stance predict`` / ``tag`` / ``data`` run in-process through
``stance.cli.main`` (what the console script calls); ``stance-run`` and a few
smoke cases run as real subprocesses. All inputs are built here, tiny.
"""

from __future__ import annotations

import json
import math
import os
import re
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest

import stance
from stance.cli import main as stance_main
from stance.errors import StanceError
from tests.run_dir_fixtures import make_run_dir, training_data

BIG = 10_000_000  # a 10 MB document


# ---------------------------------------------------------------------------- inputs
@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return make_run_dir(tmp_path_factory.mktemp("reliability"))


@pytest.fixture(scope="module")
def files(tmp_path_factory) -> dict[str, Path]:
    """Small corpora with one defect each (``body`` = text, ``stance`` = label)."""
    root = tmp_path_factory.mktemp("inputs")
    X, y = training_data()
    good = pd.DataFrame({"body": X["text"], "stance": y})
    out: dict[str, Path] = {}

    def csv(name: str, frame: pd.DataFrame) -> None:
        out[name] = root / f"{name}.csv"
        frame.to_csv(out[name], index=False)

    csv("good", good)
    csv("empty", good.head(0))
    csv("one_class", good.assign(stance="favor"))
    blanks = good.copy()
    blanks.loc[3, "body"], blanks.loc[4, "body"], blanks.loc[5, "body"] = "", "   ", None
    csv("blank_texts", blanks)
    csv("all_blank", good.assign(body="  "))
    unseen = good.assign(part="train")
    unseen.loc[unseen["stance"] == "none", "part"] = "test"
    unseen.loc[unseen.index[:4], "part"] = "test"
    csv("unseen_label", unseen)
    big = good.copy()
    big.loc[0, "body"] = ("talks cooperation summit " * (BIG // 25 + 1))[:BIG]
    csv("big", big)
    data = out["good"].read_bytes()
    out["bad_utf8"] = root / "bad_utf8.csv"
    out["bad_utf8"].write_bytes(data.replace(b"Putin", b"Put\xe9n", 1))
    out["truncated"] = root / "truncated.csv"  # cut inside the last (quoted, multi-line) text
    out["truncated"].write_bytes(data[:-30])
    out["zero_bytes"] = root / "zero.csv"
    out["zero_bytes"].write_bytes(b"")
    out["big_txt"] = root / "big.txt"
    out["big_txt"].write_text(big.loc[0, "body"], encoding="utf-8")
    out["blank_txt"] = root / "blank.txt"
    out["blank_txt"].write_text("  \n\t\n", encoding="utf-8")
    out["bad_utf8_txt"] = root / "bad.txt"
    out["bad_utf8_txt"].write_bytes(b"Putin and Trump caf\xe9 talks\n")
    good.to_json(root / "good.jsonl", orient="records", lines=True)
    out["truncated_jsonl"] = root / "truncated.jsonl"
    out["truncated_jsonl"].write_bytes((root / "good.jsonl").read_bytes()[:-40])
    return out


def _cli(capsys, *argv: str) -> tuple[int, str]:
    """``stance ARGV`` in-process: exit status and stderr (argparse exits become statuses)."""
    try:
        code = stance_main(list(argv))
    except SystemExit as exc:
        code = exc.code if isinstance(exc.code, int) else 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    return code, err


def _no_leftovers(out: Path) -> None:
    """No output file, temporary file or resumable parts directory next to ``out``."""
    assert not out.exists()
    assert not [
        p.name for p in out.parent.iterdir() if p.name.startswith((out.name, f".{out.name}"))
    ]


# ---------------------------------------------------------------------------- stance predict
@pytest.mark.parametrize(
    ("case", "args", "expected"),
    [
        (
            "empty corpus",
            ["{empty}", "--text-column", "body"],
            r"empty\.csv: no rows \(expected a header",
        ),
        ("zero-byte file", ["{zero_bytes}"], r"zero\.csv: the file is empty \(expected a header"),
        ("whitespace text file", ["{blank_txt}"], r"blank\.txt: the document is empty"),
        (
            "undecodable text file",
            ["{bad_utf8_txt}"],
            r"bad\.txt: not valid utf-8 \(byte 0xe9 at offset 19\); pass --encoding",
        ),
        (
            "wrong column",
            ["{good}", "--text-column", "content"],
            r"good\.csv: no column 'content' \(--text-column\); columns present: \['body', 'stance'\]",
        ),
        ("missing input", ["{missing}"], r"input file not found: .*nowhere/x\.csv"),
        (
            "truncated csv",
            ["{truncated}", "--text-column", "body"],
            r"truncated\.csv: cannot parse the CSV \(EOF inside string starting at row \d+\); the file looks truncated",
        ),
        (
            "bad option value",
            ["{good}", "--format", "xml"],
            r"argument --format: invalid choice: 'xml'",
        ),
        (
            "unknown option",
            ["{good}", "--batch-size", "3"],
            r"unrecognized arguments: --batch-size 3",
        ),
    ],
)
def test_predict_refuses_bad_input(run, files, tmp_path, capsys, case, args, expected):
    paths = {**{k: str(v) for k, v in files.items()}, "missing": str(tmp_path / "nowhere/x.csv")}
    out = tmp_path / "pred.csv"
    code, err = _cli(
        capsys, "predict", str(run), *[a.format(**paths) for a in args], "-o", str(out)
    )
    assert code == 2, (case, err)
    assert re.search(expected, err), (case, err)
    _no_leftovers(out)


def test_predict_missing_model_dir(files, tmp_path, capsys):
    code, err = _cli(capsys, "predict", str(tmp_path / "no_run"), str(files["good"]))
    assert code == 2 and "model not found" in err and "no_run" in err


def test_predict_batch_flags_bad_rows_with_a_status(run, files, tmp_path, capsys):
    """Empty / whitespace / NaN / undecodable rows: per-row status, the rest still predicted."""
    out = tmp_path / "pred.csv"
    code, err = _cli(
        capsys,
        "predict",
        str(run),
        str(files["blank_texts"]),
        "--text-column",
        "body",
        "-o",
        str(out),
    )
    assert code == 0 and "3 of 36 rows not classified (see the status column)" in err
    status = pd.read_csv(out)["status"]
    assert status.iloc[3:6].tolist() == ["empty_text", "empty_text", "empty_text"]
    assert (status.drop([3, 4, 5]) == "ok").all()


def test_predict_csv_in_another_encoding_is_refused_up_front_with_the_fix(
    run, files, tmp_path, capsys
):
    """Not every row 'undecodable' and exit 1: one error naming the file, the byte, the fix."""
    out = tmp_path / "pred.csv"
    args = ["predict", str(run), str(files["bad_utf8"]), "--text-column", "body", "-o", str(out)]
    code, err = _cli(capsys, *args)
    assert code == 2 and len(err.strip().splitlines()) == 1
    assert re.search(
        r"bad_utf8\.csv: byte 0xe9 at offset \d+, line 2, is not valid utf-8; .*"
        r"pass --encoding latin-1",
        err,
    ), err
    _no_leftovers(out)
    code, err = _cli(capsys, *args, "--encoding", "latin-1")
    assert code == 0, err
    assert (pd.read_csv(out)["status"] == "ok").all()


def test_predict_one_bad_row_past_the_encoding_check_gets_a_status(
    run, files, tmp_path, capsys, monkeypatch
):
    from stance.data import stream

    monkeypatch.setattr(stream, "ENCODING_SAMPLE_BYTES", 10)  # the bad byte is at offset 16+
    out = tmp_path / "pred.csv"
    code, _ = _cli(
        capsys, "predict", str(run), str(files["bad_utf8"]), "--text-column", "body", "-o", str(out)
    )
    assert code == 0 and pd.read_csv(out)["status"].iloc[0] == "undecodable"


def test_predict_all_rows_bad_exits_non_zero(run, files, tmp_path, capsys):
    out = tmp_path / "pred.csv"
    code, err = _cli(
        capsys,
        "predict",
        str(run),
        str(files["all_blank"]),
        "--text-column",
        "body",
        "-o",
        str(out),
    )
    assert code == 1 and "36 of 36 rows not classified" in err


def test_predict_truncated_jsonl_flags_the_cut_line(run, files, tmp_path, capsys):
    out = tmp_path / "pred.csv"
    code, _ = _cli(
        capsys,
        "predict",
        str(run),
        str(files["truncated_jsonl"]),
        "--text-column",
        "body",
        "-o",
        str(out),
    )
    assert code == 0
    assert pd.read_csv(out)["status"].tolist() == ["ok"] * 35 + ["bad_record"]


def test_predict_truncated_unquoted_csv_warns(run, tmp_path, capsys):
    corpus = tmp_path / "cut.csv"
    corpus.write_bytes(b"text\nPutin and Trump agreed to resume talks\nNew sanctions deep")
    code, err = _cli(capsys, "predict", str(run), str(corpus), "-o", str(tmp_path / "p.csv"))
    assert code == 0 and "does not end with a newline; its last row may be truncated" in err


@pytest.mark.slow
def test_predict_10mb_document(run, files, tmp_path, capsys):
    code, err = _cli(
        capsys, "predict", str(run), str(files["big_txt"]), "-o", str(tmp_path / "p.csv")
    )
    assert code == 0, err
    assert pd.read_csv(tmp_path / "p.csv")["status"].tolist() == ["ok"]


# ---------------------------------------------------------------------------- stance tag
@pytest.mark.parametrize(
    ("case", "corpus", "extra", "expected"),
    [
        ("empty corpus", "empty", ["--text-column", "body"], r"empty\.csv: the corpus has no rows"),
        ("zero-byte file", "zero_bytes", [], r"zero\.csv: the file is empty"),
        (
            "wrong column",
            "good",
            ["--text-column", "content"],
            r"no column 'content' \(--text-column\); columns present: \['body', 'stance'\]",
        ),
        ("missing corpus", "missing", [], r"corpus not found: .*nowhere/x\.csv"),
        (
            "truncated csv",
            "truncated",
            ["--text-column", "body"],
            r"truncated\.csv: cannot parse the CSV",
        ),
        (
            "bad batch size",
            "good",
            ["--text-column", "body", "--batch-size", "0"],
            r"--batch-size must be positive, got 0",
        ),
        (
            "malformed option",
            "good",
            ["--batch-size", "ten"],
            r"argument --batch-size: invalid int value: 'ten'",
        ),
    ],
)
def test_tag_refuses_bad_input(run, files, tmp_path, capsys, case, corpus, extra, expected):
    source = str(tmp_path / "nowhere/x.csv") if corpus == "missing" else str(files[corpus])
    out = tmp_path / "tagged.parquet"
    code, err = _cli(capsys, "tag", str(run), source, "--out", str(out), "--no-progress", *extra)
    assert code == 2, (case, err)
    assert re.search(expected, err), (case, err)
    _no_leftovers(out)


@pytest.mark.parametrize("name", ["tags.jsonl", "tags.csv", "tags"])
def test_tag_output_must_be_named_parquet(run, files, tmp_path, capsys, name):
    out = tmp_path / name
    code, err = _cli(capsys, "tag", str(run), str(files["good"]), "--out", str(out))
    assert code == 2, err
    assert f"--out {out}: stance tag writes Parquet; name the output *.parquet" in err
    assert len(err.strip().splitlines()) == 1, err
    assert not out.exists() and not list(tmp_path.glob(f"{name}*"))


def test_tag_statuses_for_blank_undecodable_and_truncated_rows(run, files, tmp_path, capsys):
    for name, bad in (
        ("blank_texts", {3: "empty_text", 4: "empty_text", 5: "empty_text"}),
        ("truncated_jsonl", {35: "bad_record"}),
    ):
        out = tmp_path / f"{name}.parquet"
        code, err = _cli(
            capsys,
            "tag",
            str(run),
            str(files[name]),
            "--text-column",
            "body",
            "--out",
            str(out),
            "--no-progress",
        )
        assert code == 0, err
        status = pd.read_parquet(out)["status"]
        assert {i: status[i] for i in bad} == bad
        assert (status.drop(list(bad)) == "ok").all()


def test_tag_csv_in_another_encoding_is_refused_then_read_with_encoding(
    run, files, tmp_path, capsys
):
    out = tmp_path / "tagged.parquet"
    args = ["tag", str(run), str(files["bad_utf8"]), "--text-column", "body", "--out", str(out)]
    code, err = _cli(capsys, *args, "--no-progress")
    assert code == 2 and "bad_utf8.csv: byte 0xe9" in err and "--encoding latin-1" in err
    _no_leftovers(out)
    code, err = _cli(capsys, *args, "--no-progress", "--encoding", "latin-1")
    assert code == 0, err
    frame = pd.read_parquet(out)
    assert (frame["status"] == "ok").all() and len(frame) == 36


@pytest.mark.slow
def test_tag_10mb_document(run, files, tmp_path, capsys):
    out = tmp_path / "big.parquet"
    code, err = _cli(
        capsys,
        "tag",
        str(run),
        str(files["big"]),
        "--text-column",
        "body",
        "--out",
        str(out),
        "--no-progress",
    )
    assert code == 0, err
    assert (pd.read_parquet(out)["status"] == "ok").all()


# ---------------------------------------------------------------------------- Python API
@pytest.fixture(scope="module")
def model(run):
    return stance.load(run)


@pytest.mark.parametrize(
    ("case", "texts", "expected"),
    [
        (
            "empty text",
            "",
            r"text 0 cannot be classified: empty_text - it is empty or whitespace-only; expected non-empty UTF-8 text",
        ),
        ("whitespace", " \n\t", r"empty_text - it is empty or whitespace-only"),
        ("NaN scalar", math.nan, r"texts must be a string or a list of strings, got float"),
        (
            "NaN in a list",
            ["Putin and Trump met", math.nan],
            r"text 1 cannot be classified: missing_text - it is missing \(None or NaN\)",
        ),
        (
            "None in a list",
            ["Putin and Trump met", None],
            r"text 1 cannot be classified: missing_text",
        ),
        (
            "undecodable bytes",
            b"caf\xe9 talks",
            r"undecodable - it holds bytes that are not valid UTF-8",
        ),
        ("surrogate-escaped str", "caf\udce9 talks", r"undecodable"),
        ("not text", 42, r"got int"),
    ],
)
def test_api_refuses_bad_texts(model, case, texts, expected):
    with pytest.raises(StanceError, match=expected):
        model.predict(texts)


def test_api_valid_bytes_are_one_document(model):
    assert model.predict(b"Putin and Trump agreed to resume talks") in {"favor", "against", "none"}


def test_api_empty_list_gives_empty_list(model):
    assert model.predict([]) == []


@pytest.mark.slow
def test_api_10mb_document(model):
    assert model.predict(("talks cooperation summit " * (BIG // 25 + 1))[:BIG]) in model.labels


def test_api_missing_and_wrong_model_paths(files, tmp_path):
    with pytest.raises(StanceError, match=r"model not found: .*nowhere"):
        stance.load(tmp_path / "nowhere")
    with pytest.raises(StanceError, match=r"good\.csv: not a skops model file"):
        stance.load(files["good"])
    with pytest.raises(StanceError, match=r"no model\.skops in this directory"):
        stance.load(tmp_path)


def test_api_target_never_seen_in_training_warns(model):
    with pytest.warns(UserWarning, match="trained only on target .* extrapolation"):
        model.predict("Putin and Trump agreed to resume talks", target="Climate change")


# ---------------------------------------------------------------------------- stance data
def _semeval_dir(
    root: Path, texts: str = "tweet one\ntweet two\ntweet three\n", labels: str = "0\n1\n2\n"
) -> Path:
    """A tiny stand-in for the TweetEval layout the semeval2016 loader reads."""
    for key in ("abortion", "atheism", "climate", "feminist", "hillary"):
        folder = root / "tweeteval_stance" / key
        folder.mkdir(parents=True, exist_ok=True)
        for split in ("train", "val", "test"):
            (folder / f"{split}_text.txt").write_text(texts, encoding="utf-8")
            (folder / f"{split}_labels.txt").write_text(labels, encoding="utf-8")
    return root


def test_data_info_on_a_good_tiny_corpus(tmp_path, capsys):
    code = stance_main(["data", "info", "semeval2016", "--data-dir", str(_semeval_dir(tmp_path))])
    assert code == 0 and "semeval2016: 45 rows" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("case", "damage", "expected"),
    [
        (
            "unknown label",
            ("atheism/test_labels.txt", b"0\n7\n2\n"),
            r"atheism/test_labels\.txt: line 2 has label '7', expected 0/1/2",
        ),
        (
            "undecodable",
            ("atheism/test_text.txt", b"tw\xe9et\nb\nc\n"),
            r"atheism/test_text\.txt: byte offset 2 is not valid UTF-8",
        ),
        (
            "truncated",
            ("atheism/test_labels.txt", b"0\n1"),
            r"atheism/test_text\.txt: 3 tweets but 2 labels in .*test_labels\.txt",
        ),
    ],
)
def test_data_info_refuses_damaged_files(tmp_path, capsys, case, damage, expected):
    root = _semeval_dir(tmp_path)
    (root / "tweeteval_stance" / damage[0]).write_bytes(damage[1])
    code, err = _cli(capsys, "data", "info", "semeval2016", "--data-dir", str(root))
    assert code == 2 and re.search(expected, err), (case, err)


def test_data_info_wrong_column(tmp_path, capsys):
    (tmp_path / "ru_us_rapprochement").mkdir()
    (tmp_path / "ru_us_rapprochement" / "labels.csv").write_text("ident,lab\n1,favor\n")
    code, err = _cli(capsys, "data", "info", "ru_us_rapprochement", "--data-dir", str(tmp_path))
    assert code == 2
    assert "labels.csv: missing column(s) ['id', 'label']; columns present: ['ident', 'lab']" in err


def test_data_missing_dir_unknown_name_and_bad_args(tmp_path, capsys):
    code, err = _cli(capsys, "data", "info", "semeval2016", "--data-dir", str(tmp_path / "nowhere"))
    assert code == 2 and f"data directory {tmp_path / 'nowhere'} does not exist" in err
    code, err = _cli(capsys, "data", "info", "nosuch")
    assert code == 2 and "unknown corpus 'nosuch'; known: [" in err
    code, err = _cli(capsys, "data", "info", "semeval2016", "--bogus=1")
    assert code == 2 and "unrecognized arguments: --bogus=1" in err
    code, err = _cli(capsys, "data", "verify", "semeval2016", "--data-dir", str(tmp_path))
    assert code == 2 and "does not exist; run `stance data fetch tweeteval_stance`" in err


def test_data_info_one_class_and_10mb_text_are_described(tmp_path, capsys):
    root = _semeval_dir(tmp_path, texts="a" * BIG + "\nb\nc\n", labels="1\n1\n1\n")
    code = stance_main(["data", "info", "semeval2016", "--data-dir", str(root)])
    assert code == 0 and "labels: none 0, against 45, favor 0" in capsys.readouterr().out


def test_data_info_empty_corpus_says_no_rows(tmp_path, capsys):
    root = _semeval_dir(tmp_path, "", "")
    code, err = _cli(capsys, "data", "info", "semeval2016", "--data-dir", str(root))
    assert code == 2 and "semeval2016: the corpus has no rows" in err


def test_data_info_whitespace_texts_are_dropped_with_a_note(tmp_path, capsys):
    root = _semeval_dir(tmp_path, texts="tweet one\n   \ntweet three\n")
    with pytest.warns(UserWarning, match="whitespace"):
        code = stance_main(["data", "info", "semeval2016", "--data-dir", str(root)])
    out = capsys.readouterr().out
    assert code == 0 and "semeval2016: 30 rows" in out
    assert "note: semeval2016: dropped 15 row(s) whose text is empty or whitespace only" in out


# ---------------------------------------------------------------------------- stance-run
FAST = ["report.bootstrap=0", "cache.features=false", "features.min_df=1"]


def _stance_run_cmd(tmp_path: Path, *overrides: str, data_file: Path | None = None):
    env = dict(os.environ, STANCE_OUTPUT_DIR=str(tmp_path / "out"))
    data = (
        [
            "data=file",
            f"data.path={data_file}",
            "data.columns.text=body",
            "data.columns.label=stance",
        ]
        if data_file is not None
        else []
    )
    return ["stance-run", *data, *FAST, *overrides], env


def _stance_run(tmp_path: Path, *overrides: str, data_file: Path | None = None, timeout=240):
    cmd, env = _stance_run_cmd(tmp_path, *overrides, data_file=data_file)
    return subprocess.run(
        cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=timeout
    )


def _run_dirs(tmp_path: Path) -> list[Path]:
    return [p for p in (tmp_path / "out").glob("runs/*/*") if p.is_dir()]


KFOLD = ["split=kfold", "split.n_splits=2"]
RUN_CASES = [
    (
        "one class",
        "one_class",
        KFOLD,
        r"split 'kfold' fold 0: the training rows hold a single class \('favor'\); a classifier needs at least two",
    ),
    (
        "unseen test label",
        "unseen_label",
        ["split=predefined", "data.split_column=part"],
        r"split 'predefined' fold 0: test label\(s\) \{'none': 12\} never occur in the training part \(training labels: \['against', 'favor'\]\)",
    ),
    ("all texts blank", "all_blank", KFOLD, r"all_blank\.csv: no rows with text left"),
    (
        "blank texts, empty_text=fail",
        "blank_texts",
        [*KFOLD, "data.empty_text=fail"],
        r"blank_texts\.csv: 3 row\(s\) have an empty, missing or whitespace-only text in column 'body' \(first: row 4\); set data.empty_text=drop",
    ),
    (
        "undecodable bytes",
        "bad_utf8",
        KFOLD,
        r"bad_utf8\.csv: byte 0xe9 at offset 16, line 2, is not valid utf-8",
    ),
    (
        "wrong column",
        "good",
        [*KFOLD, "data.columns.text=content"],
        r"good\.csv: column\(s\) 'content' \(data.columns.text\) not found; columns present: \['body', 'stance'\]",
    ),
    ("missing data file", "missing", KFOLD, r"missing file .*nowhere/x\.csv"),
    (
        "truncated mid-line",
        "truncated",
        KFOLD,
        r"truncated\.csv: the last line has 1 field\(s\) but the header has 2.*truncated mid-line",
    ),
]


@pytest.fixture(scope="module")
def run_failures(files, tmp_path_factory) -> dict[str, tuple[Path, subprocess.CompletedProcess]]:
    """Every bad-input ``stance-run`` at once (separate processes, separate output dirs):
    the cost is mostly interpreter start-up, so running them side by side saves ~40 s."""
    started = {}
    for case, corpus, overrides, _ in RUN_CASES:
        root = tmp_path_factory.mktemp("stance_run_case")
        path = root / "nowhere/x.csv" if corpus == "missing" else files[corpus]
        cmd, env = _stance_run_cmd(root, *overrides, data_file=path)
        started[case] = (
            root,
            subprocess.Popen(
                cmd, cwd=root, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
            ),
        )
    done = {}
    for case, (root, proc) in started.items():
        out, err = proc.communicate(timeout=300)
        done[case] = (root, subprocess.CompletedProcess(proc.args, proc.returncode, out, err))
    return done


@pytest.mark.slow
@pytest.mark.parametrize(
    ("case", "expected"), [(c[0], c[3]) for c in RUN_CASES], ids=[c[0] for c in RUN_CASES]
)
def test_stance_run_refuses_bad_input(run_failures, case, expected):
    root, out = run_failures[case]
    assert out.returncode == 2, out.stderr
    assert re.search(expected, out.stderr), out.stderr
    assert "Traceback" not in out.stderr
    assert _run_dirs(root) == []


@pytest.mark.slow
def test_stance_run_empty_corpus_says_no_rows(files, tmp_path):
    out = _stance_run(tmp_path, *KFOLD, data_file=files["empty"])
    assert out.returncode == 2 and _run_dirs(tmp_path) == []
    assert "empty.csv: the file has a header (2 columns) but no rows" in out.stderr
    assert "Traceback" not in out.stderr


def test_stance_run_malformed_override(tmp_path):
    out = _stance_run(tmp_path, "data.path=[")
    assert out.returncode == 2
    assert out.stderr.startswith("stance: error: cannot read the override 'data.path=['")
    assert "no viable alternative at input '['" in out.stderr and "Traceback" not in out.stderr
    assert _run_dirs(tmp_path) == []


def test_stance_run_missing_data_directory(tmp_path):
    env = dict(
        os.environ,
        STANCE_OUTPUT_DIR=str(tmp_path / "out"),
        STANCE_DATA_DIR=str(tmp_path / "nowhere"),
    )
    out = subprocess.run(
        ["stance-run", *FAST], cwd=tmp_path, env=env, capture_output=True, text=True, timeout=120
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert (
        f"data directory {tmp_path / 'nowhere'} does not exist; set STANCE_DATA_DIR" in out.stderr
    )
    assert _run_dirs(tmp_path) == []


@pytest.mark.slow
def test_stance_run_blank_texts_dropped_with_one_line_warning(files, tmp_path):
    out = _stance_run(tmp_path, *KFOLD, data_file=files["blank_texts"])
    assert out.returncode == 0, out.stderr
    assert (
        "stance: warning: " + str(files["blank_texts"]) + ": 3 row(s) have an empty, missing or "
        "whitespace-only text in column 'body' (first: row 4); dropped"
    ) in out.stderr
    (run_dir,) = _run_dirs(tmp_path)
    record = json.loads((run_dir / "run.json").read_text())
    assert record["data"]["rows"] == 33


@pytest.mark.slow
def test_stance_run_10mb_document(files, tmp_path):
    out = _stance_run(tmp_path, *KFOLD, data_file=files["big"])
    assert out.returncode == 0, out.stderr
    (run_dir,) = _run_dirs(tmp_path)
    assert len(pd.read_csv(run_dir / "predictions.csv")) == 36


def test_console_scripts_print_no_traceback(run, files, tmp_path):
    """The installed ``stance`` script itself (not just main()) on a bad input."""
    out = subprocess.run(
        [
            sys.executable,
            "-m",
            "stance.cli",
            "tag",
            str(run),
            str(files["truncated"]),
            "--text-column",
            "body",
            "--out",
            str(tmp_path / "o.parquet"),
            "--no-progress",
        ],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 2 and "Traceback" not in out.stderr
    assert out.stderr.strip().splitlines()[-1].startswith("stance tag: error: ")

"""Bad input gets a specific DataError, never a traceback from inside pandas / pyarrow."""

from __future__ import annotations

import gzip
from pathlib import Path

import pandas as pd
import pytest

from stance.data.loading import load_corpus
from stance.errors import DataError


@pytest.fixture(autouse=True)
def _private_cache(tmp_path_factory, monkeypatch):
    monkeypatch.setenv("STANCE_CACHE_DIR", str(tmp_path_factory.getbasetemp() / "stance-cache"))


def cfg(path: Path, **extra) -> dict:
    return {
        "name": "mine",
        "loader": "file",
        "path": str(path),
        "columns": {"text": "body", "label": "stance"},
        **extra,
    }


def write_csv(path: Path, rows: list[dict]) -> Path:
    pd.DataFrame(rows).to_csv(path, index=False)
    return path


GOOD = [{"body": f"text number {i}", "stance": "favor" if i % 2 else "against"} for i in range(6)]


def test_missing_file(tmp_path: Path):
    with pytest.raises(DataError, match=r"missing file .*nope\.csv"):
        load_corpus(cfg(tmp_path / "nope.csv"), tmp_path)


def test_missing_column_is_named_with_those_present(tmp_path: Path):
    path = write_csv(tmp_path / "a.csv", [{"content": "x", "stance": "favor"}])
    with pytest.raises(DataError) as info:
        load_corpus(cfg(path), tmp_path)
    message = str(info.value)
    assert "'body' (data.columns.text) not found" in message
    assert "columns present: ['content', 'stance']" in message


def test_missing_column_in_jsonl(tmp_path: Path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"content": "x", "stance": "favor"}\n', encoding="utf-8")
    with pytest.raises(DataError, match=r"'body' \(data.columns.text\) not found.*'content'"):
        load_corpus(cfg(path), tmp_path)


def test_unknown_label_gives_row_and_value(tmp_path: Path):
    rows = [*GOOD, {"body": "odd one", "stance": "maybe"}]
    path = write_csv(tmp_path / "a.csv", rows)
    with pytest.raises(
        DataError, match=r"row 7 has label 'maybe', not in labels \['favor', 'against'\]"
    ):
        load_corpus(cfg(path, labels=["favor", "against"]), tmp_path)


def test_missing_label_counted(tmp_path: Path):
    rows = [*GOOD, {"body": "no label", "stance": None}]
    path = write_csv(tmp_path / "a.csv", rows)
    with pytest.raises(DataError, match=r"1 row\(s\) have no label .*row 7"):
        load_corpus(cfg(path), tmp_path)


@pytest.mark.parametrize("bad", [None, "", "   \n\t "])
def test_empty_text_dropped_with_warning_or_fails(tmp_path: Path, bad):
    rows = [*GOOD, {"body": bad, "stance": "favor"}, {"body": bad, "stance": "against"}]
    path = write_csv(tmp_path / "a.csv", rows)
    with pytest.warns(
        UserWarning, match=r"2 row\(s\) have an empty, missing or whitespace-only text"
    ):
        corpus = load_corpus(cfg(path), tmp_path)
    assert len(corpus) == 6
    assert any("dropped" in note for note in corpus.notes)
    with pytest.raises(DataError, match=r"2 row\(s\) .*first: row 7.*empty_text=drop"):
        load_corpus(cfg(path, empty_text="fail"), tmp_path)


def test_undecodable_bytes_name_file_and_offset(tmp_path: Path):
    path = tmp_path / "latin.csv"
    path.write_bytes("body,stance\ncaf\u00e9 text,favor\n".encode("latin-1"))
    with pytest.raises(
        DataError, match=r"latin\.csv: byte 0xe9 at offset 15, line 2, is not valid utf-8"
    ):
        load_corpus(cfg(path), tmp_path)


def test_undecodable_bytes_in_gzipped_jsonl(tmp_path: Path):
    path = tmp_path / "a.jsonl.gz"
    with gzip.open(path, "wb") as handle:
        handle.write(b'{"body": "ok", "stance": "favor"}\n{"body": "caf\xe9", "stance": "favor"}\n')
    with pytest.raises(
        DataError, match=r"a\.jsonl\.gz: byte 0xe9 at offset 47 \(in the decompressed stream\)"
    ):
        load_corpus(cfg(path), tmp_path)


def test_jsonl_truncated_mid_line(tmp_path: Path):
    path = tmp_path / "a.jsonl"
    path.write_text('{"body": "ok", "stance": "favor"}\n{"body": "cut he', encoding="utf-8")
    with pytest.raises(
        DataError, match=r"line 2 is not valid JSON \(the file looks truncated mid-line\)"
    ):
        load_corpus(cfg(path), tmp_path)


def test_csv_truncated_mid_line(tmp_path: Path):
    path = tmp_path / "a.csv"
    path.write_text("id,body,stance\n1,some text,favor\n2,another te", encoding="utf-8")
    with pytest.raises(
        DataError, match=r"last line has 2 field\(s\) but the header has 3.*truncated"
    ):
        load_corpus(cfg(path), tmp_path)


def test_csv_truncated_inside_quotes(tmp_path: Path):
    path = tmp_path / "a.csv"
    path.write_text('body,stance\n"some text",favor\n"another, te', encoding="utf-8")
    with pytest.raises(DataError, match=r"a\.csv"):
        load_corpus(cfg(path), tmp_path)


def test_not_really_gzip(tmp_path: Path):
    path = tmp_path / "a.jsonl.gz"
    path.write_bytes(b"this is not gzip")
    with pytest.raises(DataError, match=r"a\.jsonl\.gz"):
        load_corpus(cfg(path), tmp_path)


def test_broken_parquet(tmp_path: Path):
    path = tmp_path / "a.parquet"
    path.write_bytes(b"PAR1 garbage")
    with pytest.raises(DataError, match=r"not a readable Parquet file"):
        load_corpus(cfg(path), tmp_path)


def test_duplicate_ids(tmp_path: Path):
    path = write_csv(tmp_path / "a.csv", [{"k": "1", **GOOD[0]}, {"k": "1", **GOOD[1]}])
    config = cfg(path)
    config["columns"]["id"] = "k"
    with pytest.raises(DataError, match=r"not unique \(e.g. '1'\)"):
        load_corpus(config, tmp_path)


def test_unknown_format_and_undetectable(tmp_path: Path):
    path = tmp_path / "a.weird"
    path.write_text("x", encoding="utf-8")
    with pytest.raises(DataError, match="cannot tell the format"):
        load_corpus(cfg(path), tmp_path)
    with pytest.raises(DataError, match="unknown format"):
        load_corpus(cfg(path, format="xlsx"), tmp_path)


def test_bad_split_values(tmp_path: Path):
    rows = [{**row, "part": "train"} for row in GOOD] + [
        {"body": "z", "stance": "favor", "part": "holdout"}
    ]
    path = write_csv(tmp_path / "a.csv", rows)
    with pytest.raises(DataError, match=r"row 7 has part='holdout'"):
        load_corpus(cfg(path, split_column="part"), tmp_path)

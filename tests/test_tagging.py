"""stance tag: streaming, statuses, atomic output, resume after interruption."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pandas as pd
import pytest

from stance.data import stream
from stance.data.stream import InputColumns
from stance.errors import DataError, StanceError
from stance.tagging import TagOptions, tag_corpus
from tests.run_dir_fixtures import make_run_dir

TEXTS = [
    "Putin and Trump agreed to resume talks",
    "New sanctions deepen the conflict",
    "",
    "Football results were published",
    "   ",
    "Leaders praised the summit",
]


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return make_run_dir(tmp_path_factory.mktemp("tag"))


def write_jsonl_gz(path: Path, n: int = 23) -> Path:
    with gzip.open(path, "wb") as handle:
        for i in range(n):
            if i == 7:
                handle.write(b"{broken json\n")
                continue
            if i == 11:
                handle.write(b'{"uid": "u11", "body": "caf\xe9 talks", "source": "x"}\n')
                continue
            record = {
                "uid": f"u{i}",
                "body": TEXTS[i % len(TEXTS)],
                "source": f"s{i % 3}",
                "date": f"2020-01-{i % 28 + 1:02d}",
            }
            handle.write((json.dumps(record) + "\n").encode())
    return path


@pytest.fixture(autouse=True)
def _encoding_sample_before_the_bad_row(monkeypatch):
    """The corpora here have one undecodable row (line 12): past the up-front check."""
    monkeypatch.setattr(stream, "ENCODING_SAMPLE_BYTES", 200)


class Interrupt(Exception):
    pass


def _tag(run: Path, corpus: Path, out: Path, after_batch=None, **kw):
    options = TagOptions(
        columns=InputColumns(text="body", id="uid"), keep=("source", "date"), batch_size=5, **kw
    )
    return tag_corpus(run, corpus, out, options, progress=False, after_batch=after_batch)


def _body(batch_size: int = 2048, **kw) -> TagOptions:
    return TagOptions(columns=InputColumns(text="body"), batch_size=batch_size, **kw)


def test_tag_output_and_statuses(run: Path, tmp_path: Path) -> None:
    corpus = write_jsonl_gz(tmp_path / "c.jsonl.gz")
    out = tmp_path / "out.parquet"
    summary = _tag(run, corpus, out)
    frame = pd.read_parquet(out)
    assert list(frame.columns) == [
        "id",
        "label",
        "proba_favor",
        "proba_against",
        "proba_none",
        "status",
        "source",
        "date",
    ]
    assert len(frame) == 23 and summary.batches == 5
    assert frame.loc[frame["id"] == "u0", "status"].item() == "ok"
    assert frame.loc[frame["id"] == "u2", "status"].item() == "empty_text"
    assert frame.loc[frame["id"] == "u11", "status"].item() == "undecodable"
    assert frame["status"].iloc[7] == "bad_record"
    ok = frame["status"] == "ok"
    assert frame.loc[ok, "label"].notna().all() and frame.loc[~ok, "label"].isna().all()
    assert not (tmp_path / "out.parquet.parts").exists()


def test_interrupted_then_resumed_equals_uninterrupted(run: Path, tmp_path: Path) -> None:
    corpus = write_jsonl_gz(tmp_path / "c.jsonl.gz")
    reference = tmp_path / "ref.parquet"
    _tag(run, corpus, reference)

    out = tmp_path / "out.parquet"
    redone: list[int] = []

    def crash_after_two(index: int) -> None:
        if index == 2:
            raise Interrupt

    with pytest.raises(Interrupt):
        _tag(run, corpus, out, after_batch=crash_after_two)
    assert not out.exists()
    manifest = json.loads((tmp_path / "out.parquet.parts" / "manifest.json").read_text())
    assert sorted(manifest["done"]) == ["0", "1", "2"]

    summary = _tag(run, corpus, out, after_batch=redone.append)
    assert redone == [3, 4] and summary.resumed_batches == 3
    pd.testing.assert_frame_equal(pd.read_parquet(out), pd.read_parquet(reference))


def test_resume_with_other_options_is_refused(run: Path, tmp_path: Path) -> None:
    corpus = write_jsonl_gz(tmp_path / "c.jsonl.gz")
    out = tmp_path / "out.parquet"

    def crash(index: int) -> None:
        raise Interrupt

    with pytest.raises(Interrupt):
        _tag(run, corpus, out, after_batch=crash)
    with pytest.raises(StanceError, match="--restart"):
        tag_corpus(run, corpus, out, _body(7), progress=False)
    tag_corpus(run, corpus, out, _body(7, restart=True), progress=False)
    assert len(pd.read_parquet(out)) == 23


def test_csv_and_parquet_with_row_number_ids(run: Path, tmp_path: Path) -> None:
    frame = pd.DataFrame({"text": TEXTS * 2, "outlet": ["a", "b"] * 6})
    frame.to_csv(tmp_path / "c.csv", index=False)
    frame.to_parquet(tmp_path / "c.parquet")
    results = []
    for name in ("c.csv", "c.parquet"):
        out = tmp_path / f"{name}.out.parquet"
        options = TagOptions(batch_size=4, keep=("outlet",), jobs=1)
        tag_corpus(run, tmp_path / name, out, options, progress=False)
        results.append(pd.read_parquet(out))
    assert results[0]["id"].tolist() == list(range(12))
    pd.testing.assert_frame_equal(results[0], results[1])


def test_parallel_jobs_match_serial(run: Path, tmp_path: Path) -> None:
    corpus = write_jsonl_gz(tmp_path / "c.jsonl.gz")
    _tag(run, corpus, tmp_path / "a.parquet")
    _tag(run, corpus, tmp_path / "b.parquet", jobs=2)
    pd.testing.assert_frame_equal(
        pd.read_parquet(tmp_path / "a.parquet"), pd.read_parquet(tmp_path / "b.parquet")
    )


def test_wrong_column_lists_present(run: Path, tmp_path: Path) -> None:
    corpus = write_jsonl_gz(tmp_path / "c.jsonl.gz")
    with pytest.raises(DataError, match=r"no column 'content'.*columns present: \['uid', 'body'"):
        options = TagOptions(columns=InputColumns(text="content"))
        tag_corpus(run, corpus, tmp_path / "o.parquet", options, progress=False)


def test_truncated_gzip_keeps_rows_read(run: Path, tmp_path: Path) -> None:
    corpus = write_jsonl_gz(tmp_path / "c.jsonl.gz", n=400)
    data = corpus.read_bytes()
    corpus.write_bytes(data[: len(data) * 2 // 3])
    summary = _tag(run, corpus, tmp_path / "o.parquet")
    assert summary.notes and "ends early" in summary.notes[0]
    assert 0 < len(pd.read_parquet(tmp_path / "o.parquet")) < 400


def test_json_means_json_records_lines_or_one_array(run: Path, tmp_path: Path) -> None:
    """`.json` is read like `.jsonl` (one object per line); one array of objects works too."""
    records = [{"body": t, "n": i} for i, t in enumerate(TEXTS)]
    lines = tmp_path / "lines.json"
    lines.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    array = tmp_path / "array.json"
    array.write_text(json.dumps(records, indent=2), encoding="utf-8")
    reference = tmp_path / "ref.jsonl"
    reference.write_text(lines.read_text(encoding="utf-8"), encoding="utf-8")
    results = []
    for corpus in (reference, lines, array):
        out = tmp_path / f"{corpus.name}.parquet"
        tag_corpus(run, corpus, out, _body(4, keep=("n",)), progress=False)
        results.append(pd.read_parquet(out))
    for result in results[1:]:
        pd.testing.assert_frame_equal(result, results[0])
    assert results[0]["n"].tolist() == [str(i) for i in range(len(TEXTS))]


def test_encoding_applies_to_jsonl_gz(run: Path, tmp_path: Path) -> None:
    corpus = tmp_path / "latin.jsonl.gz"
    with gzip.open(corpus, "wb") as handle:
        handle.write('{"body": "Caf\u00e9 talks in Moscou"}\n'.encode("latin-1"))
    with pytest.raises(DataError, match=r"line 1, is not valid utf-8.*--encoding latin-1"):
        tag_corpus(run, corpus, tmp_path / "a.parquet", _body(), progress=False)
    tag_corpus(run, corpus, tmp_path / "b.parquet", _body(encoding="latin-1"), progress=False)
    assert pd.read_parquet(tmp_path / "b.parquet")["status"].tolist() == ["ok"]


def test_interrupt_raises_tag_interrupted_with_the_saved_batches(run: Path, tmp_path: Path):
    from stance.tagging import TagInterrupted

    corpus = write_jsonl_gz(tmp_path / "c.jsonl.gz")

    def ctrl_c(index: int) -> None:
        if index == 1:
            raise KeyboardInterrupt

    with pytest.raises(TagInterrupted) as caught:
        _tag(run, corpus, tmp_path / "o.parquet", after_batch=ctrl_c)
    assert caught.value.saved == 2 and caught.value.parts.name == "o.parquet.parts"

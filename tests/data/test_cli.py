"""`stance data` actions, and fetching from a local HTTP server (no internet needed)."""

from __future__ import annotations

import argparse
import functools
import hashlib
import http.server
import io
import tarfile
import threading
from collections.abc import Iterator
from dataclasses import replace
from pathlib import Path

import pytest

from stance.data import cli, fetch, registry
from stance.errors import DataError
from stance.paths import default_data_dir

DATA_DIR = default_data_dir()


def run(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="stance")
    cli.add_parser(parser.add_subparsers(dest="command"))
    args = parser.parse_args(argv)
    return args.func(args)


@pytest.fixture
def http_root(tmp_path: Path) -> Iterator[tuple[Path, str]]:
    """A folder served on 127.0.0.1 (random port) by http.server in a thread."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(http.server.SimpleHTTPRequestHandler, directory=str(root))
    handler.log_message = lambda *a, **k: None  # type: ignore[method-assign]
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield root, f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def fake_tweeteval_archive(path: Path) -> str:
    """A tiny TweetEval-shaped repository archive (made-up tweets); returns its SHA-256."""
    files = {"tweeteval-abc/datasets/stance/mapping.txt": "0\tnone\n1\tagainst\n2\tfavor\n"}
    for target in ("abortion", "atheism", "climate", "feminist", "hillary"):
        for split in ("train", "val", "test"):
            base = f"tweeteval-abc/datasets/stance/{target}/{split}"
            files[f"{base}_text.txt"] = f"made up tweet one about {target}\nmade up tweet two\n"
            files[f"{base}_labels.txt"] = "1\n2\n"
    with tarfile.open(path, "w:gz") as archive:
        for name, text in files.items():
            data = text.encode()
            info = tarfile.TarInfo(name)
            info.size = len(data)
            archive.addfile(info, io.BytesIO(data))
    return hashlib.sha256(path.read_bytes()).hexdigest()


def test_fetch_from_local_http_server_then_verify_and_load(
    http_root, tmp_path, monkeypatch, capsys
):
    root, base_url = http_root
    digest = fake_tweeteval_archive(root / "tweeteval.tar.gz")
    fake = replace(
        registry.DATASETS["tweeteval_stance"], url=f"{base_url}/tweeteval.tar.gz", sha256=digest
    )
    monkeypatch.setitem(fetch.DATASETS, "tweeteval_stance", fake)
    data_dir = tmp_path / "data"
    assert run(["data", "fetch", "semeval2016", "--data-dir", str(data_dir)]) == 0
    assert (data_dir / "tweeteval_stance" / "hillary" / "train_text.txt").exists()
    assert (data_dir / "tweeteval_stance" / "SHA256SUMS").exists()
    assert not list(data_dir.glob(".fetch-*"))  # temporary folder cleaned up
    assert run(["data", "verify", "semeval2016", "--data-dir", str(data_dir)]) == 0
    assert "tweeteval_stance: OK" in capsys.readouterr().out

    from stance.data.loading import load_corpus

    corpus = load_corpus({"name": "semeval2016"}, data_dir)
    assert len(corpus) == 5 * 3 * 2

    # corruption is caught
    (data_dir / "tweeteval_stance" / "hillary" / "test_labels.txt").write_text("0\n0\n")
    assert run(["data", "verify", "tweeteval_stance", "--data-dir", str(data_dir)]) == 1
    assert "checksum mismatch hillary/test_labels.txt" in capsys.readouterr().out
    # already present: no re-download unless --force
    assert run(["data", "fetch", "tweeteval_stance", "--data-dir", str(data_dir)]) == 0
    assert "already present" in capsys.readouterr().out
    assert run(["data", "fetch", "tweeteval_stance", "--force", "--data-dir", str(data_dir)]) == 0
    assert run(["data", "verify", "tweeteval_stance", "--data-dir", str(data_dir)]) == 0


def test_fetch_refuses_wrong_checksum_and_missing_url(http_root, tmp_path, monkeypatch):
    root, base_url = http_root
    fake_tweeteval_archive(root / "t.tar.gz")
    tweeteval = registry.DATASETS["tweeteval_stance"]
    bad = replace(tweeteval, url=f"{base_url}/t.tar.gz", sha256="0" * 64)
    with pytest.raises(DataError, match="expected 0000.*refusing"):
        fetch.fetch_dataset(bad, tmp_path / "data")
    assert not (tmp_path / "data" / "tweeteval_stance").exists()
    gone = replace(tweeteval, url=f"{base_url}/nope.tar.gz", sha256=None)
    with pytest.raises(DataError, match="download of .* failed"):
        fetch.fetch_dataset(gone, tmp_path / "data")
    with pytest.raises(DataError, match="no public upstream"):
        fetch.fetch("ru_us_rapprochement", tmp_path / "data")


def test_fetch_from_local_copy_verifies_its_checksums(tmp_path):
    source = DATA_DIR / "ru_us_rapprochement"
    if not source.is_dir():
        pytest.skip("shared corpora not available")
    data_dir = tmp_path / "data"
    assert (
        run(
            [
                "data",
                "fetch",
                "ru_us_rapprochement",
                "--from",
                str(source),
                "--data-dir",
                str(data_dir),
            ]
        )
        == 0
    )
    assert run(["data", "verify", "ru_us_rapprochement", "--data-dir", str(data_dir)]) == 0


def test_archive_cannot_escape_target(tmp_path):
    archive = tmp_path / "evil.tar.gz"
    with tarfile.open(archive, "w:gz") as handle:
        info = tarfile.TarInfo("../escape.txt")
        info.size = 1
        handle.addfile(info, io.BytesIO(b"x"))
    with pytest.raises(DataError, match="outside the target"):
        fetch.extract(archive, tmp_path / "out")


def test_list_and_info(tmp_path, capsys):
    assert run(["data", "list", "--data-dir", str(tmp_path)]) == 0
    out = capsys.readouterr().out
    assert "basil_actor" in out and " no " in out
    for name, spec in registry.CORPORA.items():  # every spec is listed, with its documented size
        (line,) = [row for row in out.splitlines() if row.startswith(name + " ")]
        assert f" {spec.documented.rows} " in line
    if not (DATA_DIR / "basil").is_dir():
        pytest.skip("shared corpora not available")
    assert run(["data", "list", "--data-dir", str(DATA_DIR)]) == 0
    assert "basil_actor           yes" in capsys.readouterr().out
    assert run(["data", "info", "basil_relative", "--data-dir", str(DATA_DIR)]) == 0
    out = capsys.readouterr().out
    counts = registry.CORPORA["basil_relative"].documented
    assert f"{counts.rows} rows" in out and f"center {counts.labels['center']}" in out
    assert f"group: {counts.groups} distinct" in out
    assert run(["data", "verify", "basil", "--data-dir", str(DATA_DIR)]) == 0


def test_unknown_names_and_missing_folders(tmp_path):
    with pytest.raises(DataError, match="unknown corpus 'nope'"):
        run(["data", "verify", "nope", "--data-dir", str(tmp_path)])
    with pytest.raises(DataError, match="does not exist"):
        run(["data", "verify", "basil", "--data-dir", str(tmp_path)])


def test_dispatcher_integration(capsys):
    main = pytest.importorskip("stance.cli").main
    assert main(["data", "list"]) == 0
    assert "semeval2016" in capsys.readouterr().out
    assert main(["data", "info", "nope"]) == 2

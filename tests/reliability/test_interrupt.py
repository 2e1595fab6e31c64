"""Issue 7: interruptions lose nothing and leave nothing corrupt.

* ``stance-run`` stopped by SIGINT during training: exit 130, no run directory,
  no stray file (the SIGTERM twin lives in test_experiment.py).
* ``stance tag`` killed mid-corpus (SIGTERM, SIGKILL) as a real subprocess:
  no output file yet, every recorded part readable; the rerun resumes and its
  output equals an uninterrupted run's.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pyarrow.parquet as pq
import pytest

from tests.run_dir_fixtures import make_run_dir

FAST = ["split.n_splits=3", "report.bootstrap=200", "cache.features=false"]


@pytest.mark.slow
def test_sigint_during_training_leaves_no_run_directory(tmp_path, data_dir):
    env = dict(os.environ, STANCE_OUTPUT_DIR=str(tmp_path))
    proc = subprocess.Popen(
        ["stance-run", *FAST, "split.n_splits=5", "features=word_char"],
        cwd=tmp_path,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.time() + 120
    while time.time() < deadline and not list(tmp_path.glob("runs/*/*/.staging")):
        time.sleep(0.1)
    assert proc.poll() is None, "the run ended before it could be interrupted"
    time.sleep(2.0)  # into the cross-validation loop
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "interrupted; the incomplete run directory was removed" in err
    assert "Traceback" not in err
    assert not list(tmp_path.glob("runs/*/*")), "a half-written run directory was left"
    assert not [p for p in tmp_path.rglob("*") if p.is_file()]


# ---------------------------------------------------------------------------- stance tag
ROWS = 1000
BATCH = 5


@pytest.fixture(scope="module")
def model_run(tmp_path_factory) -> Path:
    return make_run_dir(tmp_path_factory.mktemp("interrupt"))


@pytest.fixture(scope="module")
def corpus(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("corpus") / "corpus.jsonl"
    words = ["Putin and Trump agreed to resume talks", "New sanctions deepen the conflict", ""]
    with path.open("w", encoding="utf-8") as handle:
        for i in range(ROWS):
            record = {"uid": f"d{i}", "body": f"{words[i % 3]} item {i}" if i % 3 else ""}
            handle.write(json.dumps(record) + "\n")
    return path


def _tag_cmd(model_run: Path, corpus: Path, out: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "stance.cli",
        "tag",
        str(model_run),
        str(corpus),
        "--out",
        str(out),
        "--text-column",
        "body",
        "--id-column",
        "uid",
        "--keep",
        "body",
        "--batch-size",
        str(BATCH),
        "--no-progress",
    ]


@pytest.fixture(scope="module")
def reference(model_run, corpus, tmp_path_factory) -> pd.DataFrame:
    out = tmp_path_factory.mktemp("ref") / "ref.parquet"
    done = subprocess.run(_tag_cmd(model_run, corpus, out), capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return pd.read_parquet(out)


@pytest.mark.slow
@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGKILL], ids=["SIGTERM", "SIGKILL"])
def test_tag_killed_mid_corpus_resumes_to_the_same_output(
    model_run, corpus, reference, tmp_path, sig
):
    out = tmp_path / "tagged.parquet"
    manifest = tmp_path / "tagged.parquet.parts" / "manifest.json"
    proc = subprocess.Popen(_tag_cmd(model_run, corpus, out), stderr=subprocess.PIPE, text=True)
    deadline = time.time() + 120
    finished = 0
    while time.time() < deadline and proc.poll() is None:
        try:
            finished = len(json.loads(manifest.read_text())["done"])
        except (OSError, ValueError, KeyError):
            finished = 0
        if finished >= 20:
            break
        time.sleep(0.02)
    assert proc.poll() is None, "tagging ended before it could be interrupted"
    proc.send_signal(sig)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == (130 if sig == signal.SIGTERM else -signal.SIGKILL), err
    assert "Traceback" not in err
    if sig == signal.SIGTERM:  # SIGKILL leaves no chance to say anything
        assert "finished batch(es) are saved in" in err
        assert "rerun the same command to resume" in err

    # Nothing half-written: no output yet, the manifest parses, every recorded part reads.
    assert not out.exists()
    assert not list(tmp_path.glob(".tagged.parquet.*"))
    record = json.loads(manifest.read_text())
    done = sorted(int(k) for k in record["done"])
    assert len(done) >= 20 and done == list(range(len(done)))
    for index in done:
        part = pq.read_table(manifest.parent / f"part-{index:06d}.parquet")
        assert part.num_rows == record["done"][str(index)] == BATCH

    resumed = subprocess.run(_tag_cmd(model_run, corpus, out), capture_output=True, text=True)
    assert resumed.returncode == 0, resumed.stderr
    assert f"({len(done)} batches resumed)" in resumed.stderr
    assert not manifest.parent.exists()
    result = pd.read_parquet(out)
    assert len(result) == ROWS
    pd.testing.assert_frame_equal(result, reference)

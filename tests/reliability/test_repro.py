"""Issue 7, reproducibility across processes, and re-running from provenance.

Two separate ``stance-run`` processes (different hash seeds, the second reading
the feature cache the first wrote) with the same config and seed give
byte-identical ``predictions.csv`` and ``metrics.json``; ``stance rerun RUN_DIR``
rebuilds the run from ``run.json`` alone, reproduces it byte for byte and says so.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

SMALL = ["split.n_splits=2", "report.bootstrap=50", "save_model=false"]


def _env(out: Path, hash_seed: str) -> dict:
    return dict(os.environ, STANCE_OUTPUT_DIR=str(out), PYTHONHASHSEED=hash_seed)


def _stance_run(out: Path, hash_seed: str) -> Path:
    done = subprocess.run(
        ["stance-run", *SMALL],
        cwd=out.parent,
        env=_env(out, hash_seed),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    (record,) = out.glob("runs/*/*/run.json")
    return record.parent


@pytest.fixture(scope="module")
def two_runs(tmp_path_factory, data_dir) -> tuple[Path, Path]:
    root = tmp_path_factory.mktemp("repro")
    return _stance_run(root / "a", "1"), _stance_run(root / "b", "2")


@pytest.mark.slow
def test_two_processes_give_byte_identical_predictions(two_runs):
    a, b = two_runs
    for name in ("predictions.csv", "metrics.json"):
        assert (a / name).read_bytes() == (b / name).read_bytes(), name
    assert (
        json.loads((a / "run.json").read_text())["data"]["fingerprint"]
        == json.loads((b / "run.json").read_text())["data"]["fingerprint"]
    )


@pytest.mark.slow
def test_stance_rerun_reproduces_from_run_json(two_runs, tmp_path):
    original = two_runs[0]
    record = json.loads((original / "run.json").read_text())
    assert {"config", "seed", "data", "git", "versions"} <= set(record)
    assert record["config"]["seed"] == record["seed"] == 42
    assert record["data"]["fingerprint"] and record["data"]["files"]
    new = tmp_path / "again"
    done = subprocess.run(
        ["stance", "rerun", str(original), "--out", str(new)],
        env=_env(tmp_path, "3"),
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == str(new.resolve())
    assert "reproduced: metrics.json, predictions.csv byte-identical to the original" in (
        done.stderr
    )
    assert (new / "run.json").is_file()
    for name in ("predictions.csv", "metrics.json"):
        assert (new / name).read_bytes() == (original / name).read_bytes(), name


def test_stance_rerun_refuses_an_incomplete_run_directory(tmp_path):
    (tmp_path / "half").mkdir()
    (tmp_path / "half" / "config.yaml").write_text("seed: 1\n")
    done = subprocess.run(
        ["stance", "rerun", str(tmp_path / "half")], capture_output=True, text=True, timeout=60
    )
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert "half holds no run.json: not a complete run directory" in done.stderr

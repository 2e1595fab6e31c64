"""Issue 7: tampered or malicious model files are refused on every path that loads one.

Complements tests/test_model_io.py (``load_pipeline`` on truncated / garbage /
pickle files): here the bytes *inside* the zip are flipped member by member, a
well-formed skops file is edited to name a dangerous callable, and a pickle that
would run code is planted as ``model.skops`` in a run directory and loaded
through ``stance.load``, ``stance predict`` and ``stance tag`` (also with
worker processes). A marker file the pickle would create proves nothing ran;
the positive control shows the marker does appear when the code *is* run.
"""

from __future__ import annotations

import json
import pickle
import shutil
import zipfile
from pathlib import Path

import pytest

import stance
from stance.cli import main as stance_main
from stance.errors import ModelFileError
from tests.run_dir_fixtures import make_run_dir


class _Payload:
    """Unpickling this writes ``marker``: proof that the file's code ran."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (Path.write_text, (Path(self.marker), "code ran"))


@pytest.fixture(scope="module")
def good_run(tmp_path_factory) -> Path:
    return make_run_dir(tmp_path_factory.mktemp("model_files"))


def _copy_run(good_run: Path, dest: Path) -> Path:
    shutil.copytree(good_run, dest)
    return dest


def _member_data_offsets(path: Path) -> list[tuple[str, int, int]]:
    """(name, first data byte, data length) of every zip member."""
    raw = path.read_bytes()
    out = []
    with zipfile.ZipFile(path) as zf:
        for info in zf.infolist():
            start = info.header_offset
            name_len = int.from_bytes(raw[start + 26 : start + 28], "little")
            extra_len = int.from_bytes(raw[start + 28 : start + 30], "little")
            out.append((info.filename, start + 30 + name_len + extra_len, info.compress_size))
    return out


def test_flipped_bytes_in_any_member_are_refused(good_run, tmp_path):
    original = (good_run / "model.skops").read_bytes()
    members = [m for m in _member_data_offsets(good_run / "model.skops") if m[2] > 0]
    assert len(members) >= 3
    for name, offset, size in members:
        run = _copy_run(good_run, tmp_path / f"run-{name.replace('/', '_')}")
        data = bytearray(original)
        for i in {offset, offset + size // 2, offset + size - 1}:
            data[i] ^= 0xFF
        (run / "model.skops").write_bytes(bytes(data))
        with pytest.raises(ModelFileError, match=r"model\.skops: .*(corrupt|not a readable)"):
            stance.load(run)


def test_tampered_file_refused_on_the_command_line(good_run, tmp_path, capsys):
    run = _copy_run(good_run, tmp_path / "run")
    data = bytearray((run / "model.skops").read_bytes())
    name, offset, size = max(_member_data_offsets(run / "model.skops"), key=lambda m: m[2])
    data[offset + size // 2] ^= 0x5A
    (run / "model.skops").write_bytes(bytes(data))
    doc = tmp_path / "doc.txt"
    doc.write_text("Putin and Trump agreed to resume talks")
    out = tmp_path / "pred.csv"
    assert stance_main(["predict", str(run), str(doc), "-o", str(out)]) == 2
    err = capsys.readouterr().err
    assert "stance predict: error: " in err and "model.skops" in err and "Traceback" not in err
    assert not out.exists()


def _retarget(node, class_name: str, new: dict) -> bool:
    """Point the first schema node building ``class_name`` at another callable."""
    if isinstance(node, dict):
        if node.get("__class__") == class_name:
            node.update(new)
            return True
        return any(_retarget(v, class_name, new) for v in node.values())
    if isinstance(node, list):
        return any(_retarget(v, class_name, new) for v in node)
    return False


def test_skops_naming_a_dangerous_callable_is_refused(good_run, tmp_path):
    """A well-formed zip whose schema was edited to construct ``os.system``."""
    run = _copy_run(good_run, tmp_path / "run")
    path = run / "model.skops"
    with zipfile.ZipFile(good_run / "model.skops") as src:
        members = {info.filename: src.read(info) for info in src.infolist()}
    schema = json.loads(members["schema.json"])
    assert _retarget(schema, "TextCleaner", {"__class__": "system", "__module__": "os"})
    members["schema.json"] = json.dumps(schema).encode()
    with zipfile.ZipFile(path, "w") as dst:
        for name, payload in members.items():
            dst.writestr(name, payload)
    with pytest.raises(
        ModelFileError, match=r"refusing to load types outside the allow-list: .*os\.system"
    ):
        stance.load(run)


# ---------------------------------------------------------------------------- pickles
@pytest.fixture()
def planted(good_run, tmp_path) -> tuple[Path, Path]:
    """A run directory whose model.skops is a pickle that would create ``marker``."""
    run = _copy_run(good_run, tmp_path / "run")
    marker = tmp_path / "PWNED"
    (run / "model.skops").write_bytes(pickle.dumps(_Payload(str(marker))))
    return run, marker


def test_pickle_renamed_to_model_skops_refused_by_the_api(planted):
    run, marker = planted
    with pytest.raises(ModelFileError, match="refusing to load a pickle/joblib file"):
        stance.load(run)
    with pytest.raises(ModelFileError, match="refusing"):
        stance.load(run / "model.skops")
    assert not marker.exists()


@pytest.mark.parametrize("jobs", ["1", "2"])
def test_pickle_refused_by_predict_and_tag(planted, tmp_path, capsys, jobs):
    run, marker = planted
    corpus = tmp_path / "c.jsonl"
    corpus.write_text('{"text": "Putin and Trump agreed to resume talks"}\n')
    assert stance_main(["predict", str(run), str(corpus), "-o", str(tmp_path / "p.csv")]) == 2
    assert "refusing to load a pickle/joblib file" in capsys.readouterr().err
    out = tmp_path / "t.parquet"
    code = stance_main(
        ["tag", str(run), str(corpus), "--out", str(out), "--jobs", jobs, "--no-progress"]
    )
    err = capsys.readouterr().err
    assert code == 2 and "refusing to load a pickle/joblib file" in err and "Traceback" not in err
    assert not marker.exists()
    assert not out.exists() and not (tmp_path / "t.parquet.parts").exists()


def test_positive_control_the_marker_appears_when_code_runs(planted):
    """Only with an explicit trust flag does the payload run: the marker check is meaningful."""
    run, marker = planted
    with pytest.warns(UserWarning, match="executes any code"), pytest.raises(ModelFileError):
        stance.load(run, trusted=True)  # unpickles (runs the payload), then is not a model
    assert marker.read_text() == "code ran"

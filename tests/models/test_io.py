"""Model files: atomic save, allow-listed load, refusals that run nothing."""

from __future__ import annotations

import os
import pickle
import zipfile
from pathlib import Path

import pytest
import skops.io as sio
from sklearn.base import BaseEstimator
from sklearn.linear_model import LogisticRegression

from stance.errors import ModelFileError
from stance.models.io import load_pipeline, save_model, sniff_format
from tests.run_dir_fixtures import make_run_dir


class _Boom:
    """Unpickling this creates ``marker``: proof that code ran."""

    def __init__(self, marker: str):
        self.marker = marker

    def __reduce__(self):
        return (open, (self.marker, "w"))


class Custom(BaseEstimator):
    """A type from outside sklearn/numpy/scipy/stance (lives in this test module)."""

    def __init__(self, a: int = 1):
        self.a = a


@pytest.fixture(scope="module")
def run(tmp_path_factory) -> Path:
    return make_run_dir(tmp_path_factory.mktemp("io"))


def test_roundtrip_trusts_project_types(run: Path) -> None:
    pipe = load_pipeline(run / "model.skops")
    assert [name for name, _ in pipe.steps] == ["clean", "features", "clf"]


def test_save_is_atomic_and_leaves_no_tmp(tmp_path: Path) -> None:
    target = tmp_path / "m.skops"
    save_model(LogisticRegression(), target)
    assert sniff_format(target) == "skops"
    assert [p.name for p in tmp_path.iterdir()] == ["m.skops"]


@pytest.mark.parametrize("umask", [0o022, 0o077, 0o002])
def test_saved_model_follows_the_umask(tmp_path: Path, umask: int) -> None:
    """Colleagues can read a shared model file unless the user's umask says otherwise."""
    old = os.umask(umask)
    try:
        target = save_model(LogisticRegression(), tmp_path / "m.skops")
    finally:
        os.umask(old)
    assert target.stat().st_mode & 0o777 == 0o666 & ~umask


@pytest.mark.parametrize("suffix", [".pkl", ".skops", ".joblib"])
def test_malicious_pickle_refused_and_not_executed(tmp_path: Path, suffix: str) -> None:
    marker = tmp_path / "pwned"
    model = tmp_path / f"model{suffix}"
    model.write_bytes(pickle.dumps(_Boom(str(marker))))
    with pytest.raises(ModelFileError, match="pickle"):
        load_pipeline(model)
    assert not marker.exists()


def test_pickle_loads_only_when_trusted(tmp_path: Path) -> None:
    import joblib

    path = tmp_path / "m.joblib"
    joblib.dump(LogisticRegression(C=3.0), path)
    with pytest.raises(ModelFileError):
        load_pipeline(path)
    with pytest.warns(UserWarning, match="executes any code"):
        assert load_pipeline(path, trusted=True).C == 3.0


def test_untrusted_custom_type_refused(tmp_path: Path) -> None:
    path = tmp_path / "custom.skops"
    sio.dump(Custom(a=5), path)
    with pytest.raises(ModelFileError, match=r"test_io\.Custom"):
        load_pipeline(path)
    assert load_pipeline(path, trusted=True).a == 5


def test_reexported_name_under_stance_is_not_trusted() -> None:
    from stance.models.io import _is_project_type

    assert _is_project_type("stance.data.clean.TextCleaner")
    assert not _is_project_type("stance.models.io.os")  # a module, not a class
    assert not _is_project_type("stance.models.io.Path")  # defined in pathlib
    assert not _is_project_type("stancex.evil.Thing")


@pytest.mark.parametrize("damage", ["truncate", "garbage", "empty", "bad_zip"])
def test_corrupt_files_give_model_file_error(tmp_path: Path, run: Path, damage: str) -> None:
    data = (run / "model.skops").read_bytes()
    path = tmp_path / "m.skops"
    if damage == "truncate":
        path.write_bytes(data[: len(data) // 2])
    elif damage == "garbage":
        path.write_bytes(b"hello, not a model")
    elif damage == "empty":
        path.write_bytes(b"")
    else:
        with zipfile.ZipFile(path, "w") as zf:
            zf.writestr("schema.json", "{not json")
    with pytest.raises(ModelFileError):
        load_pipeline(path)


def test_missing_file(tmp_path: Path) -> None:
    with pytest.raises(ModelFileError, match="not found"):
        load_pipeline(tmp_path / "nope.skops")
    assert not os.path.exists(tmp_path / "nope.skops")


def test_every_zoo_classifier_loads_without_trust(tmp_path: Path) -> None:
    """The allow-list covers what the zoo's fitted classifiers hold (e.g. the
    calibrators inside CalibratedLinearSVC), so stance.load needs no --trust."""
    import numpy as np

    from stance.models.zoo import NBSVM, CalibratedLinearSVC, ClassOffsetTuner, DenseHGB

    rng = np.random.default_rng(0)
    X = rng.poisson(np.repeat(np.eye(3) * 3 + 1, 20, axis=0)).astype(float)
    y = np.repeat(np.array(["a", "b", "c"]), 20)
    for model in (
        CalibratedLinearSVC(random_state=0),
        NBSVM(),
        DenseHGB(n_components=2, max_iter=10),
        ClassOffsetTuner(CalibratedLinearSVC(random_state=0), random_state=0),
    ):
        path = save_model(model.fit(X, y), tmp_path / f"{type(model).__name__}.skops")
        loaded = load_pipeline(path)
        assert np.array_equal(loaded.predict_proba(X), model.predict_proba(X))

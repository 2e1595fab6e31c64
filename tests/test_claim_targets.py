"""Free-text per-row targets (claims) end to end: training through data=file, the Python API
with one target per text, `stance predict --target-column`, and the one-line input errors."""

from __future__ import annotations

import warnings
from pathlib import Path

import pandas as pd
import pytest
from omegaconf import OmegaConf, open_dict

import stance
from stance.cli import main as stance_main
from stance.data.loading import load_corpus
from stance.errors import DataError, StanceError
from stance.experiment import run_experiment
from tests.test_target_checks import claim_cfg, claim_rows


@pytest.fixture(scope="module")
def claim_model(tmp_path_factory) -> Path:
    tmp = tmp_path_factory.mktemp("claims")
    cfg = claim_cfg(tmp, "claim_pair")
    cfg.save_model = True
    run_experiment(cfg, tmp / "run", quiet=True)
    return tmp / "run"


def test_api_takes_one_target_per_text_and_unseen_claims_are_normal(claim_model):
    model = stance.load(claim_model)
    texts = ["The harbour plan number 999 was confirmed today.", "A cat show opened downtown."]
    claims = ["Officials confirm the harbour plan number 999"] * 2  # never seen in training
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        labels = model.predict(texts, targets=claims)
        proba = model.predict_proba(texts, targets=claims)
    assert labels == ["related", "unrelated"]
    assert proba.attrs["targets"] == claims
    assert model.explain(texts[0], target=claims[0]).attrs["target"] == claims[0]


def test_api_target_errors_are_one_line(claim_model):
    model = stance.load(claim_model)
    with pytest.raises(StanceError, match="--target-column"):
        model.predict(["some text"])
    with pytest.raises(StanceError, match=r"targets\[1\] is empty"):
        model.predict(["a", "b"], targets=["a claim", " "])
    with pytest.raises(StanceError, match=r"texts \(2\) and targets \(1\)"):
        model.predict(["a", "b"], targets=["a claim"])


def test_stance_predict_with_a_per_row_target_column(claim_model, tmp_path, capsys):
    rows = claim_rows(3)[["body", "claim"]]
    src = tmp_path / "in.csv"
    rows.to_csv(src, index=False)
    out = tmp_path / "out.csv"
    assert (
        stance_main(
            [
                "predict",
                str(claim_model),
                str(src),
                "--text-column",
                "body",
                "--target-column",
                "claim",
                "-o",
                str(out),
            ]
        )
        == 0
    )
    got = pd.read_csv(out)
    assert got["target"].tolist() == rows["claim"].tolist()  # each prediction names its claim
    code = stance_main(
        [
            "predict",
            str(claim_model),
            str(src),
            "--text-column",
            "body",
            "--target-column",
            "headline",
            "-o",
            str(tmp_path / "x.csv"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and ": error:" in err[-1] and "'headline' (--target-column)" in err[-1]
    code = stance_main(
        [
            "predict",
            str(claim_model),
            str(src),
            "--text-column",
            "body",
            "-o",
            str(tmp_path / "y.csv"),
        ]
    )
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and "--target-column" in err[-1]


def _file_cfg(tmp_path: Path, frame: pd.DataFrame, **extra):
    path = tmp_path / "c.csv"
    frame.to_csv(path, index=False)
    base = OmegaConf.load(Path(stance.__file__).parent.parent / "conf" / "data" / "file.yaml")
    cfg = OmegaConf.merge(
        base,
        {"path": str(path), "columns": {"text": "body", "target": "claim", "label": "stance"}},
        extra,
    )
    with open_dict(cfg):
        cfg.pop("name")
    return cfg


def test_empty_claim_cell_names_row_and_column(tmp_path):
    frame = claim_rows(4)
    frame.loc[5, "claim"] = ""
    with pytest.raises(
        DataError,
        match=r"1 row\(s\) have an empty target in column 'claim' "
        r"\(first: row 6\)",
    ):
        load_corpus(_file_cfg(tmp_path, frame), tmp_path)


def test_label_outside_the_label_set_names_the_row(tmp_path):
    frame = claim_rows(4)
    frame.loc[2, "stance"] = "agree"
    with pytest.raises(DataError, match=r"row 3 has label 'agree', not in labels"):
        load_corpus(_file_cfg(tmp_path, frame, labels=["related", "unrelated"]), tmp_path)

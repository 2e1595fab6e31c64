"""model=claim_encoder_blend: the claim-pair model gates relevance, a cross-encoder (the tiny
randomly initialised BERT, no download) re-splits the related rows, inside stance-run."""

from __future__ import annotations

import json
from pathlib import Path

import pandas as pd
from omegaconf import OmegaConf, open_dict

from tests.optional import require_module

require_module("torch", 'pip install -e ".[transformers]"')
require_module("transformers", 'pip install -e ".[transformers]"')

import stance  # noqa: E402
from stance.experiment import compose_config, run_experiment  # noqa: E402
from stance.models.io import untrusted_types  # noqa: E402
from tests.test_predict_cli import cli  # noqa: E402

N_CLAIMS = 24


def claim_table(path: Path) -> Path:
    """Each claim with a body that asserts it (agree), one that reports it (discuss) and one
    about something else (unrelated)."""
    rows = []
    for i in range(N_CLAIMS):
        claim = f"Officials confirm the river plan number {i}"
        rows += [
            (f"The river plan number {i} was confirmed today.", claim, "agree", f"g{i}"),
            (f"Reports say the river plan number {i} may be weighed.", claim, "discuss", f"g{i}"),
            ("A cat show opened downtown this week.", claim, "unrelated", f"g{i}"),
        ]
    pd.DataFrame(rows, columns=["body", "claim", "stance", "grp"]).to_csv(path, index=False)
    return path


def test_stance_run_blends_a_cross_encoder_into_the_claim_model(encoder: Path, tmp_path: Path):
    cfg = compose_config(
        [
            "data=file",
            "split=group_kfold",
            "split.n_splits=2",
            "features=raw",
            "model=claim_encoder_blend",
            "report.bootstrap=50",
            "cache.features=false",
            f"paths.output_dir={tmp_path}",
        ]
    )
    columns = {"text": "body", "target": "claim", "label": "stance", "group": "grp"}
    small_encoder = {
        "encoder": str(encoder),
        "max_length": 16,
        "epochs": 1,
        "batch_size": 4,
        "device": "cpu",
    }
    with open_dict(cfg):
        cfg.data = OmegaConf.merge(
            cfg.data, {"path": str(claim_table(tmp_path / "claims.csv")), "columns": columns}
        )
        cfg.model.second = OmegaConf.merge(cfg.model.second, small_encoder)
        # The pinned base without its MiniLM block (a download-free test); stop = dense + cues.
        cfg.model.base._args_[0].embedding_model = None
        cfg.model.base._args_[1].estimator.estimators.hgb.stop = 40
    result = run_experiment(cfg, tmp_path / "run", quiet=True)
    run = result.run_dir
    # The claim-pair model separates unrelated bodies; the blend keeps that gate.
    per_class = json.loads((run / "metrics.json").read_text())["pooled"]["per_class"]
    assert per_class["unrelated"]["f1"] > 0.9
    record = json.loads((run / "run.json").read_text())
    assert record["model_runtime"]["encoder"] == str(encoder)
    report = (run / "report.md").read_text()
    # The encoder reads only the related rows of each training part: 2 of 3 per claim.
    assert f"of {2 * N_CLAIMS // 2} training texts were longer than the encoder reads" in report
    assert "model.strategy=closest_sentences" in report
    assert "never reads the target" not in report
    assert untrusted_types(run / "model.skops") == []
    model = stance.load(run)
    labels = model.predict(
        ["The river plan number 3 was confirmed today.", "A cat show opened downtown."],
        targets=["Officials confirm the river plan number 3"] * 2,
    )
    assert list(labels)[1] == "unrelated"
    # stance tag with per-row claims: one row per input, in order.
    src = tmp_path / "new.csv"
    pd.DataFrame(
        {
            "id": ["a", "b"],
            "body": ["The river plan number 5 was confirmed today.", "A cat show opened."],
            "claim": ["Officials confirm the river plan number 5"] * 2,
        }
    ).to_csv(src, index=False)
    dest = tmp_path / "tagged.parquet"
    argv = ["tag", str(run), str(src), "--out", str(dest), "--no-progress"]
    assert cli([*argv, "--text-column", "body", "--target-column", "claim"]) == 0
    tagged = pd.read_parquet(dest)
    assert tagged["id"].tolist() == ["a", "b"] and tagged["label"].iloc[1] == "unrelated"

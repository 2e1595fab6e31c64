"""Per-row targets: target-blind features warn (and the report says why), per-target
blocks over many targets are refused before fitting, and running out of memory is one line."""

from __future__ import annotations

import subprocess
import sys
import warnings
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from omegaconf import OmegaConf, open_dict

from stance.errors import ConfigError
from stance.experiment import compose_config, run_experiment
from stance.features.actors import TargetConditioned
from stance.features.claim_pair import ClaimPairFeatures
from stance.features.text import NgramTfidf
from stance.target_checks import check_targets, reads_target

N_CLAIMS = 60


def claim_rows(n_claims: int = N_CLAIMS) -> pd.DataFrame:
    """Each claim with one body that repeats it (related) and one that does not (unrelated)."""
    rng = np.random.default_rng(0)
    topics = ["river", "budget", "vaccine", "stadium", "election", "bridge", "harbour"]
    rows = []
    for i in range(n_claims):
        topic = f"{topics[i % len(topics)]}{i}"
        claim = f"Officials confirm the {topic} plan number {i}"
        filler = " ".join(rng.choice(["today", "people", "week", "city", "local"], 5))
        rows.append(
            {
                "body": f"The {topic} plan number {i} was confirmed. {filler}.",
                "claim": claim,
                "stance": "related",
                "grp": f"g{i}",
            }
        )
        rows.append(
            {
                "body": f"A cat show opened downtown. {filler}.",
                "claim": claim,
                "stance": "unrelated",
                "grp": f"g{i}",
            }
        )
    return pd.DataFrame(rows)


def claim_cfg(tmp_path: Path, features: str):
    path = tmp_path / "claims.csv"
    claim_rows().to_csv(path, index=False)
    cfg = compose_config(
        [
            "data=file",
            "split=group_kfold",
            "split.n_splits=3",
            f"features={features}",
            f"paths.output_dir={tmp_path}",
        ]
    )
    columns = {"text": "body", "target": "claim", "label": "stance", "group": "grp"}
    with open_dict(cfg):
        cfg.data = OmegaConf.merge(cfg.data, {"path": str(path), "columns": columns})
    cfg.report.bootstrap = 0
    cfg.save_model = False
    cfg.cache.features = False
    cfg.paths.cache_dir = str(tmp_path / "cache")
    return cfg


def test_reads_target_sees_nested_and_field_based_features():
    assert not reads_target(NgramTfidf(fields=["title", "text"]))
    assert reads_target(NgramTfidf(fields=["target", "text"]))
    assert reads_target(ClaimPairFeatures())
    assert reads_target(TargetConditioned(base=NgramTfidf()))


def test_a_model_that_reads_the_frame_counts_as_reading_the_target():
    """features=raw passes the frame to the model: an encoder (or a blend holding claim
    features) reads the target; logistic regression on raw rows does not."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import FunctionTransformer

    from stance.models.transformer import TransformerClassifier
    from stance.models.two_stage import RestBlendClassifier

    frame = pd.DataFrame({"target": ["claim a", "claim b"], "text": ["x", "y"]})
    raw = FunctionTransformer()
    assert "never reads the target" in check_targets(frame, raw, "raw", LogisticRegression())
    assert check_targets(frame, raw, "raw", TransformerClassifier()) is None
    blend = RestBlendClassifier(
        base=make_pipeline(ClaimPairFeatures(), LogisticRegression()), second=LogisticRegression()
    )
    assert check_targets(frame, raw, "raw", blend) is None


def test_target_blind_features_on_per_row_targets_warn_and_the_report_explains(tmp_path):
    cfg = claim_cfg(tmp_path, "tfidf")
    with pytest.warns(UserWarning, match=f"{N_CLAIMS} distinct per-row targets.*features=tfidf"):
        run_experiment(cfg, tmp_path / "run", quiet=True)
    report = (tmp_path / "run" / "report.md").read_text(encoding="utf-8")
    assert "never reads the target" in report and "features=claim_pair" in report


def test_claim_pair_features_raise_no_warning_and_learn_the_relation(tmp_path):
    cfg = claim_cfg(tmp_path, "claim_pair")
    with warnings.catch_warnings():
        warnings.filterwarnings("error", message=".*never reads the target.*")
        result = run_experiment(cfg, tmp_path / "run", quiet=True)
    assert result.metrics["headline"]["value"] > 0.9


def test_per_target_blocks_over_many_targets_are_refused_before_fitting(tmp_path):
    cfg = claim_cfg(tmp_path, "target_conditioned")
    with pytest.raises(ConfigError, match=r"60 \(limit features.max_targets=50\).*claim_pair"):
        run_experiment(cfg, tmp_path / "run", quiet=True)
    assert not (tmp_path / "run").exists()
    frame = pd.DataFrame({"target": [f"t{i}" for i in range(5)], "text": ["x"] * 5})
    assert check_targets(frame, TargetConditioned(max_targets=5), "target_conditioned") is None
    with pytest.raises(ValueError, match="limit features.max_targets=4"):
        TargetConditioned(max_targets=4).fit(frame.assign(title=""))


def test_out_of_memory_is_one_line_naming_the_setting_and_leaves_no_run(tmp_path, data_dir):
    """A MemoryError anywhere in the run (here: cross-validation) -> `stance: error:` line."""
    script = (
        "import sys, stance.experiment as e\n"
        "def boom(*a, **k):\n    raise MemoryError()\n"
        "e.cross_validate = boom\n"
        "from stance.cli import run_main\n"
        "sys.argv = ['stance-run', 'split.n_splits=2', 'report.bootstrap=0',\n"
        f"            'hydra.run.dir={tmp_path / 'run'}']\n"
        "run_main()\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", script], cwd=tmp_path, capture_output=True, text=True, timeout=300
    )
    assert out.returncode == 2, out.stderr
    lines = [line for line in out.stderr.splitlines() if line.startswith("stance: error:")]
    assert len(lines) == 1 and "features.max_features" in lines[0]
    assert "Traceback" not in out.stderr
    assert not (tmp_path / "run").exists()

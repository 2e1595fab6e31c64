"""Shared helper: a tiny but real run directory (model.skops + model_card.json).

Kept in a ``test_*`` module so the inference, CLI and tagging tests can import
it without a conftest; it holds no tests itself.
"""

from __future__ import annotations

import json
from pathlib import Path

from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline

from stance.data.clean import TextCleaner
from stance.data.table import make_input
from stance.features.text import NgramTfidf
from stance.models.io import save_model

TARGET = "Russia–US rapprochement"
LABELS = ["favor", "against", "none"]
_SENTENCES = {
    "favor": [
        "Putin and Trump agreed to resume talks and cooperate",
        "The summit opened dialogue and cooperation between Moscow and Washington",
        "Leaders praised the constructive meeting and new cultural exchanges",
        "A letter stressed cooperation in the fight against terrorism",
    ],
    "against": [
        "New sanctions deepen the conflict between Russia and the United States",
        "Washington expelled diplomats and cancelled the summit",
        "Congress condemned the Kremlin and demanded tougher sanctions",
        "The meeting was postponed amid accusations of interference",
    ],
    "none": [
        "The weather in Helsinki was mild this week",
        "Football results from the regional league were published",
        "A new museum exhibition opened downtown",
        "Stock markets closed slightly higher on Friday",
    ],
}


def training_data(target: str = TARGET):
    texts, labels = [], []
    for label, sentences in _SENTENCES.items():
        for i, s in enumerate(sentences):
            for j in range(3):
                texts.append(f"{s}. Report {i}-{j}.\n\n{s.lower()}")
                labels.append(label)
    return make_input(texts, target=target), labels


def make_run_dir(
    root: Path,
    *,
    default_target: str | None = TARGET,
    needs_target: bool = False,
    name: str = "run",
) -> Path:
    """Fit TextCleaner + NgramTfidf + LogisticRegression and write a run directory."""
    run = Path(root) / name
    run.mkdir(parents=True, exist_ok=True)
    X, y = training_data()
    pipe = Pipeline(
        [
            ("clean", TextCleaner()),
            ("features", NgramTfidf(min_df=1)),
            ("clf", LogisticRegression(max_iter=500)),
        ]
    ).fit(X, y)
    save_model(pipe, run / "model.skops")
    card = {
        "task": {
            "name": "ru_us_rapprochement",
            "labels": LABELS,
            "metric": "macro_f1",
            "metric_labels": [],
        },
        "labels": LABELS,
        "default_target": default_target,
        "needs_target": needs_target,
        "trained_on": {
            "corpus": "synthetic",
            "rows": len(y),
            "fingerprint": "0" * 64,
            "label_distribution": {lab: y.count(lab) for lab in LABELS},
        },
        "metrics": {"metric": "macro_f1", "value": 1.0, "ci95": [1.0, 1.0]},
        "versions": {"stance": "0.1.0"},
        "created": "2026-01-01",
        "config": {},
    }
    (run / "model_card.json").write_text(json.dumps(card, ensure_ascii=False), encoding="utf-8")
    return run


def run_on_training_data(tmp_path: Path, model_overrides: list[str]):
    """``stance-run`` (in process) on :func:`training_data` as a ``data=file`` CSV with per-row
    targets, 2-fold CV and ``features=raw``: the encoder-model runs of the model tests."""
    import pandas as pd

    from stance.experiment import compose_config, run_experiment

    X, y = training_data()
    table = tmp_path / "corpus.csv"
    pd.DataFrame({"text": X["text"], "target": X["target"], "label": y}).to_csv(table, index=False)
    cfg = compose_config(
        [
            "data=file",
            f"data.path={table}",
            "data.columns.target=target",
            "split=kfold",
            "split.n_splits=2",
            "features=raw",
            *model_overrides,
            "report.bootstrap=50",
            "cache.features=false",
            f"paths.output_dir={tmp_path}",
        ]
    )
    return run_experiment(cfg, tmp_path / "run", quiet=True)

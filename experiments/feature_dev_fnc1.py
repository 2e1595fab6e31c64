"""Prototype claim-pair models on FNC-1's validation split (train → val), on cached matrices.

Nothing here touches the competition test set. Each feature matrix is built once and
cached under ``fnc1_dev`` in the stance cache directory (``STANCE_CACHE_DIR``), so trying classifiers is cheap.

    python experiments/feature_dev_fnc1.py     # data from stance.paths.default_data_dir()
"""

from __future__ import annotations

import os
import time

import joblib
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from stance.data.clean import TextCleaner
from stance.data.corpora.fnc1 import Fnc1
from stance.data.table import ModelInput
from stance.evaluation.metrics import get_metric
from stance.features.claim_pair import ClaimPairFeatures
from stance.models.two_stage import TwoStageClassifier
from stance.paths import default_cache_dir, default_data_dir

CACHE = default_cache_dir() / "fnc1_dev"


def matrices(name: str, features):
    path = CACHE / f"{name}.joblib"
    if path.exists():
        return joblib.load(path)
    corpus = Fnc1().load(default_data_dir())
    frame = corpus.frame
    train, val = frame[frame.split == "train"], frame[frame.split == "val"]
    clean = TextCleaner(enabled=True)
    Xtr = clean.fit_transform(ModelInput.from_corpus(train))
    Xva = clean.transform(ModelInput.from_corpus(val))
    t0 = time.perf_counter()
    Mtr = features.fit_transform(Xtr)
    Mva = features.transform(Xva)
    print(f"{name}: features {Mtr.shape} in {time.perf_counter() - t0:.0f}s")
    out = (Mtr, Mva, train.label.to_numpy(), val.label.to_numpy())
    CACHE.mkdir(parents=True, exist_ok=True)
    joblib.dump(out, path)
    return out


def score(name: str, model, data) -> None:
    Mtr, Mva, ytr, yva = data
    t0 = time.perf_counter()
    pred = model.fit(Mtr, ytr).predict(Mva)
    labels = sorted(set(ytr))
    f1 = f1_score(yva, pred, labels=labels, average=None)
    fnc = get_metric("fnc_score", ()).from_labels(yva, pred)
    per = " ".join(f"{lab}={v * 100:.1f}" for lab, v in zip(labels, f1, strict=True))
    print(
        f"{name:40s} macroF1={f1.mean() * 100:.2f} fnc={fnc * 100:.2f} {per} "
        f"({time.perf_counter() - t0:.0f}s)",
        flush=True,
    )


def main() -> None:
    """What was tried on val (see the docstring's command); figures are in the claims report."""
    data = matrices("claim_pair", ClaimPairFeatures())
    runs = os.environ.get("FNC_DEV_RUNS", "lr,two_stage").split(",")
    if "lr" in runs:  # val macro-F1 / FNC: C=1 76.16 / 92.45, C=0.3 75.55 / 92.04, C=0.1 73.45
        for c in (1.0, 0.3, 0.1):
            lr = LogisticRegression(C=c, class_weight="balanced", max_iter=3000)
            score(f"claim_pair lr C={c}", lr, data)
    if "two_stage" in runs:  # val macro-F1 73.77, FNC 90.40
        first = LogisticRegression(C=1.0, class_weight="balanced", max_iter=3000)
        second = LogisticRegression(C=0.3, class_weight="balanced", max_iter=3000)
        score("claim_pair two_stage C=1/0.3", TwoStageClassifier(first, second), data)


if __name__ == "__main__":
    main()

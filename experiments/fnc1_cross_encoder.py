"""FNC-1 dev round 5: a cross-encoder fine-tuned on (headline, closest body sentences).

Four rounds of features and classifiers sat within a point of 62-63 dev macro-F1; the
dominant test error is ``discuss`` read as ``agree``, which is about how a sentence
states the claim (asserts it, or reports it), what an encoder reading the pair sees.
This script measures that lever on the same development folds as
``feature_dev_fnc1.py`` (headlines AND bodies unseen), without touching the test set:

1. fine-tune all-MiniLM-L6-v2 (``model=transformer``, ``strategy=closest_sentences``)
   on the related pairs (agree / disagree / discuss) of a fold's fitting part;
2. predict that fold's validation pairs; cache the probabilities;
3. score the pinned model alone, and with its related-class probabilities mixed with
   the cross-encoder's (the pinned model still decides related vs unrelated).

CPU cost is the constraint (about 11 pairs/s forward and backward at 128 tokens on
two cores), so ``FNC_XENC_FOLDS`` picks the folds (default ``0``).

    FNC_XENC_FOLDS=0 python experiments/fnc1_cross_encoder.py
"""

from __future__ import annotations

import os
import time

import numpy as np
from feature_dev_fnc1 import (
    CACHE,
    N_SPLITS,
    SEED,
    columns,
    embed_near_matrices,
    fold_groups,
    mix_weights,
    pinned_vote,
    report,
    training_pairs,
    training_share,
)

from stance.data.clean import TextCleaner
from stance.data.pair_folds import unseen_pair_folds
from stance.data.table import ModelInput
from stance.models.transformer import TransformerClassifier
from stance.models.two_stage import blend_split

UNRELATED = "unrelated"
#: The encoder's share of the related split; 0 is the pinned model alone. The choice: the
#: highest pooled dev macro-F1 over every fold run, linear or geometric.
WEIGHTS = (0.0, 0.1, 0.2, 0.25, 0.3, 0.4, 0.5, 0.75, 1.0)
ENCODER = {
    "strategy": "closest_sentences",
    "max_length": int(os.environ.get("FNC_XENC_MAX_LENGTH", "128")),
    "epochs": int(os.environ.get("FNC_XENC_EPOCHS", "2")),
    "frozen_layers": int(os.environ.get("FNC_XENC_FROZEN", "0")),
    "max_steps": int(os.environ["FNC_XENC_MAX_STEPS"])
    if "FNC_XENC_MAX_STEPS" in os.environ
    else None,
    "batch_size": 16,
    "learning_rate": float(os.environ.get("FNC_XENC_LR", "5e-5")),
    "val_size": 0.1,
    "patience": 1,
    "class_weight": "balanced",
    "device": "cpu",
    "mixed_precision_cpu": os.environ.get("FNC_XENC_BF16", "0") == "1",
    "random_state": 0,
    "backend": os.environ.get("FNC_XENC_BACKEND", "torch"),
}

#: Settings that name a cached schedule when they differ from session 9's: (key, its
#: value then, the cache-name suffix).
TAGGED = (
    ("frozen_layers", 0, "_f{}"),
    ("max_steps", None, "_s{}"),
    ("learning_rate", 5e-5, "_lr{:g}"),
    ("backend", "torch", "_{}"),
    ("mixed_precision_cpu", False, "_bf16"),
)


def folds() -> list[tuple[np.ndarray, np.ndarray]]:
    pairs = training_pairs()
    linked = (pairs.label != pairs.label.value_counts().idxmax()).to_numpy()
    return unseen_pair_folds(pairs.target, pairs.group, linked, n_splits=N_SPLITS, seed=SEED)


def cross_encoder_proba(k: int) -> tuple[np.ndarray, np.ndarray]:
    """(classes, probabilities over fold ``k``'s validation pairs), fitted once and cached."""
    tag = f"xenc_{ENCODER['strategy']}_{ENCODER['max_length']}_e{ENCODER['epochs']}"
    tag += "".join(
        suffix.format(ENCODER[name]) for name, default, suffix in TAGGED if ENCODER[name] != default
    )
    path = CACHE / f"{tag}_fold{k}.npz"
    if path.exists():
        saved = np.load(path, allow_pickle=False)
        return saved["classes"], saved["proba"]
    pairs = training_pairs()
    fit, val = folds()[k]
    related = fit[(pairs.label.to_numpy()[fit] != UNRELATED)]
    clean = TextCleaner(enabled=True)
    x_fit = clean.fit_transform(ModelInput.from_corpus(pairs.iloc[related]))
    x_val = clean.transform(ModelInput.from_corpus(pairs.iloc[val]))
    model = TransformerClassifier(**ENCODER)
    t0 = time.perf_counter()
    model.fit(x_fit, pairs.label.to_numpy()[related])
    fitted = time.perf_counter() - t0
    print(f"fold {k}: fine-tuned on {len(related)} related pairs in {fitted:.0f}s", flush=True)
    print(f"  history {model.history_}, best epoch {model.best_epoch_}", flush=True)
    t0 = time.perf_counter()
    proba = model.predict_proba(x_val)
    print(f"  predicted {len(val)} pairs in {time.perf_counter() - t0:.0f}s", flush=True)
    CACHE.mkdir(parents=True, exist_ok=True)
    np.savez(path, classes=model.classes_.astype(str), proba=proba)
    return model.classes_, proba


def pinned_proba(k: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(classes, gold, probabilities) of the pinned model (conf/experiment/fnc1.yaml) on fold
    ``k``'s validation pairs, from the cached development matrices (cached once fitted)."""
    path = CACHE / f"pin_fold{k}.npz"
    if path.exists():
        saved = np.load(path, allow_pickle=False)
        return saved["classes"], saved["gold"], saved["proba"]
    m_fit, m_val, y_fit, y_val, names = embed_near_matrices()[k]
    model = pinned_vote(0.7, stop=len(columns(names, ("pair",))))
    model.fit(m_fit, y_fit, groups=fold_groups()[k])
    proba = model.predict_proba(m_val)
    np.savez(path, classes=model.classes_.astype(str), gold=y_val.astype(str), proba=proba)
    return model.classes_, y_val, proba


def mixed(classes, pin, x_classes, xenc, w: float, how: str = "linear") -> np.ndarray:
    """The pinned probabilities with the related classes' share of the related mass blended
    with the cross-encoder's (weight ``w``, ``how`` linear or geometric), as
    ``model=claim_encoder_blend`` does (:func:`stance.models.two_stage.blend_split`)."""
    out = pin.copy()
    rel = np.flatnonzero(classes != UNRELATED)
    mass = pin[:, rel].sum(axis=1, keepdims=True)
    own = pin[:, rel] / np.maximum(mass, 1e-12)
    order = [int(np.flatnonzero(x_classes == c)[0]) for c in classes[rel]]
    out[:, rel] = mass * blend_split(xenc[:, order], own, w, how)
    return out


def main() -> None:
    chosen = [int(k) for k in os.environ.get("FNC_XENC_FOLDS", "0").split(",")]
    gold, pins, xencs = [], [], []
    for k in chosen:
        x_classes, xenc = cross_encoder_proba(k)
        classes, y_val, pin = pinned_proba(k)
        gold.append(y_val)
        pins.append(pin)
        xencs.append(xenc)
    y = np.concatenate(gold)
    weights = np.concatenate([mix_weights(g, training_share()) for g in gold])
    for how in ("linear", "geometric"):
        for w in WEIGHTS:
            probs = [
                mixed(classes, p, x_classes, x, w, how) for p, x in zip(pins, xencs, strict=True)
            ]
            pred = classes[np.vstack(probs).argmax(axis=1)]
            per_fold = [(g, classes[q.argmax(axis=1)]) for g, q in zip(gold, probs, strict=True)]
            report(f"pin + cross-encoder, {how} w={w}", y, pred, 0.0, weights, per_fold)


if __name__ == "__main__":
    main()

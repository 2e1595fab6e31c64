"""Seconds per fine-tuning step of ``model=transformer`` on CPU: float32 against bfloat16.

What a CPU fine-tune costs is steps x seconds per step. This measures the second factor as a
user meets it, through ``TransformerClassifier.fit`` (tokenising, freezing, the optimizer
and the schedule included): each setting is fitted with ``max_steps`` = ``--short`` and
``--long`` on synthetic pairs that fill ``max_length``, and the cost of one step is the
difference over the extra steps, so loading the encoder is not counted (a warm-up fit per
precision runs first). Run it on an idle machine; the figures are in experiments/RESULTS.md.

    python experiments/bench_train_step.py --lengths 64 128 --frozen 0 3
"""

from __future__ import annotations

import argparse
import time

import numpy as np
import pandas as pd

from stance.models.transformer import TransformerClassifier, _cpu_has_bf16

WORDS = [
    "the",
    "senator",
    "wrote",
    "to",
    "the",
    "kremlin",
    "about",
    "sanctions",
    "talks",
    "and",
    "the",
    "summit",
    "in",
    "geneva",
]


def pairs(n: int, seed: int = 0) -> tuple[pd.DataFrame, np.ndarray]:
    """``n`` (claim, body) rows, bodies long enough to fill any ``max_length`` here."""
    rng = np.random.default_rng(seed)
    body = [" ".join(rng.choice(WORDS, 400)) + "." for _ in range(n)]
    frame = pd.DataFrame(
        {"title": "", "text": body, "target": "a senator wrote a letter to the kremlin"}
    )
    return frame, np.array(["agree", "disagree", "discuss"])[np.arange(n) % 3]


def fit_seconds(length: int, frozen: int, bf16: bool, steps: int, X, y) -> float:
    clf = TransformerClassifier(
        strategy="closest_sentences",
        max_length=length,
        frozen_layers=frozen,
        max_steps=steps,
        epochs=100,
        batch_size=16,
        val_size=0,
        device="cpu",
        mixed_precision_cpu=bf16,
        random_state=0,
    )
    t0 = time.perf_counter()
    clf.fit(X, y)
    assert clf.training_steps_ == steps
    return time.perf_counter() - t0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lengths", type=int, nargs="+", default=[64, 128])
    parser.add_argument("--frozen", type=int, nargs="+", default=[0, 3])
    parser.add_argument("--short", type=int, default=5)
    parser.add_argument("--long", type=int, default=25)
    args = parser.parse_args()
    X, y = pairs(16 * args.long)
    print(f"CPU bfloat16 native: {_cpu_has_bf16()}")
    for bf16 in (False, True):  # one-time costs (thread pools, kernel choice) of each precision
        fit_seconds(args.lengths[0], args.frozen[0], bf16, 2, X, y)
    print("| max_length | frozen layers | float32 s/step | bfloat16 s/step | speed-up |")
    print("| --- | --- | --- | --- | --- |")
    for length in args.lengths:
        for frozen in args.frozen:
            per_step = {}
            for bf16 in (False, True):
                short = fit_seconds(length, frozen, bf16, args.short, X, y)
                long = fit_seconds(length, frozen, bf16, args.long, X, y)
                per_step[bf16] = (long - short) / (args.long - args.short)
            print(
                f"| {length} | {frozen} | {per_step[False]:.3f} | {per_step[True]:.3f} "
                f"| {per_step[False] / per_step[True]:.2f}x |",
                flush=True,
            )


if __name__ == "__main__":
    main()

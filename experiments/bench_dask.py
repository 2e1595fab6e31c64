"""Scaling of `stance tag --engine dask` (issue 18): articles/s with 1 and 2 workers, cost on paper.

Writes N AllSides articles (real text, the corpus's own lengths) as P Parquet files,
then on a Dask LocalCluster of 1 and of 2 single-threaded worker processes tags them
with ``stance.distributed.tag_files`` (one file = one partition = one output part).
Each cluster first loads the model on every worker (timed separately: it happens
once per worker, whatever the archive size), so the rate is the steady state.
Then measures per-core throughput without Dask (one process, one thread):

* TF-IDF + LR: ``stance.load(MODEL).predict_frame`` on the same articles;
* MiniLM (all-MiniLM-L6-v2, what ``features=embed`` runs): the sentence encoder on
  the first ``--embed-n`` articles, one torch thread — the transformer dominates an
  embed model's prediction cost, so this is its per-core rate.

and prints a Markdown section with the cost of 100 million articles in core-hours
(and GPU-hours where stated as an estimate).

    stance-run split.n_splits=2            # the TF-IDF + LR model
    python experiments/bench_dask.py --model outputs/runs/<date>/<time> --n 4000

Scratch goes to a temporary folder; nothing is written into the repository.
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import platform
import shutil
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

from stance.paths import default_data_dir

DATA = default_data_dir() / "allsides" / "articles.jsonl.gz"
ARCHIVE = 100_000_000


def read_articles(n: int) -> pd.DataFrame:
    rows = []
    with gzip.open(DATA, "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            text = record.get("content") or ""
            if text.strip():
                rows.append({"id": str(record.get("ID", len(rows))), "text": text})
            if len(rows) >= n:
                break
    return pd.DataFrame(rows)


def write_archive(frame: pd.DataFrame, folder: Path, parts: int) -> None:
    folder.mkdir(parents=True)
    size = -(-len(frame) // parts)
    for i in range(parts):
        frame.iloc[i * size : (i + 1) * size].to_parquet(folder / f"part-{i:03d}.parquet")


def dask_rate(model: str, archive: Path, out: Path, workers: int) -> dict[str, float]:
    from distributed import Client, LocalCluster

    import stance.distributed as sd

    with (
        LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            host="127.0.0.1",
            dashboard_address=None,
            silence_logs=40,
        ) as cluster,
        Client(cluster) as client,
    ):
        loaded, path, sha = sd._model_identity(model, trusted=False)
        spec = sd.TagSpec(model_path=path, model_sha256=sha, trusted=False, out=str(out))
        start = time.perf_counter()
        client.run(sd._worker_model, spec)  # each worker loads the model once
        load_s = time.perf_counter() - start
        cpu_before = client.run(time.process_time)
        start = time.perf_counter()
        summary = sd.tag_files(model, str(archive / "*.parquet"), out, client=client)
        seconds = time.perf_counter() - start
        cpu_after = client.run(time.process_time)
    cpu = sum(cpu_after[w] - cpu_before[w] for w in cpu_before)
    return {
        "rows": summary.rows,
        "seconds": seconds,
        "rate": summary.rows / seconds,
        "load_s": load_s,
        "worker_cpu_s": cpu,
        "rate_per_cpu_s": summary.rows / cpu,
    }


def core_rate_tfidf(model: str, frame: pd.DataFrame) -> dict[str, float]:
    from threadpoolctl import threadpool_limits

    import stance

    loaded = stance.load(model)
    inputs = pd.DataFrame({"text": frame["text"], "title": "", "target": loaded.target_for(None)})
    inputs["source"] = ""
    inputs["date"] = ""
    with threadpool_limits(1):
        loaded.predict_frame(inputs.iloc[:200])  # warm-up
        start, cpu = time.perf_counter(), time.process_time()
        loaded.predict_frame(inputs)
        return _rates(len(inputs), start, cpu)


def _rates(n: int, start: float, cpu: float) -> dict[str, float]:
    """Articles per wall second and per CPU second (the latter is robust to a busy machine)."""
    return {"wall": n / (time.perf_counter() - start), "cpu": n / (time.process_time() - cpu)}


def core_rate_minilm(frame: pd.DataFrame) -> dict[str, float]:
    import torch

    from stance.features.embeddings import SentenceEmbedding

    torch.set_num_threads(1)
    embedder = SentenceEmbedding(cache_dir="", batch_size=32)
    docs = [t[:2000] for t in frame["text"]]
    embedder.embed(docs[:16])  # loads the model
    start, cpu = time.perf_counter(), time.process_time()
    embedder.embed(docs)
    return _rates(len(docs), start, cpu)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", required=True, help="run dir of `stance-run split.n_splits=2`")
    parser.add_argument("--n", type=int, default=4000, help="articles to tag")
    parser.add_argument("--parts", type=int, default=16, help="Parquet files (= partitions)")
    parser.add_argument("--embed-n", type=int, default=64, help="articles for the MiniLM rate")
    parser.add_argument("--usd-core-hour", type=float, default=0.04)
    parser.add_argument("--usd-gpu-hour", type=float, default=2.50)
    args = parser.parse_args()
    warnings.simplefilter("ignore")

    frame = read_articles(args.n)
    scratch = Path(tempfile.mkdtemp(prefix="bench_dask_"))
    try:
        write_archive(frame, scratch / "archive", args.parts)
        runs = {
            w: dask_rate(args.model, scratch / "archive", scratch / f"out{w}", w) for w in (1, 2)
        }
        tfidf = core_rate_tfidf(args.model, frame)
        minilm = core_rate_minilm(frame.iloc[: args.embed_n])
    finally:
        shutil.rmtree(scratch, ignore_errors=True)

    chars = frame["text"].str.len()
    efficiency = runs[2]["rate"] / (2 * runs[1]["rate"])
    print(f"machine: {platform.node()}, {os.cpu_count()} cores, load average {os.getloadavg()}")
    print(
        f"{len(frame)} AllSides articles in {args.parts} files, median {chars.median():.0f} chars"
    )
    print(
        "| workers | articles/s (wall) | seconds | worker CPU s | articles per worker-CPU-s | model load (s) |"
    )
    print("| ---: | ---: | ---: | ---: | ---: | ---: |")
    for w, r in runs.items():
        print(
            f"| {w} | {r['rate']:,.0f} | {r['seconds']:.1f} | {r['worker_cpu_s']:.1f} | "
            f"{r['rate_per_cpu_s']:,.0f} | {r['load_s']:.1f} |"
        )
    print(f"parallel efficiency (2 workers, wall clock): {100 * efficiency:.0f}%")
    print()
    print(
        "| model | per-core articles/s, wall | per CPU-second | core-hours for 100M (CPU rate) | at $/core-hour |"
    )
    print("| --- | ---: | ---: | ---: | ---: |")
    for name, rate in (("TF-IDF + LR", tfidf), ("MiniLM (all-MiniLM-L6-v2)", minilm)):
        hours = ARCHIVE / rate["cpu"] / 3600
        print(
            f"| {name} | {rate['wall']:,.1f} | {rate['cpu']:,.1f} | {hours:,.0f} | "
            f"${hours * args.usd_core_hour:,.0f} |"
        )
    print(json.dumps({"runs": runs, "tfidf_core": tfidf, "minilm_core": minilm}))


if __name__ == "__main__":
    main()

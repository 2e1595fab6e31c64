"""Speed of the inference helper (issue 5): `stance tag` throughput and `stance predict` cold start.

Trains a TF-IDF + logistic-regression pipeline (the project's TextCleaner and
NgramTfidf) on a slice of AllSides, tags the next N articles with
``stance.tagging.tag_corpus`` and reports articles/s *not counting reading the
source* (the time spent in ``predict_frame``) plus per-stage rates, then times
``python -m stance.predict_cli predict`` on the seed document from a cold start.

    python experiments/bench_inference.py --n 20000 --train 3000

With ``--encoders N`` it instead times the two encoder models on the Russia–US
rapprochement articles (issue 16): MiniLM sentence vectors + logistic
regression (``features=embed_sentences``, embedding cache off so every
sentence is encoded) and ``model=transformer`` (MiniLM fine-tuned for one
epoch), each trained on N articles and tagging the next N with ``stance tag``
(``--batch-size`` articles per batch), articles/s and the load average.

    python experiments/bench_inference.py --encoders 40 --batch-size 64

Prints figures only; writes nothing into the repository (scratch under /tmp).
"""

from __future__ import annotations

import argparse
import gzip
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import pandas as pd

from stance.paths import default_data_dir

DATA = default_data_dir() / "allsides" / "articles.jsonl.gz"
SEED = default_data_dir().parent / "seeds" / "000_d54e7f37c2073ae9.txt"


def read_articles(n: int) -> pd.DataFrame:
    rows = []
    with gzip.open(DATA, "rt", encoding="utf-8") as handle:
        for line in handle:
            record = json.loads(line)
            rows.append(
                {
                    "id": str(record.get("ID", len(rows))),
                    "text": record.get("content") or "",
                    "title": record.get("title") or "",
                    "source": record.get("source") or "",
                    "date": record.get("date") or "",
                    "bias": str(record.get("bias")),
                }
            )
            if len(rows) >= n:
                break
    return pd.DataFrame(rows)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=20000, help="articles to tag")
    parser.add_argument("--train", type=int, default=3000, help="articles to train on")
    parser.add_argument("--batch-size", type=int, default=2048)
    parser.add_argument("--jobs", type=int, nargs="+", default=[1, 2])
    parser.add_argument("--cold-runs", type=int, default=9)
    parser.add_argument("--encoders", type=int, default=0, help="time the encoder models instead")
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.encoders:
        bench_encoders(args.encoders, args.batch_size)
        return

    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline

    from stance.data.clean import TextCleaner
    from stance.features.text import NgramTfidf
    from stance.models.io import save_model
    from stance.tagging import TagOptions, tag_corpus

    scratch = Path(tempfile.mkdtemp(prefix="stance-bench-"))
    frame = read_articles(args.train + args.n)
    train, test = frame.iloc[: args.train], frame.iloc[args.train :].reset_index(drop=True)
    X = pd.DataFrame({"text": train["text"], "title": train["title"], "target": ""})
    pipe = Pipeline(
        [
            ("clean", TextCleaner()),
            ("features", NgramTfidf()),
            ("clf", LogisticRegression(max_iter=300)),
        ]
    )
    start = time.perf_counter()
    pipe.fit(X, train["bias"])
    print(
        f"trained on {len(train)} AllSides articles in {time.perf_counter() - start:.1f}s; "
        f"{len(pipe[1].vectorizer_.vocabulary_)} features"
    )
    run = scratch / "run"
    save_model(pipe, run / "model.skops")
    labels = sorted(pipe.classes_)
    (run / "model_card.json").write_text(
        json.dumps(
            {
                "labels": labels,
                "default_target": None,
                "needs_target": False,
                "task": {"name": "allsides_bench", "labels": labels},
            }
        )
    )
    corpus = scratch / "corpus.parquet"
    test.to_parquet(corpus)
    chars = test["text"].str.len()
    print(
        f"corpus: {len(test)} articles, median {int(chars.median())} chars, mean {int(chars.mean())}"
    )

    # Per-stage rates, one process (where the time goes).
    sample = pd.DataFrame(
        {"text": test["text"][:2000], "title": test["title"][:2000], "target": ""}
    )
    t0 = time.perf_counter()
    cleaned = pipe[0].transform(sample)
    t1 = time.perf_counter()
    feats = pipe[1].transform(cleaned)
    t2 = time.perf_counter()
    pipe[2].predict_proba(feats)
    t3 = time.perf_counter()
    n = len(sample)
    print(
        f"stages (1 process, {n} articles): clean {n / (t1 - t0):.0f}/s, "
        f"tfidf {n / (t2 - t1):.0f}/s, logreg {n / (t3 - t2):.0f}/s, "
        f"all {n / (t3 - t0):.0f}/s"
    )

    for jobs in args.jobs:
        out = scratch / f"tagged-{jobs}.parquet"
        wall0, cpu0 = time.perf_counter(), time.process_time()
        options = TagOptions(batch_size=args.batch_size, keep=("source", "date"), jobs=jobs)
        summary = tag_corpus(run, corpus, out, options, progress=False)
        wall = time.perf_counter() - wall0
        cpu = time.process_time() - cpu0
        print(
            f"stance tag --jobs {jobs}: {summary.rows} rows in {wall:.1f}s wall "
            f"= {summary.rows / wall:.0f} articles/s end to end (incl. reading/writing); "
            f"predict time {summary.predict_seconds:.1f}s summed over workers "
            f"= {summary.rows / summary.predict_seconds * jobs:.0f} articles/s with {jobs} "
            f"process(es) [main-process CPU {cpu:.1f}s]"
        )

    # Cold start as an installed user sees it: bytecode cached (pip compiles it
    # at install; this environment may set PYTHONDONTWRITEBYTECODE, so it is
    # unset here and the first run writes it), a fresh cache directory, then
    # `stance predict` (python -m stance.cli) run anew each time. The first run
    # also writes skops's allow-list cache (stance/models/skops_import.py), so
    # it is reported on its own.
    env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
    env["STANCE_CACHE_DIR"] = str(scratch / "cache")
    times = []
    for _ in range(args.cold_runs + 1):
        start = time.perf_counter()
        proc = subprocess.run(
            [sys.executable, "-m", "stance.cli", "predict", str(run), str(SEED)],
            capture_output=True,
            text=True,
            env=env,
        )
        times.append(time.perf_counter() - start)
        if proc.returncode:
            print(proc.stderr)
    first, rest = times[0], times[1:]
    print(f"stance predict output: {proc.stdout.strip().splitlines()[-1]}")
    print(
        f"stance predict cold start (seed document): median {statistics.median(rest):.2f}s, "
        f"min {min(rest):.2f}s, max {max(rest):.2f}s over {len(rest)} runs "
        f"(first run on the machine, writing the skops allow-list cache: {first:.2f}s)"
    )
    print(f"load average now: {os.getloadavg()}")


def bench_encoders(n: int, batch_size: int) -> None:
    """articles/s of `stance tag` with the MiniLM sentence-vector model and model=transformer."""
    from sklearn.linear_model import LogisticRegression
    from sklearn.pipeline import Pipeline
    from sklearn.preprocessing import FunctionTransformer

    from stance.data.clean import TextCleaner
    from stance.data.loading import load_corpus
    from stance.data.table import ModelInput
    from stance.experiment import compose_config
    from stance.features.embeddings import SentenceEmbedding
    from stance.models.io import save_model
    from stance.models.transformer import TransformerClassifier
    from stance.tagging import TagOptions, tag_corpus

    cfg = compose_config(["data=ru_us_rapprochement"])
    corpus = load_corpus(cfg.data, default_data_dir()).frame
    X, y = ModelInput.from_corpus(corpus), corpus["label"].to_numpy()
    train, test = slice(0, n), slice(n, 2 * n)
    target = str(X["target"].iloc[0])
    scratch = Path(tempfile.mkdtemp(prefix="stance-bench-enc-"))
    source = scratch / "articles.parquet"
    pd.DataFrame(
        {"id": [str(i) for i in range(n)], "text": X["text"][test], "title": X["title"][test]}
    ).to_parquet(source)
    models = {
        "embed_sentences+logreg": (
            SentenceEmbedding(pooling="sentences", max_sentences=40, cache_dir=""),
            LogisticRegression(C=4.0, class_weight="balanced", max_iter=3000),
        ),
        "transformer (MiniLM, head, 256 tokens)": (
            FunctionTransformer(),
            TransformerClassifier(epochs=1, val_size=0, device="cpu", random_state=0),
        ),
    }
    for name, (features, clf) in models.items():
        pipe = Pipeline([("clean", TextCleaner()), ("features", features), ("clf", clf)])
        start = time.perf_counter()
        pipe.fit(X.iloc[train], y[train])
        fit_s = time.perf_counter() - start
        run = scratch / name.split()[0]
        save_model(pipe, run / "model.skops")
        labels = sorted(pipe.classes_)
        card = {"labels": labels, "default_target": target, "needs_target": False}
        (run / "model_card.json").write_text(json.dumps({**card, "task": {"labels": labels}}))
        load0 = os.getloadavg()[0]
        start, cpu0 = time.perf_counter(), time.process_time()
        summary = tag_corpus(
            run,
            source,
            scratch / f"{run.name}.parquet",
            TagOptions(batch_size=batch_size),
            progress=False,
        )
        wall, cpu = time.perf_counter() - start, time.process_time() - cpu0
        # On a shared machine the wall rate understates; CPU-seconds (all threads) do not:
        # rows / (cpu / 2) is the rate two otherwise idle cores would give.
        print(
            f"{name}: fit {n} articles {fit_s:.0f}s; stance tag {summary.rows} articles in "
            f"{wall:.1f}s = {summary.rows / wall:.2f} articles/s; {cpu:.1f} CPU-s = "
            f"{summary.rows / cpu:.2f} articles per CPU-second, "
            f"{2 * summary.rows / cpu:.2f} articles/s on 2 idle cores "
            f"(load average {load0:.1f} -> {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores)"
        )


if __name__ == "__main__":
    main()

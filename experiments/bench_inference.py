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
sentence is encoded) and ``model=transformer`` (MiniLM fine-tuned for
``--epochs``, default one), each trained on N articles and tagging the next
``--tag`` (default N) with ``stance tag`` (``--batch-size`` articles per batch,
``--jobs`` worker processes of cores / jobs threads each) once per ``--backends``
entry (torch, onnx, onnx-int8: :mod:`stance.models.onnx_backend`; the ONNX graph
is exported into a scratch cache first and that time reported apart). Per
backend: articles/s from wall time and from CPU-seconds, the workers' included
(the rate two idle cores would give, since other jobs share the machine), the
macro-F1 of the tagged labels against the gold ones and its difference to
torch's, and the share of labels that agree with torch's. ``--stages`` first
shows where the sentence model's time goes on 60 held-out articles (cleaning,
splitting, tokenizing, the forward pass, padding).

    nice -n 5 python experiments/bench_inference.py --encoders 100 --tag 452 \
        --batch-size 64 --backends torch onnx onnx-int8 --jobs 1 2 --stages
    nice -n 5 python experiments/bench_inference.py --encoders 200 --tag 352 --epochs 3 \
        --models transformer --batch-size 64 --backends torch onnx onnx-int8

With ``--model-run RUN_DIR`` it times a saved run's model instead (e.g. the pinned
Russia–US one, which pools MiniLM vectors of the relation windows) tagging every
Russia–US article (it has seen them, so only rates and agreement), then refits its
configuration in grouped 5-fold CV under each backend for an out-of-fold macro-F1:

    python experiments/bench_inference.py --model-run experiments/runs/ru_us_rapprochement \
        --backends torch onnx-int8 --jobs 1 2 --batch-size 64

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
from collections.abc import Sequence
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
    parser.add_argument(
        "--jobs",
        type=int,
        nargs="+",
        default=None,
        help="`stance tag --jobs` values to time (default 1 2; with --encoders, 1)",
    )
    parser.add_argument("--cold-runs", type=int, default=9)
    parser.add_argument("--encoders", type=int, default=0, help="time the encoder models instead")
    parser.add_argument(
        "--model-run", type=Path, default=None, help="time this saved run's model instead"
    )
    parser.add_argument("--tag", type=int, default=0, help="held-out articles to tag (default N)")
    parser.add_argument(
        "--backends",
        nargs="+",
        default=["torch"],
        choices=["torch", "onnx", "onnx-int8", "onnx-int8-mixed"],
    )
    parser.add_argument(
        "--models",
        nargs="+",
        default=["sentences", "transformer"],
        choices=["sentences", "transformer"],
    )
    parser.add_argument("--stages", action="store_true", help="sentence model: time per stage")
    parser.add_argument(
        "--epochs", type=int, default=1, help="model=transformer fine-tuning epochs"
    )
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    if args.model_run:
        bench_saved_run(args.model_run, args.backends, args.jobs or [1], args.batch_size)
        return
    if args.encoders:
        bench_encoders(
            args.encoders,
            args.tag or args.encoders,
            args.batch_size,
            args.backends,
            args.models,
            args.stages,
            args.epochs,
            args.jobs or [1],
        )
        return
    args.jobs = args.jobs or [1, 2]

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


def bench_encoders(
    n: int,
    n_tag: int,
    batch_size: int,
    backends: list[str],
    which: list[str],
    stages: bool,
    epochs: int = 1,
    jobs_list: Sequence[int] = (1,),
) -> None:
    """articles/s and macro-F1 of `stance tag` with each encoder model under each backend."""
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

    scratch = Path(tempfile.mkdtemp(prefix="stance-bench-enc-"))
    os.environ["STANCE_CACHE_DIR"] = str(scratch / "cache")  # exported graphs start cold
    cfg = compose_config(["data=ru_us_rapprochement"])
    corpus = load_corpus(cfg.data, default_data_dir()).frame
    X, y = ModelInput.from_corpus(corpus), corpus["label"].to_numpy().astype(str)
    train, test = slice(0, n), slice(n, n + n_tag)
    gold = y[test]
    target = str(X["target"].iloc[0])
    source = scratch / "articles.parquet"
    pd.DataFrame(
        {
            "id": [str(i) for i in range(len(gold))],
            "text": X["text"][test],
            "title": X["title"][test],
        }
    ).to_parquet(source)
    print(
        f"Russia-US rapprochement: train {n}, tag {len(gold)} held-out articles; "
        f"torch threads {_torch_threads()}, {os.cpu_count()} cores"
    )
    if stages:
        _sentence_stages(X.iloc[test][:60], batch_size=64)
    models = {
        "sentences": (
            "embed_sentences+logreg",
            SentenceEmbedding(pooling="sentences", max_sentences=40, cache_dir=""),
            LogisticRegression(C=4.0, class_weight="balanced", max_iter=3000),
        ),
        "transformer": (
            f"transformer (MiniLM, head, 256 tokens, {epochs} epochs)",
            FunctionTransformer(),
            TransformerClassifier(epochs=epochs, val_size=0, device="cpu", random_state=0),
        ),
    }
    for key in which:
        name, features, clf = models[key]
        pipe = Pipeline([("clean", TextCleaner()), ("features", features), ("clf", clf)])
        start = time.perf_counter()
        pipe.fit(X.iloc[train], y[train])
        print(f"{name}: fit on {n} articles in {time.perf_counter() - start:.0f}s")
        run = scratch / key
        save_model(pipe, run / "model.skops")
        labels = sorted(pipe.classes_)
        card = {"labels": labels, "default_target": target, "needs_target": False}
        (run / "model_card.json").write_text(json.dumps({**card, "task": {"labels": labels}}))
        _time_backends(
            run, source, scratch / f"{key}-tagged", backends, jobs_list, batch_size, gold
        )


def _time_backends(
    run: Path,
    source: Path,
    scratch: Path,
    backends: Sequence[str],
    jobs_list: Sequence[int],
    batch_size: int,
    gold=None,
) -> None:
    """`stance tag` ``source`` with ``run``'s model under each backend and job count.

    Prints wall and CPU rates, and the labels' agreement with the first backend's (and
    their macro-F1 against ``gold`` when given: only for articles the model never saw).
    """
    from sklearn.metrics import f1_score

    from stance.inference import load
    from stance.tagging import TagOptions, tag_corpus

    scratch.mkdir(parents=True, exist_ok=True)
    reference = None
    for backend in backends:
        if backend != "torch":  # export (and quantise) once, outside the timed run
            start = time.perf_counter()
            load(run, backend=backend).predict(["Talks resumed."])
            print(f"  {backend}: export + first call {time.perf_counter() - start:.1f}s")
        for jobs in jobs_list:
            load0 = os.getloadavg()[0]
            out = scratch / f"{backend}-{jobs}.parquet"
            options = TagOptions(batch_size=batch_size, backend=backend, jobs=jobs)
            start, cpu0 = time.perf_counter(), _cpu_seconds()
            summary = tag_corpus(run, source, out, options, progress=False)
            wall, cpu = time.perf_counter() - start, _cpu_seconds() - cpu0
            pred = pd.read_parquet(out)["label"].astype(str).to_numpy()
            f1 = 100 * f1_score(gold, pred, average="macro") if gold is not None else float("nan")
            if reference is None:
                reference = (f1, pred)
            score = (
                f"macro-F1 {f1:.2f} ({f1 - reference[0]:+.2f} vs {backends[0]}), "
                if gold is not None
                else ""
            )
            # On a shared machine the wall rate understates; CPU-seconds (all threads, the
            # workers' too) do not: rows / (cpu / 2) is the rate two idle cores would give.
            print(
                f"  {backend}, --jobs {jobs}: {summary.rows} articles in {wall:.1f}s = "
                f"{summary.rows / wall:.2f} articles/s wall; {cpu:.1f} CPU-s = "
                f"{2 * summary.rows / cpu:.2f} articles/s on 2 idle cores; {score}labels agree "
                f"with {backends[0]} on {100 * (pred == reference[1]).mean():.1f}% "
                f"(load average {load0:.1f} -> {os.getloadavg()[0]:.1f})"
            )


def bench_saved_run(
    run: Path, backends: Sequence[str], jobs_list: Sequence[int], batch_size: int
) -> None:
    """Tagging speed of a saved run's model (e.g. the pinned Russia-US one) on every
    Russia-US article. The model has seen them, so only speed and agreement are reported."""
    from stance.data.loading import load_corpus
    from stance.data.table import ModelInput
    from stance.experiment import compose_config

    scratch = Path(tempfile.mkdtemp(prefix="stance-bench-run-"))
    os.environ["STANCE_CACHE_DIR"] = str(scratch / "cache")  # exported graphs start cold
    corpus = load_corpus(compose_config(["data=ru_us_rapprochement"]).data, default_data_dir())
    X = ModelInput.from_corpus(corpus.frame)
    source = scratch / "articles.parquet"
    ids = [str(i) for i in range(len(X))]
    pd.DataFrame({"id": ids, "text": X["text"], "title": X["title"]}).to_parquet(source)
    print(f"{run}: tag all {len(X)} Russia-US articles; {os.cpu_count()} cores")
    _time_backends(run, source, scratch, backends, jobs_list, batch_size)
    _held_out_f1(run, X, corpus.frame, backends)


def _held_out_f1(run: Path, X: pd.DataFrame, frame: pd.DataFrame, backends: Sequence[str]) -> None:
    """Macro-F1 of the saved model's configuration under each backend, out of fold.

    The saved model has seen every article, so its labels are no score; its
    configuration (a clone, refitted) in the corpus's grouped 5-fold CV is: each
    article is predicted by a model that never saw its outlet.
    """
    from sklearn.base import clone
    from sklearn.metrics import f1_score
    from sklearn.model_selection import GroupKFold, cross_val_predict

    from stance.inference import load
    from stance.models.onnx_backend import set_backend

    y = frame["label"].astype(str).to_numpy()
    groups = frame["group"].astype(str).to_numpy()
    reference = None
    for backend in backends:
        pipe = clone(load(run).pipeline)
        set_backend(pipe, backend)
        pred = cross_val_predict(pipe, X, y, groups=groups, cv=GroupKFold(n_splits=5))
        f1 = 100 * f1_score(y, pred, average="macro")
        reference = reference if reference is not None else (f1, pred)
        print(
            f"  {backend}: grouped 5-fold out-of-fold macro-F1 {f1:.2f} "
            f"({f1 - reference[0]:+.2f} vs {backends[0]}); labels agree with {backends[0]} "
            f"on {100 * (pred == reference[1]).mean():.1f}%",
            flush=True,
        )


def _cpu_seconds() -> float:
    """CPU-seconds used so far by this process and its finished children (tagging workers)."""
    import resource

    own = resource.getrusage(resource.RUSAGE_SELF)
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return own.ru_utime + own.ru_stime + children.ru_utime + children.ru_stime


def _torch_threads() -> int:
    import torch

    return torch.get_num_threads()


def _sentence_stages(X: pd.DataFrame, batch_size: int) -> None:
    """CPU-seconds per stage of the sentence-vector features on ``X`` (where the time goes)."""
    from stance.data.clean import TextCleaner
    from stance.features.embeddings import SentenceEmbedding, _load_model

    emb = SentenceEmbedding(pooling="sentences", max_sentences=40, cache_dir="")
    cpu0 = time.process_time()
    cleaned = TextCleaner().fit_transform(X)
    cpu1 = time.process_time()
    sentences = [s for doc in emb.document_sentences(cleaned) for s in doc]
    cpu2 = time.process_time()
    model = _load_model(emb.model_name, emb.device)
    cpu3 = time.process_time()
    lengths = [len(ids) for ids in model.tokenizer(sentences, truncation=True)["input_ids"]]
    cpu4 = time.process_time()
    n = len(X)
    print(
        f"sentence model stages on {n} articles ({len(sentences)} sentences, "
        f"{sum(lengths) / len(lengths):.1f} tokens each on average): clean {cpu1 - cpu0:.2f} "
        f"CPU-s, split {cpu2 - cpu1:.2f}, tokenize {cpu4 - cpu3:.2f}; forward pass:"
    )
    start = time.process_time()
    model.encode(sentences, batch_size=batch_size, normalize_embeddings=True)
    cpu = time.process_time() - start
    print(
        f"  torch encode: {cpu:.1f} CPU-s = {2 * n / cpu:.2f} articles/s on 2 cores; padded "
        f"tokens / real tokens: {_padding(lengths, batch_size):.2f} in article order, "
        f"{_padding(sorted(lengths), batch_size):.2f} sorted by length (what "
        "sentence-transformers and the onnx backends do)"
    )


def _padding(lengths: list[int], batch_size: int) -> float:
    """Tokens computed with right-padding per batch, over the real tokens."""
    padded = sum(
        max(lengths[i : i + batch_size]) * len(lengths[i : i + batch_size])
        for i in range(0, len(lengths), batch_size)
    )
    return padded / sum(lengths)


if __name__ == "__main__":
    main()

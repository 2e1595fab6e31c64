"""Which ONNX Runtime graph recipe encodes MiniLM fastest on CPU (issue 16's sentence-vector rate).

Exports all-MiniLM-L6-v2 (mean-pooled, as ``features=embed_sentences`` runs it) once,
then builds int8 graphs that differ only in the ``onnxruntime.transformers`` fusions
applied before quantisation:

- ``default``: every BERT fusion (one ``Attention`` op per layer, quantised to
  ``QAttention``, and ``SkipLayerNormalization``), the recipe before EXPORT_VERSION 3;
- ``no-attention``: attention left as MatMul / Softmax;
- ``no-skip-ln``: residual add and layer norm left apart;
- ``shipped``: neither fusion, what :mod:`stance.models.onnx_backend` now exports.

Each graph encodes the sentences of ``--articles`` held-out Russia–US articles (40
per article at most, as the pinned model pools them) and ``--windows`` 256-token
article heads (what ``model=transformer`` reads), at several calls sizes and one or
two threads. Reported: articles (or windows) per CPU-second x 2, the rate two idle
cores give, and the lowest cosine between a graph's sentence vectors and torch's.

    python experiments/bench_onnx_fusions.py --articles 60 --windows 200

Prints figures only; scratch files go to a temporary folder.
"""

from __future__ import annotations

import argparse
import logging
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

from stance.models import onnx_backend

RECIPES = {
    "default": {},
    "no-attention": {"enable_attention": False},
    "no-skip-ln": {"enable_skip_layer_norm": False},
    "shipped": dict(onnx_backend.SKIPPED_FUSIONS),
}


def build_graphs(model, folder: Path) -> dict[str, Path]:
    """One int8 graph per recipe, exported and quantised as stance.models.onnx_backend does."""
    encoder = model[0].auto_model
    names = ("input_ids", "attention_mask", "token_type_ids")
    out = {}
    for name, switches in RECIPES.items():
        fp32, out[name] = folder / f"{name}-fp32.onnx", folder / f"{name}-int8.onnx"
        onnx_backend._export(encoder, "mean_pooled", names, fp32, switches)
        onnx_backend._quantize(fp32, out[name])
    return out


def encode(path: Path, ids: list[list[int]], threads: int, rows: int) -> tuple[np.ndarray, float]:
    """Mean-pooled vectors of ``ids`` (sorted by length, ``rows`` per call) and the CPU-seconds."""
    import onnxruntime as ort

    options = ort.SessionOptions()
    options.log_severity_level = 3
    options.intra_op_num_threads = threads
    options.add_session_config_entry("session.intra_op.allow_spinning", "0")
    session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
    lengths = np.array([len(x) for x in ids])
    order = np.argsort(lengths, kind="stable")
    out = np.zeros((len(ids), 384), dtype=np.float32)
    cpu0 = time.process_time()
    for start in range(0, len(order), rows):
        idx = order[start : start + rows]
        width = lengths[idx].max()
        tokens = np.zeros((len(idx), width), dtype=np.int64)
        mask = np.zeros_like(tokens)
        for row, i in enumerate(idx):
            tokens[row, : lengths[i]] = ids[i]
            mask[row, : lengths[i]] = 1
        feeds = {"input_ids": tokens, "attention_mask": mask, "token_type_ids": 0 * tokens}
        out[idx] = session.run(None, feeds)[0]
    return out, time.process_time() - cpu0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--articles", type=int, default=60)
    parser.add_argument("--windows", type=int, default=200)
    args = parser.parse_args()
    warnings.simplefilter("ignore")
    logging.getLogger().setLevel(logging.ERROR)

    from stance.data.clean import TextCleaner
    from stance.data.loading import load_corpus
    from stance.data.table import ModelInput
    from stance.experiment import compose_config
    from stance.features.embeddings import SentenceEmbedding, _load_model
    from stance.paths import default_data_dir

    cfg = compose_config(["data=ru_us_rapprochement"])
    X = ModelInput.from_corpus(load_corpus(cfg.data, default_data_dir()).frame)
    held_out = X.iloc[100 : 100 + args.articles]  # bench_inference.py trains on the first 100
    emb = SentenceEmbedding(pooling="sentences", max_sentences=40, cache_dir="")
    sentences = [
        s for doc in emb.document_sentences(TextCleaner().fit_transform(held_out)) for s in doc
    ]
    model = _load_model(emb.model_name, "cpu")
    sentence_ids = model.tokenizer(sentences, truncation=True, max_length=model.max_seq_length)[
        "input_ids"
    ]
    windows = list(X["text"].iloc[100 : 100 + args.windows])
    window_ids = model.tokenizer(windows, truncation=True, max_length=256)["input_ids"]
    torch_vectors = model.encode(sentences, batch_size=64, normalize_embeddings=True)
    print(
        f"{len(held_out)} articles: {len(sentences)} sentences, "
        f"{np.mean([len(x) for x in sentence_ids]):.1f} tokens on average; "
        f"{len(windows)} windows of {np.mean([len(x) for x in window_ids]):.0f} tokens"
    )
    with tempfile.TemporaryDirectory(prefix="stance-fusions-") as scratch:
        graphs = build_graphs(model, Path(scratch))
        print(
            "| recipe | threads | sentences per call | articles/s (2 cores) | min cosine to torch |"
        )
        print("| --- | --- | --- | --- | --- |")
        for name, path in graphs.items():
            for threads, rows in [(1, 8), (1, 16), (1, 32), (1, 64), (2, 16), (2, 32), (2, 64)]:
                vectors, cpu = encode(path, sentence_ids, threads, rows)
                vectors /= np.linalg.norm(vectors, axis=1, keepdims=True)
                cosine = float((vectors * torch_vectors).sum(axis=1).min())
                rate = 2 * len(held_out) / cpu
                print(f"| {name} | {threads} | {rows} | {rate:.1f} | {cosine:.3f} |", flush=True)
        print("\n| recipe | threads | windows per call | 256-token windows/s (2 cores) |")
        print("| --- | --- | --- | --- |")
        for name, path in graphs.items():
            for threads in (1, 2):
                _, cpu = encode(path, window_ids, threads, 16)
                print(f"| {name} | {threads} | 16 | {2 * len(windows) / cpu:.1f} |", flush=True)


if __name__ == "__main__":
    main()

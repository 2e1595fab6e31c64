"""Why the fine-tuned encoders trail the frozen sentence vectors on Russia–US (issue 16).

``experiment=ru_us_setfit`` and ``ru_us_transformer`` read one 128- or 256-token input per
article: the target and the head of the sentences naming Russia or the US. The pinned model
averages MiniLM vectors over *every* such sentence. This script separates what the encoder
reads from what tuning adds, with no tuning at all: frozen all-MiniLM-L6-v2 + the pinned
model's classifier (class-balanced logistic regression, C=4), in the same grouped 5-fold
CV (``make_folds``, seed 42, as ``stance-run``), on

- ``head128`` / ``head256``: one vector of ``"target | relation windows"``, cut as SetFit
  cuts it (:func:`stance.models.encoder_inputs.select_pieces`);
- ``target_chunks``: the mean vector of up to 8 256-token pieces of those sentences
  (``model.strategy=target_chunks``; the script prints how many articles it still cuts);
- ``sentences``: the pinned model's reading, the mean of the windows' sentence vectors.

Figures: experiments/RESULTS.md, "Fine-tuned encoders on Russia–US: what they read".

    python experiments/ru_us_encoder_reading.py
"""

from __future__ import annotations

import time

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import f1_score

from stance.data.clean import TextCleaner
from stance.data.corpora.ru_us import RuUsRapprochement
from stance.data.splits import make_folds
from stance.data.table import ModelInput
from stance.features.actors import load_actor_lexicon
from stance.features.embeddings import SentenceEmbedding
from stance.models.encoder_inputs import select_pieces
from stance.models.encoder_source import resolve_encoder
from stance.models.transformer import _frame_columns
from stance.paths import default_data_dir

SEED = 42


def article_vectors(body, targets, texts, lexicon, max_length: int, strategy: str, chunks: int):
    """One unit vector per article: the mean of the ``"target | piece"`` vectors it reads."""
    body.max_seq_length = max_length
    cut = select_pieces(
        body.tokenizer,
        targets,
        texts,
        strategy,
        max_length,
        max_chunks=chunks,
        lexicon=lexicon,
        context=1,
    )
    pieces = [f"{t} | {p}" for t, p in zip(cut.targets, cut.pieces, strict=True)]
    vectors = body.encode(pieces, batch_size=32, normalize_embeddings=True, show_progress_bar=False)
    out = np.zeros((len(texts), vectors.shape[1]))
    np.add.at(out, cut.owner, vectors)
    return out / np.bincount(cut.owner, minlength=len(texts))[:, None], cut.n_truncated


def grouped_cv_macro_f1(X: np.ndarray, y: np.ndarray, folds) -> float:
    """Pooled out-of-fold macro-F1 of the pinned model's classifier (logreg, C=4)."""
    pred = np.empty(len(y), dtype=object)
    for fold in folds:
        model = LogisticRegression(C=4.0, class_weight="balanced", max_iter=3000)
        pred[fold.test] = model.fit(X[fold.train], y[fold.train]).predict(X[fold.test])
    return 100 * f1_score(y, pred.astype(str), average="macro")


def main() -> None:
    from sentence_transformers import SentenceTransformer

    corpus = RuUsRapprochement().load(default_data_dir())
    y = corpus.frame.label.to_numpy()
    folds = make_folds(corpus, {"name": "group_kfold", "n_splits": 5}, SEED)
    frame = TextCleaner(enabled=True).fit_transform(ModelInput.from_corpus(corpus.frame))
    targets, texts = _frame_columns(frame)
    body = SentenceTransformer(resolve_encoder("all-MiniLM-L6-v2", None, False).location)
    lexicon = load_actor_lexicon()
    readings = (
        ("head128 (what ru_us_setfit reads)", 128, "target_windows", 1),
        ("head256 (what ru_us_transformer reads)", 256, "target_windows", 1),
        ("target_chunks 256 x 8 (every window)", 256, "target_chunks", 8),
    )
    for name, length, strategy, chunks in readings:
        t0 = time.perf_counter()
        X, n_cut = article_vectors(body, targets, texts, lexicon, length, strategy, chunks)
        print(
            f"{name:40s} macro-F1 {grouped_cv_macro_f1(X, y, folds):.2f} "
            f"(cut short: {n_cut} of {len(y)}; {time.perf_counter() - t0:.0f} s)",
            flush=True,
        )
    t0 = time.perf_counter()
    pinned = SentenceEmbedding(
        model_name="all-MiniLM-L6-v2",
        fields=["title", "text"],
        pooling="sentences",
        max_sentences=40,
        window="relation",
        lexicon=lexicon,
        context=1,
    )
    X = np.asarray(pinned.fit_transform(frame))
    print(
        f"{'sentences (the pinned model reads)':40s} macro-F1 "
        f"{grouped_cv_macro_f1(X, y, folds):.2f} ({time.perf_counter() - t0:.0f} s)"
    )


if __name__ == "__main__":
    main()

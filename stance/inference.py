"""Apply a saved model: the helper researchers use from a notebook or the shell.

>>> import stance
>>> model = stance.load("runs/2026-11-27/12-00-00")            # doctest: +SKIP
>>> model.predict("Putin and Trump agreed to resume talks.")    # doctest: +SKIP
'favor'
>>> model.predict_proba(["...", "..."])                         # doctest: +SKIP
>>> model.explain("Putin and Trump agreed to resume talks.")    # doctest: +SKIP

The text cleaning lives inside the saved pipeline, so inference applies exactly
what training applied. The model card says which target the model was trained
on: a single-target model needs no ``target``; a multi-target one requires it.
"""

from __future__ import annotations

import json
import re
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from stance.data.sentences import split_sentences
from stance.data.table import ModelInput
from stance.errors import ModelFileError, StanceError
from stance.models.io import load_pipeline

__all__ = [
    "StanceModel",
    "load",
    "silence_library_progress",
    "MODEL_FILE",
    "CARD_FILE",
    "STATUS_OK",
]

MODEL_FILE = "model.skops"
CARD_FILE = "model_card.json"
STATUS_OK = "ok"
#: Lone surrogates are what undecodable bytes become under ``surrogateescape``.
_SURROGATES = re.compile("[\udc80-\udcff]")
_STATUS_MEANING = {
    "missing_text": "is missing (None or NaN)",
    "empty_text": "is empty or whitespace-only",
    "undecodable": "holds bytes that are not valid UTF-8",
    "empty_after_cleaning": "is empty once boilerplate is removed",
}


def load(
    path: str | Path,
    trusted: bool = False,
    backend: str | None = None,
    embedding_cache: bool = True,
) -> StanceModel:
    """Load a run directory (``model.skops`` + ``model_card.json``) or a model file.

    ``trusted=True`` allows types outside the allow-list and pickle files; see
    :func:`stance.models.io.load_pipeline`. ``backend`` (``"torch"``, ``"onnx"``,
    ``"onnx-int8"``) is set on every encoder step (sentence embeddings,
    model=transformer): ONNX Runtime is faster on CPU
    (:mod:`stance.models.onnx_backend`); ``None`` keeps the saved setting.
    ``embedding_cache=False`` stops sentence-embedding steps from caching each
    sentence's vector on disk (``stance tag`` sets it: an archive's sentences are
    encoded once, so the cache would only fill the disk).
    """
    path = Path(path)
    if path.is_dir():
        model_file = path / MODEL_FILE
        if not model_file.is_file():
            present = sorted(p.name for p in path.iterdir())[:20]
            raise ModelFileError(
                f"{path}: no {MODEL_FILE} in this directory (files present: {present}); "
                "pass a finished run directory or a model file"
            )
        if not (path / "run.json").exists() and (path / "config.yaml").exists():
            warnings.warn(f"{path}: no run.json - this run may not have finished", stacklevel=2)
    elif path.is_file():
        model_file = path
    else:
        raise ModelFileError(f"model not found: {path}")
    pipeline = load_pipeline(model_file, trusted=trusted)
    if backend is not None:
        from stance.models.onnx_backend import set_backend

        set_backend(pipeline, backend)
    if not embedding_cache:
        from stance.features.embeddings import disable_embedding_cache

        disable_embedding_cache(pipeline)
    card = _read_card(model_file.parent / CARD_FILE)
    return StanceModel(pipeline, card, source=model_file)


def silence_library_progress() -> None:
    """Turn off the progress bars of the libraries a model may call (for this process).

    ``stance predict`` / ``tag`` show one bar of their own; a model with sentence
    embeddings would otherwise print sentence-transformers' "Loading weights"
    and "Batches" bars, once per batch. Call after :func:`load` (which imports
    the model's modules); nothing heavy is imported here.
    """
    import os
    import sys

    os.environ["HF_HUB_DISABLE_PROGRESS_BARS"] = "1"  # read when transformers is imported
    if "transformers" in sys.modules:
        from transformers.utils import logging as transformers_logging

        transformers_logging.disable_progress_bar()
    embeddings = sys.modules.get("stance.features.embeddings")
    if embeddings is not None:
        embeddings.PROGRESS_FROM = sys.maxsize  # its own "Batches" bar for long inputs


def _read_card(path: Path) -> dict[str, Any]:
    if not path.is_file():
        return {}
    try:
        card = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelFileError(f"{path}: unreadable model card ({exc})") from exc
    if not isinstance(card, dict):
        raise ModelFileError(f"{path}: model card must be a JSON object")
    return card


class StanceModel:
    """A fitted pipeline plus its model card.

    Attributes
    ----------
    labels:
        Label set in the task's order (probability columns follow it).
    card:
        The model card: task, training data, metrics, versions, date, config.
    """

    def __init__(
        self, pipeline: Any, card: dict[str, Any] | None = None, source: Path | None = None
    ):
        if not hasattr(pipeline, "predict"):
            raise ModelFileError(
                f"{source}: the file holds a {type(pipeline).__name__}, not a model"
            )
        self.pipeline = pipeline
        self.card: dict[str, Any] = dict(card or {})
        self.source = source
        classes = [str(c) for c in getattr(pipeline, "classes_", [])]
        card_labels = [str(x) for x in self.card.get("labels") or []]
        if card_labels and set(classes) - set(card_labels):
            raise ModelFileError(
                f"{source}: model card labels {card_labels} do not cover the model's classes {classes}"
            )
        #: Task order when the card gives one; labels never seen in training get probability 0.
        self.labels: list[str] = card_labels or classes
        self._classes = classes
        steps = getattr(pipeline, "steps", None)
        # Steps are applied one by one (not via Pipeline slices, whose fitted
        # check rejects stateless steps such as the cleaner).
        if steps:
            self._clean = steps[0][1] if steps[0][0] == "clean" else None
            body = steps[1:] if self._clean is not None else steps
            self._transformers = [
                step for _, step in body[:-1] if step not in (None, "passthrough")
            ]
            self._clf = body[-1][1]
        else:
            self._clean, self._transformers, self._clf = None, [], pipeline

    # ------------------------------------------------------------------ targets
    @property
    def default_target(self) -> str | None:
        return self.card.get("default_target") or None

    @property
    def needs_target(self) -> bool:
        return bool(self.card.get("needs_target", False))

    def target_for(self, target: str | None) -> str:
        """The target to predict toward: the given one, the card's default, or an error.

        (Not :func:`stance.features.actors.resolve_target`, which turns a target
        into alias groups.)
        """
        if target is not None and str(target).strip():
            target = str(target)
            if self.default_target and target != self.default_target:
                warnings.warn(
                    f"this model was trained only on target {self.default_target!r}; "
                    f"predictions toward {target!r} are extrapolation",
                    stacklevel=3,
                )
            return target
        if self.default_target:
            return self.default_target
        if self.needs_target:
            known = (self.card.get("trained_on") or {}).get("targets")
            hint = f" (trained on: {', '.join(map(str, known))})" if known else ""
            raise StanceError(
                "this model was trained on several targets and needs one: pass "
                "target=... or targets=[one per text] (command line: --target, or "
                f"--target-column naming the input's per-row target column){hint}"
            )
        return ""

    # ------------------------------------------------------------------ batch core
    @property
    def has_proba(self) -> bool:
        return hasattr(self._clf, "predict_proba")

    def proba_columns(self) -> list[str]:
        return [f"proba_{label}" for label in self.labels]

    def predict_frame(self, frame: pd.DataFrame) -> pd.DataFrame:
        """Predict a model-input frame without raising on bad rows.

        Returns a frame (same index) with ``label``, ``proba_<label>``... and
        ``status``: ``ok``, ``missing_text``, ``empty_text``, ``undecodable`` or
        ``empty_after_cleaning``. Only ``ok`` rows get a label. Used by the
        batch commands so one bad row never stops a corpus.
        """
        n = len(frame)
        # Plain Python here: undecodable bytes arrive as lone surrogates, which
        # Arrow-backed pandas strings cannot even hold.
        texts: list[str] = []
        status = np.full(n, STATUS_OK, dtype=object)
        for i, text in enumerate(frame["text"].tolist()):
            if text is None or text is pd.NA or (isinstance(text, float) and text != text):
                status[i], text = "missing_text", ""
            elif not isinstance(text, str):
                text = (
                    text.decode("utf-8", "surrogateescape")
                    if isinstance(text, bytes)
                    else str(text)
                )
            if status[i] != STATUS_OK:
                pass
            elif not text.strip():
                status[i] = "empty_text"
            elif _SURROGATES.search(text):
                status[i] = "undecodable"
            texts.append(text)
        as_str = pd.Series(texts, dtype=object)

        labels = np.full(n, None, dtype=object)
        proba = np.full((n, len(self.labels)), np.nan)
        ok = np.flatnonzero(status == STATUS_OK)
        if len(ok):
            X = ModelInput.conform(frame.iloc[ok], text=as_str.iloc[ok].to_numpy())
            if self._clean is not None:
                X = self._clean.transform(X)
                emptied = (X["text"].astype(str).str.strip() == "").to_numpy()
                if emptied.any():
                    status[ok[emptied]] = "empty_after_cleaning"
                    X = X.loc[~emptied].reset_index(drop=True)
                    ok = ok[~emptied]
            if len(ok):
                row_labels, row_proba = self._predict_clean(X)
                labels[ok] = row_labels
                if row_proba is not None:
                    proba[ok] = row_proba
        out = pd.DataFrame(proba, columns=self.proba_columns(), index=frame.index)
        out.insert(0, "label", pd.Series(labels, index=frame.index, dtype=object))
        out["status"] = status
        return out

    def _predict_clean(self, X: pd.DataFrame) -> tuple[np.ndarray, np.ndarray | None]:
        """Labels and probabilities (in ``self.labels`` order) for cleaned input."""
        clf, Xt = self._clf, self._features(X)
        if getattr(clf, "predict_is_argmax_of_proba", False):
            # An encoder classifier's predict() runs the whole forward pass again: one pass.
            raw = clf.predict_proba(Xt)
            labels = np.asarray(clf.classes_[np.argmax(raw, axis=1)]).astype(str).astype(object)
        else:
            labels = np.asarray(clf.predict(Xt)).astype(str).astype(object)
            if not hasattr(clf, "predict_proba"):
                return labels, None
            raw = clf.predict_proba(Xt)
        proba = np.zeros((len(X), len(self.labels)))
        index = {label: i for i, label in enumerate(self.labels)}
        for j, cls in enumerate(self._classes):
            proba[:, index[cls]] = raw[:, j]
        return labels, proba

    def _features(self, X: Any) -> Any:
        for step in self._transformers:
            X = step.transform(X)
        return X

    def _scores(self, X: pd.DataFrame, label: str) -> np.ndarray:
        """Score of ``label`` for cleaned rows: probability, else decision value."""
        Xt = self._features(X)
        k = self._classes.index(label)
        if hasattr(self._clf, "predict_proba"):
            return self._clf.predict_proba(Xt)[:, k]
        if hasattr(self._clf, "decision_function"):
            dec = np.asarray(self._clf.decision_function(Xt))
            if dec.ndim == 1:
                return dec if k == 1 else -dec
            return dec[:, k]
        raise StanceError("this model exposes no scores to explain")

    def _targets(self, n: int, target: str | None, targets: Sequence[str] | None):
        """One target for every text, or ``targets`` (one per text; unseen ones are normal)."""
        if targets is None:
            return self.target_for(target)
        if target is not None:
            raise StanceError(
                "pass target= (one for every text) or targets= (one per text), not both"
            )
        if isinstance(targets, str | bytes):
            raise StanceError("targets must be a list with one target per text, got a string")
        targets = ["" if t is None else str(t) for t in targets]
        if len(targets) != n:
            raise StanceError(f"texts ({n}) and targets ({len(targets)}) differ in length")
        empty = [i for i, t in enumerate(targets) if not t.strip()]
        if empty and self.needs_target:
            raise StanceError(
                f"targets[{empty[0]}] is empty ({len(empty)} of {n}); this model was trained "
                "with per-row targets and needs one for every text"
            )
        return [t if t.strip() else (self.default_target or "") for t in targets]

    def _checked(
        self,
        texts: Sequence[str] | str,
        target: str | None,
        titles: Sequence[str] | None,
        targets: Sequence[str] | None = None,
    ) -> tuple[pd.DataFrame, bool]:
        single = isinstance(texts, str | bytes)
        if texts is None or (
            not single and not isinstance(texts, Sequence | pd.Series | np.ndarray)
        ):
            raise StanceError(
                f"texts must be a string or a list of strings, got {type(texts).__name__}"
            )
        raw = [texts] if single else list(texts)
        frame = ModelInput.from_lists(
            [""] * len(raw), titles=titles, target=self._targets(len(raw), target, targets)
        )
        frame["text"] = pd.Series(raw, dtype=object)
        result = self.predict_frame(frame)
        result.attrs["targets"] = frame["target"].tolist()
        bad = result["status"] != STATUS_OK
        if bad.any():
            first = int(np.flatnonzero(bad.to_numpy())[0])
            status = result["status"].iloc[first]
            raise StanceError(
                f"text {first} cannot be classified: {status} - it {_STATUS_MEANING.get(status, '')}"
                f"; expected non-empty UTF-8 text ({int(bad.sum())} of {len(result)} texts "
                "affected; StanceModel.predict_frame gives a status per row instead)"
            )
        return result, single

    # ------------------------------------------------------------------ public API
    def predict(
        self,
        texts: Sequence[str] | str,
        target: str | None = None,
        titles: Sequence[str] | None = None,
        targets: Sequence[str] | None = None,
    ) -> list[str] | str:
        """Labels for ``texts`` (a string in, a string out; a list in, a list out).

        ``target``: one target for every text; ``targets``: one per text (free-text
        claims; a claim never seen in training is normal and not warned about).
        """
        result, single = self._checked(texts, target, titles, targets)
        labels = result["label"].tolist()
        return labels[0] if single else labels

    def predict_proba(
        self,
        texts: Sequence[str] | str,
        target: str | None = None,
        titles: Sequence[str] | None = None,
        targets: Sequence[str] | None = None,
    ) -> pd.DataFrame:
        """Class probabilities: one row per text, one column per label (``targets`` as in
        :meth:`predict`); ``result.attrs["targets"]`` names the target of each row."""
        if not self.has_proba:
            raise StanceError(f"{type(self._clf).__name__} gives no probabilities; use predict()")
        result, _ = self._checked(texts, target, titles, targets)
        proba = result[self.proba_columns()]
        proba.columns = list(self.labels)
        proba = proba.reset_index(drop=True)
        proba.attrs["targets"] = result.attrs["targets"]
        return proba

    def explain(
        self, text: str, target: str | None = None, top_k: int = 10, title: str = ""
    ) -> pd.DataFrame:
        """The features that drove the predicted label for one text.

        Linear models over named features (n-grams, lexicon counts):
        ``contribution = weight × feature value`` toward the predicted label
        (positive pushes toward it). Otherwise (non-linear models, or unnamed
        dense features such as sentence vectors, whose dimensions mean nothing
        to a reader): occlusion, i.e. how much the predicted label's score
        drops when each sentence is removed. ``result.attrs`` holds ``label``,
        ``method`` and ``target`` (what the prediction was toward).
        """
        if not isinstance(text, str):
            raise StanceError("explain() takes one text (a string)")
        label = self.predict(text, target=target, titles=[title])
        X = ModelInput.from_lists([text], titles=[title], target=self.target_for(target))
        if self._clean is not None:
            X = self._clean.transform(X)
        clf = self._clf
        names = self._feature_names(clf)
        if names is not None:
            table = self._explain_linear(X, clf, label, names)
            method = "linear"
        else:
            table = self._explain_occlusion(X, label)
            method = "occlusion"
        table = table.reindex(table["contribution"].abs().sort_values(ascending=False).index)
        table = table.head(top_k).reset_index(drop=True)
        table.attrs.update(label=label, method=method, target=str(X["target"].iloc[0]))
        return table

    def _feature_names(self, clf: Any) -> np.ndarray | None:
        """Names of a linear model's input features, or None (not linear, or unnamed)."""
        if not hasattr(clf, "coef_") or not self._transformers:
            return None
        try:
            names = np.asarray(self._transformers[-1].get_feature_names_out(), dtype=object)
        except Exception:  # noqa: BLE001 - a block without names (sentence vectors)
            return None
        return names if len(names) == np.shape(clf.coef_)[1] else None

    def _explain_linear(
        self, X: pd.DataFrame, clf: Any, label: str, names: np.ndarray
    ) -> pd.DataFrame:
        row = self._features(X)
        row = row.tocsr() if hasattr(row, "tocsr") else np.asarray(row)
        coef = np.asarray(clf.coef_.toarray() if hasattr(clf.coef_, "toarray") else clf.coef_)
        k = self._classes.index(label)
        weights = (coef[0] if k == 1 else -coef[0]) if coef.shape[0] == 1 else coef[k]
        if hasattr(row, "indices"):
            cols, values = row.indices, row.data
        else:
            dense = np.ravel(row)
            cols = np.flatnonzero(dense)
            values = dense[cols]
        return pd.DataFrame(
            {
                "feature": names[cols],
                "value": values,
                "weight": weights[cols],
                "contribution": values * weights[cols],
            }
        )

    def _explain_occlusion(self, X: pd.DataFrame, label: str) -> pd.DataFrame:
        sentences = split_sentences(X["text"].iloc[0])[:200]
        variants = [X["text"].iloc[0]] + [
            " ".join(sentences[:i] + sentences[i + 1 :]) for i in range(len(sentences))
        ]
        # Every model-input column (title, target, source, date) as given; only the text varies.
        frame = X.iloc[[0] * len(variants)].reset_index(drop=True)
        frame["text"] = variants
        scores = self._scores(frame, label)
        return pd.DataFrame({"feature": sentences, "contribution": scores[0] - scores[1:]})

    def __repr__(self) -> str:
        task = (self.card.get("task") or {}).get("name", "?")
        return f"StanceModel(task={task!r}, labels={self.labels}, source={str(self.source)!r})"

"""Two-stage classification: "is the text about the target at all?", then its stance.

Claim corpora (FNC-1, fact-checking) mix two questions: relevance (most pairs are
unrelated) and stance among the related ones (agree / disagree / discuss). One
flat classifier spends its capacity on the easy, dominant first question; the
two-stage wrapper fits a binary gate on every row and a second classifier on the
rows that pass it only, so the rare stances are learnt among themselves.
"""

from __future__ import annotations

from numbers import Real

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import (
    check_consistent_length,
    check_is_fitted,
    column_or_1d,
    has_fit_parameter,
    validate_data,
)


class TwoStageClassifier(ClassifierMixin, BaseEstimator):
    """A gate (``gate_label`` vs the rest) followed by a classifier over the rest.

    ``predict_proba`` multiplies the two: ``P(gate_label) = g`` and
    ``P(c) = (1 - g) * P_second(c)`` for every other label ``c``; ``predict`` is its
    argmax, so the output is a proper distribution over all labels.

    Parameters
    ----------
    first : estimator, default=None
        Binary classifier for ``gate_label`` vs the rest (needs ``predict_proba``);
        ``None``: logistic regression.
    second : estimator, default=None
        Classifier over the other labels, fitted on their rows only; ``None``:
        logistic regression.
    gate_label : str or None, default=None
        The label the first stage separates out (the "not about the target" label
        of a claim corpus). It must occur in ``y``. ``None``: the most frequent
        training label (ties: the first in sorted order), which is the unrelated
        label of typical claim corpora, where most pairs are unrelated.

    Attributes
    ----------
    classes_ : ndarray
        All labels, sorted.
    gate_label_ : str
        The gate label used (``gate_label`` or the most frequent label).
    first_ : estimator
        Fitted gate; its positive class is ``True`` (row has ``gate_label``).
    second_ : estimator or None
        Fitted second stage; ``None`` when only one label remains besides the gate.
    rest_labels_ : ndarray
        The labels besides the gate label.
    n_features_in_ : int
        Columns of ``X`` seen in :meth:`fit`.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 0], [0.1, 0], [1, 1], [1, 0.9], [1, -1], [1, -0.9]])
    >>> y = np.array(["unrelated", "unrelated", "agree", "agree", "disagree", "disagree"])
    >>> TwoStageClassifier().fit(X, y).predict(X).tolist()
    ['unrelated', 'unrelated', 'agree', 'agree', 'disagree', 'disagree']
    """

    _parameter_constraints: dict = {
        "first": [HasMethods(["fit", "predict_proba"]), None],
        "second": [HasMethods(["fit", "predict_proba"]), None],
        # Any label type; whether it occurs in ``y`` is checked in fit.
        "gate_label": "no_validation",
    }

    def __init__(self, first=None, second=None, gate_label: str | None = None):
        self.first = first
        self.second = second
        self.gate_label = gate_label

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def fit(self, X, y, sample_weight=None) -> TwoStageClassifier:
        """Fit the gate on every row and the second stage on the non-gate rows."""
        self._validate_params()
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=None)
        self.classes_ = unique_labels(y)
        self.gate_label_ = _gate_label(y, self.gate_label, self.classes_)
        gate = y == self.gate_label_
        if gate.all():
            raise ValueError(
                "TwoStageClassifier needs samples of at least 2 classes; "
                f"got one class: {self.classes_.tolist()}"
            )
        weights = {} if sample_weight is None else {"sample_weight": np.asarray(sample_weight)}
        self.first_ = clone(self.first if self.first is not None else _logistic())
        self.first_.fit(X, gate, **weights)
        rest = np.flatnonzero(~gate)
        self.rest_labels_ = np.unique(y[rest])
        self.second_ = None
        if len(self.rest_labels_) > 1:  # one label besides the gate: nothing to learn
            self.second_ = clone(self.second if self.second is not None else _logistic())
            rest_weights = {k: v[rest] for k, v in weights.items()}
            self.second_.fit(X[rest], y[rest], **rest_weights)
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Gate probability times the second stage's distribution, columns in ``classes_``."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=None, reset=False)
        gate_col = list(self.first_.classes_).index(True)
        g = self.first_.predict_proba(X)[:, gate_col]
        if self.second_ is None:
            rest, rest_labels = np.ones((X.shape[0], 1)), self.rest_labels_
        else:
            rest, rest_labels = self.second_.predict_proba(X), self.second_.classes_
        out = np.zeros((X.shape[0], len(self.classes_)))
        index = {label: i for i, label in enumerate(self.classes_)}
        out[:, index[self.gate_label_]] = g
        for j, label in enumerate(rest_labels):
            out[:, index[label]] = (1.0 - g) * rest[:, j]
        return out

    def predict(self, X) -> np.ndarray:
        """The most probable label of :meth:`predict_proba`."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class RestBlendClassifier(ClassifierMixin, BaseEstimator):
    """A full classifier whose split among the non-gate labels is blended with a
    second classifier fitted on the non-gate rows only.

    Why: on claim corpora a feature model decides relevance (``gate_label``, e.g.
    unrelated) well and cheaply, while a cross-encoder fine-tuned on the related
    pairs reads how the text states the claim (asserts, disputes or reports it)
    better, but costs minutes per thousand pairs. The blend keeps the base's gate
    probability ``g`` and mixes the rest:
    ``P(c) = (1 - g) * (weight * P_second(c) + (1 - weight) * P_base(c) / (1 - g))``
    (``mix="linear"``), or with the weighted geometric mean of the two splits,
    renormalised (``mix="geometric"``: a class either model rules out stays unlikely).
    The second stage only reads rows whose ``1 - g`` reaches ``min_rest``; elsewhere
    the base's probabilities are kept as they are.

    Parameters
    ----------
    base : estimator, default=None
        Classifier over every label (needs ``predict_proba``); a pipeline may hold its
        own features. ``None``: logistic regression. A ``groups`` fit parameter (of it
        or of a pipeline's last step) receives the run's groups.
    second : estimator, default=None
        Classifier over the non-gate labels (e.g. ``model=transformer`` reading the
        model-input frame), fitted on their rows only. ``None``: logistic regression.
    gate_label : str or None
        The label ``base`` keeps to itself; ``None``: the most frequent training label.
    weight : float in [0, 1]
        Share of the second stage in the non-gate split (1: the second stage's alone).
    mix : {"linear", "geometric"}
        How the two splits are combined.
    min_rest : float in [0, 1]
        Rows whose non-gate probability under ``base`` is below this are not sent to
        the second stage (the gate is nearly sure; an encoder pass costs time).

    Attributes
    ----------
    classes_ : ndarray
        All labels, sorted (``base``'s order).
    gate_label_ : str
        The gate label used.
    base_, second_ : estimators
        The fitted stages.
    rest_labels_ : ndarray
        The labels besides the gate label.
    n_second_rows_ : int
        Training rows the second stage was fitted on.
    """

    #: predict() is classes_[argmax(predict_proba)]: stance tag runs the encoder once per batch.
    predict_is_argmax_of_proba = True

    _parameter_constraints: dict = {
        "base": [HasMethods(["fit", "predict_proba"]), None],
        "second": [HasMethods(["fit", "predict_proba"]), None],
        "gate_label": "no_validation",
        "weight": [Interval(Real, 0, 1, closed="both")],
        "mix": [StrOptions({"linear", "geometric"})],
        "min_rest": [Interval(Real, 0, 1, closed="both")],
    }

    def __init__(
        self, base=None, second=None, gate_label=None, weight=0.5, mix="linear", min_rest=0.05
    ):
        self.base = base
        self.second = second
        self.gate_label = gate_label
        self.weight = weight
        self.mix = mix
        self.min_rest = min_rest

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def fit(self, X, y, groups=None) -> RestBlendClassifier:
        """Fit ``base`` on every row and ``second`` on the non-gate rows."""
        self._validate_params()
        # X goes to the stages as given (a text frame for an encoder, or a matrix).
        X, y = validate_data(self, X, y, skip_check_array=True)
        X = _indexable(X)
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        check_classification_targets(y)
        self.classes_ = unique_labels(y)
        self.gate_label_ = _gate_label(y, self.gate_label, self.classes_)
        self.base_ = clone(self.base if self.base is not None else _logistic())
        self.base_.fit(X, y, **_groups_param(self.base_, groups))
        rest = np.flatnonzero(y != self.gate_label_)
        self.rest_labels_ = np.unique(y[rest])
        self.second_ = None
        self.n_second_rows_ = len(rest)
        if len(self.rest_labels_) > 1:  # one label besides the gate: nothing to split
            second = self.second if self.second is not None else _logistic()
            self.second_ = clone(second).fit(_rows(X, rest), y[rest])
        return self

    def predict_proba(self, X) -> np.ndarray:
        """The base's probabilities, with the non-gate split blended (columns: ``classes_``)."""
        check_is_fitted(self)
        X = validate_data(self, _indexable(X), reset=False, skip_check_array=True)
        base = self.base_.predict_proba(X)
        out = np.zeros((base.shape[0], len(self.classes_)))
        index = {label: i for i, label in enumerate(self.classes_)}
        for j, label in enumerate(self.base_.classes_):
            out[:, index[label]] = base[:, j]
        rest_cols = [index[label] for label in self.rest_labels_]
        mass = out[:, rest_cols].sum(axis=1)
        asked = np.flatnonzero(mass >= float(self.min_rest))
        if self.second_ is not None and len(asked) and float(self.weight) > 0:
            # second_ was fitted on the rest rows: its classes are rest_labels_, in order.
            second = self.second_.predict_proba(_rows(X, asked))
            own = out[np.ix_(asked, rest_cols)] / np.maximum(mass[asked, None], 1e-12)
            out[np.ix_(asked, rest_cols)] = mass[asked, None] * blend_split(
                second, own, float(self.weight), self.mix
            )
        return out

    def predict(self, X) -> np.ndarray:
        """The most probable label of :meth:`predict_proba`."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


def blend_split(second: np.ndarray, own: np.ndarray, weight: float, mix: str) -> np.ndarray:
    """Two splits of the non-gate mass (rows sum to 1) blended: ``weight`` x ``second`` +
    ``1 - weight`` x ``own`` (``mix="linear"``), or their weighted geometric mean,
    renormalised (``mix="geometric"``). Rows of the result sum to 1."""
    if mix == "linear":
        return weight * second + (1 - weight) * own
    tiny = np.finfo(np.float64).tiny
    log = weight * np.log(np.maximum(second, tiny)) + (1 - weight) * np.log(np.maximum(own, tiny))
    split = np.exp(log - log.max(axis=1, keepdims=True))
    return split / split.sum(axis=1, keepdims=True)


def _logistic() -> LogisticRegression:
    return LogisticRegression(max_iter=3000)


def _gate_label(y: np.ndarray, gate_label, classes: np.ndarray):
    if gate_label is None:
        values, counts = np.unique(y, return_counts=True)
        return values[np.argmax(counts)]
    if gate_label not in set(classes.tolist()):
        raise ValueError(
            f"gate_label {gate_label!r} does not occur in y; labels: {classes.tolist()} "
            "(set model.gate_label)"
        )
    return gate_label


def _groups_param(estimator, groups) -> dict:
    """``groups`` routed to ``estimator`` (or a pipeline's last step) when it takes them."""
    if groups is None:
        return {}
    if isinstance(estimator, Pipeline):
        name, last = estimator.steps[-1]
        return {f"{name}__groups": groups} if has_fit_parameter(last, "groups") else {}
    return {"groups": groups} if has_fit_parameter(estimator, "groups") else {}


def _indexable(X):
    """``X`` as given if rows can be taken from it (frame, CSR, array), else as an array."""
    if hasattr(X, "iloc"):
        return X
    if sp.issparse(X):
        return X.tocsr()
    X = np.asarray(X)
    if X.ndim != 2:
        raise ValueError(f"Expected a 2D input, got {X.ndim}D: Reshape your data")
    return X


def _rows(X, rows: np.ndarray):
    return X.iloc[rows] if hasattr(X, "iloc") else X[rows]

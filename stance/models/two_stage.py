"""Two-stage classification: "is the text about the target at all?", then its stance.

Claim corpora (FNC-1, fact-checking) mix two questions: relevance (most pairs are
unrelated) and stance among the related ones (agree / disagree / discuss). One
flat classifier spends its capacity on the easy, dominant first question; the
two-stage wrapper fits a binary gate on every row and a second classifier on the
rows that pass it only, so the rare stances are learnt among themselves.
"""

from __future__ import annotations

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import HasMethods
from sklearn.utils.multiclass import unique_labels
from sklearn.utils.validation import check_is_fitted, validate_data


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

    @staticmethod
    def _default():
        return LogisticRegression(max_iter=3000)

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def fit(self, X, y, sample_weight=None) -> TwoStageClassifier:
        """Fit the gate on every row and the second stage on the non-gate rows."""
        self._validate_params()
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=None)
        self.classes_ = unique_labels(y)
        if self.gate_label is None:
            values, counts = np.unique(y, return_counts=True)
            self.gate_label_ = values[np.argmax(counts)]
        else:
            self.gate_label_ = self.gate_label
        gate = y == self.gate_label_
        if not gate.any():
            raise ValueError(
                f"gate_label {self.gate_label!r} does not occur in y; labels: "
                f"{self.classes_.tolist()} (set model.gate_label)"
            )
        if gate.all():
            raise ValueError(
                "TwoStageClassifier needs samples of at least 2 classes; "
                f"got one class: {self.classes_.tolist()}"
            )
        weights = {} if sample_weight is None else {"sample_weight": np.asarray(sample_weight)}
        self.first_ = clone(self.first if self.first is not None else self._default())
        self.first_.fit(X, gate, **weights)
        rest = np.flatnonzero(~gate)
        self.rest_labels_ = np.unique(y[rest])
        self.second_ = None
        if len(self.rest_labels_) > 1:  # one label besides the gate: nothing to learn
            self.second_ = clone(self.second if self.second is not None else self._default())
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

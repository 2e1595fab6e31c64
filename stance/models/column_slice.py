"""Fit a classifier on a contiguous range of the feature columns only.

A feature union such as ``claim_pair`` stacks blocks in a fixed order (its dense
block first, then the n-gram blocks), while the sparse matrix a model receives
carries no column names. Wrapping a model in :class:`ColumnSlice` lets one
stage of a composite model (e.g. the second stage of
:class:`~stance.models.two_stage.TwoStageClassifier`) see one block, say the
dense columns for gradient boosting, while another stage sees them all.
"""

from __future__ import annotations

from numbers import Integral

import numpy as np
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.linear_model import LogisticRegression
from sklearn.utils._param_validation import HasMethods, Interval
from sklearn.utils.validation import check_is_fitted, validate_data


class ColumnSlice(ClassifierMixin, BaseEstimator):
    """``estimator`` fitted and applied on the columns ``start:stop`` of ``X``.

    Parameters
    ----------
    estimator : estimator, default=None
        The classifier to fit on the slice; ``None``: logistic regression.
    start : int, default=0
        First column of the slice.
    stop : int or None, default=None
        One past the last column (``None``: up to the last column). It must not
        exceed the number of columns seen in :meth:`fit`.

    Attributes
    ----------
    estimator_ : estimator
        The fitted classifier.
    classes_ : ndarray
        Its class labels.
    n_features_in_ : int
        Columns of ``X`` seen in :meth:`fit` (the whole matrix, not the slice).

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 9], [0.1, -9], [1, 9], [1.1, -9]])
    >>> ColumnSlice(stop=1).fit(X, ["a", "a", "b", "b"]).predict([[0.05, -9], [1, 9]]).tolist()
    ['a', 'b']
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict"]), None],
        "start": [Interval(Integral, 0, None, closed="left")],
        "stop": [Interval(Integral, 1, None, closed="left"), None],
    }

    def __init__(self, estimator=None, start: int = 0, stop: int | None = None):
        self.estimator = estimator
        self.start = start
        self.stop = stop

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags

    def _slice(self, X):
        return X[:, self.start : self.stop]

    def fit(self, X, y, sample_weight=None) -> ColumnSlice:
        """Fit ``estimator`` on the slice (``sample_weight`` passed on when given)."""
        self._validate_params()
        X, y = validate_data(self, X, y, accept_sparse="csr", dtype=None)
        stop = X.shape[1] if self.stop is None else self.stop
        if stop > X.shape[1] or self.start >= stop:
            raise ValueError(
                f"ColumnSlice start={self.start}, stop={self.stop} selects no valid columns "
                f"of a matrix with {X.shape[1]} columns (set model ... start/stop)"
            )
        weights = {} if sample_weight is None else {"sample_weight": np.asarray(sample_weight)}
        base = self.estimator if self.estimator is not None else LogisticRegression(max_iter=3000)
        self.estimator_ = clone(base).fit(self._slice(X), y, **weights)
        self.classes_ = self.estimator_.classes_
        return self

    def predict_proba(self, X) -> np.ndarray:
        """The wrapped classifier's probabilities on the slice, columns in ``classes_``."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=None, reset=False)
        return self.estimator_.predict_proba(self._slice(X))

    def predict(self, X) -> np.ndarray:
        """The wrapped classifier's labels on the slice."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse="csr", dtype=None, reset=False)
        return self.estimator_.predict(self._slice(X))

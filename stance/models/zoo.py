"""The model zoo: classifiers that sklearn lacks in the shape the config needs.

Plain sklearn estimators (``LogisticRegression``, ``ComplementNB``,
``SGDClassifier``, ``MLPClassifier``) are used directly from ``conf/model``;
this module adds wrappers whose parameters sit at the top level so
``stance-run model=svm model.C=0.5`` works, plus ensemble factories and a
per-class threshold tuner.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from numbers import Integral, Real
from typing import Any

import numpy as np
import scipy.sparse as sp
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.calibration import CalibratedClassifierCV
from sklearn.decomposition import TruncatedSVD
from sklearn.ensemble import HistGradientBoostingClassifier, StackingClassifier, VotingClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import StratifiedGroupKFold, StratifiedShuffleSplit
from sklearn.preprocessing import LabelEncoder
from sklearn.svm import LinearSVC
from sklearn.utils import _safe_indexing, get_tags
from sklearn.utils._param_validation import HasMethods, Interval, StrOptions
from sklearn.utils.multiclass import check_classification_targets, unique_labels
from sklearn.utils.validation import (
    _check_sample_weight,
    check_consistent_length,
    check_is_fitted,
    check_non_negative,
    column_or_1d,
    validate_data,
)

from stance.evaluation.metrics import get_metric
from stance.features._util import plain

_CLASS_WEIGHT_OPTIONS = {"balanced"}


def _validated_sample_weight(sample_weight, X) -> np.ndarray | None:
    """``sample_weight`` as a float array of ``X``'s length (``None`` stays ``None``).

    Negative or all-zero weights are refused: they leave nothing to fit.
    """
    if sample_weight is None:
        return None
    return _check_sample_weight(sample_weight, X, ensure_non_negative=True)


class CalibratedLinearSVC(ClassifierMixin, BaseEstimator):
    """Linear SVM with probabilities from cross-validated sigmoid calibration.

    When to use: high-dimensional sparse n-grams, where a linear SVM is often the
    most accurate linear model; calibration gives ``predict_proba`` for soft
    voting, PR curves and threshold tuning. ``predict`` is the argmax of the
    calibrated probabilities.

    Parameters
    ----------
    C : float, default=0.5
        Inverse regularisation strength of the SVM.
    class_weight : "balanced", dict or None, default="balanced"
        As in :class:`~sklearn.svm.LinearSVC`.
    loss : {"squared_hinge", "hinge"}, default="squared_hinge"
        SVM loss.
    method : {"sigmoid", "isotonic"}, default="sigmoid"
        Calibration method of :class:`~sklearn.calibration.CalibratedClassifierCV`.
    cv : int, default=3
        Calibration folds, capped at the rarest class's count; with a class of
        a single row the SVM is used uncalibrated (softmax of its margins).
    max_iter : int, default=5000
        Iterations of liblinear.
    random_state : int or None, default=None
        Seed of liblinear's coordinate descent.

    Attributes
    ----------
    model_ : CalibratedClassifierCV or LinearSVC
        The fitted calibrated ensemble (or the bare SVM, see ``cv``).
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during ``fit``.
    n_iter_ : int
        Most liblinear iterations any fitted SVM ran.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 1], [0, 2], [0, 3], [1, 0], [2, 0], [3, 0]])
    >>> clf = CalibratedLinearSVC(random_state=0).fit(X, ["a", "a", "a", "b", "b", "b"])
    >>> clf.predict([[0.0, 5], [5, 0]]).tolist()
    ['a', 'b']
    """

    _parameter_constraints: dict = {
        "C": [Interval(Real, 0, None, closed="neither")],
        "class_weight": [StrOptions(_CLASS_WEIGHT_OPTIONS), dict, None],
        "loss": [StrOptions({"squared_hinge", "hinge"})],
        "method": [StrOptions({"sigmoid", "isotonic"})],
        "cv": [Interval(Integral, 2, None, closed="left")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        C: float = 0.5,
        class_weight: str | dict | None = "balanced",
        loss: str = "squared_hinge",
        method: str = "sigmoid",
        cv: int = 3,
        max_iter: int = 5000,
        random_state: int | None = None,
    ):
        self.C = C
        self.class_weight = class_weight
        self.loss = loss
        self.method = method
        self.cv = cv
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None) -> CalibratedLinearSVC:
        """Fit the SVMs and their calibration; ``sample_weight`` weights both."""
        self._validate_params()
        X, y = validate_data(self, X, y, accept_sparse=True)
        check_classification_targets(y)
        sample_weight = _validated_sample_weight(sample_weight, X)
        svc = LinearSVC(
            C=self.C,
            class_weight=plain(self.class_weight),
            loss=self.loss,
            max_iter=self.max_iter,
            random_state=self.random_state,
        )
        counts = np.unique(np.asarray(y), return_counts=True)[1]
        cv = max(2, min(int(self.cv), int(counts.min()))) if counts.min() >= 2 else None
        self.model_ = CalibratedClassifierCV(svc, method=self.method, cv=cv) if cv else svc
        if sample_weight is None:
            self.model_.fit(X, y)
        else:
            self.model_.fit(X, y, sample_weight=sample_weight)
        self.classes_ = self.model_.classes_
        self.n_iter_ = int(max(np.max(svm.n_iter_) for svm in self._svms()))
        return self

    def _svms(self) -> list[LinearSVC]:
        """The fitted SVMs: one per calibration fold, or the single bare one."""
        if isinstance(self.model_, CalibratedClassifierCV):
            return [c.estimator for c in self.model_.calibrated_classifiers_]
        return [self.model_]

    def decision_function(self, X) -> np.ndarray:
        """Signed distances to the SVM hyperplanes, averaged over the calibration folds.

        Shape ``(n_samples,)`` for two classes (positive favours ``classes_[1]``),
        else ``(n_samples, n_classes)``. These are raw margins, not probabilities:
        use ``predict_proba`` for calibrated scores.
        """
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=True, reset=False)
        return np.mean([svm.decision_function(X) for svm in self._svms()], axis=0)

    def predict_proba(self, X) -> np.ndarray:
        """Calibrated class probabilities, columns in ``classes_`` order."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=True, reset=False)
        if hasattr(self.model_, "predict_proba"):
            return self.model_.predict_proba(X)
        scores = np.atleast_2d(self.model_.decision_function(X))
        if scores.shape[0] != X.shape[0]:
            scores = scores.T
        if scores.shape[1] == 1:
            scores = np.hstack([-scores, scores])
        e = np.exp(scores - scores.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        """The class of highest calibrated probability."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


class NBSVM(ClassifierMixin, BaseEstimator):
    """NB-SVM (Wang & Manning 2012): a linear model on features scaled by
    naive-Bayes log-count ratios, one-vs-rest, here with logistic loss.

    When to use: sentiment / stance from n-grams on small-to-medium corpora;
    often beats plain logistic regression on short texts. Expects non-negative
    features (counts, binary or TF-IDF).

    Parameters
    ----------
    C : float, default=4.0
        Inverse regularisation of the per-class logistic models.
    alpha : float, default=1.0
        Smoothing of the count ratios.
    binarize : bool, default=True
        Compute ratios on presence (x > 0) instead of weights.
    class_weight : "balanced", dict or None, default="balanced"
        Class weights of each one-vs-rest logistic model (over its 0/1 target).
    max_iter : int, default=3000
        Iterations of each logistic model.
    random_state : int or None, default=None
        Passed to :class:`~sklearn.linear_model.LogisticRegression`.

    Attributes
    ----------
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    ratios_ : ndarray of shape (n_classes, n_features)
        Log-count ratio of each feature, per class (one-vs-rest).
    coef_ : ndarray of shape (n_classes, n_features)
        Weights on the unscaled features (the logistic weights times ``ratios_``).
    intercept_ : ndarray of shape (n_classes,)
        Intercept of each one-vs-rest model.
    n_features_in_ : int
        Number of features seen during ``fit``.
    n_iter_ : int
        Most iterations any one-vs-rest model ran.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 1], [0, 2], [0, 3], [1, 0], [2, 0], [3, 0]])
    >>> NBSVM().fit(X, ["a", "a", "a", "b", "b", "b"]).predict([[0.0, 5], [5, 0]]).tolist()
    ['a', 'b']
    """

    _parameter_constraints: dict = {
        "C": [Interval(Real, 0, None, closed="neither")],
        "alpha": [Interval(Real, 0, None, closed="left")],
        "binarize": ["boolean"],
        "class_weight": [StrOptions(_CLASS_WEIGHT_OPTIONS), dict, None],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        C: float = 4.0,
        alpha: float = 1.0,
        binarize: bool = True,
        class_weight: str | dict | None = "balanced",
        max_iter: int = 3000,
        random_state: int | None = None,
    ):
        self.C = C
        self.alpha = alpha
        self.binarize = binarize
        self.class_weight = class_weight
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None) -> NBSVM:
        """Fit one logistic model per class; ``sample_weight`` weights the count
        ratios and the logistic losses."""
        self._validate_params()
        X, y = validate_data(self, X, y, accept_sparse=True)
        check_classification_targets(y)
        X = sp.csr_matrix(X, dtype=np.float64)
        check_non_negative(X, "NBSVM (it needs counts or TF-IDF)")
        sample_weight = _validated_sample_weight(sample_weight, X)
        self.classes_ = unique_labels(y)
        F = X.copy()
        if self.binarize:
            F.data = np.ones_like(F.data)
        if sample_weight is not None:
            F = sp.csr_matrix(sp.diags(sample_weight) @ F)
        ratios, coef, intercept, n_iter = [], [], [], []
        for c in self.classes_:
            pos = y == c
            p = self.alpha + np.asarray(F[pos].sum(axis=0)).ravel()
            q = self.alpha + np.asarray(F[~pos].sum(axis=0)).ravel()
            r = np.log((p / p.sum()) / (q / q.sum()))
            lr = LogisticRegression(
                C=self.C,
                class_weight=plain(self.class_weight),
                max_iter=self.max_iter,
                random_state=self.random_state,
            )
            if sample_weight is None:
                lr.fit(X @ sp.diags(r), pos.astype(int))
            else:
                lr.fit(X @ sp.diags(r), pos.astype(int), sample_weight=sample_weight)
            ratios.append(r)
            coef.append(lr.coef_.ravel() * r)
            intercept.append(float(lr.intercept_[0]))
            n_iter.append(int(np.max(lr.n_iter_)))
        self.coef_ = np.vstack(coef)
        self.intercept_ = np.asarray(intercept)
        self.ratios_ = np.vstack(ratios)
        self.n_iter_ = max(n_iter)
        return self

    def _scores(self, X) -> np.ndarray:
        """One-vs-rest logistic scores, shape ``(n_samples, n_classes)``."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=True, reset=False)
        scores = sp.csr_matrix(X, dtype=np.float64) @ self.coef_.T + self.intercept_
        return np.asarray(scores)

    def decision_function(self, X) -> np.ndarray:
        """One-vs-rest logistic scores, shape ``(n_samples, n_classes)``.

        With two classes, scikit-learn's convention: shape ``(n_samples,)``, the
        second class's score minus the first's (positive favours ``classes_[1]``).
        """
        scores = self._scores(X)
        return scores[:, 1] - scores[:, 0] if len(self.classes_) == 2 else scores

    def predict_proba(self, X) -> np.ndarray:
        """The one-vs-rest sigmoids, normalised to sum to one."""
        s = 1.0 / (1.0 + np.exp(-self._scores(X)))
        if len(self.classes_) == 2:
            s = np.column_stack([1 - s[:, 1], s[:, 1]])
        return s / s.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        """The class with the highest one-vs-rest score."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self._scores(X), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        tags.input_tags.positive_only = True
        return tags


class DenseHGB(ClassifierMixin, BaseEstimator):
    """HistGradientBoosting on a TruncatedSVD projection of sparse features.

    When to use: dense, low-dimensional inputs (lexicon + embeddings) or to add
    non-linear interactions to an ensemble; gradient boosting cannot take
    100k-dim sparse n-grams, so they are first projected to ``n_components``
    (set ``n_components=0`` when the features are already dense and small).

    Parameters
    ----------
    n_components : int, default=200
        Dimensions of the TruncatedSVD projection, capped at ``n_features - 1``;
        ``0`` (or a single feature) uses the features as they are.
    learning_rate, max_iter, max_leaf_nodes, l2_regularization, class_weight
        As in :class:`~sklearn.ensemble.HistGradientBoostingClassifier`.
    random_state : int or None, default=None
        Seed of the SVD and of the boosting.

    Attributes
    ----------
    svd_ : TruncatedSVD or None
        The fitted projection (``None`` when the features are used as is).
    model_ : HistGradientBoostingClassifier
        The fitted boosting model on the projection.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during ``fit``.
    n_iter_ : int
        Boosting iterations run.

    Examples
    --------
    >>> import numpy as np
    >>> X = np.array([[0.0, 1], [0, 2], [0, 3], [1, 0], [2, 0], [3, 0]] * 10)
    >>> clf = DenseHGB(n_components=0, random_state=0).fit(X, ["a", "a", "a", "b", "b", "b"] * 10)
    >>> clf.predict([[0.0, 3], [3, 0]]).tolist()
    ['a', 'b']
    """

    _parameter_constraints: dict = {
        "n_components": [Interval(Integral, 0, None, closed="left")],
        "learning_rate": [Interval(Real, 0, None, closed="neither")],
        "max_iter": [Interval(Integral, 1, None, closed="left")],
        "max_leaf_nodes": [Interval(Integral, 2, None, closed="left"), None],
        "l2_regularization": [Interval(Real, 0, None, closed="left")],
        "class_weight": [StrOptions(_CLASS_WEIGHT_OPTIONS), dict, None],
        "random_state": ["random_state"],
    }

    def __init__(
        self,
        n_components: int = 200,
        learning_rate: float = 0.1,
        max_iter: int = 200,
        max_leaf_nodes: int = 31,
        l2_regularization: float = 0.0,
        class_weight: str | dict | None = "balanced",
        random_state: int | None = None,
    ):
        self.n_components = n_components
        self.learning_rate = learning_rate
        self.max_iter = max_iter
        self.max_leaf_nodes = max_leaf_nodes
        self.l2_regularization = l2_regularization
        self.class_weight = class_weight
        self.random_state = random_state

    def _project(self, X, fit: bool, sample_weight=None):
        if self.svd_ is None:
            return X.toarray() if sp.issparse(X) else np.asarray(X)
        if not fit:
            return self.svd_.transform(X)
        if sample_weight is None:
            return self.svd_.fit_transform(X)
        # Rows scaled by sqrt(weight) give the SVD the Gram matrix of repeated rows.
        self.svd_.fit(sp.diags(np.sqrt(sample_weight)) @ X)
        return self.svd_.transform(X)

    def fit(self, X, y, sample_weight=None) -> DenseHGB:
        """Fit the projection and the boosting; ``sample_weight`` weights both."""
        self._validate_params()
        X, y = validate_data(self, X, y, accept_sparse=True)
        check_classification_targets(y)
        sample_weight = _validated_sample_weight(sample_weight, X)
        k = min(int(self.n_components), X.shape[1] - 1)
        self.svd_ = TruncatedSVD(k, random_state=self.random_state) if k > 0 else None
        Z = self._project(X, fit=True, sample_weight=sample_weight)
        self.model_ = HistGradientBoostingClassifier(
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes,
            l2_regularization=self.l2_regularization,
            class_weight=plain(self.class_weight),
            random_state=self.random_state,
        )
        self.model_.fit(Z, y, sample_weight=sample_weight)
        self.classes_ = self.model_.classes_
        self.n_iter_ = self.model_.n_iter_
        return self

    def predict_proba(self, X) -> np.ndarray:
        """Class probabilities of the boosting model, in ``classes_`` order."""
        check_is_fitted(self)
        X = validate_data(self, X, accept_sparse=True, reset=False)
        return self.model_.predict_proba(self._project(X, fit=False))

    def predict(self, X) -> np.ndarray:
        """The most probable class."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        tags.input_tags.sparse = True
        return tags


def make_voting(
    estimators: Mapping[str, Any],
    voting: str = "soft",
    weights: Sequence[float] | None = None,
    n_jobs: int | None = None,
) -> VotingClassifier:
    """Hydra factory: soft (probability-averaging) voting over named estimators.

    When to use: a cheap, robust gain when members make different errors (an
    SVM, NB-SVM and logistic regression over the same features).
    """
    items = [(str(k), v) for k, v in dict(estimators).items()]
    w = plain(weights)
    return VotingClassifier(items, voting=voting, weights=list(w) if w else None, n_jobs=n_jobs)


def make_stacking(
    estimators: Mapping[str, Any],
    final_estimator: Any = None,
    cv: int = 5,
    stack_method: str = "auto",
    passthrough: bool = False,
    n_jobs: int | None = None,
) -> StackingClassifier:
    """Hydra factory: stacking — a final model (default class-balanced logistic
    regression) trained on the members' out-of-fold probabilities.

    When to use: members with complementary strengths and enough data for the
    inner folds (hundreds of rows per class); otherwise prefer soft voting.
    """
    items = [(str(k), v) for k, v in dict(estimators).items()]
    final = (
        final_estimator
        if final_estimator is not None
        else LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000)
    )
    return StackingClassifier(
        items,
        final_estimator=final,
        cv=cv,
        stack_method=stack_method,
        passthrough=passthrough,
        n_jobs=n_jobs,
    )


def _score(y, pred, metric: str, labels: Sequence[str] | None) -> float:
    # The registry's metric, so tuning optimises what the run reports (metric_labels included).
    return get_metric(metric, labels).from_labels(y, pred)


class ClassOffsetTuner(ClassifierMixin, BaseEstimator):
    """Per-class threshold tuning on held-out data from the *training* set.

    Fits a clone of ``estimator`` on an inner stratified split, then searches
    additive offsets to each class's log-probability (coordinate ascent over
    ``grid``) that maximise ``metric`` on the held-out part; finally refits on
    all training rows and predicts ``argmax(log p + offset)``. The test set is
    never seen.

    With ``cv=k`` the held-out part is instead every training row, predicted out
    of fold by stratified k-fold CV, and the offsets are tuned on that pooled
    set. Prefer it when a class has only a dozen or so examples: a 25% hold-out
    then sees two or three of them, and the offsets chase noise.

    ``fit(X, y, groups=...)`` keeps each group (outlet, BASIL triplet) on one side
    of every inner split, as the outer CV does; otherwise near-copies of a
    held-out article sit in the inner training part, the held-out predictions
    are too easy, and the offsets are tuned for the wrong problem.
    ``stance-run`` passes the corpus's ``group`` column when every row has one.

    When to use: skewed labels where the argmax under-predicts a minority class
    (BASIL ``pos``, rapprochement ``favor``) or a metric that ignores a class
    (SemEval F_avg ignores ``none``).

    Parameters
    ----------
    estimator : classifier with ``predict_proba``, default=None
        The model to tune; ``None`` is class-balanced logistic regression (C=4).
    val_size : float in (0, 1), default=0.25
        Held-out fraction for tuning.
    metric : {"macro_f1", "f_avg"}, default="macro_f1"
        What the offsets maximise; ``f_avg`` is macro-F1 over ``metric_labels``.
    metric_labels : list of str or None, default=None
        The classes ``f_avg`` averages over.
    n_splits : int, default=2
        Repeat the split and average the objective (more stable offsets).
    grid : list of float or None, default=None
        Candidate offsets; ``None`` is 21 values from -2 to 2.
    refit : bool, default=True
        Refit on all training rows; ``False`` keeps the last tuning model
        (always refitted with ``cv``).
    random_state : int or None, default=None
        Seed of the inner splits.
    cv : int >= 2 or None, default=None
        If set, tune on pooled out-of-fold predictions of a stratified ``cv``-fold
        split instead (``val_size`` and ``n_splits`` are then unused; folds are
        capped at the rarest class's count, which must be at least 2).

    Attributes
    ----------
    estimator_ : classifier
        The fitted model whose log-probabilities are shifted.
    offsets_ : ndarray of shape (n_classes,)
        Tuned additive offset of each class's log-probability.
    val_score_ : float
        ``metric`` on the held-out rows with ``offsets_``.
    classes_ : ndarray of shape (n_classes,)
        Class labels.
    n_features_in_ : int
        Number of features seen during ``fit``.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> X = rng.normal(size=(60, 3)) + np.repeat(np.eye(3), 20, axis=0) * 2
    >>> y = np.repeat(["a", "b", "c"], 20)
    >>> tuner = ClassOffsetTuner(random_state=0).fit(X, y)
    >>> tuner.offsets_.shape
    (3,)
    """

    _parameter_constraints: dict = {
        "estimator": [HasMethods(["fit", "predict_proba"]), None],
        "val_size": [Interval(Real, 0, 1, closed="neither")],
        "metric": [StrOptions({"macro_f1", "f_avg"})],
        "metric_labels": ["array-like", None],
        "n_splits": [Interval(Integral, 1, None, closed="left")],
        "grid": ["array-like", None],
        "refit": ["boolean"],
        "random_state": ["random_state"],
        "cv": [Interval(Integral, 2, None, closed="left"), None],
    }

    def __init__(
        self,
        estimator: Any = None,
        val_size: float = 0.25,
        metric: str = "macro_f1",
        metric_labels: Sequence[str] | None = None,
        n_splits: int = 2,
        grid: Sequence[float] | None = None,
        refit: bool = True,
        random_state: int | None = None,
        cv: int | None = None,
    ):
        self.estimator = estimator
        self.val_size = val_size
        self.metric = metric
        self.metric_labels = metric_labels
        self.n_splits = n_splits
        self.grid = grid
        self.refit = refit
        self.random_state = random_state
        self.cv = cv

    def _base(self):
        return (
            self.estimator
            if self.estimator is not None
            else LogisticRegression(C=4.0, class_weight="balanced", max_iter=3000)
        )

    def fit(self, X, y, groups=None) -> ClassOffsetTuner:
        """Tune the offsets on held-out training rows, then fit ``estimator_``.

        ``groups`` keeps each group on one side of every inner split.
        """
        self._validate_params()
        # X goes to the wrapped estimator as given (it may be a frame or sparse);
        # only its width is recorded here.
        X, y = validate_data(self, X, y, skip_check_array=True)
        if sp.issparse(X):
            X = X.tocsr()  # row-indexable; a CSR matrix is passed through as is
        elif not hasattr(X, "shape"):
            X = np.asarray(X)
        y = column_or_1d(y, warn=True)
        check_consistent_length(X, y)
        check_classification_targets(y)
        groups = None if groups is None else np.asarray(groups)
        metric_labels = plain(self.metric_labels)
        self.classes_ = unique_labels(y)
        grid = np.asarray(plain(self.grid) if self.grid is not None else np.linspace(-2, 2, 21))
        held, model = (
            self._pooled_out_of_fold(X, y, groups)
            if self.cv is not None
            else self._held_out(X, y, groups)
        )
        offsets = np.zeros(len(self.classes_))

        def objective(off: np.ndarray) -> float:
            return float(
                np.mean(
                    [
                        _score(
                            yy,
                            self.classes_[np.argmax(lp + off, axis=1)],
                            self.metric,
                            metric_labels,
                        )
                        for lp, yy in held
                    ]
                )
            )

        best = objective(offsets)
        for _ in range(3):
            improved = False
            for c in range(len(self.classes_)):
                for g in grid:
                    trial = offsets.copy()
                    trial[c] = g
                    val = objective(trial)
                    if val > best + 1e-9:
                        best, offsets, improved = val, trial, True
            if not improved:
                break
        self.offsets_ = offsets
        self.val_score_ = best
        refit = self.refit or self.cv is not None
        self.estimator_ = clone(self._base()).fit(X, y) if refit else model
        return self

    def _held_out(self, X, y, groups) -> tuple[list[tuple[np.ndarray, np.ndarray]], Any]:
        """Log-probabilities on ``n_splits`` random stratified hold-outs.

        With groups, each hold-out is one fold of a stratified group k-fold with
        k = round(1 / val_size), so no group is on both sides.
        """
        if groups is None:
            splits = StratifiedShuffleSplit(
                n_splits=int(self.n_splits), test_size=self.val_size, random_state=self.random_state
            ).split(np.zeros(len(y)), y)
        else:
            k = self._group_folds(max(2, round(1 / float(self.val_size))), groups)
            folds = StratifiedGroupKFold(
                n_splits=k, shuffle=True, random_state=self.random_state
            ).split(np.zeros(len(y)), y, groups)
            splits = itertools.islice(folds, int(self.n_splits))
        held: list[tuple[np.ndarray, np.ndarray]] = []
        for tr, va in splits:
            log_proba, model = self._fit_and_score(X, y, tr, va)
            held.append((log_proba, y[va]))
        return held, model

    def _pooled_out_of_fold(self, X, y, groups) -> tuple[list[tuple[np.ndarray, np.ndarray]], Any]:
        """Log-probabilities for every training row, each from a model that never saw it."""
        labels, counts = np.unique(y, return_counts=True)
        rarest = int(counts.min())
        if rarest < 2:
            raise ValueError(
                f"cv tuning needs at least 2 training rows per class; class "
                f"{labels[counts.argmin()]!r} has {rarest}"
            )
        if groups is not None:
            self._group_folds(int(self.cv), groups)  # the clear error for a single group
        # The same folds nested selection uses: stratified, grouped when groups are given,
        # capped at the rarest class's count or the number of groups.
        from stance.selection import inner_folds

        log_proba = np.empty((len(y), len(self.classes_)))
        for tr, va in inner_folds(np.arange(len(y)), y, groups, int(self.cv), self.random_state):
            log_proba[va], model = self._fit_and_score(X, y, tr, va)
        return [(log_proba, y)], model

    def _fit_and_score(self, X, y, train, held) -> tuple[np.ndarray, Any]:
        """Log-probabilities of rows ``held`` from a clone fitted on rows ``train``."""
        model = clone(self._base()).fit(_safe_indexing(X, train), y[train])
        proba = self._align(model, model.predict_proba(_safe_indexing(X, held)))
        return np.log(np.clip(proba, 1e-12, 1)), model

    @staticmethod
    def _group_folds(wanted: int, groups: np.ndarray) -> int:
        n_groups = len(np.unique(groups))
        if n_groups < 2:
            raise ValueError(
                f"tuning with groups needs at least 2 distinct groups in the training rows, "
                f"got {n_groups}"
            )
        return min(wanted, n_groups)

    def _align(self, model, proba: np.ndarray) -> np.ndarray:
        out = np.full((proba.shape[0], len(self.classes_)), 1e-12)
        enc = LabelEncoder().fit(self.classes_)
        out[:, enc.transform(model.classes_)] = proba
        return out

    def predict_proba(self, X) -> np.ndarray:
        """The estimator's probabilities shifted by ``offsets_`` in log space, renormalised."""
        check_is_fitted(self)  # estimator_ validates X itself
        lp = (
            np.log(
                np.clip(self._align(self.estimator_, self.estimator_.predict_proba(X)), 1e-12, 1)
            )
            + self.offsets_
        )
        e = np.exp(lp - lp.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X) -> np.ndarray:
        """The class of highest shifted probability."""
        check_is_fitted(self)
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

    def __sklearn_tags__(self):
        tags = super().__sklearn_tags__()
        base = get_tags(self._base())
        tags.input_tags.sparse = base.input_tags.sparse
        tags.input_tags.allow_nan = base.input_tags.allow_nan
        return tags

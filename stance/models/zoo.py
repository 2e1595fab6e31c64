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
from sklearn.utils.multiclass import unique_labels

from stance.evaluation.metrics import get_metric
from stance.features._util import plain


class CalibratedLinearSVC(ClassifierMixin, BaseEstimator):
    """Linear SVM with probabilities from cross-validated sigmoid calibration.

    When to use: high-dimensional sparse n-grams, where a linear SVM is often the
    most accurate linear model; calibration gives ``predict_proba`` for soft
    voting, PR curves and threshold tuning.
    """

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
        self.class_weight = plain(class_weight)
        self.loss = loss
        self.method = method
        self.cv = cv
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None) -> CalibratedLinearSVC:
        svc = LinearSVC(
            C=self.C,
            class_weight=self.class_weight,
            loss=self.loss,
            max_iter=self.max_iter,
            random_state=self.random_state,
        )
        counts = np.unique(np.asarray(y), return_counts=True)[1]
        cv = max(2, min(int(self.cv), int(counts.min()))) if counts.min() >= 2 else None
        self.model_ = CalibratedClassifierCV(svc, method=self.method, cv=cv) if cv else svc
        self.model_.fit(X, y)
        self.classes_ = self.model_.classes_
        return self

    def decision_function(self, X):
        return np.log(np.clip(self.predict_proba(X), 1e-12, 1.0))

    def predict_proba(self, X):
        if hasattr(self.model_, "predict_proba"):
            return self.model_.predict_proba(X)
        scores = np.atleast_2d(self.model_.decision_function(X))
        if scores.shape[0] != X.shape[0]:
            scores = scores.T
        if scores.shape[1] == 1:
            scores = np.hstack([-scores, scores])
        e = np.exp(scores - scores.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


class NBSVM(ClassifierMixin, BaseEstimator):
    """NB-SVM (Wang & Manning 2012): a linear model on features scaled by
    naive-Bayes log-count ratios, one-vs-rest, here with logistic loss.

    When to use: sentiment / stance from n-grams on small-to-medium corpora;
    often beats plain logistic regression on short texts. Expects non-negative
    features (counts, binary or TF-IDF).

    Parameters
    ----------
    C: inverse regularisation of the per-class logistic models.
    alpha: smoothing of the count ratios.
    binarize: compute ratios on presence (x > 0) instead of weights.
    """

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
        self.class_weight = plain(class_weight)
        self.max_iter = max_iter
        self.random_state = random_state

    def fit(self, X, y, sample_weight=None) -> NBSVM:
        X = sp.csr_matrix(X, dtype=np.float64)
        if X.nnz and X.data.min() < 0:
            raise ValueError("NBSVM needs non-negative features (counts or TF-IDF)")
        y = np.asarray(y)
        self.classes_ = unique_labels(y)
        F = X.copy()
        if self.binarize:
            F.data = np.ones_like(F.data)
        self.ratios_, self.coef_, self.intercept_ = [], [], []
        for c in self.classes_:
            pos = y == c
            p = self.alpha + np.asarray(F[pos].sum(axis=0)).ravel()
            q = self.alpha + np.asarray(F[~pos].sum(axis=0)).ravel()
            r = np.log((p / p.sum()) / (q / q.sum()))
            lr = LogisticRegression(
                C=self.C,
                class_weight=self.class_weight,
                max_iter=self.max_iter,
                random_state=self.random_state,
            )
            lr.fit(X @ sp.diags(r), pos.astype(int))
            self.ratios_.append(r)
            self.coef_.append(lr.coef_.ravel() * r)
            self.intercept_.append(float(lr.intercept_[0]))
        self.coef_ = np.vstack(self.coef_)
        self.intercept_ = np.asarray(self.intercept_)
        self.ratios_ = np.vstack(self.ratios_)
        return self

    def decision_function(self, X):
        scores = sp.csr_matrix(X, dtype=np.float64) @ self.coef_.T + self.intercept_
        return np.asarray(scores)

    def predict_proba(self, X):
        s = 1.0 / (1.0 + np.exp(-self.decision_function(X)))
        if len(self.classes_) == 2:
            s = np.column_stack([1 - s[:, 1], s[:, 1]])
        return s / s.sum(axis=1, keepdims=True)

    def predict(self, X):
        return self.classes_[np.argmax(self.decision_function(X), axis=1)]


class DenseHGB(ClassifierMixin, BaseEstimator):
    """HistGradientBoosting on a TruncatedSVD projection of sparse features.

    When to use: dense, low-dimensional inputs (lexicon + embeddings) or to add
    non-linear interactions to an ensemble; gradient boosting cannot take
    100k-dim sparse n-grams, so they are first projected to ``n_components``
    (set ``n_components=0`` when the features are already dense and small).
    """

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
        self.class_weight = plain(class_weight)
        self.random_state = random_state

    def _project(self, X, fit: bool):
        if self.svd_ is None:
            return X.toarray() if sp.issparse(X) else np.asarray(X)
        return self.svd_.fit_transform(X) if fit else self.svd_.transform(X)

    def fit(self, X, y, sample_weight=None) -> DenseHGB:
        k = min(int(self.n_components), X.shape[1] - 1)
        self.svd_ = TruncatedSVD(k, random_state=self.random_state) if k > 0 else None
        Z = self._project(X, fit=True)
        self.model_ = HistGradientBoostingClassifier(
            learning_rate=self.learning_rate,
            max_iter=self.max_iter,
            max_leaf_nodes=self.max_leaf_nodes,
            l2_regularization=self.l2_regularization,
            class_weight=self.class_weight,
            random_state=self.random_state,
        )
        self.model_.fit(Z, y)
        self.classes_ = self.model_.classes_
        return self

    def predict_proba(self, X):
        return self.model_.predict_proba(self._project(X, fit=False))

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]


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
    estimator: a classifier with ``predict_proba``.
    val_size: held-out fraction for tuning.
    metric: ``macro_f1`` or ``f_avg``; ``metric_labels`` for the latter.
    n_splits: repeat the split and average the objective (more stable offsets).
    cv: if set, tune on pooled out-of-fold predictions of a stratified ``cv``-fold
        split instead (``val_size`` and ``n_splits`` are then unused; folds are
        capped at the rarest class's count, which must be at least 2).
    """

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
        self.metric_labels = plain(metric_labels)
        self.n_splits = n_splits
        self.grid = plain(grid)
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
        y = np.asarray(y)
        groups = None if groups is None else np.asarray(groups)
        if self.metric not in {"macro_f1", "f_avg"}:
            raise ValueError(f"metric must be macro_f1 or f_avg, got {self.metric!r}")
        self.classes_ = unique_labels(y)
        grid = np.asarray(self.grid if self.grid is not None else np.linspace(-2, 2, 21))
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
                            self.metric_labels,
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
        if int(self.cv) < 2:
            raise ValueError(f"cv must be at least 2, got {self.cv!r}")
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
        model = clone(self._base()).fit(X[train], y[train])
        proba = self._align(model, model.predict_proba(X[held]))
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

    def predict_proba(self, X):
        lp = (
            np.log(
                np.clip(self._align(self.estimator_, self.estimator_.predict_proba(X)), 1e-12, 1)
            )
            + self.offsets_
        )
        e = np.exp(lp - lp.max(axis=1, keepdims=True))
        return e / e.sum(axis=1, keepdims=True)

    def predict(self, X):
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]

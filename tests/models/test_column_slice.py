"""ColumnSlice: the scikit-learn contract, that only the slice is seen, and its use as a stage."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.sparse as sp
from sklearn.linear_model import LogisticRegression
from sklearn.tree import DecisionTreeClassifier

from stance.models.column_slice import ColumnSlice
from stance.models.two_stage import TwoStageClassifier


def _data(seed: int = 0):
    """Column 0 separates the labels; columns 1.. are noise that a tree would overfit."""
    rng = np.random.default_rng(seed)
    y = np.array(["a", "b"] * 40)
    X = rng.normal(size=(80, 5))
    X[:, 0] += np.where(y == "a", -2.0, 2.0)
    return X, y


def test_the_wrapped_model_sees_only_the_slice_and_matches_a_direct_fit():
    X, y = _data()
    model = ColumnSlice(DecisionTreeClassifier(random_state=0), start=1, stop=3).fit(X, y)
    assert model.estimator_.n_features_in_ == 2
    assert model.n_features_in_ == 5
    direct = DecisionTreeClassifier(random_state=0).fit(X[:, 1:3], y)
    X_new, _ = _data(seed=1)
    np.testing.assert_array_equal(model.predict(X_new), direct.predict(X_new[:, 1:3]))
    np.testing.assert_allclose(model.predict_proba(X_new), direct.predict_proba(X_new[:, 1:3]))


def test_slice_with_the_signal_beats_slice_without_it():
    X, y = _data()
    X_new, y_new = _data(seed=1)
    with_signal = ColumnSlice(LogisticRegression(), stop=1).fit(X, y).score(X_new, y_new)
    without = ColumnSlice(LogisticRegression(), start=1).fit(X, y).score(X_new, y_new)
    assert with_signal > 0.9 > without


def test_sparse_input_and_sample_weight_are_passed_on():
    X, y = _data()
    weight = np.where(y == "a", 5.0, 1.0)
    model = ColumnSlice(LogisticRegression(), stop=2).fit(sp.csr_matrix(X), y, sample_weight=weight)
    direct = LogisticRegression().fit(X[:, :2], y, sample_weight=weight)
    np.testing.assert_allclose(
        model.predict_proba(sp.csr_matrix(X)), direct.predict_proba(X[:, :2])
    )


@pytest.mark.parametrize(("start", "stop"), [(0, 6), (3, 3), (5, None)])
def test_a_slice_outside_the_matrix_is_refused(start, stop):
    X, y = _data()
    with pytest.raises(ValueError, match="selects no valid columns of a matrix with 5 columns"):
        ColumnSlice(start=start, stop=stop).fit(X, y)


def test_two_stage_with_a_sliced_second_stage():
    """The gate sees every column, the second stage only the slice."""
    rng = np.random.default_rng(0)
    y = np.array(["unrelated"] * 60 + ["agree"] * 20 + ["disagree"] * 20)
    X = rng.normal(size=(100, 4))
    X[:, 3] += np.where(y == "unrelated", -3.0, 3.0)  # relatedness: last column
    X[:, 0] += np.select([y == "agree", y == "disagree"], [2.0, -2.0], 0.0)  # stance: first
    model = TwoStageClassifier(second=ColumnSlice(LogisticRegression(), stop=1)).fit(X, y)
    assert model.first_.n_features_in_ == 4
    assert model.second_.estimator_.n_features_in_ == 1
    assert (model.predict(X) == y).mean() > 0.9

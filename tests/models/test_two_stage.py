"""TwoStageClassifier: the scikit-learn contract, the gate/second-stage split, probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.utils.estimator_checks import parametrize_with_checks

from stance.models.two_stage import TwoStageClassifier

# Equal weights vs repeated rows agree only to lbfgs's tolerance, not the check's 1e-7.
_TOLERANCE = "lbfgs converges to the optimum only to its tolerance"


@parametrize_with_checks(
    [TwoStageClassifier()],
    expected_failed_checks=lambda est: {
        "check_sample_weight_equivalence_on_dense_data": _TOLERANCE,
        "check_sample_weight_equivalence_on_sparse_data": _TOLERANCE,
    },
)
def test_sklearn_contract(estimator, check):
    check(estimator)


def _data(seed: int = 0):
    rng = np.random.default_rng(seed)
    centres = {"unrelated": (0, 0), "agree": (3, 3), "disagree": (3, -3), "discuss": (3, 0)}
    sizes = {"unrelated": 60, "agree": 15, "disagree": 8, "discuss": 20}
    X = np.vstack([rng.normal(centres[k], 0.5, (n, 2)) for k, n in sizes.items()])
    y = np.concatenate([[k] * n for k, n in sizes.items()])
    return X, y


def test_gate_defaults_to_majority_and_second_stage_sees_only_the_rest():
    X, y = _data()
    model = TwoStageClassifier().fit(X, y)
    assert model.gate_label_ == "unrelated"
    assert set(model.second_.classes_) == {"agree", "disagree", "discuss"}
    assert (model.predict(X) == y).mean() > 0.95


def test_probabilities_are_gate_times_second_stage():
    X, y = _data()
    model = TwoStageClassifier().fit(X, y)
    proba = model.predict_proba(X)
    assert np.allclose(proba.sum(axis=1), 1.0)
    g = model.first_.predict_proba(X)[:, list(model.first_.classes_).index(True)]
    col = list(model.classes_).index("unrelated")
    assert np.allclose(proba[:, col], g)
    rest = model.second_.predict_proba(X)
    agree = list(model.classes_).index("agree")
    assert np.allclose(
        proba[:, agree], (1 - g) * rest[:, list(model.second_.classes_).index("agree")]
    )


def test_explicit_gate_label_and_its_errors():
    X, y = _data()
    model = TwoStageClassifier(gate_label="discuss", second=LogisticRegression()).fit(X, y)
    assert set(model.second_.classes_) == {"agree", "disagree", "unrelated"}
    with pytest.raises(ValueError, match="gate_label 'nope' does not occur"):
        TwoStageClassifier(gate_label="nope").fit(X, y)
    keep = np.isin(y, ["unrelated", "agree"])
    binary = TwoStageClassifier().fit(X[keep], y[keep])
    assert binary.second_ is None and (binary.predict(X[keep]) == y[keep]).mean() > 0.95
    with pytest.raises(ValueError, match="at least 2 classes"):
        TwoStageClassifier().fit(X[y == "agree"], y[y == "agree"])

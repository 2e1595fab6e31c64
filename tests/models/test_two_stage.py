"""TwoStageClassifier: the scikit-learn contract, the gate/second-stage split, probabilities."""

from __future__ import annotations

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.utils.estimator_checks import parametrize_with_checks

from stance.models.two_stage import RestBlendClassifier, TwoStageClassifier

# Equal weights vs repeated rows agree only to lbfgs's tolerance, not the check's 1e-7.
_TOLERANCE = "lbfgs converges to the optimum only to its tolerance"


@parametrize_with_checks(
    [
        TwoStageClassifier(),
        RestBlendClassifier(base=LogisticRegression(), second=LogisticRegression()),
    ],
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


class _Recording(LogisticRegression):
    """Logistic regression that records how many rows each predict_proba call saw."""

    def predict_proba(self, X):
        type(self).seen.append(len(X))
        return super().predict_proba(X)


def _blend(**params) -> RestBlendClassifier:
    return RestBlendClassifier(
        base=LogisticRegression(max_iter=3000), second=LogisticRegression(max_iter=3000), **params
    )


@pytest.mark.parametrize("weight", [0.0, 0.4, 1.0])
def test_blend_keeps_the_base_gate_and_mixes_the_rest(weight):
    X, y = _data()
    model = _blend(weight=weight, min_rest=0.0).fit(X, y)
    assert model.gate_label_ == "unrelated"
    assert set(model.second_.classes_) == {"agree", "disagree", "discuss"}
    proba, base = model.predict_proba(X), model.base_.predict_proba(X)
    assert np.allclose(proba.sum(axis=1), 1.0)
    gate = list(model.classes_).index("unrelated")
    assert np.allclose(proba[:, gate], base[:, gate])
    agree = list(model.classes_).index("agree")
    second = model.second_.predict_proba(X)[:, list(model.second_.classes_).index("agree")]
    expected = weight * (1 - base[:, gate]) * second + (1 - weight) * base[:, agree]
    assert np.allclose(proba[:, agree], expected)


def test_geometric_blend_is_the_renormalised_weighted_product():
    X, y = _data()
    model = _blend(weight=0.3, mix="geometric", min_rest=0.0).fit(X, y)
    proba, base = model.predict_proba(X), model.base_.predict_proba(X)
    assert np.allclose(proba.sum(axis=1), 1.0)
    rest = [list(model.classes_).index(c) for c in model.second_.classes_]
    mass = base[:, rest].sum(axis=1, keepdims=True)
    product = model.second_.predict_proba(X) ** 0.3 * (base[:, rest] / mass) ** 0.7
    expected = mass * product / product.sum(axis=1, keepdims=True)
    assert np.allclose(proba[:, rest], expected)
    with pytest.raises(ValueError, match="mix"):
        _blend(mix="harmonic").fit(X, y)


def test_blend_asks_the_second_stage_only_where_the_gate_is_unsure():
    X, y = _data()
    _Recording.seen = []
    model = RestBlendClassifier(
        base=LogisticRegression(max_iter=3000), second=_Recording(max_iter=3000), min_rest=0.5
    ).fit(X, y)
    base = model.base_.predict_proba(X)
    unsure = (1 - base[:, list(model.classes_).index("unrelated")]) >= 0.5
    proba = model.predict_proba(X)
    assert _Recording.seen == [int(unsure.sum())] and 0 < unsure.sum() < len(y)
    assert np.allclose(proba[~unsure], base[~unsure])
    assert (model.predict(X) == y).mean() > 0.95
    # stance tag asks for the probabilities once (one encoder pass), and so may it.
    assert model.predict_is_argmax_of_proba
    assert (model.predict(X) == model.classes_[proba.argmax(axis=1)]).all()


class _GroupsSeen(LogisticRegression):
    """Logistic regression that keeps the groups its fit received."""

    def fit(self, X, y, groups=None):
        self.groups_seen_ = groups
        return super().fit(X, y)


def test_blend_routes_groups_to_a_pipelines_last_step_and_checks_its_gate():
    X, y = _data()
    groups = np.arange(len(y)) % 7
    for base in (_GroupsSeen(), make_pipeline(StandardScaler(), _GroupsSeen())):
        model = RestBlendClassifier(base=base, second=LogisticRegression(max_iter=3000))
        model.fit(X, y, groups=groups)
        last = model.base_.steps[-1][1] if hasattr(model.base_, "steps") else model.base_
        assert last.groups_seen_ is groups
    with pytest.raises(ValueError, match="gate_label 'nope' does not occur"):
        _blend(gate_label="nope").fit(X, y)

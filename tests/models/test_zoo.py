"""Model zoo: every conf/model and conf/features entry instantiates, fits, predicts,
and survives a skops dump/load with identical predictions."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest
import skops.io as sio
from hydra.utils import instantiate
from omegaconf import OmegaConf
from sklearn.base import BaseEstimator, ClassifierMixin, clone
from sklearn.exceptions import NotFittedError
from sklearn.pipeline import Pipeline
from sklearn.utils._param_validation import InvalidParameterError

from stance.data.clean import TextCleaner
from stance.models.zoo import NBSVM, CalibratedLinearSVC, ClassOffsetTuner, DenseHGB
from tests.paths import CONF_DIR

CONF = CONF_DIR
REL = "Russia–US rapprochement"
WORDS = {
    "favor": "talks dialogue peace cooperation summit agree",
    "against": "sanctions threat war hostile expel attack",
    "neutral": "said reported meeting officials week statement",
}


def data(n_per: int = 12) -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    texts, labels = [], []
    for label, vocab in WORDS.items():
        words = vocab.split()
        for _ in range(n_per):
            body = " ".join(rng.choice(words, 6))
            texts.append(f"Putin and Trump discussed it. {body}. The weather was mild.")
            labels.append(label)
    X = pd.DataFrame(
        {
            "text": texts,
            "title": ["Moscow and Washington"] * len(texts),
            "target": [REL] * len(texts),
            "source": [f"outlet {i % 4}" for i in range(len(texts))],
            "date": [f"20{18 + i % 3}-05-01" for i in range(len(texts))],
        }
    )
    return X, np.asarray(labels)


def build(cfg_path: Path):
    cfg = OmegaConf.load(cfg_path)
    cfg.pop("name")
    return instantiate(cfg, _convert_="all")  # as stance-run builds it


def set_seed(est, seed: int = 0):
    params = {k: seed for k in est.get_params(deep=True) if k.endswith("random_state")}
    return est.set_params(**params)


def roundtrip(pipe, X):
    blob = sio.dumps(pipe)
    loaded = sio.loads(blob, trusted=sio.get_untrusted_types(data=blob))
    np.testing.assert_array_equal(pipe.predict(X), loaded.predict(X))
    return loaded


#: Models that read the text themselves (features=raw, an encoder): tested in
#: test_transformer.py / test_setfit_model.py / test_claim_encoder_blend.py on a tiny
#: encoder, not on TF-IDF here.
TEXT_MODELS = {"transformer", "setfit", "claim_encoder_blend"}
FAST_FEATURES = sorted(
    p
    for p in (CONF / "features").glob("*.yaml")
    if not p.stem.startswith("embed") and p.stem != "raw"
)
MODELS = sorted(p for p in (CONF / "model").glob("*.yaml") if p.stem not in TEXT_MODELS)


@pytest.mark.parametrize("model_cfg", MODELS, ids=lambda p: p.stem)
def test_model_configs_fit_predict_roundtrip(model_cfg):
    X, y = data()
    features = build(CONF / "features" / "tfidf.yaml").set_params(min_df=1)
    pipe = set_seed(
        Pipeline([("clean", TextCleaner()), ("features", features), ("clf", build(model_cfg))])
    )
    pipe.fit(X, y)
    assert set(pipe.predict(X)) <= set(WORDS)
    if hasattr(pipe, "predict_proba"):
        proba = pipe.predict_proba(X)
        assert np.allclose(proba.sum(axis=1), 1)
    if not model_cfg.stem.endswith("hgb"):  # boosting needs more than 36 rows to split
        assert (pipe.predict(X) == y).mean() > 0.6
    roundtrip(pipe, X)


@pytest.mark.parametrize("features_cfg", FAST_FEATURES, ids=lambda p: p.stem)
def test_feature_configs_fit_roundtrip(features_cfg):
    X, y = data()
    pipe = set_seed(
        Pipeline(
            [
                ("clean", TextCleaner()),
                ("features", build(features_cfg)),
                ("clf", build(CONF / "model" / "logreg.yaml")),
            ]
        )
    )
    pipe.fit(X, y)
    roundtrip(pipe, X)


def test_nbsvm_learns_and_proba_normalised():
    X, y = data()
    from stance.features.text import NgramTfidf

    Z = NgramTfidf(min_df=1).fit_transform(X)
    clf = NBSVM().fit(Z, y)
    assert (clf.predict(Z) == y).mean() > 0.9
    assert np.allclose(clf.predict_proba(Z).sum(axis=1), 1)
    with pytest.raises(ValueError):
        NBSVM().fit(-Z, y)


def test_offset_tuner_deterministic_and_uses_only_training_data():
    X, y = data(16)
    from stance.features.text import NgramTfidf

    Z = NgramTfidf(min_df=1).fit_transform(X)
    a = ClassOffsetTuner(random_state=3).fit(Z, y)
    b = ClassOffsetTuner(random_state=3).fit(Z, y)
    assert np.array_equal(a.offsets_, b.offsets_)
    assert a.offsets_.shape == (3,)
    with pytest.raises(ValueError):
        ClassOffsetTuner(metric="accuracy").fit(Z, y)


def test_offset_tuner_cv_tunes_on_every_training_row_out_of_fold(monkeypatch):
    """cv mode: each training row is scored once by a model that did not see it."""
    X, y = data(16)
    from stance.features.text import NgramTfidf

    Z = NgramTfidf(min_df=1).fit_transform(X)
    seen: list[np.ndarray] = []
    real = ClassOffsetTuner._align

    def spy(self, model, proba):
        seen.append(proba)
        return real(self, model, proba)

    monkeypatch.setattr(ClassOffsetTuner, "_align", spy)
    tuner = ClassOffsetTuner(cv=4, random_state=0).fit(Z, y)
    assert sum(len(p) for p in seen) == len(y)
    assert tuner.offsets_.shape == (3,)
    assert tuner.estimator_.classes_.tolist() == sorted(set(y))
    again = ClassOffsetTuner(cv=4, random_state=0).fit(Z, y)
    assert np.array_equal(tuner.offsets_, again.offsets_)


def test_offset_tuner_cv_rejects_a_class_with_one_row():
    X, y = data(16)
    from stance.features.text import NgramTfidf

    Z = NgramTfidf(min_df=1).fit_transform(X)
    y = np.asarray(y, dtype=object)
    y[0] = "lonely"
    with pytest.raises(ValueError, match="'lonely' has 1"):
        ClassOffsetTuner(cv=5).fit(Z, y)
    with pytest.raises(
        ValueError,
        match=r"'cv' parameter of ClassOffsetTuner must be an int in the range \[2, inf\)",
    ):
        ClassOffsetTuner(cv=1).fit(Z, np.asarray(data(16)[1]))


class _RowSpy(ClassifierMixin, BaseEstimator):
    """Column 0 holds the row id; logs which rows each clone was fitted and scored on."""

    log: list = []

    def fit(self, X, y):
        self.classes_ = np.unique(y)
        self.rows_ = X[:, 0].astype(int)
        return self

    def predict_proba(self, X):
        _RowSpy.log.append((self.rows_, X[:, 0].astype(int)))
        return np.full((len(X), len(self.classes_)), 1 / len(self.classes_))


@pytest.mark.parametrize("mode", [{"cv": 4}, {"val_size": 0.25, "n_splits": 2}])
def test_offset_tuner_keeps_each_group_on_one_side_of_inner_splits(mode):
    rng = np.random.default_rng(1)
    n = 120
    y = np.array(["a", "b", "c"] * (n // 3))
    groups = np.array([f"outlet{i % 12}" for i in rng.permutation(n)])
    X = np.column_stack([np.arange(n), rng.normal(size=n)])
    _RowSpy.log = []
    ClassOffsetTuner(_RowSpy(), random_state=0, **mode).fit(X, y, groups=groups)
    assert _RowSpy.log, "the tuner scored no held-out rows"
    for fitted, scored in _RowSpy.log:
        assert not set(groups[fitted]) & set(groups[scored])
    with pytest.raises(ValueError, match="at least 2 distinct groups"):
        ClassOffsetTuner(_RowSpy(), **mode).fit(X, y, groups=np.array(["one"] * n))


def test_svm_top_level_override():
    cfg = OmegaConf.load(CONF / "model" / "svm.yaml")
    cfg.pop("name")
    cfg.C = 0.25
    assert instantiate(cfg).C == 0.25


def _numeric_data(seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """Three overlapping classes of non-negative counts (NBSVM needs them)."""
    rng = np.random.default_rng(seed)
    centres = np.repeat(np.eye(3) * 3 + 1, 30, axis=0)
    X = rng.poisson(np.hstack([centres, np.ones((90, 3))])).astype(float)
    return X, np.repeat(np.array(["a", "b", "c"]), 30)


@pytest.mark.parametrize(
    "make",
    [
        lambda: CalibratedLinearSVC(random_state=0),
        lambda: NBSVM(random_state=0),
        lambda: DenseHGB(n_components=3, max_iter=30, random_state=0),
    ],
    ids=["svm", "nbsvm", "hgb"],
)
def test_sample_weight_is_honoured(make) -> None:
    X, y = _numeric_data()
    unweighted = make().fit(X, y).predict_proba(X)
    ones = make().fit(X, y, sample_weight=np.ones(len(y))).predict_proba(X)
    assert np.allclose(unweighted, ones)
    # Heavy weight on class "c" must pull predictions towards it.
    heavy = make().fit(X, y, sample_weight=np.where(y == "c", 20.0, 1.0))
    assert (heavy.predict(X) == "c").sum() > (make().fit(X, y).predict(X) == "c").sum()
    with pytest.raises(ValueError, match="at least one non-zero"):
        make().fit(X, y, sample_weight=np.zeros(len(y)))


def test_calibrated_svc_decision_function_is_the_svm_margin() -> None:
    X, y = _numeric_data()
    clf = CalibratedLinearSVC(random_state=0).fit(X, y)
    margins = clf.decision_function(X)
    folds = [c.estimator.decision_function(X) for c in clf.model_.calibrated_classifiers_]
    assert margins.shape == (len(y), 3)
    assert np.allclose(margins, np.mean(folds, axis=0))
    assert (margins > 0).any()  # log-probabilities (the old output) never are
    binary = CalibratedLinearSVC(random_state=0).fit(X[y != "c"], y[y != "c"])
    assert binary.decision_function(X).shape == (len(y),)


@pytest.mark.parametrize(
    "estimator", [CalibratedLinearSVC(), NBSVM(), DenseHGB(), ClassOffsetTuner()], ids=repr
)
def test_contract_basics(estimator) -> None:
    """Unfitted use is a NotFittedError; bad params fail in fit, not in __init__."""
    X, y = _numeric_data()
    with pytest.raises(NotFittedError):
        estimator.predict(X)
    first_param = next(iter(estimator._parameter_constraints))
    broken = clone(estimator).set_params(**{first_param: "not a valid value"})
    with pytest.raises(InvalidParameterError, match=f"'{first_param}' parameter"):
        broken.fit(X, y)
    fitted = clone(estimator).fit(X, y)
    assert fitted.n_features_in_ == X.shape[1]

"""The scikit-learn estimator contract for every estimator the project defines.

One place for the whole contract: :func:`project_estimators` finds every
estimator class defined under ``stance.features`` and ``stance.models`` (a new
one is checked without editing this file), and :func:`expected_failed_checks`
holds every check that cannot apply, with the reason. The test modules
``tests/features/test_estimator_contract.py`` and
``tests/models/test_estimator_contract.py`` hand both to scikit-learn's
``parametrize_with_checks``.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil

from sklearn.base import BaseEstimator
from sklearn.utils import get_tags

import stance.features
import stance.models

#: Checks that feed numeric arrays to a transformer of the model-input frame
#: (a DataFrame with text/title/target/source/date columns; ModelInputMixin).
_NEEDS_NUMERIC_INPUT = (
    "check_complex_data",
    "check_dict_unchanged",
    "check_dont_overwrite_parameters",
    "check_dtype_object",
    "check_estimator_sparse_array",
    "check_estimator_sparse_matrix",
    "check_estimator_sparse_tag",
    "check_estimators_dtypes",
    "check_estimators_empty_data_messages",
    "check_estimators_fit_returns_self",
    "check_estimators_nan_inf",
    "check_estimators_overwrite_params",
    "check_estimators_pickle",
    "check_f_contiguous_array_estimator",
    "check_fit1d",
    "check_fit2d_1feature",
    "check_fit2d_1sample",
    "check_fit2d_predict1d",
    "check_fit_check_is_fitted",
    "check_fit_idempotent",
    "check_fit_score_takes_y",
    "check_methods_sample_order_invariance",
    "check_methods_subset_invariance",
    "check_n_features_in",
    "check_n_features_in_after_fitting",
    "check_pipeline_consistency",
    "check_positive_only_tag_during_fit",
    "check_readonly_memmap_input",
    "check_transformer_data_not_an_array",
    "check_transformer_general",
    "check_transformer_preserve_dtypes",
    "check_transformers_unfitted_stateless",
    # classifiers of the model-input frame (TransformerClassifier, SetFitClassifier)
    "check_class_weight_classifiers",
    "check_classifier_data_not_an_array",
    "check_classifiers_classes",
    "check_classifiers_one_label",
    "check_classifiers_regression_target",
    "check_classifiers_train",
    "check_requires_y_none",
    "check_supervised_y_2d",
    "check_supervised_y_no_nan",
)
_FRAME_REASON = (
    "takes the model-input DataFrame (text/title/target/source/date columns), "
    "not the numeric arrays this check generates"
)

#: Per estimator: checks that cannot pass by design, and why.
_BY_DESIGN: dict[str, dict[str, str]] = {
    "CalibratedLinearSVC": {
        "check_sample_weight_equivalence_on_dense_data": (
            "the inner LinearSVC (liblinear) and the calibration folds are not "
            "equivalent under repeated rows; scikit-learn marks LinearSVC the same way"
        ),
        "check_sample_weight_equivalence_on_sparse_data": (
            "the inner LinearSVC (liblinear) and the calibration folds are not "
            "equivalent under repeated rows; scikit-learn marks LinearSVC the same way"
        ),
        "check_classifiers_train": (
            "predict is the argmax of the calibrated probabilities, which can differ "
            "from the sign of the raw SVM margins decision_function returns"
        ),
        "check_class_weight_classifiers": (
            "the sigmoid calibration, fitted on held-out rows, maps the class-weighted "
            "margins back towards the data's own class frequencies"
        ),
    },
    "DenseHGB": {
        "check_sample_weight_equivalence_on_dense_data": (
            "HistGradientBoosting's weighted fit is not equivalent to repeated rows; "
            "scikit-learn marks HistGradientBoostingClassifier the same way"
        ),
        "check_sample_weight_equivalence_on_sparse_data": (
            "HistGradientBoosting's weighted fit is not equivalent to repeated rows; "
            "scikit-learn marks HistGradientBoostingClassifier the same way"
        ),
    },
    "TwoStageClassifier": {
        "check_sample_weight_equivalence_on_dense_data": (
            "both default stages are LogisticRegression (lbfgs), whose weighted fit is not "
            "equivalent to repeated rows; scikit-learn marks LogisticRegression the same way"
        ),
        "check_sample_weight_equivalence_on_sparse_data": (
            "both default stages are LogisticRegression (lbfgs), whose weighted fit is not "
            "equivalent to repeated rows; scikit-learn marks LogisticRegression the same way"
        ),
    },
    "NBSVM": {
        "check_class_weight_classifiers": (
            "the check's data has negative values; NB count ratios need non-negative "
            "features (the estimator says so through its positive_only tag)"
        ),
        "check_decision_proba_consistency": (
            "the check's data has negative values; NB count ratios need non-negative "
            "features (the estimator says so through its positive_only tag)"
        ),
    },
}


def project_estimators() -> list[type[BaseEstimator]]:
    """Every public estimator class defined in a ``stance.features`` / ``stance.models`` module."""
    found: dict[str, type[BaseEstimator]] = {}
    for package in (stance.features, stance.models):
        for info in pkgutil.iter_modules(package.__path__, package.__name__ + "."):
            module = importlib.import_module(info.name)
            for name, obj in inspect.getmembers(module, inspect.isclass):
                if (
                    issubclass(obj, BaseEstimator)
                    and obj.__module__ == module.__name__
                    and not name.startswith("_")
                ):
                    found[f"{obj.__module__}.{name}"] = obj
    return [found[key] for key in sorted(found)]


def instances(package: str) -> list[BaseEstimator]:
    """A default instance of each estimator defined under ``package``."""
    return [cls() for cls in project_estimators() if cls.__module__.startswith(package + ".")]


def expected_failed_checks(estimator: BaseEstimator) -> dict[str, str]:
    """``{check name: reason}`` for the checks that cannot apply to ``estimator``."""
    expected = dict(_BY_DESIGN.get(type(estimator).__name__, {}))
    if _takes_model_input(estimator):
        expected.update(dict.fromkeys(_NEEDS_NUMERIC_INPUT, _FRAME_REASON))
    return expected


def _takes_model_input(estimator: BaseEstimator) -> bool:
    from stance.features._util import ModelInputMixin

    return isinstance(estimator, ModelInputMixin) and get_tags(estimator).input_tags.string

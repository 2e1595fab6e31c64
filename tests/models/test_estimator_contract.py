"""Every model passes scikit-learn's estimator checks (see tests/estimator_contract.py)."""

from __future__ import annotations

from sklearn.utils.estimator_checks import parametrize_with_checks

from tests.estimator_contract import expected_failed_checks, instances


@parametrize_with_checks(
    instances("stance.models"), expected_failed_checks=expected_failed_checks, xfail_strict=True
)
def test_sklearn_estimator_contract(estimator, check) -> None:
    check(estimator)

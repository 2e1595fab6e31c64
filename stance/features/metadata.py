"""Outlet and publication date as features: a control for what the text alone explains.

Off by default, because they leak. On a corpus whose label is the outlet's
rating (AllSides) the outlet *is* the label, and on any corpus an outlet's
house line or a news cycle can stand in for the stance of each article. Use
them to measure that shortcut — e.g. ``features=tfidf_metadata`` against
``features=tfidf`` on a split grouped by outlet (``split=group_kfold``), where
an unseen outlet contributes nothing — never to report a stance classifier.
"""

from __future__ import annotations

from collections.abc import Sequence
from numbers import Integral, Real

import numpy as np
import pandas as pd
import scipy.sparse as sp
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.preprocessing import OneHotEncoder
from sklearn.utils._param_validation import Interval, StrOptions
from sklearn.utils.validation import check_is_fitted

from stance.features._util import ModelInputMixin, check_frame, plain

#: How a date is coarsened before one-hot encoding (pandas period codes).
DATE_PARTS = {"year": "Y", "quarter": "Q", "month": "M"}
UNKNOWN = "unknown"


class MetadataFeatures(ModelInputMixin, TransformerMixin, BaseEstimator):
    """One-hot outlet (``source``) and coarsened publication ``date`` of each row.

    When to use: as a leakage control or a metadata-only baseline (see the
    module docstring); combine with text blocks through
    :func:`stance.features.actors.make_union`.

    Parameters
    ----------
    columns:
        Categorical model-input columns to one-hot encode (``source``; ``target``
        works too).
    date_part:
        ``year``, ``quarter`` or ``month`` of the ``date`` column as one more
        categorical feature; ``None`` leaves dates out. Unparsable or missing
        dates share one ``unknown`` category.
    min_frequency:
        Categories seen in fewer training rows are pooled into one
        infrequent category (as in :class:`~sklearn.preprocessing.OneHotEncoder`).

    Values unseen in training (a new outlet at prediction time) encode as all
    zeros, so the text blocks alone decide.

    Attributes
    ----------
    encoder_ : OneHotEncoder
        The fitted encoder of the categorical table.
    feature_columns_ : list of str
        The table's columns: ``columns`` plus ``date_part`` when set.
    n_features_in_ : int
        Number of columns of the frame seen in ``fit``.
    feature_names_in_ : ndarray of str
        Those columns' names.

    Examples
    --------
    >>> import pandas as pd
    >>> X = pd.DataFrame({"source": ["CNN", "Fox", "CNN"], "date": ["2019-05-01", "", "2020-01-02"]})
    >>> MetadataFeatures().fit(X).get_feature_names_out().tolist()
    ['source=CNN', 'source=Fox', 'year=2019', 'year=2020', 'year=unknown']
    """

    _parameter_constraints: dict = {
        "columns": [str, Sequence],
        "date_part": [StrOptions(set(DATE_PARTS)), None],
        "min_frequency": [
            Interval(Integral, 1, None, closed="left"),
            Interval(Real, 0, 1, closed="neither"),
            None,
        ],
    }

    def __init__(
        self,
        columns: Sequence[str] = ("source",),
        date_part: str | None = "year",
        min_frequency: int | None = None,
    ):
        self.columns = columns
        self.date_part = date_part
        self.min_frequency = min_frequency

    def _columns(self) -> list[str]:
        return [self.columns] if isinstance(self.columns, str) else list(plain(self.columns))

    def _table(self, X: pd.DataFrame) -> pd.DataFrame:
        check_frame(self, X)
        columns = self._columns()
        wanted = columns + (["date"] if self.date_part else [])
        missing = [c for c in wanted if c not in X.columns]
        if missing:
            raise ValueError(
                f"MetadataFeatures needs column(s) {missing} in the model input; "
                f"got {list(X.columns)}"
            )
        table = pd.DataFrame(
            {c: X[c].fillna("").astype(str).replace("", UNKNOWN).to_numpy() for c in columns}
        )
        if self.date_part:
            dates = pd.to_datetime(X["date"].astype(str), errors="coerce", utc=True, format="mixed")
            periods = dates.dt.tz_localize(None).dt.to_period(DATE_PARTS[self.date_part])
            table[self.date_part] = periods.astype(str).where(dates.notna(), UNKNOWN).to_numpy()
        return table

    def fit(self, X: pd.DataFrame, y=None) -> MetadataFeatures:
        """Learn the categories of each column (and of the coarsened dates)."""
        self._validate_params()
        check_frame(self, X, reset=True)
        table = self._table(X)
        self.encoder_ = OneHotEncoder(
            handle_unknown="infrequent_if_exist" if self.min_frequency else "ignore",
            min_frequency=self.min_frequency,
            dtype=np.float32,
        ).fit(table)
        self.feature_columns_ = list(table.columns)
        return self

    def transform(self, X: pd.DataFrame) -> sp.csr_matrix:
        """One-hot rows (CSR, float32); unseen categories encode as zeros."""
        check_is_fitted(self)
        return sp.csr_matrix(self.encoder_.transform(self._table(X)))

    def get_feature_names_out(self, input_features=None) -> np.ndarray:
        # OneHotEncoder writes "source_CNN"; "source=CNN" reads unambiguously in reports.
        check_is_fitted(self)
        names = []
        for name in self.encoder_.get_feature_names_out(self.feature_columns_):
            column = next(c for c in self.feature_columns_ if name.startswith(f"{c}_"))
            names.append(f"{column}={name[len(column) + 1 :]}")
        return np.asarray(names, dtype=object)

"""Build the clean → features → classifier pipeline and fit it on a fold, features cached.

The pipeline is described by a :class:`~stance.run_config.PipelineSpec` (the
``features`` and ``model`` config nodes, the cleaner switch, the seed): the
same spec builds the runner's per-fold pipelines, a nested-selection
candidate's and the saved model.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import has_fit_parameter

from stance.config_nodes import instantiate_node as build_node
from stance.config_nodes import plain_node
from stance.data.clean import TextCleaner
from stance.errors import ConfigError
from stance.fold_cache import MISSING, FoldCache, rows_digest
from stance.models.threaded_sparse import threaded
from stance.run_config import PipelineSpec


def instantiate_node(node: Any, what: str) -> Any:
    """Build the object a Hydra ``_target_`` node describes (its ``name`` key dropped)."""
    spec = plain_node(node)
    spec.pop("name", None)
    if "_target_" not in spec:
        raise ConfigError(f"the {what} config has no _target_; got keys {sorted(spec)}")
    return build_node(spec, what)


def pipeline_from_spec(spec: PipelineSpec) -> Pipeline:
    """The whole model as one scikit-learn Pipeline; every ``random_state`` is the seed."""
    pipeline = Pipeline(
        [
            ("clean", TextCleaner(enabled=spec.clean)),
            ("features", instantiate_node(spec.features, "features")),
            ("clf", instantiate_node(spec.model, "model")),
        ]
    )
    seeded = {k: spec.seed for k in pipeline.get_params() if k.endswith("random_state")}
    pipeline.set_params(**seeded)
    return pipeline


@dataclass(frozen=True, eq=False)
class FittedFold:
    """A pipeline fitted on ``train``, and the means to featurise other rows with its front."""

    pipeline: Pipeline
    features: FoldFeatures
    train: np.ndarray
    key: str

    @property
    def classifier(self) -> Any:
        return self.pipeline.steps[-1][1]

    def transform(self, rows: np.ndarray) -> Any:
        """Features of ``rows`` from this fold's fitted front (cached beside its matrix)."""
        front = Pipeline(self.pipeline.steps[:-1])
        return self.features.cache.get_or_compute(
            FoldCache.key("transform", fitted=self.key, rows=rows_digest(rows)),
            lambda: front.transform(self.features.X.iloc[rows]),
        )


class FoldFeatures:
    """Fit a fold's clean → features front once per data, rows and config; fit the classifier.

    The front's fitted state and its training matrix are cached in a
    :class:`~stance.fold_cache.FoldCache` keyed by the corpus fingerprint, the
    training rows, the cleaner and feature config and the seed, so a sweep over
    classifiers (or a rerun) neither refits the features nor reads the text.
    The test matrix is cached beside it, keyed by the fitted front and test rows.
    """

    def __init__(
        self,
        spec: PipelineSpec,
        cache: FoldCache,
        fingerprint: str,
        X: pd.DataFrame,
        y: np.ndarray,
        groups: np.ndarray | None = None,
    ):
        self.spec, self.cache, self.X, self.y, self.groups = spec, cache, X, y, groups
        self._key_parts = {
            "features": dict(spec.features),
            "clean": spec.clean,
            "seed": spec.seed,
            "data": fingerprint,
        }

    def _key(self, train: np.ndarray) -> str:
        return FoldCache.key("features", **self._key_parts, train=rows_digest(train))

    def fit(self, train: np.ndarray) -> FittedFold:
        """The whole pipeline fitted on rows ``train`` (features from the cache if present)."""
        pipeline = pipeline_from_spec(self.spec)
        key = self._key(train)
        # The fitted front goes into the saved model: loaded whole, never memory-mapped.
        front = self.cache.get(f"{key}-front", mmap=False)
        matrix = self.cache.lookup(key) if front is not MISSING else MISSING
        if matrix is MISSING:
            front = Pipeline(pipeline.steps[:-1])
            matrix = front.fit_transform(self.X.iloc[train], self.y[train])
            self.cache.put(f"{key}-front", front)
            self.cache.add_computed(key, matrix)
        name, classifier = pipeline.steps[-1]
        # A classifier that tunes on inner splits (ClassOffsetTuner) keeps groups apart there too.
        fit_params = (
            {"groups": self.groups[train]}
            if self.groups is not None and has_fit_parameter(classifier, "groups")
            else {}
        )
        # Same fit, bit for bit; the sparse products of lbfgs run on every core.
        classifier.fit(threaded(matrix), self.y[train], **fit_params)
        return FittedFold(Pipeline([*front.steps, (name, classifier)]), self, train, key)

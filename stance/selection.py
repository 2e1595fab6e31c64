"""Nested model selection: choose features × model inside each outer fold, by inner CV.

Why: on a corpus with no test set (BASIL, Russia–US, most researchers' own
corpora) the outer cross-validation *is* the evaluation, so comparing several
configurations on it and reporting the best is tuning on the test data. Nested
CV keeps the choice honest: for every outer fold, each candidate is scored by
an inner cross-validation on that fold's training rows only (grouped the same
way as the outer split), the best is refitted on those rows and only then
meets the fold's test rows. The reported score is the score of the *procedure*
"choose among these candidates", which is what a researcher will apply to new
data.

Enable with ``+selection=inner_cv`` (``conf/selection/inner_cv.yaml`` lists the
candidates). Each candidate names a ``conf/features`` and a ``conf/model``
file plus optional parameter overrides; fitted features go through the
per-fold cache, so a candidate's features are fitted once per inner fold.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf

from stance.errors import ConfigError
from stance.evaluation.metrics import headline_score
from stance.fold_cache import FoldCache
from stance.fold_fit import FoldFeatures
from stance.paths import conf_dir
from stance.run_config import PipelineSpec, SelectionSpec

if TYPE_CHECKING:
    from stance.data.table import Task
    from stance.reporting.provenance import StageTimer


@dataclass(frozen=True)
class Candidate:
    """One configuration to choose from: a features file, a model file, overrides."""

    features: str
    model: str
    features_params: Mapping[str, Any]
    model_params: Mapping[str, Any]

    @property
    def name(self) -> str:
        overrides = [f" features.{k}={v}" for k, v in self.features_params.items()]
        overrides += [f" model.{k}={v}" for k, v in self.model_params.items()]
        return f"{self.features} + {self.model}{''.join(overrides)}"


def _group_node(group: str, name: str, params: Mapping[str, Any]) -> DictConfig:
    path = conf_dir() / group / f"{name}.yaml"
    if not path.is_file():
        known = sorted(p.stem for p in (conf_dir() / group).glob("*.yaml"))
        raise ConfigError(f"selection candidate: no {group} config {name!r}; known: {known}")
    node = OmegaConf.load(path)
    return OmegaConf.merge(node, dict(params)) if params else node


def parse_candidates(selection: Mapping[str, Any]) -> list[Candidate]:
    """The ``selection.candidates`` list as :class:`Candidate` objects (validated)."""
    raw = selection.get("candidates") or []
    if len(raw) < 2:
        raise ConfigError("selection.candidates needs at least two entries to choose from")
    candidates = []
    for i, entry in enumerate(raw):
        entry = dict(entry)
        unknown = set(entry) - {"features", "model", "features_params", "model_params"}
        if unknown or "features" not in entry or "model" not in entry:
            raise ConfigError(
                f"selection.candidates[{i}]: expected keys features, model "
                f"(and optional features_params, model_params); got {sorted(entry)}"
            )
        candidate = Candidate(
            str(entry["features"]),
            str(entry["model"]),
            dict(entry.get("features_params") or {}),
            dict(entry.get("model_params") or {}),
        )
        _group_node("features", candidate.features, candidate.features_params)
        _group_node("model", candidate.model, candidate.model_params)
        candidates.append(candidate)
    return candidates


def candidate_spec(base: PipelineSpec, candidate: Candidate) -> PipelineSpec:
    """``base`` (cleaner, seed) with its features and model replaced by ``candidate``'s."""
    return base.with_parts(
        _group_node("features", candidate.features, candidate.features_params),
        _group_node("model", candidate.model, candidate.model_params),
    )


def inner_folds(
    rows: np.ndarray, y: np.ndarray, groups: np.ndarray | None, n_splits: int, seed: int | None
) -> list[tuple[np.ndarray, np.ndarray]]:
    """Inner (train, validation) row positions within ``rows``; grouped when groups exist."""
    from sklearn.model_selection import StratifiedGroupKFold, StratifiedKFold

    labels = y[rows]
    if groups is not None and (groups[rows] != "").all():
        n = min(n_splits, len(set(groups[rows])))
        splitter = StratifiedGroupKFold(n_splits=n, shuffle=True, random_state=seed)
        split = splitter.split(labels, labels, groups[rows])
    else:
        smallest = int(pd.Series(labels).value_counts().min())
        splitter = StratifiedKFold(
            n_splits=min(n_splits, smallest), shuffle=True, random_state=seed
        )
        split = splitter.split(labels, labels)
    return [(np.sort(rows[tr]), np.sort(rows[va])) for tr, va in split]


def select(
    candidates: Sequence[Candidate],
    folds: Sequence[tuple[np.ndarray, np.ndarray]],
    y: np.ndarray,
    fit_predict: Callable[[Candidate, np.ndarray, np.ndarray], np.ndarray],
    score: Callable[[np.ndarray, np.ndarray], float],
) -> tuple[Candidate, pd.DataFrame]:
    """The candidate with the best pooled inner-CV score (ties: the earlier one) and the table.

    ``fit_predict(candidate, train_rows, validation_rows)`` returns predicted labels.
    """
    rows = []
    for candidate in candidates:
        gold, predicted = [], []
        for train, validation in folds:
            # A label absent from an inner training part cannot be predicted; score anyway.
            predicted.append(np.asarray(fit_predict(candidate, train, validation), dtype=str))
            gold.append(y[validation])
        rows.append(
            {
                "candidate": candidate.name,
                "inner_score": float(score(np.concatenate(gold), np.concatenate(predicted))),
            }
        )
    table = pd.DataFrame(rows)
    best = int(np.argmax(table["inner_score"].to_numpy()))
    table["chosen"] = np.arange(len(table)) == best
    return candidates[best], table


@dataclass(frozen=True)
class SelectionChoice:
    """One recorded choice: the outer fold (or ``"final"``), the winner, every inner score."""

    fold: int | str
    chosen: str
    candidates: tuple[dict[str, Any], ...]

    def as_record(self) -> dict[str, Any]:
        return {"fold": self.fold, "chosen": self.chosen, "candidates": list(self.candidates)}

    def describe(self) -> str:
        """One report line."""
        scores = ", ".join(
            f"{c['candidate']} {100 * c['inner_score']:.1f}" for c in self.candidates
        )
        where = "saved model" if self.fold == "final" else f"fold {self.fold}"
        return f"{where}: nested selection chose {self.chosen} (inner {scores})"


class NestedChooser:
    """Per outer fold, the :class:`~stance.fold_fit.FoldFeatures` of the candidate inner CV prefers.

    Candidates share the per-fold feature cache (one :class:`FoldFeatures` per
    candidate, built lazily), so a features file is fitted once per inner fold.
    """

    def __init__(
        self,
        spec: SelectionSpec,
        base: PipelineSpec,
        task: Task,
        cache: FoldCache,
        fingerprint: str,
        X: pd.DataFrame,
        y: np.ndarray,
        groups: np.ndarray | None,
        timer: StageTimer,
    ):
        self.candidates = parse_candidates({"candidates": list(spec.candidates)})
        self.spec, self.base, self.task, self.timer = spec, base, task, timer
        self.cache, self.fingerprint, self.X, self.y, self.groups = cache, fingerprint, X, y, groups
        self._features: dict[str, FoldFeatures] = {}

    def _features_of(self, candidate: Candidate) -> FoldFeatures:
        if candidate.name not in self._features:
            self._features[candidate.name] = FoldFeatures(
                candidate_spec(self.base, candidate),
                self.cache,
                self.fingerprint,
                self.X,
                self.y,
                self.groups,
            )
        return self._features[candidate.name]

    def _fit_predict(self, candidate: Candidate, train: np.ndarray, validation: np.ndarray):
        fitted = self._features_of(candidate).fit(train)
        return fitted.classifier.predict(fitted.transform(validation))

    def _score(self, gold: np.ndarray, predicted: np.ndarray) -> float:
        return headline_score(pd.Series(gold), pd.Series(predicted), self.task)

    def choose(self, fold: int | str, rows: np.ndarray) -> tuple[FoldFeatures, SelectionChoice]:
        """The winner's features (to fit on ``rows``) and the record of the choice."""
        folds = inner_folds(rows, self.y, self.groups, self.spec.n_splits, self.spec.seed)
        with self.timer.stage("select"):
            best, table = select(self.candidates, folds, self.y, self._fit_predict, self._score)
        choice = SelectionChoice(fold, best.name, tuple(table.to_dict(orient="records")))
        return self._features_of(best), choice

    def record(self, choices: Sequence[SelectionChoice]) -> dict[str, Any]:
        """What metrics.json and run.json keep under ``selection``."""
        grouped = " grouped by `group`" if self.groups is not None else ""
        return {
            "method": f"inner {self.spec.n_splits}-fold CV on each outer fold's training rows"
            + grouped,
            "metric": self.task.metric,
            "folds": [choice.as_record() for choice in choices],
        }

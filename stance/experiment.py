"""One experiment run: corpus → split → fit → predict → evaluate → run directory.

``stance-run`` (Hydra) and notebooks both call :func:`run_experiment`; the
config is the single source of truth and is saved with every run, so a run can
be repeated from its directory alone (:func:`rerun`).
"""

from __future__ import annotations

import random
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf
from sklearn.pipeline import Pipeline
from sklearn.utils.validation import has_fit_parameter

from stance.cache import feature_cache_dir
from stance.data.clean import TextCleaner
from stance.data.duplicate_checks import DuplicateChecks, no_duplicates
from stance.data.fingerprints import corpus_fingerprint
from stance.data.loading import load_corpus
from stance.data.splits import Fold, make_folds
from stance.data.table import Corpus, model_input
from stance.errors import ConfigError, DataError
from stance.evaluation.bootstrap import secondary_block
from stance.evaluation.metrics import headline_score, score, summarise_folds
from stance.fold_cache import MISSING, FoldCache, rows_digest
from stance.models.threaded_sparse import threaded
from stance.paths import conf_dir, default_cache_dir, default_data_dir
from stance.reporting.provenance import StageTimer, git_state, package_versions, peak_memory_mb
from stance.reporting.run_dir import RunDirectory
from stance.selection import candidate_config, inner_folds, parse_candidates, select


@dataclass
class RunResult:
    """What a finished run hands back to Python callers (notebooks, tests)."""

    run_dir: Path
    metrics: dict
    predictions: pd.DataFrame
    pipeline: Pipeline
    corpus: Corpus


def compose_config(overrides: Sequence[str] = (), config_name: str = "config") -> DictConfig:
    """Compose the packaged Hydra config with command-line style ``overrides``."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        return compose(config_name=config_name, overrides=list(overrides))


def _instantiate(node: Any, what: str) -> Any:
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    spec = (
        OmegaConf.to_container(node, resolve=True) if isinstance(node, DictConfig) else dict(node)
    )
    spec.pop("name", None)
    if "_target_" not in spec:
        raise ConfigError(f"the {what} config has no _target_; got keys {sorted(spec)}")
    try:
        return instantiate(spec, _convert_="all")
    except InstantiationException as exc:
        raise ConfigError(f"could not build the {what} from config: {exc}") from exc


def build_pipeline(cfg: DictConfig) -> Pipeline:
    """The whole model as one scikit-learn Pipeline: clean → features → classifier."""
    pipeline = Pipeline(
        [
            ("clean", TextCleaner(enabled=bool(cfg.data.get("clean", True)))),
            ("features", _instantiate(cfg.features, "features")),
            ("clf", _instantiate(cfg.model, "model")),
        ]
    )
    seeded = {k: int(cfg.seed) for k in pipeline.get_params() if k.endswith("random_state")}
    pipeline.set_params(**seeded)
    return pipeline


def row_groups(frame: pd.DataFrame) -> np.ndarray | None:
    """The ``group`` column (outlet, triplet…) when every row has one, else None."""
    if "group" not in frame:
        return None
    groups = frame["group"].fillna("").to_numpy().astype(str)
    return groups if len(groups) and (groups != "").all() else None


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
        cfg: DictConfig,
        cache: FoldCache,
        fingerprint: str,
        X: pd.DataFrame,
        y: np.ndarray,
        groups: np.ndarray | None = None,
    ):
        self.cfg, self.cache, self.X, self.y, self.groups = cfg, cache, X, y, groups
        self._spec = {
            "features": OmegaConf.to_container(cfg.features, resolve=True),
            "clean": bool(cfg.data.get("clean", True)),
            "seed": int(cfg.seed),
            "data": fingerprint,
        }
        self._fronts: dict[str, Pipeline] = {}

    def _key(self, train: np.ndarray) -> str:
        return FoldCache.key("features", **self._spec, train=rows_digest(train))

    def fit_pipeline(self, train: np.ndarray) -> Pipeline:
        """The whole pipeline fitted on rows ``train`` (features from the cache if present)."""
        pipeline = build_pipeline(self.cfg)
        key = self._key(train)
        # The fitted front goes into the saved model: loaded whole, never memory-mapped.
        front = self.cache.get(f"{key}-front", mmap=False)
        matrix = self.cache.lookup(key) if front is not MISSING else MISSING
        if matrix is MISSING:
            front = Pipeline(pipeline.steps[:-1])
            matrix = front.fit_transform(self.X.iloc[train], self.y[train])
            self.cache.put(f"{key}-front", front)
            self.cache.add_computed(key, matrix)
        self._fronts[key] = front
        classifier = pipeline.steps[-1][1]
        # A classifier that tunes on inner splits (ClassOffsetTuner) keeps groups apart there too.
        fit_params = (
            {"groups": self.groups[train]}
            if self.groups is not None and has_fit_parameter(classifier, "groups")
            else {}
        )
        # Same fit, bit for bit; the sparse products of lbfgs run on every core.
        classifier.fit(threaded(matrix), self.y[train], **fit_params)
        return Pipeline([*front.steps, (pipeline.steps[-1][0], classifier)])

    def transform(self, train: np.ndarray, rows: np.ndarray) -> Any:
        """Features of ``rows`` from the front fitted on ``train`` (call fit_pipeline first)."""
        key = self._key(train)
        front = self._fronts[key]
        return self.cache.get_or_compute(
            FoldCache.key("transform", fitted=key, rows=rows_digest(rows)),
            lambda: front.transform(self.X.iloc[rows]),
        )


class _NestedChooser:
    """Per outer fold, the :class:`FoldFeatures` of the candidate inner CV prefers.

    See :mod:`stance.selection`; ``record`` keeps every inner score for run.json,
    metrics.json and the report's notes.
    """

    def __init__(self, cfg, corpus, cache, fingerprint, X, y, timer, candidates):
        self.cfg, self.corpus, self.cache = cfg, corpus, cache
        self.fingerprint, self.X, self.y, self.timer = fingerprint, X, y, timer
        self.candidates = candidates
        self.n_splits = int(cfg.selection.get("n_splits", 3))
        self.groups = row_groups(corpus.frame)
        self.record: dict[str, Any] = {
            "method": f"inner {self.n_splits}-fold CV on each outer fold's training rows"
            + (" grouped by `group`" if self.groups is not None else ""),
            "metric": corpus.task.metric,
            "folds": [],
        }
        self._features: dict[str, FoldFeatures] = {}

    @classmethod
    def from_config(cls, cfg, corpus, cache, fingerprint, X, y, timer) -> _NestedChooser | None:
        selection = cfg.get("selection")
        if not selection:
            return None
        candidates = parse_candidates(OmegaConf.to_container(selection, resolve=True))
        return cls(cfg, corpus, cache, fingerprint, X, y, timer, candidates)

    def _features_of(self, candidate) -> FoldFeatures:
        if candidate.name not in self._features:
            self._features[candidate.name] = FoldFeatures(
                candidate_config(self.cfg, candidate),
                self.cache,
                self.fingerprint,
                self.X,
                self.y,
                self.groups,
            )
        return self._features[candidate.name]

    def _fit_predict(self, candidate, train: np.ndarray, validation: np.ndarray) -> np.ndarray:
        features = self._features_of(candidate)
        classifier = features.fit_pipeline(train).steps[-1][1]
        return classifier.predict(features.transform(train, validation))

    def choose(self, fold: int | str, rows: np.ndarray) -> FoldFeatures:
        task = self.corpus.task
        with self.timer.stage("select"):
            best, table = select(
                self.candidates,
                inner_folds(rows, self.y, self.groups, self.n_splits, int(self.cfg.seed)),
                self.y,
                self._fit_predict,
                lambda gold, pred: headline_score(pd.Series(gold), pd.Series(pred), task),
            )
        self.record["folds"].append(
            {"fold": fold, "chosen": best.name, "candidates": table.to_dict(orient="records")}
        )
        return self._features_of(best)

    def describe(self, position: int) -> str:
        """One report line for a recorded choice."""
        entry = self.record["folds"][position]
        scores = ", ".join(
            f"{c['candidate']} {100 * c['inner_score']:.1f}" for c in entry["candidates"]
        )
        where = "saved model" if entry["fold"] == "final" else f"fold {entry['fold']}"
        return f"{where}: nested selection chose {entry['chosen']} (inner {scores})"


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))


def _proba_frame(classifier: Any, X: Any, labels: Sequence[str]) -> pd.DataFrame | None:
    if not hasattr(classifier, "predict_proba"):
        return None
    try:
        proba = classifier.predict_proba(X)
    except AttributeError:
        return None
    frame = pd.DataFrame(proba, columns=[f"proba_{c}" for c in classifier.classes_])
    return frame.reindex(columns=[f"proba_{label}" for label in labels], fill_value=0.0)


def _bootstrap(y_true: np.ndarray, y_pred: np.ndarray, corpus: Corpus, n: int, seed: int):
    if n <= 0:
        return None
    from stance.evaluation.bootstrap import bootstrap_ci, metric_for_task

    # The vectorised metric matches headline_score exactly and is ~100x faster.
    lo, hi = bootstrap_ci(y_true, y_pred, metric_for_task(corpus.task), n_resamples=n, seed=seed)
    return [float(lo), float(hi)]


def _console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


def run_experiment(
    cfg: DictConfig, run_dir: Path | None = None, *, quiet: bool = False
) -> RunResult:
    """Run the experiment ``cfg`` describes and write its run directory.

    The directory is complete (``run.json`` present) or removed: a failure or an
    interrupt (SIGINT / SIGTERM) leaves nothing half-written.
    """
    started = datetime.now(timezone.utc)
    seed = int(cfg.seed)
    _seed_everything(seed)
    if run_dir is None:
        stamp = started.strftime("%Y-%m-%d/%H-%M-%S-%f")
        run_dir = Path(str(cfg.paths.output_dir)) / "runs" / stamp
    run_dir = Path(run_dir).resolve()
    console = None if quiet else _console()
    timer = StageTimer(console)
    staged = RunDirectory(run_dir)
    try:
        result = _run_stages(cfg, staged, timer, console, seed, started)
    except BaseException:
        staged.abort()
        raise
    if console is not None:
        headline = result.metrics["headline"]
        ci = headline.get("ci95")
        interval = f" (95% CI {100 * ci[0]:.1f}–{100 * ci[1]:.1f})" if ci else ""
        console.print(
            f"[bold]{headline['metric']} = {100 * headline['value']:.2f}{interval}[/bold]"
            f"  report: {run_dir / 'report.md'}",
            soft_wrap=True,
        )
    return result


def _run_stages(
    cfg: DictConfig, staged: RunDirectory, timer: StageTimer, console, seed: int, started: datetime
) -> RunResult:
    from stance.reporting.report import write_artifacts

    data_dir = Path(cfg.paths.data_dir) if cfg.paths.get("data_dir") else default_data_dir()
    cache_root = Path(cfg.paths.cache_dir) if cfg.paths.get("cache_dir") else default_cache_dir()
    cache = FoldCache(feature_cache_dir(cache_root) if cfg.cache.features else None)
    with timer.stage("load", f"Loading corpus {cfg.data.name!r} from {data_dir}"):
        corpus = load_corpus(cfg.data, data_dir)
        fingerprint = corpus_fingerprint(
            corpus, OmegaConf.to_container(cfg.data, resolve=True), cache
        )
    with timer.stage("split", f"Splitting ({cfg.split.name})"):
        folds = make_folds(corpus, cfg.split, seed)
    frame = corpus.frame
    X = model_input(frame)
    y = frame["label"].to_numpy()
    features = FoldFeatures(cfg, cache, fingerprint, X, y, row_groups(frame))
    labels = list(corpus.task.labels)
    chooser = _NestedChooser.from_config(cfg, corpus, cache, fingerprint, X, y, timer)

    fold_frames, fold_scores, duplicates, notes = [], [], [], list(corpus.notes)
    last_pipeline = None
    checks = DuplicateChecks(
        frame,
        float(cfg.dedup.threshold),
        cache=cache,
        fingerprint=fingerprint,
        background=None if cfg.dedup.get("enabled", True) else False,
    )
    with checks:
        for fold in _progress(folds, console, "Cross-validating" if len(folds) > 1 else "Training"):
            fold_features = features
            if chooser is not None:
                fold_features = chooser.choose(fold.index, fold.train)
                notes.append(chooser.describe(-1))
            part, last_pipeline = _run_fold(
                cfg, fold, frame, y, labels, fold_features, checks, timer, notes, duplicates
            )
            fold_frames.append(part)
            fold_scores.append(
                {
                    "fold": fold.index,
                    "n_train": int(len(fold.train)),
                    "n_test": int(len(fold_frames[-1])),
                    **score(fold_frames[-1]["gold"], fold_frames[-1]["predicted"], corpus.task),
                }
            )
    predictions = pd.concat(fold_frames, ignore_index=True)

    with timer.stage("evaluate", "Scoring"):
        pooled = score(predictions["gold"], predictions["predicted"], corpus.task)
        mean, std = summarise_folds(fold_scores)
        value = headline_score(predictions["gold"], predictions["predicted"], corpus.task)
        ci = _bootstrap(
            predictions["gold"].to_numpy(),
            predictions["predicted"].to_numpy(),
            corpus,
            int(cfg.report.bootstrap),
            seed,
        )
        metrics = {
            "task": {
                "name": corpus.task.name,
                "labels": labels,
                "metric": corpus.task.metric,
                "metric_labels": list(corpus.task.averaged_labels),
            },
            "headline": {
                "metric": corpus.task.metric,
                "value": value,
                "ci95": ci,
                "scope": "pooled out-of-fold predictions" if len(folds) > 1 else "test set",
            },
            **secondary_block(
                predictions["gold"].to_numpy(),
                predictions["predicted"].to_numpy(),
                corpus.task,
                int(cfg.report.bootstrap),
                seed,
            ),
            "pooled": pooled,
            "folds": fold_scores,
            "mean": mean,
            "std": std,
        }
        if chooser is not None:
            metrics["selection"] = chooser.record

    if len(folds) > 1 and cfg.save_model:
        with timer.stage("refit", "Refitting on all rows for the saved model"):
            every_row = np.arange(len(frame))
            if chooser is not None:
                features = chooser.choose("final", every_row)
                metrics["selection"] = chooser.record
                notes.append(chooser.describe(-1))
            final = features.fit_pipeline(every_row)
    else:
        final = last_pipeline

    dup_frame = (
        pd.concat(duplicates, ignore_index=True)
        if duplicates
        else no_duplicates().assign(fold=pd.Series(dtype=int))
    )
    with timer.stage("write", "Writing report, plots and model"):
        model_card = write_artifacts(
            staged,
            cfg=cfg,
            corpus=corpus,
            folds=folds,
            predictions=predictions,
            metrics=metrics,
            pipeline=final,
            duplicates=dup_frame,
            notes=notes,
        )
    record = {
        "status": "complete",
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": _command_line(),
        "seed": seed,
        "config": OmegaConf.to_container(cfg, resolve=True),
        "data": {
            "name": corpus.name,
            "fingerprint": fingerprint,
            "rows": len(corpus),
            "data_dir": str(data_dir),
            "files": corpus.files,
        },
        "git": git_state(),
        "versions": package_versions(),
        "timings": timer.timings,
        "wall_time_s": timer.total,
        "peak_memory_mb": peak_memory_mb(),
        "feature_cache": cache.summary(),
        # The duplicate check's worker process, when it ran in the background.
        "dedup_worker_peak_memory_mb": (
            None if checks.worker_peak_mb is None else round(checks.worker_peak_mb, 1)
        ),
        "model_card": model_card,
    }
    staged.commit(record)
    return RunResult(staged.path, metrics, predictions, final, corpus)


def _run_fold(
    cfg: DictConfig,
    fold: Fold,
    frame: pd.DataFrame,
    y: np.ndarray,
    labels: Sequence[str],
    features: FoldFeatures,
    checks: DuplicateChecks,
    timer: StageTimer,
    notes: list[str],
    duplicates: list[pd.DataFrame],
) -> tuple[pd.DataFrame, Pipeline]:
    """Fit one fold and return its predictions frame and fitted pipeline.

    The duplicate check runs in the background while the pipeline fits (see
    :mod:`stance.data.duplicate_checks`); its pairs are collected before
    predicting. A fold whose test part shows a label training lacks settles
    its test rows first, so that error is raised before the expensive fit.
    """
    checks.start(fold)
    test = None
    if set(y[fold.test]) - set(y[fold.train]):
        test = _settled_test_rows(cfg, fold, frame, checks, timer, notes, duplicates)
        _check_test_labels(cfg, fold, y, test, notes)
    with timer.stage("fit"):
        pipeline = features.fit_pipeline(fold.train)
    if test is None:
        test = _settled_test_rows(cfg, fold, frame, checks, timer, notes, duplicates)
    with timer.stage("predict"):
        X_test = features.transform(fold.train, test)
        classifier = pipeline.steps[-1][1]
        predicted = classifier.predict(X_test)
        proba = _proba_frame(classifier, X_test, labels)
    part = pd.DataFrame(
        {
            "id": frame["id"].iloc[test].to_numpy(),
            "fold": fold.index,
            "gold": y[test],
            "predicted": np.asarray(predicted, dtype=str),
        }
    )
    if proba is not None:
        part = pd.concat([part, proba.reset_index(drop=True)], axis=1)
    for column in ("target", "group", "source", "date"):
        part[column] = frame[column].iloc[test].to_numpy()
    return part, pipeline


def _settled_test_rows(
    cfg: DictConfig,
    fold: Fold,
    frame: pd.DataFrame,
    checks: DuplicateChecks,
    timer: StageTimer,
    notes: list[str],
    duplicates: list[pd.DataFrame],
) -> np.ndarray:
    """The fold's test rows after the duplicate check (dropping twins if configured)."""
    if cfg.dedup.get("enabled", True):
        with timer.stage("dedup"):
            dups = checks.result(fold)
    else:
        dups = no_duplicates()
    test = fold.test
    if len(dups):
        duplicates.append(dups.assign(fold=fold.index))
        if cfg.dedup.drop:
            keep = ~frame["id"].iloc[test].isin(set(dups["test_id"])).to_numpy()
            notes.append(
                f"fold {fold.index}: dropped {int((~keep).sum())} test rows duplicated in train"
            )
            test = test[keep]
    return test


def _check_test_labels(cfg: DictConfig, fold: Fold, y: np.ndarray, test, notes: list) -> None:
    """A test label the training part never shows cannot be predicted: fail, naming it.

    ``+split.allow_unseen_labels=true`` turns the error into a note in the report.
    """
    unseen = sorted(set(y[test]) - set(y[fold.train]))
    if not unseen:
        return
    counts = {label: int((y[test] == label).sum()) for label in unseen}
    message = (
        f"split {cfg.split.name!r} fold {fold.index}: test label(s) {counts} never occur in the "
        f"training part (training labels: {sorted(set(y[fold.train]))}); every test label must "
        "also be in training"
    )
    if cfg.split.get("allow_unseen_labels", False):
        notes.append(message)
        return
    raise DataError(
        message + ": fix the split column, or pass +split.allow_unseen_labels=true to score anyway"
    )


def _progress(folds: list[Fold], console, description: str):
    if console is None or len(folds) == 1:
        if console is not None:
            console.log(f"{description}…")
        yield from folds
        return
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TimeElapsedColumn

    with Progress(
        "[progress.description]{task.description}",
        BarColumn(),
        MofNCompleteColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=False,
    ) as progress:
        task = progress.add_task(description, total=len(folds))
        for fold in folds:
            yield fold
            progress.advance(task)


def _command_line() -> list[str]:
    import sys

    return list(sys.argv)


def rerun(run_dir: Path, new_run_dir: Path | None = None, *, quiet: bool = False) -> RunResult:
    """Repeat a finished run from its ``run.json`` alone; refuse if the data changed."""
    record_path = Path(run_dir) / "run.json"
    if not record_path.exists():
        raise DataError(f"{run_dir} holds no run.json: not a complete run directory")
    import json

    record = json.loads(record_path.read_text(encoding="utf-8"))
    cfg = OmegaConf.create(record["config"])
    if new_run_dir is None:
        new_run_dir = Path(str(run_dir)).parent / (
            Path(str(run_dir)).name + f"-rerun-{int(time.time())}"
        )
    result = run_experiment(cfg, new_run_dir, quiet=quiet)
    expected = record["data"]["fingerprint"]
    got = json.loads((result.run_dir / "run.json").read_text())["data"]["fingerprint"]
    if expected != got:
        raise DataError(
            f"data changed since {run_dir} was made: fingerprint {got[:12]}… != {expected[:12]}…"
        )
    return result

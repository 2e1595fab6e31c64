"""One experiment run: corpus → split → fit → predict → evaluate → run directory.

``stance-run`` (Hydra) and notebooks both call :func:`run_experiment`; the
config is the single source of truth and is saved with every run, so a run can
be repeated from its directory alone (:func:`rerun`).

Read :func:`_run_stages` top to bottom: each stage is a short function that
takes the piece of config it needs (see :mod:`stance.run_config`) and returns
its result; nothing is appended to shared lists along the way.
"""

from __future__ import annotations

import json
import logging
import random
import time
import warnings
from collections.abc import Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timezone
from functools import cached_property
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
from omegaconf import DictConfig, OmegaConf
from sklearn.pipeline import Pipeline

from stance.cache import feature_cache_dir
from stance.data.duplicate_checks import DuplicateChecks, no_duplicates
from stance.data.fingerprints import corpus_fingerprint
from stance.data.loading import describe_source, load_corpus
from stance.data.splits import Fold, make_folds
from stance.data.table import Corpus, Task
from stance.errors import DataError
from stance.evaluation.bootstrap import secondary_block
from stance.evaluation.metrics import headline_score, score, summarise_folds
from stance.fold_cache import FoldCache
from stance.fold_fit import FoldFeatures, instantiate_node, pipeline_from_spec
from stance.fold_run import FoldOutcome, LoadedCorpus, fitted_encoder, row_groups, run_fold
from stance.paths import conf_dir
from stance.reporting.provenance import RunPeakMemory, StageTimer, git_state, package_versions
from stance.reporting.run_dir import RUN_LOGGER, RunDirectory, run_log
from stance.run_config import DedupSpec, PipelineSpec, RunSettings, SelectionSpec, SplitSpec
from stance.selection import NestedChooser, SelectionChoice

__all__ = [
    "RunResult",
    "build_pipeline",
    "compose_config",
    "rerun",
    "row_groups",
    "run_experiment",
]

#: The run's log lines go to stance-run.log in the run directory (see run_log).
log = logging.getLogger(RUN_LOGGER)

#: The files a rerun must reproduce byte for byte (run.json differs: timings, memory, dates).
REPRODUCED_FILES = ("metrics.json", "predictions.csv")


@dataclass
class RunResult:
    """What a finished run hands back to Python callers (notebooks, tests)."""

    run_dir: Path
    metrics: dict
    predictions: pd.DataFrame
    pipeline: Pipeline
    corpus: Corpus
    #: After :func:`rerun`: file name → whether it is byte-identical to the original's.
    reproduced: dict[str, bool] | None = field(default=None)


def compose_config(overrides: Sequence[str] = (), config_name: str = "config") -> DictConfig:
    """Compose the packaged Hydra config with command-line style ``overrides``."""
    from hydra import compose, initialize_config_dir
    from hydra.core.global_hydra import GlobalHydra

    if GlobalHydra.instance().is_initialized():
        GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(conf_dir()), version_base="1.3"):
        return compose(config_name=config_name, overrides=list(overrides))


def _instantiate(node: Any, what: str) -> Any:
    """Kept for notebooks and experiment scripts: see :func:`stance.fold_fit.instantiate_node`."""
    return instantiate_node(node, what)


def build_pipeline(cfg: DictConfig) -> Pipeline:
    """The whole model as one scikit-learn Pipeline: clean → features → classifier."""
    return pipeline_from_spec(PipelineSpec.from_config(cfg))


# --- What the stages return -------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class CrossValidation:
    """Every outer fold's outcome, in fold order, and their pooled predictions."""

    outcomes: tuple[FoldOutcome, ...]
    #: Peak memory of the duplicate check's worker process, when it ran in the background.
    dedup_worker_peak_mb: float | None = None

    @cached_property
    def predictions(self) -> pd.DataFrame:
        return pd.concat([o.predictions for o in self.outcomes], ignore_index=True)

    @property
    def fold_scores(self) -> list[dict[str, Any]]:
        return [o.scores for o in self.outcomes]

    @property
    def notes(self) -> tuple[str, ...]:
        """Per fold: the selection choice, then what settling its test rows said."""
        return tuple(
            note
            for o in self.outcomes
            for note in ((o.choice.describe(),) if o.choice else ()) + o.notes
        )

    @property
    def choices(self) -> tuple[SelectionChoice, ...]:
        return tuple(o.choice for o in self.outcomes if o.choice is not None)

    def duplicates(self) -> pd.DataFrame:
        """Train/test duplicate pairs of every fold (with a ``fold`` column)."""
        found = [o.duplicates for o in self.outcomes if o.duplicates is not None]
        if not found:
            return no_duplicates().assign(fold=pd.Series(dtype=int))
        return pd.concat(found, ignore_index=True)


@dataclass(frozen=True, eq=False)
class FinalModel:
    """The pipeline saved as model.skops, and the selection choice behind it (if any)."""

    pipeline: Pipeline
    choice: SelectionChoice | None = None

    @property
    def choices(self) -> tuple[SelectionChoice, ...]:
        return (self.choice,) if self.choice else ()

    @property
    def notes(self) -> tuple[str, ...]:
        return tuple(choice.describe() for choice in self.choices)


@dataclass(frozen=True, eq=False)
class RunOutcome:
    """Everything a run produced, before it is written."""

    data: LoadedCorpus
    cache: FoldCache
    folds: list[Fold]
    cv: CrossValidation
    metrics: dict[str, Any]
    final: FinalModel
    notes: tuple[str, ...]

    @property
    def predictions(self) -> pd.DataFrame:
        return self.cv.predictions


# --- The run ------------------------------------------------------------------------------


def run_experiment(
    cfg: DictConfig, run_dir: Path | None = None, *, quiet: bool = False
) -> RunResult:
    """Run the experiment ``cfg`` describes and write its run directory.

    The directory is complete (``run.json`` present) or removed: a failure or an
    interrupt (SIGINT / SIGTERM) leaves nothing half-written.
    """
    started = datetime.now(timezone.utc)
    memory = RunPeakMemory()
    settings = RunSettings.from_config(cfg)
    _seed_everything(settings.seed)
    if run_dir is None:
        stamp = started.strftime("%Y-%m-%d/%H-%M-%S-%f")
        run_dir = Path(str(cfg.paths.output_dir)) / "runs" / stamp
    run_dir = Path(run_dir).resolve()
    console = None if quiet else _console()
    staged = RunDirectory(run_dir)
    try:
        with run_log(run_dir):
            log.info("run %s: seed %d, config %s", run_dir, settings.seed, _choices(cfg))
            timer = StageTimer(console, log)
            outcome = _run_stages(cfg.data, cfg.split, settings, timer, console)
            _write_run(staged, cfg, settings, outcome, timer, memory, started)
    except BaseException:
        staged.abort()
        raise
    if console is not None:
        report = run_dir / "report.md"
        console.print(
            f"[bold]{_headline(outcome.metrics)}[/bold]  report: {report}", soft_wrap=True
        )
    data = outcome.data
    return RunResult(
        staged.path, outcome.metrics, outcome.predictions, outcome.final.pipeline, data.corpus
    )


def _run_stages(
    data_cfg: DictConfig, split_cfg: DictConfig, settings: RunSettings, timer: StageTimer, console
) -> RunOutcome:
    """Load → split → cross-validate → evaluate → refit: the run, stage by stage.

    Only the loader and the splitter see config nodes (``data``, ``split``); every
    other stage gets its typed piece of ``settings``.
    """
    cache = FoldCache(feature_cache_dir(settings.cache_dir) if settings.cache_features else None)
    data = load_data(data_cfg, settings.data_dir, cache, timer)
    target_notes = check_run_targets(data.corpus, settings.pipeline)
    folds = split_data(data.corpus, split_cfg, settings.seed, timer)
    features = FoldFeatures(settings.pipeline, cache, data.fingerprint, data.X, data.y, data.groups)
    chooser = nested_chooser(settings.selection, settings.pipeline, data, cache, timer)
    cv = cross_validate(
        data, folds, features, chooser, cache, settings.dedup, settings.split, timer, console
    )
    metrics = evaluate(data.corpus.task, cv, settings.bootstrap, settings.seed, timer)
    final = final_model(data, folds, cv, features, chooser, settings.save_model, timer)
    if chooser is not None:
        metrics = {**metrics, "selection": chooser.record(cv.choices + final.choices)}
    notes = tuple(data.corpus.notes) + target_notes + cv.notes + final.notes
    for note in notes:
        log.info("note: %s", note)
    log.info("%s", _headline(metrics))
    return RunOutcome(data, cache, folds, cv, metrics, final, notes)


def load_data(
    data_cfg: DictConfig, data_dir: Path, cache: FoldCache, timer: StageTimer
) -> LoadedCorpus:
    """The corpus, its fingerprint (cached by file stats) and the model input."""
    with timer.stage("load", f"Loading {describe_source(data_cfg, data_dir)}"):
        corpus = load_corpus(data_cfg, data_dir)
        fingerprint = corpus_fingerprint(
            corpus, OmegaConf.to_container(data_cfg, resolve=True), cache
        )
    return LoadedCorpus.of(corpus, fingerprint)


def check_run_targets(corpus: Corpus, pipeline: PipelineSpec) -> tuple[str, ...]:
    """Before training: refuse per-target blocks over many targets; warn on target-blind
    features for a corpus with per-row targets (a warning now, a note in the report)."""
    from stance.target_checks import check_targets

    features = instantiate_node(pipeline.features, "features")
    model = instantiate_node(pipeline.model, "model")
    note = check_targets(corpus.frame, features, str(pipeline.features.get("name", "?")), model)
    if note is None:
        return ()
    warnings.warn(note, stacklevel=2)
    return (note,)


def split_data(corpus: Corpus, split_cfg: DictConfig, seed: int, timer: StageTimer) -> list[Fold]:
    """The outer folds the ``split`` config asks for."""
    with timer.stage("split", f"Splitting ({split_cfg.name})"):
        return make_folds(corpus, split_cfg, seed)


def nested_chooser(
    selection: SelectionSpec | None,
    base: PipelineSpec,
    data: LoadedCorpus,
    cache: FoldCache,
    timer: StageTimer,
) -> NestedChooser | None:
    """The per-fold candidate chooser when ``+selection=…`` is set (candidates validated)."""
    if selection is None:
        return None
    task = data.corpus.task
    return NestedChooser(
        selection, base, task, cache, data.fingerprint, data.X, data.y, data.groups, timer
    )


def cross_validate(
    data: LoadedCorpus,
    folds: list[Fold],
    features: FoldFeatures,
    chooser: NestedChooser | None,
    cache: FoldCache,
    dedup: DedupSpec,
    split: SplitSpec,
    timer: StageTimer,
    console,
) -> CrossValidation:
    """Each fold fitted and scored; the duplicate check runs beside the fits."""
    checks = DuplicateChecks(
        data.frame,
        dedup.threshold,
        cache=cache,
        fingerprint=data.fingerprint,
        background=None if dedup.enabled else False,
    )

    def one_fold(fold: Fold) -> FoldOutcome:
        choice = None
        fold_features = features
        if chooser is not None:
            fold_features, choice = chooser.choose(fold.index, fold.train)
        outcome = run_fold(fold, data, fold_features, checks, dedup, split, timer)
        log.info("fold %s: %s", fold.index, _fold_line(outcome.scores))
        return replace(outcome, choice=choice)

    with checks:
        description = "Cross-validating" if len(folds) > 1 else "Training"
        outcomes = tuple(one_fold(fold) for fold in _progress(folds, console, description))
    return CrossValidation(outcomes, checks.worker_peak_mb)


def evaluate(
    task: Task, cv: CrossValidation, n_bootstrap: int, seed: int, timer: StageTimer
) -> dict[str, Any]:
    """metrics.json: pooled out-of-fold scores with a bootstrap interval, and per fold."""
    predictions = cv.predictions
    gold, predicted = predictions["gold"], predictions["predicted"]
    with timer.stage("evaluate", "Scoring"):
        mean, std = summarise_folds(cv.fold_scores)
        single = len(cv.outcomes) == 1
        return {
            "task": {
                "name": task.name,
                "labels": list(task.labels),
                "metric": task.metric,
                "metric_labels": list(task.averaged_labels),
            },
            "headline": {
                "metric": task.metric,
                "value": headline_score(gold, predicted, task),
                "ci95": _bootstrap(gold.to_numpy(), predicted.to_numpy(), task, n_bootstrap, seed),
                "scope": "test set" if single else "pooled out-of-fold predictions",
            },
            **secondary_block(gold.to_numpy(), predicted.to_numpy(), task, n_bootstrap, seed),
            "pooled": score(gold, predicted, task),
            "folds": cv.fold_scores,
            "mean": mean,
            "std": std,
        }


def final_model(
    data: LoadedCorpus,
    folds: list[Fold],
    cv: CrossValidation,
    features: FoldFeatures,
    chooser: NestedChooser | None,
    save_model: bool,
    timer: StageTimer,
) -> FinalModel:
    """After k-fold, the model refitted on every row (chosen anew); else the one fold's."""
    if len(folds) == 1 or not save_model:
        return FinalModel(cv.outcomes[-1].pipeline)
    with timer.stage("refit", "Refitting on all rows for the saved model"):
        every_row = np.arange(len(data.frame))
        choice = None
        if chooser is not None:
            features, choice = chooser.choose("final", every_row)
        return FinalModel(features.fit(every_row).pipeline, choice)


def _write_run(
    staged: RunDirectory,
    cfg: DictConfig,
    settings: RunSettings,
    outcome: RunOutcome,
    timer: StageTimer,
    memory: RunPeakMemory,
    started: datetime,
) -> None:
    """Write report, plots and model into the staging area, then publish with run.json last."""
    from stance.reporting.report import write_artifacts

    with timer.stage("write", "Writing report, plots and model"):
        model_card = write_artifacts(
            staged,
            cfg=cfg,
            corpus=outcome.data.corpus,
            folds=outcome.folds,
            predictions=outcome.predictions,
            metrics=outcome.metrics,
            pipeline=outcome.final.pipeline,
            duplicates=outcome.cv.duplicates(),
            notes=list(outcome.notes),
        )
    record = _run_record(cfg, settings, outcome, timer, memory, started, model_card)
    log.info(
        "complete in %.1f s, peak memory %.0f MB (%s); run.json written last",
        record["wall_time_s"],
        record["peak_memory_mb"],
        record["peak_memory_scope"],
    )
    staged.commit(record)


def _run_record(
    cfg: DictConfig,
    settings: RunSettings,
    outcome: RunOutcome,
    timer: StageTimer,
    memory: RunPeakMemory,
    started: datetime,
    model_card: dict,
) -> dict[str, Any]:
    """run.json: what ran, on which data and code, how long it took and how much memory."""
    corpus, worker_peak = outcome.data.corpus, outcome.cv.dedup_worker_peak_mb
    # A fine-tuned encoder says which encoder (revision or weight hash), device and torch.
    runtime = getattr(fitted_encoder(outcome.final.pipeline.steps[-1][1]), "provenance_", None)
    return {
        "status": "complete",
        "started": started.isoformat(timespec="seconds"),
        "finished": datetime.now(timezone.utc).isoformat(timespec="seconds"),
        "command": _command_line(),
        "seed": settings.seed,
        "config": OmegaConf.to_container(cfg, resolve=True),
        "data": {
            "name": corpus.name,
            "fingerprint": outcome.data.fingerprint,
            "rows": len(corpus),
            "data_dir": str(settings.data_dir),
            "files": corpus.files,
        },
        "git": git_state(),
        "versions": package_versions(),
        "timings": timer.timings,
        "wall_time_s": timer.total,
        # This run's peak ("run"), not an earlier sweep job's; "process" where it cannot reset.
        "peak_memory_mb": memory.mb(),
        "peak_memory_scope": memory.scope,
        "feature_cache": outcome.cache.summary(),
        # The duplicate check's worker process, when it ran in the background.
        "dedup_worker_peak_memory_mb": None if worker_peak is None else round(worker_peak, 1),
        "model_card": model_card,
        **({"model_runtime": runtime} if runtime else {}),
    }


def _fold_line(scores: dict[str, Any]) -> str:
    numbers = {k: v for k, v in scores.items() if isinstance(v, (int, float)) and k != "fold"}
    return ", ".join(
        f"{k} {v:.4f}" if isinstance(v, float) else f"{k} {v}" for k, v in numbers.items()
    )


def _choices(cfg: DictConfig) -> str:
    """The config groups chosen, for the log's first line (the full config is config.yaml)."""
    groups = {name: cfg[name].get("name") for name in ("data", "split", "features", "model")}
    return ", ".join(f"{name}={value}" for name, value in groups.items())


def _headline(metrics: dict) -> str:
    headline = metrics["headline"]
    ci = headline.get("ci95")
    interval = f" (95% CI {100 * ci[0]:.1f}–{100 * ci[1]:.1f})" if ci else ""
    return f"{headline['metric']} = {100 * headline['value']:.2f}{interval}"


def _seed_everything(seed: int) -> None:
    random.seed(seed)
    np.random.seed(seed % (2**32))


def _bootstrap(y_true: np.ndarray, y_pred: np.ndarray, task: Task, n: int, seed: int):
    if n <= 0:
        return None
    from stance.evaluation.bootstrap import bootstrap_ci, metric_for_task

    # The vectorised metric matches headline_score exactly and is ~100x faster.
    lo, hi = bootstrap_ci(y_true, y_pred, metric_for_task(task), n_resamples=n, seed=seed)
    return [float(lo), float(hi)]


def _console():
    from rich.console import Console

    return Console(stderr=True, highlight=False)


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
    """Repeat a finished run from its ``run.json`` alone; refuse if the data changed.

    The result's ``reproduced`` says, per file of :data:`REPRODUCED_FILES`, whether
    the new run's copy is byte-identical to the original's (printed unless ``quiet``).
    """
    run_dir = Path(run_dir)
    record_path = run_dir / "run.json"
    if not record_path.exists():
        raise DataError(f"{run_dir} holds no run.json: not a complete run directory")
    record = json.loads(record_path.read_text(encoding="utf-8"))
    cfg = OmegaConf.create(record["config"])
    if new_run_dir is None:
        new_run_dir = run_dir.parent / (run_dir.name + f"-rerun-{int(time.time())}")
    result = run_experiment(cfg, new_run_dir, quiet=quiet)
    new_record = json.loads((result.run_dir / "run.json").read_text(encoding="utf-8"))
    expected, got = record["data"]["fingerprint"], new_record["data"]["fingerprint"]
    if expected != got:
        raise DataError(
            f"data changed since {run_dir} was made: fingerprint {got[:12]}… != {expected[:12]}…"
        )
    result.reproduced = compare_outputs(run_dir, result.run_dir)
    if not quiet:
        _console().print(
            describe_reproduction(result.reproduced, record["versions"], new_record["versions"]),
            soft_wrap=True,
        )
    return result


def compare_outputs(original: Path, new: Path) -> dict[str, bool]:
    """Per reproduced file: is ``new``'s copy byte-identical to ``original``'s?"""
    return {
        name: (Path(original) / name).is_file()
        and (Path(original) / name).read_bytes() == (Path(new) / name).read_bytes()
        for name in REPRODUCED_FILES
    }


def describe_reproduction(
    identical: dict[str, bool], old_versions: dict[str, str], new_versions: dict[str, str]
) -> str:
    """One line for ``stance rerun``: identical, or which files differ and what changed."""
    same = [name for name, ok in identical.items() if ok]
    differ = [name for name, ok in identical.items() if not ok]
    if not differ:
        return f"reproduced: {', '.join(same)} byte-identical to the original"
    changed = [
        f"{name} {old_versions.get(name)} → {new_versions.get(name)}"
        for name in sorted(set(old_versions) | set(new_versions))
        if old_versions.get(name) != new_versions.get(name)
    ]
    why = f"; package versions changed: {', '.join(changed)}" if changed else ""
    kept = f" ({', '.join(same)} identical)" if same else ""
    return f"NOT reproduced: {', '.join(differ)} differ from the original{kept}{why}"

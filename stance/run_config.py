"""The pieces of a run's Hydra config that each stage needs, as small frozen dataclasses.

Why: the runner's stages (fit a fold, check duplicates, choose a candidate, score)
each need two or three settings, not the whole ``DictConfig``. Building the
pieces once, in :meth:`RunSettings.from_config`, keeps every stage's inputs
visible in its signature and keeps OmegaConf at the edge: Hydra composes the
config, this module reads it, and nothing downstream looks keys up again.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from omegaconf import DictConfig

from stance.config_nodes import plain_node
from stance.paths import default_cache_dir, default_data_dir


@dataclass(frozen=True)
class PipelineSpec:
    """What builds (and keys the cache of) one clean → features → classifier pipeline."""

    features: Mapping[str, Any]
    model: Mapping[str, Any]
    clean: bool
    seed: int

    @classmethod
    def from_config(cls, cfg: DictConfig) -> PipelineSpec:
        return cls(
            features=plain_node(cfg.features),
            model=plain_node(cfg.model),
            clean=bool(cfg.data.get("clean", True)),
            seed=int(cfg.seed),
        )

    def with_parts(self, features: Mapping[str, Any], model: Mapping[str, Any]) -> PipelineSpec:
        """The same cleaner and seed with other features and model (a selection candidate)."""
        return replace(self, features=plain_node(features), model=plain_node(model))


@dataclass(frozen=True)
class SplitSpec:
    """What the fold checks need to know about the split (make_folds gets ``cfg.split``)."""

    name: str
    allow_unseen_labels: bool

    @classmethod
    def from_config(cls, split: DictConfig) -> SplitSpec:
        return cls(str(split.name), bool(split.get("allow_unseen_labels", False)))


@dataclass(frozen=True)
class DedupSpec:
    """The train/test duplicate check: on or off, its threshold, whether twins are dropped."""

    enabled: bool
    threshold: float
    drop: bool

    @classmethod
    def from_config(cls, dedup: DictConfig) -> DedupSpec:
        return cls(bool(dedup.get("enabled", True)), float(dedup.threshold), bool(dedup.drop))


@dataclass(frozen=True)
class SelectionSpec:
    """Nested selection (``+selection=inner_cv``): the raw candidate list and inner folds."""

    candidates: tuple[Mapping[str, Any], ...]
    n_splits: int
    seed: int

    @classmethod
    def from_config(cls, cfg: DictConfig) -> SelectionSpec | None:
        selection = cfg.get("selection")
        if not selection:
            return None
        plain = plain_node(selection)
        return cls(
            candidates=tuple(plain.get("candidates") or ()),
            n_splits=int(plain.get("n_splits", 3)),
            seed=int(cfg.seed),
        )


@dataclass(frozen=True)
class RunSettings:
    """Every piece of one run's config, read once from the composed ``DictConfig``."""

    seed: int
    data_dir: Path
    cache_dir: Path
    cache_features: bool
    pipeline: PipelineSpec
    split: SplitSpec
    dedup: DedupSpec
    selection: SelectionSpec | None
    bootstrap: int
    save_model: bool

    @classmethod
    def from_config(cls, cfg: DictConfig) -> RunSettings:
        paths = cfg.paths
        return cls(
            seed=int(cfg.seed),
            data_dir=Path(paths.data_dir) if paths.get("data_dir") else default_data_dir(),
            cache_dir=Path(paths.cache_dir) if paths.get("cache_dir") else default_cache_dir(),
            cache_features=bool(cfg.cache.features),
            pipeline=PipelineSpec.from_config(cfg),
            split=SplitSpec.from_config(cfg.split),
            dedup=DedupSpec.from_config(cfg.dedup),
            selection=SelectionSpec.from_config(cfg),
            bootstrap=int(cfg.report.bootstrap),
            save_model=bool(cfg.save_model),
        )

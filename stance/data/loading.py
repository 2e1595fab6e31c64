"""Dispatch from a ``data`` config to the loader that builds the corpus table.

A loader is ``f(data_dir, options) -> Corpus``; ``options`` is the whole
``data`` config as a plain dict (loader-specific keys such as ``path`` or
``split_scheme`` sit beside ``name``/``loader``/``clean``; a nested
``options`` mapping is merged in for older configs).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

from stance.data.corpora import (
    RU_US_TARGET,
    load_allsides,
    load_basil_actor,
    load_basil_relative,
    load_basil_sentence,
    load_ru_us_rapprochement,
    load_semeval2016,
    read_allsides_articles,
)
from stance.data.table import Corpus
from stance.data.user import load_file
from stance.errors import ConfigError, DataError

__all__ = ["LOADERS", "RU_US_TARGET", "describe_source", "load_corpus", "read_allsides_articles"]

Loader = Callable[[Path, Mapping[str, Any]], Corpus]

LOADERS: dict[str, Loader] = {
    "allsides": load_allsides,
    "basil_actor": load_basil_actor,
    "basil_relative": load_basil_relative,
    "basil_sentence": load_basil_sentence,
    "semeval2016": load_semeval2016,
    "ru_us_rapprochement": load_ru_us_rapprochement,
    "file": load_file,
}


def _plain(cfg: Mapping[str, Any]) -> dict[str, Any]:
    try:
        from omegaconf import DictConfig, OmegaConf

        if isinstance(cfg, DictConfig):
            for key in cfg:
                if OmegaConf.is_missing(cfg, key):
                    raise ConfigError(
                        f"data.{key} must be set, e.g. on the command line: data.{key}=..."
                    )
            return OmegaConf.to_container(cfg, resolve=True)  # type: ignore[return-value]
    except ImportError:  # pragma: no cover - omegaconf is a dependency
        pass
    return dict(cfg)


def load_corpus(data_cfg: Mapping[str, Any], data_dir: Path | str) -> Corpus:
    """Load the corpus a ``data`` config names, from ``data_dir``."""
    options = _plain(data_cfg)
    nested = options.pop("options", None) or {}
    options = {**options, **nested}
    loader = options.get("loader", options.get("name"))
    if loader not in LOADERS:
        raise DataError(f"unknown data loader {loader!r}; known: {sorted(LOADERS)}")
    data_dir = Path(data_dir)
    if loader != "file" and not data_dir.is_dir():
        raise DataError(
            f"data directory {data_dir} does not exist; set STANCE_DATA_DIR or paths.data_dir"
        )
    return LOADERS[loader](data_dir, options)


def describe_source(data_cfg: Mapping[str, Any], data_dir: Path | str) -> str:
    """What the loading progress line names: ``corpus 'file' from /abs/corpus.csv`` for
    ``data=file`` (the file being read), ``corpus 'allsides' from DATA_DIR`` otherwise."""
    name = data_cfg.get("name")
    loader = data_cfg.get("loader", name)
    if loader == "file":
        try:
            value = data_cfg.get("path")
        except Exception:  # noqa: BLE001 - '???' (unset): load_corpus reports it
            value = None
        if value:
            # The same rule as stance.data.user.load_file: as given (~ expanded),
            # else relative to the data directory when it exists there.
            path = Path(str(value)).expanduser()
            if not path.is_absolute() and not path.exists() and (Path(data_dir) / path).exists():
                path = Path(data_dir) / path
            return f"corpus {name!r} from {path.resolve() if path.exists() else value}"
    return f"corpus {name!r} from {data_dir}"

"""From a ``data`` config to the corpus table: instantiate its spec's ``_target_``, then load.

``conf/data/<name>.yaml`` names a :class:`~stance.data.corpora.CorpusSpec`
subclass in ``_target_``; its other keys (``name``, ``clean``, ``path``,
``targets``...) are the spec's constructor parameters, instantiated by Hydra
exactly like features and models. Configs written before specs existed
(``loader: <name>`` or only ``name:``, as in the ``config.yaml`` of old run
directories) still load: the name is looked up among the registered specs.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from stance.config_nodes import instantiate_node, plain_node, target_class
from stance.data.corpora import CorpusSpec, spec_classes
from stance.data.corpora.allsides import read_allsides_articles
from stance.data.corpora.file import UserFile
from stance.data.corpora.ru_us import RU_US_TARGET
from stance.data.table import Corpus
from stance.errors import ConfigError, DataError

__all__ = [
    "RU_US_TARGET",
    "build_spec",
    "describe_source",
    "load_corpus",
    "load_spec",
    "read_allsides_articles",
]


def _legacy_spec(options: dict[str, Any]) -> type[CorpusSpec]:
    """The spec a config without ``_target_`` means, by its ``loader`` or ``name``."""
    key = options.pop("loader", None) or options.get("name")
    known = {**spec_classes(), "file": UserFile}
    if key not in known:
        raise ConfigError(
            f"the data config names no _target_ and {key!r} is not a known corpus; "
            f"known: {sorted(known)}; e.g. _target_: {known['semeval2016'].target()}"
        )
    return known[key]


def _spec_class(target: Any) -> type[CorpusSpec]:
    known = [spec.target() for spec in spec_classes().values()]
    return target_class(target, CorpusSpec, "data", known)


def build_spec(data_cfg: Mapping[str, Any]) -> CorpusSpec:
    """The :class:`CorpusSpec` a ``data`` config describes (its options checked by name)."""
    options = plain_node(data_cfg, "data")
    nested = options.pop("options", None) or {}  # older configs nest loader options
    options = {**options, **nested}
    target = options.pop("_target_", None)
    if target is not None:
        options.pop("loader", None)  # left over from a pre-spec config merged with a new one
    spec = _legacy_spec(options) if target is None else _spec_class(target)
    accepted = inspect.signature(spec.__init__).parameters
    unknown = sorted(set(options) - set(accepted))
    if unknown:
        takes = [p for p in accepted if p != "self"]
        raise ConfigError(f"data: {spec.__name__} has no option(s) {unknown}; it takes {takes}")
    return instantiate_node({"_target_": spec.target(), **options}, f"data spec {spec.__name__}")


def load_spec(spec: CorpusSpec, data_dir: Path | str) -> Corpus:
    """``spec.load(data_dir)``, after checking the data directory exists when it needs one."""
    data_dir = Path(data_dir)
    if spec.datasets and not data_dir.is_dir():
        raise DataError(
            f"data directory {data_dir} does not exist; set STANCE_DATA_DIR or paths.data_dir"
        )
    return spec.load(data_dir)


def load_corpus(data_cfg: Mapping[str, Any], data_dir: Path | str) -> Corpus:
    """Load the corpus a ``data`` config names, from ``data_dir``."""
    return load_spec(build_spec(data_cfg), data_dir)


def describe_source(data_cfg: Mapping[str, Any], data_dir: Path | str) -> str:
    """What the loading progress line names: ``corpus 'file' from /abs/corpus.csv`` for
    ``data=file`` (the file being read), ``corpus 'allsides' from DATA_DIR`` otherwise."""
    name = data_cfg.get("name")
    if str(data_cfg.get("_target_", "")).endswith(".UserFile") or name == "file":
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

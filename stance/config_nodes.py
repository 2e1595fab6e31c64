"""Hydra config nodes → objects, with one-line errors that name the config group.

Every stage chooses its code by ``_target_`` (data, split, features, model); this
module is the one place that turns such a node into a plain dict, resolves its
``_target_`` to a class of the expected kind, and instantiates it, so a missing
value, a bad import path or a failing constructor reads the same in every group.
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from typing import Any

from stance.errors import ConfigError, StanceError


def plain_node(node: Any, group: str | None = None) -> dict[str, Any]:
    """A config node as a plain, resolved dict (a deep copy: callers may not share it).

    With ``group``, a ``???`` (mandatory, unset) value is a :class:`ConfigError`
    naming ``group.key`` and how to set it.
    """
    from omegaconf import DictConfig, OmegaConf  # not at import: stance.data stays light

    if isinstance(node, DictConfig):
        if group is not None:
            for key in node:
                if OmegaConf.is_missing(node, key):
                    raise ConfigError(
                        f"{group}.{key} must be set, e.g. on the command line: {group}.{key}=..."
                    )
        return OmegaConf.to_container(node, resolve=True)  # type: ignore[return-value]
    return copy.deepcopy(dict(node))


def dotted_name(cls: type) -> str:
    """What a ``_target_`` for ``cls`` says."""
    return f"{cls.__module__}.{cls.__qualname__}"


def target_class(target: Any, base: type, group: str, known: Iterable[str]) -> type:
    """The class ``group._target_`` names, checked to be a subclass of ``base``."""
    from hydra.utils import get_class

    listed = ", ".join(sorted(known))
    try:
        cls = get_class(str(target))
    except Exception as exc:  # noqa: BLE001 - Hydra raises ImportError or ValueError
        raise ConfigError(
            f"{group}._target_ {target!r} cannot be imported ({exc}); known: {listed}"
        ) from None
    if not (isinstance(cls, type) and issubclass(cls, base)):
        raise ConfigError(f"{group}._target_ {target!r} is not a {base.__name__}; known: {listed}")
    return cls


def instantiate_node(spec: Mapping[str, Any], what: str) -> Any:
    """``hydra.utils.instantiate`` of a plain ``_target_`` dict.

    A :class:`StanceError` raised while building passes through as it is (it already
    says what is wrong); anything else becomes a :class:`ConfigError` naming ``what``.
    """
    from hydra.errors import InstantiationException
    from hydra.utils import instantiate

    try:
        return instantiate(dict(spec), _convert_="all")
    except InstantiationException as exc:
        if isinstance(exc.__cause__, StanceError):
            raise exc.__cause__ from None
        raise ConfigError(f"could not build the {what}: {exc}") from exc

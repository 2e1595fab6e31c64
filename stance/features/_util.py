"""Small helpers shared by the feature transformers (config plumbing, hashing)."""

from __future__ import annotations

from typing import Any


def plain(value: Any) -> Any:
    """Return ``value`` with OmegaConf containers turned into plain lists / dicts.

    Plain Python values are returned *unchanged* (same object), so estimators
    can call this in ``__init__`` and still pass scikit-learn's ``clone`` check.
    """
    module = type(value).__module__
    if module.startswith("omegaconf"):
        from omegaconf import OmegaConf

        return OmegaConf.to_container(value, resolve=True)
    return value


def as_tuple(value: Any) -> tuple:
    """A list-like config value as a tuple (``ngram_range`` and friends)."""
    return tuple(plain(value))

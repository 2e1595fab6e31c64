"""Optional dependencies of a test: skipped on a developer's machine without them, a failure in CI.

CI (``CI=true``, set by the CI runner) installs every extra and system package the
suite needs (see ``.ci/run``), so a missing one there is a broken install step, not a
reason to skip a feature's tests silently.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from types import ModuleType

import pytest

IN_CI = os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def _missing(message: str) -> None:
    if IN_CI:
        pytest.fail(f"{message} (CI must install it: see .ci/run)", pytrace=False)
    pytest.skip(message, allow_module_level=True)


def require_module(name: str, hint: str) -> ModuleType:
    """Import ``name``, or skip (fail in CI) with the install ``hint``."""
    try:
        return __import__(name, fromlist=["_"])
    except ImportError:
        _missing(f"{name} not installed ({hint})")
        raise  # unreachable: skip/fail raise


def require_program(path: str, name: str, hint: str) -> str:
    """The executable at ``path`` (or ``name`` on PATH), or skip (fail in CI)."""
    if Path(path).exists():
        return path
    found = shutil.which(name)
    if found:
        return found
    _missing(f"{name} not installed ({hint})")
    raise AssertionError("unreachable")

"""Shared fixtures: where the shared corpora live, and isolated output/cache dirs."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from stance.paths import default_data_dir


@pytest.fixture(scope="session")
def data_dir() -> Path:
    """The shared corpora (../shared/data beside the checkout, or STANCE_DATA_DIR)."""
    path = default_data_dir()
    if not (path / "ru_us_rapprochement").is_dir():
        pytest.fail(f"shared corpora not found at {path}; set STANCE_DATA_DIR")
    return path


@pytest.fixture(autouse=True)
def _isolated_cache(tmp_path_factory, monkeypatch):
    """Keep Arrow / feature caches out of the user's home, shared across a session."""
    cache = tmp_path_factory.getbasetemp() / "stance-cache"
    monkeypatch.setenv("STANCE_CACHE_DIR", os.environ.get("STANCE_TEST_CACHE", str(cache)))
    monkeypatch.setenv("HF_DATASETS_DISABLE_PROGRESS_BARS", "1")

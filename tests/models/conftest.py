"""Fixtures shared by the encoder-model tests (transformer, SetFit, ONNX backends)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(scope="module")
def encoder(tmp_path_factory) -> Path:
    """A tiny randomly initialised BERT folder (no download), one per test module."""
    from tests.models.tiny_encoder import make_tiny_encoder

    return make_tiny_encoder(tmp_path_factory.mktemp("tiny") / "bert")

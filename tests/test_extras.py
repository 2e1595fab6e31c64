"""The missing-extra hint gives the pip command that fits how stance was installed."""

from __future__ import annotations

import json
import sys
from importlib import metadata
from pathlib import Path

import pytest

from stance import extras
from stance.extras import install_command


class _Dist:
    def __init__(self, direct_url: dict | None):
        self.direct_url = direct_url

    def read_text(self, name: str) -> str | None:
        assert name == "direct_url.json"
        return None if self.direct_url is None else json.dumps(self.direct_url)


def _installed(monkeypatch, direct_url: dict | None) -> None:
    monkeypatch.setattr(metadata, "distribution", lambda name: _Dist(direct_url))


def test_from_an_index(monkeypatch):
    _installed(monkeypatch, None)
    assert install_command("embed") == "pip install 'stance[embed]'"


def test_editable_checkout_elsewhere_and_here(monkeypatch, tmp_path: Path):
    _installed(monkeypatch, {"url": tmp_path.as_uri(), "dir_info": {"editable": True}})
    monkeypatch.chdir("/")
    assert install_command("embed") == f'pip install -e "{tmp_path}[embed]"'
    monkeypatch.chdir(tmp_path)
    assert install_command("embed") == 'pip install -e ".[embed]"'  # README's form


def test_local_directory_not_editable(monkeypatch, tmp_path: Path):
    _installed(monkeypatch, {"url": tmp_path.as_uri(), "dir_info": {}})
    monkeypatch.chdir("/")
    assert install_command("sweep") == f'pip install "{tmp_path}[sweep]"'


def test_wheel_url_uses_the_index_form(monkeypatch):
    _installed(
        monkeypatch,
        {"url": "https://example.org/stance-0.1.0-py3-none-any.whl", "archive_info": {}},
    )
    assert install_command("embed") == "pip install 'stance[embed]'"


def test_never_installed_source_tree(monkeypatch):
    def missing(name):
        raise metadata.PackageNotFoundError(name)

    monkeypatch.setattr(metadata, "distribution", missing)
    monkeypatch.chdir("/")
    assert install_command("embed") == f'pip install -e "{extras.PACKAGE_DIR.parent}[embed]"'


def test_missing_extra_error_carries_the_command(monkeypatch):
    from stance.features import embeddings

    _installed(monkeypatch, None)
    monkeypatch.setitem(sys.modules, "sentence_transformers", None)  # import fails
    embeddings._load_model.cache_clear()
    with pytest.raises(embeddings.MissingExtraError, match=r"pip install 'stance\[embed\]'"):
        embeddings._load_model("some-model", "cpu")
    embeddings._load_model.cache_clear()

"""Fixtures: a real project file built from the synthetic pool."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.labeling.pool import NATO_FILE, make_pool, write_pool

COLUMNS = {
    "text": "body",
    "id": "doc_id",
    "title": "headline",
    "source": "outlet",
    "date": "published",
}


@pytest.fixture
def pool_rows() -> list[dict]:
    return make_pool()


@pytest.fixture
def pool_file(tmp_path: Path, pool_rows) -> Path:
    return write_pool(tmp_path / "archive.jsonl", pool_rows)


@pytest.fixture
def actors_file(tmp_path: Path) -> Path:
    folder = tmp_path / "actors"
    folder.mkdir()
    path = folder / "nato.yaml"
    path.write_text(NATO_FILE, encoding="utf-8")
    return path


@pytest.fixture
def gold(pool_rows) -> dict[str, str]:
    return {r["doc_id"]: r["gold"] for r in pool_rows}


@pytest.fixture
def project(tmp_path: Path, pool_file: Path, actors_file: Path):
    """A fresh project (first batch retrieved), in tmp_path/projects."""
    from stance.labeling.project import init_project

    return init_project(
        "nato",
        "NATO enlargement",
        pool_file,
        actors=str(actors_file),
        columns=COLUMNS,
        directory=tmp_path / "projects",
        batch_size=8,
    )

"""stance.atomic: a failed write leaves the old file and no temporary behind."""

from __future__ import annotations

import pytest

from stance.atomic import write_text_atomic


def test_replaces_whole_file_and_creates_parents(tmp_path):
    path = tmp_path / "a" / "b.json"
    write_text_atomic(path, "old")
    write_text_atomic(path, "new")
    assert path.read_text(encoding="utf-8") == "new"
    assert [p.name for p in path.parent.iterdir()] == ["b.json"]


def test_failed_write_keeps_the_old_file(tmp_path):
    path = tmp_path / "b.json"
    write_text_atomic(path, "old")
    with pytest.raises(UnicodeEncodeError):
        write_text_atomic(path, "\udcff")  # a lone surrogate cannot be written as UTF-8
    assert path.read_text(encoding="utf-8") == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["b.json"]

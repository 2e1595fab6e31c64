"""The feature cache is namespaced by a digest of the code, so edits never reuse stale fits."""

from __future__ import annotations

from stance.cache import code_digest, feature_cache_dir


def test_cache_dir_depends_on_the_code(tmp_path, monkeypatch):
    first = feature_cache_dir(tmp_path)
    assert first.parent == tmp_path / "features"
    assert first.name == code_digest() and len(first.name) == 16
    code_digest.cache_clear()
    monkeypatch.setattr("stance.cache.PACKAGE_DIR", tmp_path)
    (tmp_path / "x.py").write_text("A = 1\n")
    one = code_digest()
    code_digest.cache_clear()
    (tmp_path / "x.py").write_text("A = 2\n")
    assert code_digest() != one
    code_digest.cache_clear()

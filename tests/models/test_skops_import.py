"""The fast skops import must trust exactly what skops's own import trusts."""

from __future__ import annotations

import json
import os
import subprocess
import sys

from stance.models.skops_import import read_cached_names

PROBE = """
import json, sys
from stance.models.skops_import import import_skops_io, cache_file
sio = import_skops_io()
print(json.dumps({
    "names": sorted(sio._trusted_types.SKLEARN_ESTIMATOR_TYPE_NAMES),
    "cache": str(cache_file()),
    "walked": "sklearn.semi_supervised" in sys.modules,
    "torch": "torch" in sys.modules,
}))
"""


def _probe(cache_dir) -> dict:
    env = {**os.environ, "STANCE_CACHE_DIR": str(cache_dir)}
    out = subprocess.run(
        [sys.executable, "-c", PROBE], env=env, capture_output=True, text=True, check=True
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_cached_allow_list_equals_the_full_walk(tmp_path) -> None:
    first = _probe(tmp_path)  # no cache yet: skops walks scikit-learn and we cache the names
    assert first["walked"] and not first["torch"]
    assert os.path.exists(first["cache"])
    second = _probe(tmp_path)  # cache present: same allow-list without the walk
    assert not second["walked"]
    assert second["names"] == first["names"]
    assert "sklearn.linear_model._logistic.LogisticRegression" in second["names"]


def test_tampered_or_foreign_cache_is_ignored(tmp_path) -> None:
    path = tmp_path / "names.json"
    path.write_text(json.dumps(["sklearn.linear_model._logistic.LogisticRegression", "os.system"]))
    assert read_cached_names(path) is None
    path.write_text("{not json")
    assert read_cached_names(path) is None
    path.write_text(json.dumps([]))
    assert read_cached_names(path) is None
    path.write_text(json.dumps(["sklearn.pipeline.Pipeline"]))
    assert read_cached_names(path) == ["sklearn.pipeline.Pipeline"]
    assert read_cached_names(tmp_path / "absent.json") is None

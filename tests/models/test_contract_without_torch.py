"""The estimator contract collects on a machine without the [transformers] extra."""

from __future__ import annotations

import subprocess
import sys

from tests.paths import REPO_ROOT

# torch, transformers and setfit made unimportable, as on an install without the extra.
_SCRIPT = """
import sys

BLOCKED = {"torch", "transformers", "setfit", "sentence_transformers", "safetensors"}

class Missing:
    def find_spec(self, name, path=None, target=None):
        if name.split(".")[0] in BLOCKED:
            raise ModuleNotFoundError(f"No module named {name!r}")
        return None

sys.meta_path.insert(0, Missing())
from tests.estimator_contract import instances
names = sorted(type(e).__name__ for e in instances("stance.models"))
assert "TransformerClassifier" in names and "SetFitClassifier" in names, names
assert not BLOCKED & set(sys.modules), BLOCKED & set(sys.modules)
print(" ".join(names))
"""


def test_project_estimators_import_without_torch() -> None:
    result = subprocess.run(
        [sys.executable, "-c", _SCRIPT], cwd=REPO_ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, result.stderr
    assert "TransformerClassifier" in result.stdout

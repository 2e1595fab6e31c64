"""README.md stays true to the code: every config choice is listed, no corpus counts typed."""

from __future__ import annotations

import pytest

from tests.corpus_counts import counts_in
from tests.paths import CONF_DIR, REPO_ROOT

README = (REPO_ROOT / "README.md").read_text(encoding="utf-8")


@pytest.mark.parametrize("group", ["data", "split", "features", "model"])
def test_every_config_choice_is_in_the_table(group: str) -> None:
    row = next(line for line in README.splitlines() if line.startswith(f"| `{group}` |"))
    missing = [
        p.stem for p in sorted((CONF_DIR / group).glob("*.yaml")) if f"`{p.stem}`" not in row
    ]
    assert not missing, f"README's {group} row lacks {missing}"


def test_no_corpus_counts_typed_in_the_readme() -> None:
    found = counts_in(README)
    assert not found, f"README.md types corpus counts {found}; say how to get them instead"

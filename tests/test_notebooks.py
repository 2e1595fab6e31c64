"""The analysis notebooks execute end to end (on small slices: STANCE_NOTEBOOK_FAST=1).

They need the shared corpora; without them the test is skipped, not failed.
Committed notebooks carry no outputs, so no corpus text lands in the repository.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest

from tests.corpus_counts import counts_in
from tests.paths import NOTEBOOKS_DIR

nbformat = pytest.importorskip("nbformat")
nbclient = pytest.importorskip("nbclient")

NOTEBOOKS = sorted(NOTEBOOKS_DIR.glob("*.ipynb"))


def _have_data() -> bool:
    from stance.paths import default_data_dir

    data = default_data_dir()
    return (data / "allsides" / "articles.jsonl.gz").exists() and (
        data / "ru_us_rapprochement" / "labels.csv"
    ).exists()


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_is_committed_without_outputs(path: Path) -> None:
    nb = nbformat.read(path, as_version=4)
    with_outputs = [i for i, c in enumerate(nb.cells) if c.cell_type == "code" and c.get("outputs")]
    assert not with_outputs, f"{path.name}: clear outputs before committing (cells {with_outputs})"


def _prose(cell) -> str:
    """A markdown cell's text; a code cell's comments and string literals (not its numbers:
    ``n_resamples=300`` is a setting, not a count)."""
    if cell.cell_type != "code":
        return cell.source
    import io
    import tokenize

    try:
        tokens = tokenize.generate_tokens(io.StringIO(cell.source).readline)
        return "\n".join(t.string for t in tokens if t.type in (tokenize.COMMENT, tokenize.STRING))
    except (tokenize.TokenError, SyntaxError):
        return cell.source


@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_prose_has_no_corpus_counts(path: Path) -> None:
    """Corpus counts change when labels are added: compute them in a cell, never type them."""
    nb = nbformat.read(path, as_version=4)
    found = [(i, form) for i, cell in enumerate(nb.cells) for form in counts_in(_prose(cell))]
    assert not found, f"{path.name}: corpus counts typed as literals (cell, number): {found}"


@pytest.mark.slow
@pytest.mark.parametrize("path", NOTEBOOKS, ids=[p.stem for p in NOTEBOOKS])
def test_notebook_executes(path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    if not _have_data():
        pytest.skip("shared corpora not available")
    monkeypatch.setenv("STANCE_NOTEBOOK_FAST", "1")
    monkeypatch.setenv("STANCE_NOTEBOOK_OUT", str(tmp_path))
    monkeypatch.setenv("MPLBACKEND", "Agg")
    nb = nbformat.read(path, as_version=4)
    client = nbclient.NotebookClient(
        nb, timeout=300, kernel_name="python3", resources={"metadata": {"path": str(path.parent)}}
    )
    start = time.perf_counter()
    client.execute()
    elapsed = time.perf_counter() - start
    pngs = list(tmp_path.rglob("*.png"))
    assert pngs, "the notebook saved no figures"
    stderr = [
        out.get("text", "")
        for cell in nb.cells
        for out in cell.get("outputs", [])
        if out.get("name") == "stderr"
    ]
    assert not [t for t in stderr if "IProgress not found" in t], "install ipywidgets ([dev])"
    if os.environ.get("STANCE_NOTEBOOK_TIMING"):
        print(f"{path.name}: {elapsed:.1f}s")

"""Paths the tests share: the checkout's root and the seed document, found without absolute paths."""

from __future__ import annotations

from pathlib import Path

from stance.paths import default_data_dir

REPO_ROOT = Path(__file__).resolve().parent.parent
CONF_DIR = REPO_ROOT / "conf"
EXPERIMENTS_DIR = REPO_ROOT / "experiments"
NOTEBOOKS_DIR = REPO_ROOT / "notebooks"
#: The scraped, machine-translated article the project grew from (``shared/seeds`` beside ``shared/data``).
SEED_DOCUMENT = default_data_dir().parent / "seeds" / "000_d54e7f37c2073ae9.txt"

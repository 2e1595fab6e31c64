"""What a run needs to be traced and repeated: versions, commit, data, timings."""

from __future__ import annotations

import platform
import resource
import subprocess
import sys
import time
from contextlib import contextmanager
from importlib import metadata
from pathlib import Path

TRACKED_PACKAGES = (
    "stance",
    "scikit-learn",
    "numpy",
    "scipy",
    "pandas",
    "pyarrow",
    "datasets",
    "hydra-core",
    "omegaconf",
    "skops",
    "matplotlib",
    "joblib",
    "vaderSentiment",
    "sentence-transformers",
    "torch",
)


def package_versions() -> dict[str, str]:
    """Installed versions of the packages that can change a run's numbers."""
    versions = {"python": platform.python_version()}
    for name in TRACKED_PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            continue
    return versions


def git_state(path: Path | None = None) -> dict[str, object]:
    """Commit and dirty flag of the checkout holding the stance source (if any)."""
    where = path or Path(__file__).resolve().parents[2]

    def git(*args: str) -> str | None:
        try:
            out = subprocess.run(
                ["git", *args], cwd=where, capture_output=True, text=True, timeout=10
            )
        except (OSError, subprocess.SubprocessError):
            return None
        return out.stdout.strip() if out.returncode == 0 else None

    commit = git("rev-parse", "HEAD")
    if commit is None:
        return {"commit": None, "dirty": None}
    status = git("status", "--porcelain", "--untracked-files=no")
    return {"commit": commit, "dirty": bool(status)}


def peak_memory_mb() -> float:
    """Peak resident set size of this process (Linux reports KiB)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1 / 1024 / 1024 if sys.platform == "darwin" else 1 / 1024
    return round(rss * scale, 1)


class StageTimer:
    """Wall time per named stage, for run.json and the progress line."""

    def __init__(self, console=None) -> None:
        self.timings: dict[str, float] = {}
        self.console = console
        self._start = time.perf_counter()

    @contextmanager
    def stage(self, name: str, message: str | None = None):
        if self.console is not None and message:
            self.console.log(f"{message}…")
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - start, 3)

    @property
    def total(self) -> float:
        return round(time.perf_counter() - self._start, 3)

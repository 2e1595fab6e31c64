"""What a run needs to be traced and repeated: versions, commit, data, timings."""

from __future__ import annotations

import logging
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
    """Peak resident set size of this process since it started (Linux reports KiB)."""
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    scale = 1 / 1024 / 1024 if sys.platform == "darwin" else 1 / 1024
    return round(rss * scale, 1)


_CLEAR_REFS = Path("/proc/self/clear_refs")
_STATUS = Path("/proc/self/status")


class RunPeakMemory:
    """Peak resident memory of this process while one run ran, not since the process started.

    Why: a Hydra sweep (``stance-run -m``) runs every job in one process, so the
    process-wide peak (``ru_maxrss``) of job 5 is the largest of jobs 1–5. Linux
    resets the peak when ``5`` is written to ``/proc/self/clear_refs``; the
    peak since then is ``VmHWM`` in ``/proc/self/status``. Where that is not
    possible (macOS, a locked-down /proc) the process-wide figure is reported
    and :attr:`scope` says so.
    """

    def __init__(self) -> None:
        try:
            _CLEAR_REFS.write_text("5")
            self.scope = "run"
        except OSError:
            self.scope = "process"

    def mb(self) -> float:
        """Peak MiB for :attr:`scope`: this run, or the whole process if it could not reset."""
        if self.scope == "run":
            for line in _STATUS.read_text().splitlines():
                if line.startswith("VmHWM:"):
                    return round(int(line.split()[1]) / 1024, 1)
        return peak_memory_mb()


class StageTimer:
    """Wall time per named stage, for run.json; each stage's message goes to console and log."""

    def __init__(self, console=None, log: logging.Logger | None = None) -> None:
        self.timings: dict[str, float] = {}
        self.console = console
        self.log = log
        self._start = time.perf_counter()

    @contextmanager
    def stage(self, name: str, message: str | None = None):
        if message:
            if self.console is not None:
                self.console.log(f"{message}…")
            if self.log is not None:
                self.log.info("%s…", message)
        start = time.perf_counter()
        try:
            yield
        finally:
            self.timings[name] = round(self.timings.get(name, 0.0) + time.perf_counter() - start, 3)

    @property
    def total(self) -> float:
        return round(time.perf_counter() - self._start, 3)

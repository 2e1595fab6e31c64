"""A run directory that is either complete or absent.

Artifacts are written under ``.staging/`` and moved into place by
:meth:`RunDirectory.commit`, which writes ``run.json`` last: a directory with
``run.json`` is complete. :meth:`RunDirectory.abort` removes what the run
wrote (and the directory itself when nothing else lives there), so a failed or
interrupted run never leaves a half-written directory behind.

:func:`run_log` writes the run's own log lines (stages, notes, headline) to
``stance-run.log``, the file Hydra's job logging opens in the run directory.
"""

from __future__ import annotations

import json
import logging
import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pandas as pd

from stance.atomic import write_text_atomic

#: The run's log, in the run directory (the name Hydra's job logging gives it too).
LOG_NAME = "stance-run.log"
#: Files written into a run directory before the run's artifacts (by Hydra or the log).
_HYDRA_OWNED = {".hydra", ".staging", LOG_NAME, "run_experiment.log"}
#: The runner's logger; it does not propagate, so Hydra's console handler does not repeat
#: on stdout what the rich console already shows on stderr.
RUN_LOGGER = "stance.run"


def write_json_atomic(path: Path, obj: Any) -> None:
    """Write JSON through a temporary file and ``os.replace`` (atomic on POSIX)."""
    write_text_atomic(path, json.dumps(obj, indent=2, sort_keys=False, default=str) + "\n")


class RunDirectory:
    """Stage a run's artifacts, then publish them all at once."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.staging = self.path / ".staging"
        if (self.path / "run.json").exists():
            raise FileExistsError(
                f"{self.path} already holds a complete run; choose another directory"
            )
        self.staging.mkdir(parents=True, exist_ok=True)

    def stage(self, relative: str) -> Path:
        """Path under the staging area (parents created) for an artifact to be written."""
        target = self.staging / relative
        target.parent.mkdir(parents=True, exist_ok=True)
        return target

    def write_json(self, relative: str, obj: Any) -> Path:
        path = self.stage(relative)
        path.write_text(json.dumps(obj, indent=2, default=str) + "\n", encoding="utf-8")
        return path

    def write_text(self, relative: str, text: str) -> Path:
        path = self.stage(relative)
        path.write_text(text, encoding="utf-8")
        return path

    def write_csv(self, relative: str, frame: pd.DataFrame) -> Path:
        path = self.stage(relative)
        frame.to_csv(path, index=False, float_format="%.6f", lineterminator="\n")
        return path

    def commit(self, run_record: dict) -> Path:
        """Move staged artifacts into place and write ``run.json`` last."""
        for item in sorted(self.staging.iterdir()):
            destination = self.path / item.name
            if destination.exists():
                if destination.is_dir():
                    shutil.rmtree(destination)
                else:
                    destination.unlink()
            os.replace(item, destination)
        self.staging.rmdir()
        write_json_atomic(self.path / "run.json", run_record)
        return self.path

    def abort(self) -> None:
        """Remove staged artifacts; remove the directory if only Hydra's files remain."""
        shutil.rmtree(self.staging, ignore_errors=True)
        if not self.path.exists():
            return
        leftovers = {p.name for p in self.path.iterdir()}
        if leftovers <= _HYDRA_OWNED:
            shutil.rmtree(self.path, ignore_errors=True)


@contextmanager
def run_log(run_dir: Path) -> Iterator[logging.Logger]:
    """The run's logger, writing to ``run_dir/stance-run.log`` until the block ends.

    Under Hydra that file is the job log Hydra creates (and would otherwise leave
    empty: the runner prints through rich, not logging); both append to it.
    """
    logger = logging.getLogger(RUN_LOGGER)
    logger.setLevel(logging.INFO)
    logger.propagate = False
    handler = logging.FileHandler(Path(run_dir) / LOG_NAME, encoding="utf-8")
    handler.setFormatter(logging.Formatter("[%(asctime)s][%(levelname)s] %(message)s"))
    logger.addHandler(handler)
    try:
        yield logger
    finally:
        logger.removeHandler(handler)
        handler.close()

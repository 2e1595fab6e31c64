"""What a corpus spec is: one class that knows everything about one ``data=`` corpus.

A spec class names the corpus, the data folders it reads (each a :class:`Dataset`:
upstream archive, checksum, how to lay it out), its task (labels, metric), the
counts its README documents and how to build the corpus table from the files.
``conf/data/<name>.yaml`` points at it with ``_target_``; ``stance data`` lists,
fetches and verifies from the same class. A new corpus is one module in this
package, one YAML and one test: nothing else lists corpora.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

from stance.data.table import Corpus, Task
from stance.errors import DataError

#: ``layout(unpacked_archive_top, destination)``: arranges an upstream archive as the loader reads it.
Layout = Callable[[Path, Path], None]


def require(
    path: Path, hint: str = "set STANCE_DATA_DIR or paths.data_dir, or run `stance data fetch`"
) -> Path:
    """Return ``path`` or raise a :class:`DataError` saying which file is missing."""
    if not path.exists():
        raise DataError(f"missing file {path}{': ' + hint if hint else ''}")
    return path


@dataclass(frozen=True)
class Dataset:
    """A folder of raw files in the data directory and how to obtain it.

    Several corpora may read one dataset (``basil_actor`` and ``basil_sentence``
    both read ``basil``); they share the same object.
    """

    name: str
    description: str
    #: A file whose presence means the dataset is there (relative to its folder).
    marker: str
    #: Archive of the upstream repository at the pinned commit (``None``: no public upstream).
    url: str | None = None
    #: SHA-256 of that archive, when pinned; the download is refused if it differs.
    sha256: str | None = None
    #: How the unpacked archive becomes the folder: ``"copy"`` (as is) or a function.
    layout: str | Layout = "copy"

    def present(self, data_dir: Path) -> bool:
        return (Path(data_dir) / self.name / self.marker).exists()


@dataclass(frozen=True)
class Counts:
    """What a corpus's README documents; ``tests/data/test_corpora.py`` checks every spec's."""

    rows: int
    labels: Mapping[str, int] = field(default_factory=dict)
    #: Rows per part of a predefined split (``train`` / ``val`` / ``test``).
    splits: Mapping[str, int] = field(default_factory=dict)
    #: Label counts within a part, where the README gives them.
    split_labels: Mapping[str, Mapping[str, int]] = field(default_factory=dict)
    #: Distinct values of the ``group`` column.
    groups: int | None = None
    #: Rows without text that :class:`~stance.data.table.Corpus` drops on loading.
    dropped: int = 0

    def summary(self) -> str:
        """One line for ``stance data list``: label counts, else the split sizes."""
        if self.labels:
            return ", ".join(f"{label} {n}" for label, n in self.labels.items())
        if self.splits:
            return "split " + " / ".join(f"{n:,}" for n in self.splits.values())
        return ""


class CorpusSpec:
    """Base class of corpus specs; a subclass with a ``name`` is registered automatically.

    Constructor parameters are the user options of the ``data`` config
    (``clean`` and ``name`` for every corpus, plus corpus-specific ones such as
    ``targets``); like a scikit-learn estimator, ``__init__`` only stores them
    and :meth:`load` checks them, so a bad value is a :class:`DataError` /
    :class:`~stance.errors.ConfigError` naming the option.
    """

    #: The ``data=`` name and the ``stance data`` name; also the task name.
    name: ClassVar[str]
    #: Folders of the data directory the corpus reads.
    datasets: ClassVar[tuple[Dataset, ...]] = ()
    #: Labels (in report order) and headline metric.
    task: ClassVar[Task]
    #: Size and label distribution as documented (checked by the tests).
    documented: ClassVar[Counts]
    #: What a user should know (shown by ``stance data info``).
    notes: ClassVar[str] = ""

    _registry: ClassVar[dict[str, type[CorpusSpec]]] = {}

    def __init_subclass__(cls, register: bool = True, **kwargs: object) -> None:
        super().__init_subclass__(**kwargs)
        if register and "name" in cls.__dict__:
            known = CorpusSpec._registry.get(cls.name)
            if known is not None and known.__qualname__ != cls.__qualname__:
                raise TypeError(f"two corpus specs are named {cls.name!r}: {known} and {cls}")
            CorpusSpec._registry[cls.name] = cls

    def __init__(self, name: str | None = None, clean: bool = True) -> None:
        #: The config's ``name``; most corpora keep their own (``type(self).name``).
        self.config_name = name
        #: Read by the runner (the pipeline's TextCleaner), not by the loader.
        self.clean = clean

    def load(self, data_dir: Path) -> Corpus:
        """Read the files under ``data_dir`` into the corpus table."""
        raise NotImplementedError

    @classmethod
    def present(cls, data_dir: Path) -> bool:
        """Whether every dataset the corpus reads is in ``data_dir``."""
        return all(d.present(data_dir) for d in cls.datasets)

    @classmethod
    def target(cls) -> str:
        """The ``_target_`` a config uses for this spec."""
        return f"{cls.__module__}.{cls.__qualname__}"

"""``data=file``: a user's own table, mapped onto the corpus table by config alone.

The reading and mapping live in :func:`stance.data.user.load_file`; this spec
only names the options (so a misspelt one is an error, not silently ignored).
It is not a registered corpus: it has no folder to fetch or documented size.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from stance.data.corpora.base import CorpusSpec
from stance.data.table import Corpus
from stance.data.user import load_file


class UserFile(CorpusSpec, register=False):
    """A CSV / TSV / JSONL / Parquet / JSON folder / Hugging Face dataset (see conf/data/file.yaml)."""

    name = "file"

    def __init__(
        self,
        path: str | None = None,
        name: str | None = None,
        clean: bool = True,
        format: str = "auto",  # noqa: A002 - the option's name in conf/data/file.yaml
        encoding: str = "utf-8",
        columns: Mapping[str, str | None] | None = None,
        label_map: Mapping[Any, Any] | None = None,
        labels: Sequence[str] | None = None,
        filter: Mapping[str, Any] | None = None,  # noqa: A002 - as above
        metric: str = "macro_f1",
        metric_labels: Sequence[str] | None = None,
        extra_metrics: Sequence[str] | None = None,
        empty_text: str = "drop",
        split_column: str | None = None,
        use_dataset_splits: bool = True,
    ) -> None:
        super().__init__(name, clean)
        self.path = path
        self.format = format
        self.encoding = encoding
        self.columns = columns
        self.label_map = label_map
        self.labels = labels
        self.filter = filter
        self.metric = metric
        self.metric_labels = metric_labels
        self.extra_metrics = extra_metrics
        self.empty_text = empty_text
        self.split_column = split_column
        self.use_dataset_splits = use_dataset_splits

    def load(self, data_dir: Path) -> Corpus:
        options = {k: v for k, v in vars(self).items() if k not in {"clean", "config_name"}}
        # load_file names the corpus "file" unless the config says otherwise.
        return load_file(data_dir, {**options, "name": self.config_name})

"""The label store: one SQLite file per labelling project, in WAL mode.

Why a database and not a CSV: a label is a transaction. Every label is committed
(``synchronous=FULL``) the moment it is given, with who gave it, when, in which
batch and which model version proposed the article, so killing the server or the
machine loses nothing that was acknowledged. Labels are an append-only event log:
a relabel is a new event, an undo is an event that retracts an earlier one, so the
history is never rewritten. Two labellers share a project through *claims*: an
article handed to one labeller is leased to them (``BEGIN IMMEDIATE`` serialises
the hand-out), so no two people label the same article at the same time.

The file holds the pool (id, title, text, source, date, group), the project's
settings and guide, the proposal queue of each batch, the model versions and
their quality estimates: copy one file and you have the whole project.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
import time
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import pandas as pd

from stance.labeling.errors import (
    ProjectExistsError,
    ProjectMissingError,
    StaleLabelError,
    StoreUnavailableError,
    UnknownArticleError,
    UnknownLabelError,
)

SCHEMA_VERSION = 1
#: How long an article stays reserved for the labeller it was handed to.
DEFAULT_LEASE_S = 30 * 60
POOL_COLUMNS = ("id", "title", "text", "source", "date", "group")

_SCHEMA = """
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE articles (
    pos INTEGER PRIMARY KEY, id TEXT NOT NULL UNIQUE, title TEXT NOT NULL, text TEXT NOT NULL,
    source TEXT NOT NULL, date TEXT NOT NULL, grp TEXT NOT NULL);
CREATE TABLE events (
    event INTEGER PRIMARY KEY AUTOINCREMENT,
    article_id TEXT NOT NULL REFERENCES articles(id),
    kind TEXT NOT NULL CHECK (kind IN ('label', 'undo', 'skip')),
    label TEXT,
    labeller TEXT NOT NULL,
    at TEXT NOT NULL,
    batch INTEGER,
    model_version TEXT,
    note TEXT NOT NULL DEFAULT '',
    retracts INTEGER REFERENCES events(event));
CREATE INDEX events_article ON events(article_id, kind);
CREATE INDEX events_retracts ON events(retracts);
CREATE TABLE claims (
    article_id TEXT PRIMARY KEY REFERENCES articles(id), labeller TEXT NOT NULL,
    batch INTEGER, model_version TEXT, expires REAL NOT NULL);
CREATE TABLE batches (
    batch INTEGER PRIMARY KEY, created TEXT NOT NULL, strategy TEXT NOT NULL,
    model_version TEXT, n_labels INTEGER NOT NULL);
CREATE TABLE queue (
    batch INTEGER NOT NULL REFERENCES batches(batch), rank INTEGER NOT NULL,
    article_id TEXT NOT NULL REFERENCES articles(id), score REAL,
    PRIMARY KEY (batch, rank));
CREATE TABLE models (
    version TEXT PRIMARY KEY, created TEXT NOT NULL, n_labels INTEGER NOT NULL,
    estimate TEXT NOT NULL);
-- The label an article has now: its latest label event that no undo retracts.
CREATE VIEW live_labels AS
    SELECT e.* FROM events e
    WHERE e.kind = 'label'
      AND NOT EXISTS (SELECT 1 FROM events u WHERE u.kind = 'undo' AND u.retracts = e.event);
CREATE VIEW current_labels AS
    SELECT l.* FROM live_labels l
    WHERE l.event = (SELECT MAX(m.event) FROM live_labels m WHERE m.article_id = l.article_id);
"""


def _now() -> str:
    return datetime.now(timezone.utc).isoformat(timespec="milliseconds")


@dataclass(frozen=True)
class Article:
    """One pool article as handed to a labeller."""

    id: str
    title: str
    text: str
    source: str
    date: str
    group: str
    batch: int | None
    model_version: str | None
    #: The article's latest label event when it was handed out (None: unlabelled).
    seen_event: int | None
    current_label: str | None


def _connect(path: Path, *, readonly: bool, timeout: float) -> sqlite3.Connection:
    if not path.exists():
        raise ProjectMissingError(
            f"no labelling project at {path} (create it with `stance label init`)"
        )
    if not readonly and not os.access(path, os.W_OK):
        raise StoreUnavailableError(
            f"{path} is read-only: labels could not be saved. Make it writable "
            "(chmod u+w) or copy it; `stance label status` and `export` still read it."
        )
    if not readonly and not os.access(path.parent, os.W_OK):
        raise StoreUnavailableError(
            f"the folder {path.parent} is read-only: SQLite needs to write its journal "
            f"beside {path.name}. Move the project to a writable folder."
        )
    uri = f"file:{path}?mode={'ro' if readonly else 'rw'}"
    try:
        conn = sqlite3.connect(uri, uri=True, timeout=timeout, isolation_level=None)
        conn.row_factory = sqlite3.Row
        conn.execute("PRAGMA foreign_keys = ON")
        conn.execute("PRAGMA synchronous = FULL")
        conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
    except sqlite3.DatabaseError as exc:
        raise _unavailable(path, exc) from exc
    return conn


def _unavailable(path: Path, exc: sqlite3.Error) -> StoreUnavailableError:
    text = str(exc)
    if "locked" in text or "busy" in text:
        return StoreUnavailableError(
            f"{path} is locked by another process (SQLite: {text}); nothing was written. "
            "Close the other program or try again."
        )
    if "readonly" in text or "read-only" in text:
        return StoreUnavailableError(f"{path} is read-only (SQLite: {text}); nothing was written.")
    return StoreUnavailableError(f"{path} is not a readable labelling project (SQLite: {text})")


class LabelStore:
    """All reads and writes of one project file. Safe to share between threads and
    processes: every call opens its own connection and commits before returning."""

    def __init__(self, path: str | Path, *, readonly: bool = False, timeout: float = 10.0):
        self.path = Path(path)
        self.readonly = readonly
        self.timeout = timeout
        with contextlib.closing(_connect(self.path, readonly=readonly, timeout=timeout)) as conn:
            row = conn.execute("SELECT value FROM meta WHERE key = 'schema_version'").fetchone()
        if row is None or int(row[0]) != SCHEMA_VERSION:
            raise StoreUnavailableError(
                f"{self.path}: schema version {row[0] if row else None}, expected {SCHEMA_VERSION}"
            )
        self.meta = self._read_meta()
        self.labels: tuple[str, ...] = tuple(self.meta["labels"])

    # ------------------------------------------------------------------ creation

    @classmethod
    def create(cls, path: str | Path, articles: pd.DataFrame, meta: dict[str, Any]) -> LabelStore:
        """Write a new project file. Built under a temporary name and renamed into
        place, so a failure leaves no half-made project behind."""
        path = Path(path)
        if path.exists():
            raise ProjectExistsError(
                f"a labelling project already exists at {path}; choose another name, or "
                "delete the file if you really mean to start over (its labels would be lost)"
            )
        missing = [c for c in POOL_COLUMNS if c not in articles.columns]
        if missing:
            raise ValueError(f"pool frame lacks columns {missing}")
        if not meta.get("labels"):
            raise ValueError("meta['labels'] must list the label set")
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        tmp.unlink(missing_ok=True)
        try:
            conn = sqlite3.connect(tmp, isolation_level=None)
            try:
                conn.execute("PRAGMA journal_mode = WAL")
                conn.executescript(_SCHEMA)
                conn.execute("BEGIN")
                rows = {"schema_version": SCHEMA_VERSION, "created": _now(), **meta}
                conn.executemany(
                    "INSERT INTO meta VALUES (?, ?)",
                    [(k, json.dumps(v, ensure_ascii=False)) for k, v in rows.items()],
                )
                frame = articles.loc[:, list(POOL_COLUMNS)].astype(str)
                conn.executemany(
                    "INSERT INTO articles (id, title, text, source, date, grp) VALUES (?,?,?,?,?,?)",
                    frame.itertuples(index=False, name=None),
                )
                conn.execute("COMMIT")
                conn.execute("PRAGMA wal_checkpoint(TRUNCATE)")
            finally:
                conn.close()
            for suffix in ("-wal", "-shm"):
                Path(f"{tmp}{suffix}").unlink(missing_ok=True)
            if path.exists():  # created by someone else meanwhile
                raise ProjectExistsError(f"a labelling project appeared at {path} meanwhile")
            os.replace(tmp, path)
        finally:
            for leftover in (tmp, Path(f"{tmp}-wal"), Path(f"{tmp}-shm")):
                leftover.unlink(missing_ok=True)
        return cls(path)

    # ------------------------------------------------------------------ plumbing

    @contextlib.contextmanager
    def _conn(self) -> Iterator[sqlite3.Connection]:
        conn = _connect(self.path, readonly=self.readonly, timeout=self.timeout)
        try:
            yield conn
        except sqlite3.OperationalError as exc:
            raise _unavailable(self.path, exc) from exc
        finally:
            conn.close()

    @contextlib.contextmanager
    def _write(self) -> Iterator[sqlite3.Connection]:
        """One committed write transaction; ``BEGIN IMMEDIATE`` takes the write lock
        up front so two writers are serialised instead of deadlocking."""
        with self._conn() as conn:
            try:
                conn.execute("BEGIN IMMEDIATE")
            except sqlite3.OperationalError as exc:
                raise _unavailable(self.path, exc) from exc
            try:
                yield conn
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    def _read_meta(self) -> dict[str, Any]:
        with self._conn() as conn:
            return {k: json.loads(v) for k, v in conn.execute("SELECT key, value FROM meta")}

    def set_meta(self, key: str, value: Any) -> None:
        with self._write() as conn:
            conn.execute(
                "INSERT INTO meta VALUES (?, ?) ON CONFLICT(key) DO UPDATE SET value = excluded.value",
                (key, json.dumps(value, ensure_ascii=False)),
            )
        self.meta[key] = value

    # ------------------------------------------------------------------ reading

    def articles(self, with_text: bool = True) -> pd.DataFrame:
        """The pool in its original order, as corpus-table columns."""
        cols = "id, title, text, source, date, grp" if with_text else "id, title, source, date, grp"
        with self._conn() as conn:
            frame = pd.read_sql_query(f"SELECT {cols} FROM articles ORDER BY pos", conn)
        return frame.rename(columns={"grp": "group"})

    def current_labels(self) -> pd.DataFrame:
        """One row per labelled article: id, label, labeller, at, batch, model_version, note, event."""
        with self._conn() as conn:
            return pd.read_sql_query(
                "SELECT article_id AS id, label, labeller, at, batch, model_version, note, event "
                "FROM current_labels ORDER BY event",
                conn,
            )

    def history(self) -> pd.DataFrame:
        """Every event ever recorded (labels, undos, skips), oldest first."""
        with self._conn() as conn:
            return pd.read_sql_query("SELECT * FROM events ORDER BY event", conn)

    def counts(self) -> dict[str, int]:
        """Labels so far per class (every label of the project, zeros included)."""
        with self._conn() as conn:
            rows = dict(conn.execute("SELECT label, COUNT(*) FROM current_labels GROUP BY label"))
        return {label: int(rows.get(label, 0)) for label in self.labels}

    def n_articles(self) -> int:
        with self._conn() as conn:
            return int(conn.execute("SELECT COUNT(*) FROM articles").fetchone()[0])

    def batches(self) -> pd.DataFrame:
        with self._conn() as conn:
            return pd.read_sql_query("SELECT * FROM batches ORDER BY batch", conn)

    def models(self) -> pd.DataFrame:
        """Model versions with their quality estimate (a JSON dict), oldest first."""
        with self._conn() as conn:
            frame = pd.read_sql_query("SELECT * FROM models ORDER BY created, version", conn)
        frame["estimate"] = frame["estimate"].map(json.loads)
        return frame

    def queue(self, batch: int | None = None) -> pd.DataFrame:
        """A batch's proposals in order (default: the latest batch), with their state."""
        with self._conn() as conn:
            if batch is None:
                row = conn.execute("SELECT MAX(batch) FROM batches").fetchone()
                batch = row[0]
            return pd.read_sql_query(
                "SELECT q.batch, q.rank, q.article_id AS id, q.score, c.label "
                "FROM queue q LEFT JOIN current_labels c ON c.article_id = q.article_id "
                "WHERE q.batch = ? ORDER BY q.rank",
                conn,
                params=(batch,),
            )

    # ------------------------------------------------------------------ proposing

    def add_batch(
        self,
        article_ids: Sequence[str],
        scores: Sequence[float] | None,
        strategy: str,
        model_version: str | None,
        estimate: dict[str, Any] | None = None,
    ) -> int:
        """Record a new batch of proposals (and the model version that made it)."""
        with self._write() as conn:
            n_labels = conn.execute("SELECT COUNT(*) FROM current_labels").fetchone()[0]
            if model_version is not None:
                conn.execute(
                    "INSERT OR IGNORE INTO models VALUES (?, ?, ?, ?)",
                    (model_version, _now(), n_labels, json.dumps(estimate or {})),
                )
            batch = conn.execute("SELECT COALESCE(MAX(batch), -1) + 1 FROM batches").fetchone()[0]
            conn.execute(
                "INSERT INTO batches VALUES (?, ?, ?, ?, ?)",
                (batch, _now(), strategy, model_version, n_labels),
            )
            scores = list(scores) if scores is not None else [None] * len(article_ids)
            conn.executemany(
                "INSERT INTO queue VALUES (?, ?, ?, ?)",
                [
                    (batch, rank, str(a), None if s is None else float(s))
                    for rank, (a, s) in enumerate(zip(article_ids, scores, strict=True))
                ],
            )
        return int(batch)

    def next_article(self, labeller: str, lease_s: float = DEFAULT_LEASE_S) -> Article | None:
        """The article this labeller should see now, reserved for them.

        Their own live claim first (so a reload shows the same article); else the
        best-ranked proposal of the open batches that nobody has labelled, nobody
        else holds, and this labeller has not skipped. None when the queue is empty.
        """
        now = time.time()
        with self._write() as conn:
            conn.execute("DELETE FROM claims WHERE expires < ?", (now,))
            row = conn.execute(
                "SELECT article_id, batch, model_version FROM claims WHERE labeller = ? "
                "ORDER BY expires DESC LIMIT 1",
                (labeller,),
            ).fetchone()
            if row is None:
                row = conn.execute(
                    "SELECT q.article_id, q.batch, b.model_version FROM queue q "
                    "JOIN batches b ON b.batch = q.batch "
                    "WHERE NOT EXISTS (SELECT 1 FROM current_labels c WHERE c.article_id = q.article_id) "
                    "  AND NOT EXISTS (SELECT 1 FROM claims k WHERE k.article_id = q.article_id) "
                    "  AND NOT EXISTS (SELECT 1 FROM events s WHERE s.kind = 'skip' "
                    "                  AND s.article_id = q.article_id AND s.labeller = ?) "
                    "ORDER BY q.batch, q.rank LIMIT 1",
                    (labeller,),
                ).fetchone()
                if row is None:
                    return None
                conn.execute(
                    "INSERT INTO claims VALUES (?, ?, ?, ?, ?)",
                    (row[0], labeller, row[1], row[2], now + lease_s),
                )
            else:
                conn.execute(
                    "UPDATE claims SET expires = ? WHERE article_id = ?", (now + lease_s, row[0])
                )
            return self._article(conn, row[0], row[1], row[2])

    def _article(
        self, conn: sqlite3.Connection, article_id: str, batch: int | None, model: str | None
    ) -> Article:
        art = conn.execute(
            "SELECT id, title, text, source, date, grp FROM articles WHERE id = ?", (article_id,)
        ).fetchone()
        if art is None:
            raise UnknownArticleError(f"{self.path}: no article with id {article_id!r} in the pool")
        cur = conn.execute(
            "SELECT event, label FROM current_labels WHERE article_id = ?", (article_id,)
        ).fetchone()
        return Article(
            *art,
            batch=batch,
            model_version=model,
            seen_event=cur[0] if cur else None,
            current_label=cur[1] if cur else None,
        )

    def article(self, article_id: str) -> Article:
        with self._conn() as conn:
            return self._article(conn, article_id, None, None)

    # ------------------------------------------------------------------ writing

    def submit(
        self,
        article_id: str,
        label: str,
        labeller: str,
        *,
        seen_event: int | None = None,
        note: str = "",
        batch: int | None = None,
        model_version: str | None = None,
    ) -> int:
        """Record one label, committed before returning; returns its event id.

        ``seen_event`` is the article's label event when the page was loaded
        (``Article.seen_event``): if someone else labelled it since, the label is
        refused with :class:`StaleLabelError` instead of silently overwriting theirs.
        Batch and model version default to those of the labeller's claim.
        """
        if label not in self.labels:
            raise UnknownLabelError(
                f"unknown label {label!r} for article {article_id!r}; "
                f"this project's labels are {list(self.labels)}"
            )
        with self._write() as conn:
            if not conn.execute("SELECT 1 FROM articles WHERE id = ?", (article_id,)).fetchone():
                raise UnknownArticleError(f"{self.path}: no article with id {article_id!r}")
            cur = conn.execute(
                "SELECT event, label, labeller, at FROM current_labels WHERE article_id = ?",
                (article_id,),
            ).fetchone()
            if cur is not None and cur["event"] != seen_event:
                raise StaleLabelError(
                    f"article {article_id!r} was labelled {cur['label']!r} by {cur['labeller']} "
                    f"at {cur['at']} after this page was loaded; your label was not saved. "
                    "Reload to see it (and relabel it if you disagree)."
                )
            claim = conn.execute(
                "SELECT batch, model_version FROM claims WHERE article_id = ?", (article_id,)
            ).fetchone()
            if claim is not None:
                batch = claim["batch"] if batch is None else batch
                model_version = claim["model_version"] if model_version is None else model_version
            event = conn.execute(
                "INSERT INTO events (article_id, kind, label, labeller, at, batch, model_version, note) "
                "VALUES (?, 'label', ?, ?, ?, ?, ?, ?)",
                (article_id, label, labeller, _now(), batch, model_version, note or ""),
            ).lastrowid
            conn.execute("DELETE FROM claims WHERE article_id = ?", (article_id,))
        return int(event)

    def skip(self, article_id: str, labeller: str, note: str = "") -> None:
        """This labeller passes on the article; it stays open for the others."""
        with self._write() as conn:
            conn.execute(
                "INSERT INTO events (article_id, kind, labeller, at, note) VALUES (?, 'skip', ?, ?, ?)",
                (article_id, labeller, _now(), note or ""),
            )
            conn.execute(
                "DELETE FROM claims WHERE article_id = ? AND labeller = ?", (article_id, labeller)
            )

    def undo(self, labeller: str, lease_s: float = DEFAULT_LEASE_S) -> str | None:
        """Retract this labeller's latest live label; the article goes back to them
        (claimed, so the page shows it again). Returns its id, or None if nothing to undo.
        The retracted event stays in the history."""
        with self._write() as conn:
            row = conn.execute(
                "SELECT event, article_id, batch, model_version FROM live_labels "
                "WHERE labeller = ? ORDER BY event DESC LIMIT 1",
                (labeller,),
            ).fetchone()
            if row is None:
                return None
            conn.execute(
                "INSERT INTO events (article_id, kind, labeller, at, retracts) "
                "VALUES (?, 'undo', ?, ?, ?)",
                (row["article_id"], labeller, _now(), row["event"]),
            )
            conn.execute("DELETE FROM claims WHERE labeller = ?", (labeller,))
            conn.execute(
                "INSERT OR REPLACE INTO claims VALUES (?, ?, ?, ?, ?)",
                (
                    row["article_id"],
                    labeller,
                    row["batch"],
                    row["model_version"],
                    time.time() + lease_s,
                ),
            )
        return str(row["article_id"])

    def release(self, labeller: str) -> None:
        """Give back this labeller's reservations (e.g. when they close the page)."""
        with self._write() as conn:
            conn.execute("DELETE FROM claims WHERE labeller = ?", (labeller,))

    def import_labels(self, frame: pd.DataFrame, labeller: str, note: str = "") -> int:
        """Add labels from a table with ``id`` and ``label`` in one transaction (all or none).
        Articles already carrying the same label are left as they are; returns how many were added."""
        bad = sorted(set(frame["label"]) - set(self.labels))
        if bad:
            raise UnknownLabelError(
                f"import: label(s) {bad} are not in this project's labels {list(self.labels)}"
            )
        added = 0
        with self._write() as conn:
            known = {r[0] for r in conn.execute("SELECT id FROM articles")}
            absent = sorted(set(frame["id"]) - known)
            if absent:
                raise UnknownArticleError(
                    f"import: {len(absent)} id(s) are not in the project's pool (first: {absent[:5]})"
                )
            current = dict(conn.execute("SELECT article_id, label FROM current_labels").fetchall())
            for row in frame.itertuples(index=False):
                if current.get(row.id) == row.label:
                    continue
                who = getattr(row, "labeller", "") or labeller
                conn.execute(
                    "INSERT INTO events (article_id, kind, label, labeller, at, note) "
                    "VALUES (?, 'label', ?, ?, ?, ?)",
                    (row.id, row.label, who, _now(), getattr(row, "note", "") or note),
                )
                added += 1
        return added

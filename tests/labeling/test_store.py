"""The label store's guarantees, on a real SQLite file."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import textwrap
import threading
from pathlib import Path

import pytest

from stance.labeling.errors import (
    ProjectExistsError,
    StaleLabelError,
    StoreUnavailableError,
    UnknownLabelError,
)
from stance.labeling.store import LabelStore
from tests.paths import REPO_ROOT


def test_file_is_wal_and_holds_the_whole_project(project):
    with sqlite3.connect(project.path) as conn:
        assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert project.n_articles() == len(project.articles())
    assert project.meta["target"] == "NATO enlargement"
    assert "Annotation guide" in project.meta["guide"]
    assert len(project.queue()) == 8  # the cold-start batch


def test_label_records_who_when_batch_and_model(project):
    article = project.next_article("alice")
    event = project.submit(article.id, "against", "alice", seen_event=None, note="hawkish tone")
    row = project.current_labels().set_index("id").loc[article.id]
    assert (row["label"], row["labeller"], row["note"], row["event"]) == (
        "against",
        "alice",
        "hawkish tone",
        event,
    )
    assert row["batch"] == 0 and row["at"]  # the batch that proposed it; a timestamp


def test_undo_and_relabel_keep_the_history(project):
    a = project.next_article("alice")
    first = project.submit(a.id, "favor", "alice")
    second = project.submit(a.id, "neutral", "alice", seen_event=first)  # relabel
    assert project.current_labels().set_index("id").loc[a.id, "label"] == "neutral"
    assert project.undo("alice") == a.id  # retracts the relabel: back to the first label
    assert project.current_labels().set_index("id").loc[a.id, "label"] == "favor"
    assert project.undo("alice") == a.id
    assert a.id not in set(project.current_labels()["id"])
    history = project.history()
    assert list(history["kind"]) == ["label", "label", "undo", "undo"]
    assert list(history["retracts"].dropna().astype(int)) == [second, first]
    # the undone article comes back to the labeller who undid it
    assert project.next_article("alice").id == a.id


def test_unknown_label_is_refused_and_nothing_written(project):
    a = project.next_article("alice")
    with pytest.raises(UnknownLabelError, match="'pro'.*favor"):
        project.submit(a.id, "pro", "alice")
    assert project.history().empty


def test_stale_page_cannot_overwrite_someone_elses_label(project):
    a = project.next_article("alice")
    page_seen = a.seen_event  # None: unlabelled when alice's page loaded
    project.submit(a.id, "against", "bob", seen_event=None)  # bob labels it meanwhile
    with pytest.raises(StaleLabelError, match="labelled 'against' by bob"):
        project.submit(a.id, "favor", "alice", seen_event=page_seen)
    assert project.current_labels().set_index("id").loc[a.id, "label"] == "against"


def test_two_labellers_never_get_the_same_article(project):
    handed: dict[str, list[str]] = {"alice": [], "bob": []}
    errors: list[BaseException] = []

    def work(name: str) -> None:
        store = LabelStore(project.path)
        try:
            while (a := store.next_article(name)) is not None:
                handed[name].append(a.id)
                store.submit(a.id, "neutral", name, seen_event=a.seen_event)
        except BaseException as exc:  # noqa: BLE001 - reported below
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(n,)) for n in handed]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    assert not set(handed["alice"]) & set(handed["bob"])
    assert sorted(handed["alice"] + handed["bob"]) == sorted(project.queue()["id"])
    assert len(project.current_labels()) == len(project.queue())


def test_claims_hold_while_the_other_labeller_thinks(project):
    a = project.next_article("alice")
    b = project.next_article("bob")
    assert a.id != b.id
    assert project.next_article("alice").id == a.id  # reload: same article


def test_existing_project_is_refused_and_left_alone(project, pool_file, actors_file):
    from stance.labeling.project import init_project

    project.submit(project.next_article("alice").id, "favor", "alice")
    before = project.path.read_bytes()
    with pytest.raises(ProjectExistsError, match="already exists"):
        init_project("nato", "x", pool_file, directory=project.path.parent)
    assert project.path.read_bytes() == before
    assert len(LabelStore(project.path).current_labels()) == 1


def test_locked_database_is_a_clear_error_and_loses_nothing(project):
    a = project.next_article("alice")
    project.submit(a.id, "favor", "alice")
    blocker = sqlite3.connect(project.path, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    try:
        impatient = LabelStore(project.path, timeout=0.2)
        with pytest.raises(StoreUnavailableError, match="locked by another process"):
            impatient.submit(project.queue()["id"].iloc[3], "against", "bob")
    finally:
        blocker.execute("ROLLBACK")
        blocker.close()
    labels = LabelStore(project.path).current_labels()
    assert list(labels["id"]) == [a.id]


@pytest.mark.skipif(os.geteuid() == 0, reason="root writes read-only files anyway")
def test_read_only_database_is_a_clear_error(project):
    project.path.chmod(0o444)
    try:
        with pytest.raises(StoreUnavailableError, match="read-only"):
            LabelStore(project.path)
        assert LabelStore(project.path, readonly=True).counts()  # status/export still read it
    finally:
        project.path.chmod(0o644)


def test_read_only_database_refused_even_for_root(project, monkeypatch):
    # root ignores file modes, so the check is on the access bits (what os.access reports).
    real_access = os.access
    monkeypatch.setattr(
        os,
        "access",
        lambda p, mode: (
            False if Path(p) == project.path and mode == os.W_OK else real_access(p, mode)
        ),
    )
    with pytest.raises(StoreUnavailableError, match="read-only: labels could not be saved"):
        LabelStore(project.path)


def test_killed_writer_loses_no_committed_label(project, tmp_path):
    """A process labelling in a loop is SIGKILLed; every label it reported as saved is there."""
    script = textwrap.dedent(
        f"""
        import sys
        from stance.labeling.store import LabelStore
        store = LabelStore({str(project.path)!r})
        while (a := store.next_article("writer")) is not None:
            store.submit(a.id, "neutral", "writer", seen_event=a.seen_event)
            print(a.id, flush=True)
        print("done", flush=True)
        import time; time.sleep(60)
        """
    )
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [sys.executable, "-c", script], stdout=subprocess.PIPE, text=True, env=env
    )
    saved = []
    for line in proc.stdout:
        if len(saved) == 5:
            proc.kill()  # SIGKILL: no cleanup, no checkpoint
            break
        saved.append(line.strip())
    proc.wait()
    assert proc.returncode == -9
    after = set(LabelStore(project.path).current_labels()["id"])
    assert set(saved) <= after

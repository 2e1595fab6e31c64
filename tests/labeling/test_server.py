"""The labelling page's JSON API on a real server (127.0.0.1, a free port), and a
``stance label serve`` process killed mid-session."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import threading
import urllib.error
import urllib.request

import pytest

from stance.labeling.server import make_server, paragraphs
from stance.labeling.store import LabelStore
from tests.paths import REPO_ROOT


def _call(base: str, path: str, body: dict | None = None) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(
        base + path, data=data, headers={"Content-Type": "application/json"}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read())


@pytest.fixture
def server(project):
    srv = make_server(project, "127.0.0.1", 0, "alice")
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}"
    srv.shutdown()
    srv.server_close()


def test_page_and_state(server, project):
    with urllib.request.urlopen(server + "/", timeout=30) as response:
        assert b"Annotation guide" in response.read()
    status, state = _call(server, "/api/state?labeller=alice")
    assert status == 200
    assert state["labels"] == list(project.labels)
    assert state["article"]["id"] in set(project.queue()["id"])
    hits = [s for p in state["article"]["paragraphs"] for s in p if s["hit"]]
    assert hits and all("NATO" in s["text"] or "alliance" in s["text"] for s in hits)
    assert "<h1>Annotation guide" in state["guide_html"]


def test_label_undo_and_errors(server, project):
    _, state = _call(server, "/api/state?labeller=alice")
    article = state["article"]
    status, reply = _call(
        server, "/api/label", {"labeller": "alice", "article_id": article["id"], "label": "maybe"}
    )
    assert status == 400 and "unknown label 'maybe'" in reply["error"]
    status, reply = _call(
        server,
        "/api/label",
        {"labeller": "alice", "article_id": article["id"], "label": "favor", "seen_event": None},
    )
    assert status == 200 and reply["saved"]
    assert project.current_labels().set_index("id").loc[article["id"], "label"] == "favor"
    # a stale page (loaded before the label above) submitting for the same article
    status, reply = _call(
        server,
        "/api/label",
        {"labeller": "bob", "article_id": article["id"], "label": "against", "seen_event": None},
    )
    assert status == 409 and "labelled 'favor' by alice" in reply["error"]
    status, reply = _call(server, "/api/undo", {"labeller": "alice"})
    assert status == 200 and reply["undone"] == article["id"]
    assert project.current_labels().empty
    status, reply = _call(
        server, "/api/label", {"labeller": "alice", "article_id": "nope", "label": "favor"}
    )
    assert status == 404


def test_highlighting_marks_only_target_sentences():
    text = "NATO met today. Weather was fine.\n\nThe alliance grew."
    paras = paragraphs(text, [["NATO", "alliance"]])
    assert [[s["hit"] for s in p] for p in paras] == [[True, False], [True]]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def test_killed_server_loses_no_label(project, gold):
    """SIGKILL `stance label serve` mid-session: every label it acknowledged is in the file."""
    port = _free_port()
    env = {**os.environ, "PYTHONPATH": str(REPO_ROOT)}
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "stance.cli",
            "label",
            "serve",
            "nato",
            "--dir",
            str(project.path.parent),
            "--port",
            str(port),
            "--labeller",
            "alice",
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        assert "http://127.0.0.1" in proc.stdout.readline()
        acknowledged = []
        for _ in range(4):
            _, state = _call(base, "/api/state?labeller=alice")
            a = state["article"]
            status, _ = _call(
                base,
                "/api/label",
                {
                    "labeller": "alice",
                    "article_id": a["id"],
                    "label": gold[a["id"]],
                    "seen_event": a["seen_event"],
                },
            )
            assert status == 200
            acknowledged.append((a["id"], gold[a["id"]]))
        _call(base, "/api/state?labeller=alice")  # the next article is now claimed, unlabelled
    finally:
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait()
    store = LabelStore(project.path)
    labels = store.current_labels().set_index("id")["label"]
    assert [(i, labels[i]) for i, _ in acknowledged] == acknowledged
    assert len(labels) == len(acknowledged)
    # the claim of the killed session expires; another labeller can be handed that article later
    assert store.next_article("bob") is not None


def test_serve_binds_loopback_by_default():
    from stance.cli import build_parser

    args = build_parser("label").parse_args(["label", "serve", "x"])
    assert args.host == "127.0.0.1"

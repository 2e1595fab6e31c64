"""``stance label serve``: a small local labelling page over the label store.

Standard library only (``http.server``): one page, a JSON API, bound to loopback
by default. Every label the page posts is committed to SQLite before the reply is
sent, so the page can show "saved" honestly and a killed server loses nothing.

API (JSON bodies; ``labeller`` names who is labelling):
    GET  /api/state?labeller=NAME   project, guide, progress, and the article to label
    POST /api/label  {labeller, article_id, label, seen_event, note}
    POST /api/skip   {labeller, article_id, note}
    POST /api/undo   {labeller}
Errors answer ``{"error": message}`` with 400 (bad input / unknown label), 404
(unknown article), 409 (stale page: someone else labelled the article meanwhile)
or 503 (database locked or read-only).
"""

from __future__ import annotations

import json
import re
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from importlib import resources
from typing import Any
from urllib.parse import parse_qs, urlparse

from stance.labeling.errors import (
    LabelingError,
    StaleLabelError,
    StoreUnavailableError,
    UnknownArticleError,
    UnknownLabelError,
)
from stance.labeling.store import Article, LabelStore

MAX_BODY = 64 * 1024
_STATUS = {
    UnknownLabelError: HTTPStatus.BAD_REQUEST,
    UnknownArticleError: HTTPStatus.NOT_FOUND,
    StaleLabelError: HTTPStatus.CONFLICT,
    StoreUnavailableError: HTTPStatus.SERVICE_UNAVAILABLE,
}


def render_markdown(text: str) -> str:
    """The guide as HTML; raw HTML in the Markdown is escaped, not passed through."""
    from markdown_it import MarkdownIt

    return MarkdownIt("commonmark", {"html": False}).render(text)


def paragraphs(text: str, groups: list[list[str]]) -> list[list[dict[str, Any]]]:
    """Paragraphs of sentences, each flagged when it mentions the target (every
    side of a relation counts: a sentence naming either side is highlighted)."""
    from stance.features.actors import alias_pattern, split_sentences

    patterns = [p for p in (alias_pattern(tuple(g)) for g in groups) if p is not None]
    out = []
    for para in re.split(r"\n\s*\n|\n", text):
        if not para.strip():
            continue
        out.append(
            [{"text": s, "hit": any(p.search(s) for p in patterns)} for s in split_sentences(para)]
        )
    return out


class LabelApp:
    """What the handler needs: the store, the highlight aliases and a batch lock."""

    def __init__(self, store: LabelStore, default_labeller: str = "labeller"):
        from stance.labeling.project import highlight_groups

        self.store = store
        self.default_labeller = default_labeller
        self.groups = highlight_groups(store)
        self.guide_html = render_markdown(store.meta.get("guide", ""))
        self._propose_lock = threading.Lock()

    def next_article(self, labeller: str) -> Article | None:
        article = self.store.next_article(labeller)
        if article is not None:
            return article
        with self._propose_lock:  # one retrain at a time; the others wait for its batch
            article = self.store.next_article(labeller)
            if article is None:
                from stance.labeling.project import propose_batch

                if propose_batch(self.store) is not None:
                    article = self.store.next_article(labeller)
        return article

    def state(self, labeller: str) -> dict[str, Any]:
        article = self.next_article(labeller)
        counts = self.store.counts()
        payload: dict[str, Any] = {
            "project": self.store.meta["name"],
            "target": self.store.meta["target"],
            "labels": list(self.store.labels),
            "labeller": labeller,
            "guide_html": self.guide_html,
            "counts": counts,
            "n_labelled": sum(counts.values()),
            "n_articles": self.store.n_articles(),
            "article": None,
        }
        if article is not None:
            payload["article"] = {
                "id": article.id,
                "title": article.title,
                "source": article.source,
                "date": article.date,
                "paragraphs": paragraphs(article.text, self.groups),
                "seen_event": article.seen_event,
                "current_label": article.current_label,
                "batch": article.batch,
                "model_version": article.model_version,
            }
        return payload


def make_handler(app: LabelApp) -> type[BaseHTTPRequestHandler]:
    page = resources.files("stance.labeling").joinpath("page.html").read_text(encoding="utf-8")

    class Handler(BaseHTTPRequestHandler):
        server_version = "stance-label"

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - stdlib name
            pass  # quiet: the terminal shows the URL, not every request

        def _send(self, status: int, body: bytes, content_type: str) -> None:
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(body)

        def _json(self, status: int, payload: Any) -> None:
            self._send(status, json.dumps(payload).encode(), "application/json")

        def _body(self) -> dict[str, Any]:
            length = int(self.headers.get("Content-Length") or 0)
            if length > MAX_BODY:
                raise LabelingError(f"request body of {length} bytes; at most {MAX_BODY}")
            try:
                body = json.loads(self.rfile.read(length) or b"{}")
            except json.JSONDecodeError as exc:
                raise LabelingError(f"request body is not JSON: {exc}") from exc
            if not isinstance(body, dict):
                raise LabelingError("request body must be a JSON object")
            return body

        def _guarded(self, action) -> None:
            try:
                self._json(HTTPStatus.OK, action())
            except LabelingError as exc:
                self._json(_STATUS.get(type(exc), HTTPStatus.BAD_REQUEST), {"error": str(exc)})

        def do_GET(self) -> None:  # noqa: N802 - stdlib name
            url = urlparse(self.path)
            if url.path in ("/", "/index.html"):
                self._send(HTTPStatus.OK, page.encode(), "text/html; charset=utf-8")
            elif url.path == "/api/state":
                who = parse_qs(url.query).get("labeller", [app.default_labeller])[0]
                self._guarded(lambda: app.state(who or app.default_labeller))
            else:
                self._json(HTTPStatus.NOT_FOUND, {"error": f"no such page {url.path}"})

        def do_POST(self) -> None:  # noqa: N802 - stdlib name
            path = urlparse(self.path).path

            def act() -> dict[str, Any]:
                body = self._body()
                who = str(body.get("labeller") or app.default_labeller)
                if path == "/api/label":
                    for key in ("article_id", "label"):
                        if not body.get(key):
                            raise LabelingError(f"/api/label needs {key!r}")
                    seen = body.get("seen_event")
                    event = app.store.submit(
                        str(body["article_id"]),
                        str(body["label"]),
                        who,
                        seen_event=int(seen) if seen is not None else None,
                        note=str(body.get("note") or ""),
                    )
                    return {"saved": True, "event": event}
                if path == "/api/skip":
                    if not body.get("article_id"):
                        raise LabelingError("/api/skip needs 'article_id'")
                    app.store.skip(str(body["article_id"]), who, str(body.get("note") or ""))
                    return {"skipped": True}
                if path == "/api/undo":
                    return {"undone": app.store.undo(who)}
                raise UnknownArticleError(f"no such endpoint {path}")

            self._guarded(act)

    return Handler


def make_server(
    store: LabelStore, host: str = "127.0.0.1", port: int = 0, labeller: str = "labeller"
) -> ThreadingHTTPServer:
    """A ready server (port 0 = any free port: ``server.server_address[1]``)."""
    server = ThreadingHTTPServer((host, port), make_handler(LabelApp(store, labeller)))
    server.daemon_threads = True
    return server

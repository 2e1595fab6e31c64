"""The labelling page in a real headless Chromium (Debian's package, driven by Playwright):
label by click and by keyboard, undo, reload, and check that the store agrees."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

from stance.labeling.server import make_server
from stance.labeling.store import LabelStore
from tests.optional import require_module, require_program

CHROMIUM = os.environ.get("STANCE_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]

playwright_api = require_module("playwright.sync_api", "pip install -e '.[label]'")
CHROMIUM = require_program(CHROMIUM, "chromium", "apt-get install chromium")


@pytest.fixture
def page_url(project):
    srv = make_server(project, "127.0.0.1", 0, "alice")
    thread = threading.Thread(target=srv.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{srv.server_address[1]}/?labeller=alice"
    srv.shutdown()
    srv.server_close()


def _shown(page) -> str:
    page.wait_for_selector("body[data-ready='1']")
    return page.get_attribute("[data-testid=article]", "data-article-id")


def test_label_undo_reload_in_chromium(project, page_url, tmp_path):
    with playwright_api.sync_playwright() as p:
        browser = p.chromium.launch(executable_path=CHROMIUM, args=ARGS)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(page_url)
        first = _shown(page)
        assert page.locator("mark[data-testid=hit]").count() > 0  # target sentences highlighted

        # 1. click a label button, with a note
        page.fill("[data-testid=note]", "quotes Stoltenberg approvingly")
        with page.expect_response("**/api/state**"):
            page.click("[data-testid=label-favor]")
        second = _shown(page)
        assert second != first
        assert "saved" in page.inner_text("[data-testid=message]")

        # 2. keyboard shortcut: "2" = the second label (against)
        with page.expect_response("**/api/state**"):
            page.keyboard.press("2")
        third = _shown(page)
        labels = LabelStore(project.path).current_labels().set_index("id")
        assert labels.loc[first, "label"] == "favor"
        assert labels.loc[first, "note"] == "quotes Stoltenberg approvingly"
        assert labels.loc[second, "label"] == "against"
        assert page.inner_text("[data-testid=n-favor]") == "1"

        # 3. undo: the last label is retracted and its article is shown again
        with page.expect_response("**/api/state**"):
            page.click("[data-testid=undo]")
        assert _shown(page) == second
        assert second not in set(LabelStore(project.path).current_labels()["id"])

        # 4. reload: the same article (reserved for alice), the store unchanged
        page.reload()
        assert _shown(page) == second
        screenshot = Path(os.environ.get("STANCE_LABEL_SCREENSHOT", tmp_path / "page.png"))
        page.screenshot(path=str(screenshot), full_page=False)
        assert screenshot.stat().st_size > 10_000

        # 5. an unknown label posted from the page is refused with a message
        reply = page.evaluate(
            "async () => { const r = await fetch('/api/label', {method: 'POST', headers: {'Content-Type': 'application/json'},"
            " body: JSON.stringify({labeller: 'alice', article_id: document.querySelector('[data-testid=article]').dataset.articleId,"
            " label: 'pro'})}); return [r.status, (await r.json()).error]; }"
        )
        assert reply[0] == 400 and "unknown label 'pro'" in reply[1]
        browser.close()

    final = LabelStore(project.path)
    assert dict(final.current_labels().set_index("id")["label"]) == {first: "favor"}
    assert list(final.history()["kind"]) == ["label", "label", "undo"]
    assert third  # the page had moved on before the undo

"""The live demo page (devstack/origin/demo.html) in a real browser: Debian's headless
Chromium, driven over the DevTools protocol by Playwright for Python.

Two tabs open ``<edge>/demo`` (served by the demo origin through the edge, so the item API,
``/_edge/live.js`` and the WebSocket are one origin). The first edits an item: its row must
say ``synced`` once the sync Worker replayed the write, and the second tab must see
``changed`` and show the new name. Playwright's own browser download does not work offline,
so the system Chromium is used; ``make test`` installs it (``apt-get install -y chromium``)
when it runs as root and it is missing.
"""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from devstack.dev import LIVE_DEMO_ROUTES
from devstack.stack import Stack, StackConfig
from tests.devstack.runner.support import require_runtime

pytestmark = [pytest.mark.e2e, pytest.mark.node]

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                 "--disable-background-networking", "--disable-component-update", "--disable-sync"]
WAIT_MS = 30_000


@pytest.fixture(scope="module")
def stack(tmp_path_factory):
    require_runtime()
    with Stack(
        StackConfig.with_free_ports(),
        run_dir=tmp_path_factory.mktemp("demo"),
        routes=LIVE_DEMO_ROUTES,
        origin_args=["--seed"],  # items 1-3, as make dev has them
        sync_crons=(),
        ready_timeout=120,
    ) as running:
        yield running


@pytest.fixture
def browser_context(tmp_path):
    if not Path(CHROMIUM).is_file():
        found = shutil.which("chromium")
        pytest.fail(f"the browser test needs Debian's Chromium at {CHROMIUM} (found: {found or 'none'}); "
                    "install it with: sudo apt-get install -y chromium   (make test does this when run as root)")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        context = playwright.chromium.launch_persistent_context(
            str(tmp_path / "profile"),  # a fresh user-data-dir: no state from another run
            executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        try:
            yield context
        finally:
            context.close()


def test_the_demo_page_shows_a_write_go_queued_then_synced_and_the_other_tab_sees_the_change(stack, browser_context):
    from playwright.sync_api import expect

    editor, watcher = browser_context.new_page(), browser_context.new_page()
    for page in (editor, watcher):
        page.goto(stack.urls["edge"] + "/demo")
        expect(page.locator("body")).to_have_attribute("data-subscribed", "true", timeout=WAIT_MS)
    expect(editor.locator("#name-1")).to_have_text("espresso")

    editor.fill("#input-1", "cortado")
    editor.click("#save-1")

    expect(editor.locator("#status-1")).to_have_text("synced", timeout=WAIT_MS)
    expect(editor.locator("#log-1")).to_contain_text("write.queued")
    expect(editor.locator("#log-1")).to_contain_text("write.synced")
    expect(watcher.locator("#log-1")).to_contain_text("changed", timeout=WAIT_MS)
    expect(watcher.locator("#name-1")).to_have_text("cortado", timeout=WAIT_MS)
    expect(watcher.locator("#status-1")).to_have_text("—")  # not its write: no saved badge

"""Browser tests: Playwright drives Debian's Chromium (`/usr/bin/chromium`, installed by
`.ci/run`; never a downloaded browser) against a real `tradepulse serve` on loopback.

One browser per module (closed in teardown); each test gets a fresh context whose requests
are checked: anything not addressed to 127.0.0.1 is aborted and recorded, and console errors
and uncaught exceptions are collected, so a test can assert there were none.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect, sync_playwright

from tests.support import RunningServer

expect.set_options(timeout=15_000)
"""Only bounds a hang on a busy machine; the one timing promise (2 s) sets its own."""

CHROMIUM = Path(os.environ.get("TRADEPULSE_CHROMIUM", "/usr/bin/chromium"))
SCREENSHOTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
LOOPBACK = {"127.0.0.1", "localhost", "[::1]", "::1"}
DESKTOP = {"width": 1280, "height": 900}
PHONE = {"width": 390, "height": 844}


@pytest.fixture(scope="module")
def browser():
    """Headless Chromium from the Debian package, one per test module. Skipped with the reason
    when it is not installed, except under CI, where it fails."""
    if not CHROMIUM.exists():
        reason = f"{CHROMIUM} not found (apt-get install chromium; `.ci/run` does)"
        if os.environ.get("CI"):
            pytest.fail(f"{reason}; CI runs the browser tests")
        pytest.skip(reason)
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        try:
            yield launched
        finally:
            launched.close()


@pytest.fixture(scope="module")
def server(tmp_path_factory):
    """One real server per module with a fresh data directory."""
    running = RunningServer(tmp_path_factory.mktemp("data"))
    try:
        yield running
    finally:
        running.stop()


class Watched:
    """A browser context and page with what they did: foreign requests, console errors."""

    def __init__(self, browser, *, viewport=DESKTOP, color_scheme="light") -> None:
        self.foreign: list[str] = []
        self.errors: list[str] = []
        self.context = browser.new_context(viewport=viewport, color_scheme=color_scheme)
        self.context.route("**/*", self._route)
        self.page = self.context.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda error: self.errors.append(f"pageerror: {error}"))
        self.page.on("websocket", lambda ws: self._check(ws.url))

    def _check(self, url: str) -> bool:
        host = urlsplit(url).hostname or ""
        if urlsplit(url).scheme in ("data", "blob") or host in LOOPBACK:
            return True
        self.foreign.append(url)
        return False

    def _route(self, route) -> None:
        if self._check(route.request.url):
            route.continue_()
        else:
            route.abort()

    def _console(self, message) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text}")

    def close(self) -> None:
        self.context.close()


@pytest.fixture
def watched(browser):
    """Open contexts for this test; call with viewport/color_scheme; all closed afterwards."""
    opened: list[Watched] = []

    def open_context(**options) -> Watched:
        opened.append(Watched(browser, **options))
        return opened[-1]

    yield open_context
    for item in opened:
        item.close()


def screenshot(page, name: str) -> Path:
    """Save a full-page screenshot under artifacts/screenshots/ (kept by CI)."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    path = SCREENSHOTS / f"{name}.png"
    page.evaluate("window.scrollTo(0, 0)")
    page.screenshot(path=str(path), full_page=True)
    return path

"""Fixtures of the browser tests: Debian's Chromium driven by Playwright, logged in.

Chromium is required on CI (the ``CI`` variable is set there): a missing browser
fails the tests instead of skipping them. Fomantic-UI's CSS is optional, the
pages work unstyled; ``.ci/steps/browser-setup.sh`` installs both.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client

# The browser tests' own tasks, registered before the in-process worker runs them.
from tests.browser import tasks as browser_tasks  # noqa: F401
from tests.harness import missing_prerequisite

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
#: Generous: other test runs share the machine's two cores.
TIMEOUT_MS = 45_000
LOCAL_HOSTS = {"localhost", "127.0.0.1"}
IMAGES = Path(__file__).resolve().parents[2] / "docs" / "images"


def require(path: Path, what: str) -> None:
    """Skip without ``path`` on a developer machine; fail on CI, where it must exist."""
    if path.exists():
        return
    missing_prerequisite(f"{what} is missing ({path}): run .ci/steps/browser-setup.sh")


@pytest.fixture(autouse=True)
def _allow_orm_next_to_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    # Playwright's sync API keeps an event loop in this thread; the ORM calls
    # the tests make are still plain blocking calls.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


@pytest.fixture
def user(django_user_model: Any) -> Any:
    return django_user_model.objects.create_user("alice", password="not-used")


@dataclass
class Browser:
    """A logged-in page and what it asked the server for."""

    page: Any
    base_url: str
    api_requests: list[str] = field(default_factory=list)
    foreign_requests: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)
    page_errors: list[str] = field(default_factory=list)

    def goto(self, path: str) -> None:
        self.page.goto(self.base_url + path)

    def start_bar(self, element_id: str, job_id: str, **options: Any) -> None:
        """Create ``new ProgressPolling(element_id, job_id, options)``; callbacks are recorded."""
        self.page.evaluate(
            """([id, jobId, options]) => {
                window.events = window.events || {};
                window.bars = window.bars || {};
                const log = window.events[id] = [];
                const host = document.createElement('div');
                host.id = id;
                document.getElementById('bars').appendChild(host);
                window.bars[id] = new ProgressPolling(id, jobId, Object.assign({}, options, {
                    onStart: (d) => log.push(['start', d.status, d.progress_percentage]),
                    onProgress: (d) => log.push(['progress', d.status, d.progress_percentage]),
                    onComplete: (d) => log.push(['complete', d.status, d.progress_percentage]),
                    onError: (e) => log.push(['error', e.type, e.message]),
                }));
            }""",
            [element_id, job_id, options],
        )

    def events(self, element_id: str) -> list[list[Any]]:
        return self.page.evaluate("(id) => window.events[id]", element_id)  # type: ignore[no-any-return]

    def wait_for_status(self, selector: str, status: str) -> None:
        """Wait until the bar inside ``selector`` shows ``status`` (``data-status``)."""
        self.page.wait_for_selector(
            f"{selector} .progress-polling[data-status='{status}']", timeout=TIMEOUT_MS
        )


def _launch(playwright: Any) -> Any:
    require(CHROMIUM, "Chromium")
    return playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)


@pytest.fixture
def chromium() -> Iterator[Any]:
    """A headless Chromium (function-scoped: Playwright's loop must not outlive the test)."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = _launch(playwright)
        try:
            yield browser
        finally:
            browser.close()


def open_page(chromium: Any, base_url: str, session_key: str | None) -> Browser:
    """A new context and page on ``base_url``, logged in with ``session_key`` if given."""
    context = chromium.new_context(viewport={"width": 900, "height": 700})
    context.set_default_timeout(TIMEOUT_MS)
    if session_key:
        context.add_cookies(
            [{"name": settings.SESSION_COOKIE_NAME, "value": session_key, "url": base_url}]
        )
    page = context.new_page()
    browser = Browser(page=page, base_url=base_url)

    def on_request(request: Any) -> None:
        parts = urlsplit(request.url)
        if parts.scheme in ("http", "https") and parts.hostname not in LOCAL_HOSTS:
            browser.foreign_requests.append(request.url)
        if parts.path.startswith("/core/sse-progress/"):
            browser.api_requests.append(request.url)

    page.on("request", on_request)
    page.on("console", lambda message: browser.console.append(message.text))
    page.on("pageerror", lambda error: browser.page_errors.append(str(error)))
    return browser


def session_key_for(user: Any) -> str:
    client = Client()
    client.force_login(user)
    return str(client.cookies[settings.SESSION_COOKIE_NAME].value)


@pytest.fixture
def browser(chromium: Any, live_server: Any, user: Any) -> Iterator[Browser]:
    """A page logged in as ``user`` on the live server; nothing may come from elsewhere."""
    page = open_page(chromium, live_server.url, session_key_for(user))
    yield page
    assert not page.foreign_requests, "pages must load nothing from the internet"
    assert not page.page_errors, page.page_errors


def screenshot(browser: Browser, selector: str, name: str) -> Path:
    """Take a picture of ``selector`` for ``docs/images/<name>``.

    The documentation's copy is written when it is missing or when
    ``CPT_UPDATE_SCREENSHOTS=1`` (so that a test run leaves the checkout clean);
    otherwise the picture goes to the run's temporary folder.
    """
    target = IMAGES / name
    if target.exists() and not os.environ.get("CPT_UPDATE_SCREENSHOTS"):
        target = Path(os.environ["CPT_TMP"]) / name
    target.parent.mkdir(parents=True, exist_ok=True)
    browser.page.locator(selector).screenshot(path=str(target), animations="disabled")
    assert target.stat().st_size > 0
    return target

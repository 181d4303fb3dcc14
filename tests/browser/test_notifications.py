"""notifyWhenHidden: a browser notification when a job ends while its tab is hidden."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests import tasks
from tests.browser.conftest import TIMEOUT_MS, Browser
from tests.conftest import wait_status

pytestmark = [pytest.mark.browser, pytest.mark.urls("tests.browser.urls")]

# Headless Chromium keeps every page visible: the page's visibility is played by
# a switch (``window.setHidden``) that fires ``visibilitychange`` as a real tab
# does. The notifications themselves are Chromium's own, recorded on the way.
SPY = """(() => {
    let hidden = false;
    Object.defineProperty(Document.prototype, 'hidden', {configurable: true, get: () => hidden});
    Object.defineProperty(Document.prototype, 'visibilityState', {
        configurable: true, get: () => (hidden ? 'hidden' : 'visible')});
    window.setHidden = (value) => {
        hidden = value;
        document.dispatchEvent(new Event('visibilitychange'));
    };
    const Real = window.Notification;
    window.shown = [];
    window.permissionRequests = 0;
    window.Notification = class extends Real {
        constructor(title, options) {
            super(title, options);
            window.shown.push([title, options.body, options.tag]);
        }
        static requestPermission() {
            window.permissionRequests += 1;
            return Real.requestPermission();
        }
    };
})();"""


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[Path]:
    """A file the ``tests.gated`` task waits for; opened at the end whatever happened."""
    path = tmp_path / "gate"
    yield path
    path.touch()


def test_a_job_ending_in_a_hidden_tab_shows_a_notification(
    browser: Browser, live_server: Any, worker: Any, user: Any, gate: Path
) -> None:
    page = browser.page
    page.context.grant_permissions(["notifications"], origin=live_server.url)
    page.add_init_script(SPY)
    browser.goto("/browser/harness/?css=none")
    notified = tasks.gated.apply_async((4, str(gate)), progress_owner=user)
    quiet = tasks.gated.apply_async((2, str(gate)), progress_owner=user)
    wait_status(notified.id, "in_progress")
    browser.start_bar(
        "notified", notified.id, pollInterval=200, notifyWhenHidden=True, title="Export"
    )
    browser.start_bar("quiet", quiet.id, pollInterval=200)
    browser.wait_for_status("#notified", "in_progress")
    page.evaluate("window.setHidden(true)")
    gate.touch()
    # Hidden, the bar still polls (with the bars sharing its poll) and notifies at the end.
    page.wait_for_function("window.shown.length > 0", timeout=TIMEOUT_MS)
    assert page.evaluate("window.shown") == [["Export", "Completed", notified.id]]
    wait_status(quiet.id, "completed")
    page.evaluate("window.setHidden(false)")
    browser.wait_for_status("#quiet", "completed")
    # A job that ends while the tab is visible: the page shows it, no notification.
    visible = tasks.count.apply_async((3,), progress_owner=user)
    browser.start_bar("visible", visible.id, pollInterval=200, notifyWhenHidden=True)
    browser.wait_for_status("#visible", "completed")
    assert page.evaluate("window.shown") == [["Export", "Completed", notified.id]]
    assert page.evaluate("window.permissionRequests") == 0  # granted already


def test_the_bar_never_asks_for_the_permission_itself(
    browser: Browser, live_server: Any, worker: Any, user: Any
) -> None:
    # Browsers allow the prompt only from a user's gesture: the page asks, in the click
    # handler that starts the job (docs/javascript.md); the bar never does.
    page = browser.page
    page.add_init_script(SPY)
    browser.goto("/browser/harness/?css=none")
    job = tasks.count.apply_async((2,), progress_owner=user)
    assert page.evaluate("Notification.permission") == "default"
    browser.start_bar("first", job.id, pollInterval=200, notifyWhenHidden=True)
    page.evaluate("window.setHidden(true)")
    page.click("body")
    page.keyboard.press("Tab")
    page.wait_for_function("window.bars.first.state === 'finished'", timeout=TIMEOUT_MS)
    assert page.evaluate("window.permissionRequests") == 0
    assert page.evaluate("window.shown") == []  # not granted: no notification, no error

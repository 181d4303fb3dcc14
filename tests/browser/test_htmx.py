"""htmx (from the npm registry) polls the server-drawn bar in Chromium until 286 stops it."""

from __future__ import annotations

import re
from collections import Counter
from typing import Any
from urllib.parse import urlsplit

import pytest

from tests import tasks
from tests.browser.conftest import TIMEOUT_MS, Browser, require
from tests.browser.views import NODE_MODULES
from tests.conftest import wait_status

pytestmark = [pytest.mark.browser, pytest.mark.urls("tests.browser.urls")]

HTMX = NODE_MODULES / "htmx.org" / "dist" / "htmx.min.js"
FRAGMENT = re.compile(r"/core/sse-progress/([^/]+)/fragment/")


@pytest.fixture
def fragment_polls(browser: Browser) -> tuple[Counter[str], dict[str, list[int]]]:
    """Fragment requests and response statuses seen by the page, by job id."""
    require(HTMX, "htmx")
    requests: Counter[str] = Counter()
    statuses: dict[str, list[int]] = {}

    def on_response(response: Any) -> None:
        found = FRAGMENT.search(urlsplit(response.url).path)
        if found:
            requests[found[1]] += 1
            statuses.setdefault(found[1], []).append(response.status)

    browser.page.on("response", on_response)
    return requests, statuses


def test_htmx_polls_the_fragment_and_stops_at_the_final_status(
    browser: Browser, worker: Any, user: Any, fragment_polls: Any
) -> None:
    requests, statuses = fragment_polls
    # The solo worker runs the short job first, then the long one.
    short = tasks.count.apply_async((5, 0.1, "line"), progress_owner=user)
    long = tasks.count.apply_async((40, 0.1), progress_owner=user)
    browser.goto(f"/browser/htmx/?job_id={short.id}&job_id={long.id}")
    # Drawn by the server with the page: there is a bar before any poll.
    assert browser.page.locator("#fragment0 .progress-polling").count() == 1
    assert browser.page.evaluate("typeof window.ProgressPolling") == "undefined"

    browser.page.wait_for_selector(
        "#fragment0 .progress-polling[data-status='completed']", timeout=TIMEOUT_MS
    )
    assert browser.page.inner_text("#fragment0 .progress-polling-status") == "Completed"
    assert "100%" in browser.page.inner_text("#fragment0")
    first_stop = statuses[short.id].index(286)
    assert set(statuses[short.id][:first_stop]) <= {200}
    # The long job's bar goes on polling: five more of its polls...
    seen = requests[long.id]
    browser.page.wait_for_function(
        f"() => {seen + 5} <= performance.getEntriesByType('resource')"
        f".filter((entry) => entry.name.includes('{long.id}/fragment/')).length",
        timeout=TIMEOUT_MS,
    )
    # ...while the finished one stopped: at most the one request htmx had queued
    # while the 286 was on its way (its default hx-sync keeps the last one).
    assert len(statuses[short.id]) <= first_stop + 2, statuses[short.id]
    assert set(statuses[short.id][first_stop:]) == {286}
    browser.page.wait_for_selector(
        "#fragment1 .progress-polling[data-status='completed']", timeout=TIMEOUT_MS
    )
    assert "hx-get" in (browser.page.locator("#fragment1").evaluate("e => e.outerHTML"))


@pytest.mark.parametrize("theme", ["bootstrap5", "semantic"])
def test_htmx_fragments_in_french_with_a_framework_theme(
    browser: Browser, worker: Any, user: Any, fragment_polls: Any, theme: str
) -> None:
    _, statuses = fragment_polls
    # Still pending when the page is drawn: the solo worker runs a first job before it.
    first = tasks.count.apply_async((10, 0.1), progress_owner=user)
    failing = tasks.fail_after.apply_async((5,), progress_owner=user)
    browser.page.set_extra_http_headers({"Accept-Language": "fr"})
    browser.goto(f"/browser/htmx/?job_id={failing.id}&theme={theme}&css={theme}&lang=fr")
    root = browser.page.wait_for_selector(
        "#fragment0 .progress-polling[data-status='failed']", timeout=TIMEOUT_MS
    )
    assert f"progress-polling--{theme}" in (root.get_attribute("class") or "")
    assert browser.page.inner_text("#fragment0 .progress-polling-status") == "Échoué"
    assert browser.page.inner_text("#fragment0 .progress-polling-error") == (
        f"La tâche a échoué (référence {failing.id[:8]})."
    )
    assert browser.page.inner_text("#fragment0 .progress-polling-remaining") == "5\nRESTANTS"
    assert statuses[failing.id][-1] == 286
    assert first.id not in statuses


def test_a_job_already_over_is_drawn_once_and_never_polled(
    browser: Browser, worker: Any, user: Any, fragment_polls: Any
) -> None:
    requests, _ = fragment_polls
    done = tasks.count.apply_async((2,), progress_owner=user)
    wait_status(done.id, "completed")
    browser.goto(f"/browser/htmx/?job_id={done.id}")
    assert browser.page.inner_text("#fragment0 .progress-polling-status") == "Completed"
    assert browser.page.locator("#fragment0[hx-get]").count() == 0
    assert requests[done.id] == 0

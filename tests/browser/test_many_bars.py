"""300 bars on one page behind a real gunicorn: the shared poll stays under its request-line limit.

gunicorn refuses request lines over 4,094 bytes (HTTP 414); about 93 job ids in
one ``?job_id=`` list cross it. The script splits the shared poll into requests
whose URL stays under ``maxUrlLength`` (2,000 by default).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests import tasks
from tests.browser.conftest import Browser, open_page, session_key_for
from tests.conftest import wait_status
from tests.faults.server import GunicornServer

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.urls("tests.browser.urls")]

BARS = 300
#: Generous: 300 jobs run one after the other on the solo worker, on a shared machine.
ALL_DONE_MS = 300_000

START_BARS = """([ids, options]) => {
    window.outcomes = {};
    ids.forEach((id, n) => {
        const host = document.createElement('div');
        host.id = 'bar' + n;
        document.getElementById('bars').appendChild(host);
        new ProgressPolling(host, id, Object.assign({
            onComplete: () => { window.outcomes[id] = 'complete'; },
            onError: (error) => { window.outcomes[id] = error.type + ': ' + error.message; },
        }, options));
    });
}"""


@pytest.fixture
def server(transactional_db: None) -> Iterator[GunicornServer]:
    """gunicorn (2 sync workers) serving the browser tests' pages and the package's script."""
    gunicorn = GunicornServer(workers=2, settings_module="tests.browser.server_settings")
    yield gunicorn
    gunicorn.stop()


def open_on(chromium: Any, server: GunicornServer, user: Any) -> Browser:
    browser = open_page(chromium, f"http://127.0.0.1:{server.port}", session_key_for(user))
    browser.goto("/browser/harness/?css=none")
    return browser


def test_300_bars_all_finish_behind_gunicorn(
    chromium: Any, server: GunicornServer, worker: Any, user: Any
) -> None:
    job_ids = [tasks.count.apply_async((4, 0.01), progress_owner=user).id for _ in range(BARS)]
    browser = open_on(chromium, server, user)
    statuses: list[int] = []
    browser.page.on(
        "response",
        lambda response: (
            statuses.append(response.status) if "/core/sse-progress/" in response.url else None
        ),
    )
    browser.page.evaluate(START_BARS, [job_ids, {}])
    browser.page.wait_for_function(
        f"() => Object.keys(window.outcomes).length === {BARS}", timeout=ALL_DONE_MS
    )
    outcomes = browser.page.evaluate("window.outcomes")
    assert set(outcomes.values()) == {"complete"}, {v for v in outcomes.values() if v != "complete"}
    assert browser.page.locator(".progress-polling[data-status='completed']").count() == BARS

    lists = [url for url in browser.api_requests if urlsplit(url).path == "/core/sse-progress/"]
    assert lists, browser.api_requests[:5]
    longest = max(len(urlsplit(url).path) + 1 + len(urlsplit(url).query) for url in lists)
    assert longest <= 2000
    first_round = set()
    for url in lists:
        ids = parse_qs(urlsplit(url).query)["job_id"]
        assert len(ids) <= 100
        first_round.update(ids)
        if len(first_round) == BARS:
            break
    assert first_round == set(job_ids), "the first round asks for every bar, in batches"
    assert set(statuses) <= {200, 304}, sorted(set(statuses))
    assert not server.errors()
    assert not browser.page_errors


def test_without_batches_gunicorn_refuses_the_request_line(
    chromium: Any, server: GunicornServer, worker: Any, user: Any
) -> None:
    """The control: one list request for 100 ids is over gunicorn's limit (HTTP 414)."""
    job_ids = [tasks.count.apply_async((1,), progress_owner=user).id for _ in range(100)]
    browser = open_on(chromium, server, user)
    browser.page.evaluate(START_BARS, [job_ids, {"maxUrlLength": 100_000}])
    browser.page.wait_for_function(
        f"() => Object.keys(window.outcomes).length === {len(job_ids)}", timeout=ALL_DONE_MS
    )
    outcomes = set(browser.page.evaluate("window.outcomes").values())
    assert outcomes == {"http: The server refused the request (HTTP 414)"}
    wait_status(job_ids[-1], "completed", timeout=120)

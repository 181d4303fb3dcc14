"""Every text a bar can show, filled with HTML and script payloads, in a real Chromium.

``tests/browser/test_progress_bar.py`` checks a message and the bar's title and
icon; here every field of a job carries a payload (message, error, task type,
metadata, the job id itself) and so do the options a page passes (title, icon,
labels), on running, completed and failed bars and on the template tag's page.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlencode

import pytest

from tests.browser.conftest import Browser
from tests.conftest import wait_status
from tests.faults import tasks as fault_tasks

pytestmark = [pytest.mark.browser, pytest.mark.slow, pytest.mark.urls("tests.browser.urls")]

PAYLOADS = [
    '<img src=x onerror="window.pwned=1">',
    "<svg onload=window.pwned=2><script>window.pwned=3</script>",
    '"><iframe srcdoc="<script>parent.pwned=4</script>"></iframe>',
    '</div><a href="javascript:window.pwned=5" id=pwnlink>x</a>',
    "{{constructor.constructor('window.pwned=6')()}} ${window.pwned=7} &lt;b&gt; \u202eevil",
]
PAYLOAD = " ".join(PAYLOADS)
#: A job id with a payload (no slash: a job id is one path segment).
PAYLOAD_ID = '"><img src=x onerror=window.pwned=8>-id'
INJECTED = "#bars img, #bars svg, #bars iframe, #bars script, #bars a, #pwnlink"


@pytest.fixture(autouse=True)
def _allow_orm_next_to_playwright(monkeypatch: pytest.MonkeyPatch) -> None:
    # As in tests/browser: Playwright's sync API keeps an event loop in this thread.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")


def assert_nothing_ran(browser: Browser) -> None:
    assert browser.page.evaluate("typeof window.pwned") == "undefined"
    # An element created from a payload is a failure even if nothing ran yet.
    assert browser.page.locator(INJECTED).count() == 0


def test_every_text_of_a_job_and_of_the_options_is_shown_as_text(
    browser: Browser, worker: Any, user: Any
) -> None:
    browser.goto("/browser/harness/")
    labels = dict.fromkeys(("completed", "failed", "title", "processed", "total"), PAYLOAD)
    options = {"title": PAYLOAD, "icon": PAYLOAD, "labels": labels, "pollInterval": 200}
    done = fault_tasks.text_payload.apply_async(
        (PAYLOAD, False), task_id=PAYLOAD_ID, progress_owner=user, progress_task_type=PAYLOAD
    )
    failed = fault_tasks.text_payload.apply_async(
        (PAYLOAD, True), progress_owner=user, progress_task_type=PAYLOAD
    )
    browser.start_bar("done", done.id, **options)
    browser.start_bar("failed", failed.id, **options)
    browser.start_bar("plain", failed.id, pollInterval=200)  # the default labels
    browser.wait_for_status("#done", "completed")
    browser.wait_for_status("#failed", "failed")
    browser.wait_for_status("#plain", "failed")

    job = wait_status(PAYLOAD_ID, "completed")
    assert job.task_type == PAYLOAD[:99] + "…"  # cut to the column, as stored
    assert job.metadata[PAYLOAD] == PAYLOAD
    for bar in ("#done", "#failed"):
        assert browser.page.locator(f"{bar} .progress-polling-title").inner_text() == PAYLOAD
    assert browser.page.locator("#done .progress-polling-message").inner_text() == PAYLOAD
    assert browser.page.locator("#done .progress-polling-status").inner_text() == PAYLOAD
    error = PAYLOAD  # a JobError's message: what the job's user reads
    assert browser.page.locator("#failed .progress-polling-error").inner_text() == error
    assert browser.page.locator("#plain .progress-polling-error").inner_text() == error
    assert browser.page.locator("#done .progress-polling").get_attribute("data-job-id") == (
        PAYLOAD_ID
    )
    assert browser.events("failed")[-1] == ["error", "failed", error]
    assert_nothing_ran(browser)


def test_the_template_tag_page_escapes_every_text(browser: Browser, worker: Any, user: Any) -> None:
    result = fault_tasks.text_payload.apply_async(
        (PAYLOAD, True), task_id=PAYLOAD_ID, progress_owner=user, progress_task_type=PAYLOAD
    )
    wait_status(result.id, "failed")
    browser.goto("/browser/tag/?" + urlencode({"job_id": PAYLOAD_ID, "title": PAYLOAD}))
    browser.wait_for_status("#tagged", "failed")
    assert browser.page.locator("#tagged .progress-polling-title").inner_text() == PAYLOAD
    error = browser.page.locator("#tagged .progress-polling-error").inner_text()
    assert error == PAYLOAD
    assert browser.page.evaluate("typeof window.pwned") == "undefined"
    payload_elements = "img[src=x], svg, iframe, #pwnlink, a[href^=javascript]"
    assert browser.page.locator(payload_elements).count() == 0

"""One bar for a whole group: its roll-up polled by the group's id, in a real Chromium."""

from __future__ import annotations

from typing import Any

import pytest
from celery import group

from celery_progress_tracker.ownership import progress_owner
from tests import tasks
from tests.browser.conftest import TIMEOUT_MS, Browser

pytestmark = [pytest.mark.browser, pytest.mark.urls("tests.browser.urls")]

PARTS = 20


def test_one_bar_reaches_100_percent_for_a_20_member_group(
    browser: Browser, worker: Any, user: Any
) -> None:
    browser.goto("/browser/harness/")
    with progress_owner(user):
        result = group(tasks.count.si(5, 0.02) for _ in range(PARTS)).apply_async()
    browser.start_bar("job", result.id, pollInterval=200, segments=True)
    browser.page.wait_for_selector(
        "#job .progress-polling-counts:has-text('parts done')", timeout=TIMEOUT_MS
    )
    browser.wait_for_status("#job", "completed")
    bar = browser.page.locator("#job [role=progressbar]")
    assert bar.get_attribute("aria-valuenow") == "100"
    counts = browser.page.locator("#job .progress-polling-counts").inner_text()
    assert counts.endswith(f"{PARTS} of {PARTS} parts done"), counts
    assert counts.startswith("100 / 100"), counts
    segments = browser.page.locator("#job .progress-polling-segments [data-status=completed]")
    assert segments.count() == PARTS
    assert ["complete", "completed", 100] in browser.events("job")

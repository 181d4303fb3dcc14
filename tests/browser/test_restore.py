"""ProgressPolling.restore(): a reload or a second tab draws the user's running jobs again."""

from __future__ import annotations

from typing import Any

import pytest

from celery_progress_tracker.models import SSEProgress
from tests import tasks
from tests.browser import tasks as browser_tasks
from tests.browser.conftest import Browser, open_page, session_key_for
from tests.conftest import wait_status

pytestmark = [pytest.mark.browser, pytest.mark.urls("tests.browser.urls")]

RESTORE = """async (settings) => {
    const bars = await ProgressPolling.restore(Object.assign({container: 'bars'}, settings));
    return bars.map((bar) => bar.jobId);
}"""


def place(job_id: str) -> str:
    """The selector of the element restore() drew the job's bar in."""
    return f"#bars > :has(> [data-job-id='{job_id}'])"


def bar_ids(browser: Browser) -> list[str]:
    return browser.page.evaluate(  # type: ignore[no-any-return]
        "[...document.querySelectorAll('#bars .progress-polling')].map((n) => n.dataset.jobId)"
    )


def test_restore_draws_the_running_jobs_after_a_reload_and_in_a_second_tab(
    browser: Browser, chromium: Any, live_server: Any, worker: Any, user: Any
) -> None:
    # One runs (until cancelled), three wait behind it on the solo worker.
    running = tasks.until_cancelled.apply_async((60.0,), progress_owner=user)
    first = tasks.count.apply_async((2,), progress_owner=user, progress_metadata={"campaign": 1})
    second = tasks.count.apply_async((2,), progress_owner=user, progress_metadata={"campaign": 2})
    other = browser_tasks.titled.apply_async((2,), progress_owner=user)
    stranger = type(user).objects.create_user("mallory")
    hidden = tasks.count.apply_async((2,), progress_owner=stranger)
    finished = tasks.count.apply_async((1,), progress_owner=user)
    finished_job = SSEProgress.objects.get(job_id=finished.id)
    finished_job.mark_as_started()
    finished_job.mark_as_completed()
    wait_status(running.id, "in_progress")

    browser.goto("/browser/harness/?css=none")
    # Filtered by task type and metadata.
    found = browser.page.evaluate(RESTORE, {"taskType": "tests.count", "metadata": {"campaign": 2}})
    assert found == [second.id]
    # Everything that runs, newest first; what is drawn already is not drawn twice.
    found = browser.page.evaluate(RESTORE, {"options": {"pollInterval": 200}})
    assert found == [other.id, first.id, running.id]
    assert bar_ids(browser) == [second.id, other.id, first.id, running.id]
    assert hidden.id not in bar_ids(browser) and finished.id not in bar_ids(browser)
    browser.wait_for_status(place(running.id), "in_progress")
    title = browser.page.inner_text(f"{place(other.id)} .progress-polling-title")
    assert title == "Crunch the numbers"

    # A reload forgets the page's bars; restore() brings them back.
    browser.page.reload()
    assert bar_ids(browser) == []
    assert browser.page.evaluate(RESTORE, {}) == [other.id, second.id, first.id, running.id]
    # A second tab of the same session sees the same jobs.
    tab = open_page(chromium, live_server.url, session_key_for(user))
    tab.goto("/browser/harness/?css=none")
    assert tab.page.evaluate(RESTORE, {"taskType": ["tests.until_cancelled"]}) == [running.id]

    SSEProgress.objects.get(job_id=running.id).request_cancel()
    browser.wait_for_status(place(running.id), "cancelled")
    tab.wait_for_status(place(running.id), "cancelled")
    for job in (first, second, other):
        browser.wait_for_status(place(job.id), "completed")
    wait_status(hidden.id, "completed")
    # Nothing runs any more: nothing to restore.
    assert browser.page.evaluate(RESTORE, {}) == []
    assert not tab.page_errors


def test_restore_into_a_place_per_job_and_a_refusal(
    browser: Browser, chromium: Any, live_server: Any, worker: Any, user: Any
) -> None:
    result = tasks.count.apply_async((20, 0.1), progress_owner=user)
    wait_status(result.id, "in_progress", "pending")
    browser.goto("/browser/harness/?css=none")
    placed = browser.page.evaluate(
        """async () => {
            const slot = document.createElement('div');
            slot.id = 'slot';
            document.getElementById('bars').appendChild(slot);
            const bars = await ProgressPolling.restore({
                container: (job) => job.task_type === 'tests.count' ? slot : null,
                options: (job) => ({title: 'Job ' + job.job_id.slice(0, 4), pollInterval: 200}),
            });
            return [bars.length, slot.progressPolling.jobId,
                    slot.querySelector('.progress-polling-title').textContent];
        }"""
    )
    assert placed == [1, result.id, f"Job {result.id[:4]}"]
    browser.wait_for_status("#slot", "completed")

    anonymous = open_page(chromium, live_server.url, None)
    anonymous.goto("/browser/harness/?css=none")
    refused = anonymous.page.evaluate(
        """() => ProgressPolling.restore({container: 'bars'}).then(
            () => 'resolved', (error) => [error.type, error.status])"""
    )
    assert refused == ["http", 401]

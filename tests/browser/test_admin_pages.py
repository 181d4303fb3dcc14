"""The admin in Chromium: live bars in the list and on the job's page, the two actions."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from celery_progress_tracker.models import SSEProgress
from tests import tasks
from tests.browser.conftest import open_page, screenshot, session_key_for
from tests.conftest import wait_status

pytestmark = [pytest.mark.browser, pytest.mark.urls("tests.browser.urls")]

JOBS = "/admin/celery_progress_tracker/sseprogress/"


@pytest.fixture
def gate(tmp_path: Path) -> Any:
    """A file the ``tests.gated`` task waits for; opened at the end whatever happened."""
    path = tmp_path / "gate"
    yield path
    path.touch()


@pytest.fixture
def admin_page(chromium: Any, live_server: Any, admin_user: Any) -> Any:
    page = open_page(chromium, live_server.url, session_key_for(admin_user))
    yield page
    assert not page.foreign_requests
    assert not page.page_errors, page.page_errors


def test_live_column_and_read_only_page_follow_a_running_job(
    admin_page: Any, worker: Any, gate: Path, django_user_model: Any
) -> None:
    owner = django_user_model.objects.create_user("carol")  # not the admin: no STAFF_SEES_ALL
    job = tasks.gated.apply_async((10, str(gate)), progress_owner=owner)
    wait_status(job.id, "in_progress")
    page = admin_page.page
    page.set_viewport_size({"width": 1400, "height": 700})
    admin_page.goto(JOBS)
    row = f"#result_list tr:has(a:text-is('{job.id}'))"
    # The package's script draws the bar from the admin's JSON view.
    page.wait_for_selector(f"{row} .progress-polling[data-status='in_progress']")
    assert "50%" in page.inner_text(f"{row} .progress-polling")
    screenshot(admin_page, "#result_list", "admin-changelist.png")
    pk = SSEProgress.objects.get(job_id=job.id).pk
    admin_page.goto(f"{JOBS}{pk}/change/")
    bar = ".field-progress_bar .progress-polling"
    page.wait_for_selector(f"{bar}[data-status='in_progress']")
    assert "waiting at the gate" in page.inner_text(bar)
    screenshot(admin_page, "#content", "admin-change-page.png")
    assert page.locator("input[name='status'], select[name='status']").count() == 0
    gate.touch()
    page.wait_for_selector(f"{bar}[data-status='completed']")
    assert "100%" in page.inner_text(bar)
    assert all("/core/sse-progress/" not in url for url in admin_page.api_requests)


def test_cancel_and_delete_actions_from_the_list(admin_page: Any, worker: Any, gate: Path) -> None:
    running = tasks.gated.apply_async((4, str(gate)))
    queued = tasks.count.apply_async((3,))
    wait_status(running.id, "in_progress")
    done = SSEProgress.objects.create(job_id="old-report", task_type="report")
    done.mark_as_completed()
    admin_page.goto(JOBS)
    page = admin_page.page
    for job_id in (running.id, queued.id):
        page.check(f"#result_list tr:has(a:text-is('{job_id}')) input.action-select")
    page.select_option("select[name='action']", "cancel_jobs")
    page.click("button[name='index']")
    page.wait_for_selector(".messagelist .success")
    assert "Cancel requested for 2 jobs." in page.inner_text(".messagelist")
    # The queued job is cancelled at once; the running one when its body next checks.
    assert wait_status(queued.id, "cancelled").end_reason == "cancelled"
    gate.touch()
    assert wait_status(running.id, "cancelled").end_reason == "cancelled"
    admin_page.goto(JOBS)
    for job_id in (running.id, "old-report"):
        page.check(f"#result_list tr:has(a:text-is('{job_id}')) input.action-select")
    page.select_option("select[name='action']", "delete_finished_jobs")
    page.click("button[name='index']")
    page.wait_for_selector(".messagelist .success")
    assert "Deleted 2 finished jobs." in page.inner_text(".messagelist")
    assert not SSEProgress.objects.filter(job_id__in=[running.id, "old-report"]).exists()

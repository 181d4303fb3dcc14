"""``self.replace()``: the row follows the replacement and shows no end before the work's."""

from __future__ import annotations

from typing import Any

import pytest

from celery_progress_tracker.models import SSEProgress
from tests.cookiecutter.jobs.tasks import report_by_group, report_by_one
from tests.harness import row, wait_for

pytestmark = pytest.mark.core

FINAL = ("completed", "failed", "cancelled")


def watch_until_final(job_id: str, timeout: float = 30) -> list[str]:
    """Every status the row shows, polled every 10 ms, until a final one."""
    seen: list[str] = []

    def final() -> bool:
        job = row(job_id)
        if job is not None and (not seen or seen[-1] != job.status):
            seen.append(job.status)
        return bool(seen) and seen[-1] in FINAL

    wait_for(final, timeout=timeout, interval=0.01)
    return seen


def test_replaced_by_one_task_it_follows_that_task_to_its_end(worker: Any) -> None:
    result = report_by_one.delay(20)
    seen = watch_until_final(result.id)
    assert seen[-1] == "completed" and not set(seen[:-1]) & set(FINAL), seen
    job = row(result.id)
    assert (job.processed_items, job.total_items, job.end_reason) == (20, 20, "succeeded")
    assert job.current_message == "Line 20 matched"


def test_replaced_by_a_group_it_ends_when_the_group_ends(worker: Any) -> None:
    result = report_by_group.delay(3, 5)
    seen = watch_until_final(result.id, timeout=40)
    assert seen[-1] == "completed" and not set(seen[:-1]) & set(FINAL), seen
    members = SSEProgress.objects.filter(root_id=result.id).exclude(job_id=result.id)
    assert members.count() == 3
    assert all(m.status == "completed" and m.processed_items == 5 for m in members)
    job = row(result.id)
    assert job.completed_at >= max(m.completed_at for m in members)
    assert job.current_message.startswith("Replaced by a group of 3 tasks")

"""A worker stopped with SIGTERM mid-task: Celery's warm shutdown lets the task finish."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from celery_progress_tracker.models import SSEProgress
from tests.conftest import row, wait_for, wait_status
from tests.faults import tasks as fault_tasks

pytestmark = pytest.mark.slow


@pytest.mark.parametrize("pool", ["prefork", "threads", "solo"])
def test_sigterm_mid_task_lets_it_finish_with_exact_counts(worker_process: Any, pool: str) -> None:
    proc = worker_process(pool=pool, concurrency=1)
    result = fault_tasks.steady.apply_async((40, 0.1), queue=proc.queue)
    mid = wait_for(lambda: (job := row(result.id)) and job.processed_items >= 5 and job, 60)
    assert mid.status == "in_progress" and mid.processed_items < 40

    assert proc.stop(signal.SIGTERM, timeout=90) == 0, proc.output()

    job = wait_status(result.id, "completed", "failed", "cancelled", timeout=30)
    assert job.status == "completed", (job.status, job.error)
    assert (job.processed_items, job.failed_items, job.total_items) == (40, 0, 40)
    assert job.current_message == "item 40"
    assert result.get(timeout=30) == 40
    assert not SSEProgress.objects.active().exists()


def test_cold_shutdown_mid_task_fails_the_row_as_worker_lost(worker_process: Any) -> None:
    # SIGQUIT terminates the running task. Its message was acknowledged at
    # receipt (no acks_late), so nothing will run it again: the row must end
    # failed ("its worker was lost"), neither active for ever (a pending row is
    # never reaped) nor cancelled (nobody cancelled it).
    proc = worker_process(concurrency=1)
    result = fault_tasks.steady.apply_async((40, 0.1), queue=proc.queue)
    wait_for(lambda: (job := row(result.id)) and job.processed_items >= 5, 60)
    proc.stop(signal.SIGQUIT, timeout=60)
    job = row(result.id)  # the worker has exited: every write it makes is made
    assert job.status == "failed", (job.status, job.current_message, job.error)
    assert job.end_reason == "worker_lost", (job.end_reason, job.error)
    assert 5 <= job.processed_items < 40

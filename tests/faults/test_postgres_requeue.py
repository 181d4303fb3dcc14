"""An ``acks_late`` task cut short by a cold shutdown is delivered again: no double count."""

from __future__ import annotations

import signal
from typing import Any

import pytest

from celery_progress_tracker.models import SSEProgress
from tests.conftest import row, wait_for, wait_status
from tests.faults import tasks as fault_tasks
from tests.faults.conftest import require_networked_services

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_requeued_task_restarts_its_counts_and_ends_exact(queue_workers: Any) -> None:
    require_networked_services()
    first = queue_workers("requeue")
    result = fault_tasks.steady_late.apply_async((30, 0.1), queue=first.queue)
    mid = wait_for(lambda: (job := row(result.id)) and job.processed_items >= 10 and job, 60)
    assert mid.status == "in_progress"

    # SIGQUIT: cold shutdown. The running acks_late task is terminated and its
    # message, never acknowledged, goes back to the queue.
    first.stop(signal.SIGQUIT, timeout=60)
    cut_short = row(result.id)
    assert cut_short.processed_items < 30, "the task finished before the shutdown"

    second = queue_workers("requeue")  # a new worker on the same queue gets the message again
    try:
        # "cancelled" is final: waiting longer could not change the outcome.
        job = wait_status(result.id, "completed", "cancelled", timeout=90)
        assert job.status == "completed"
    except AssertionError:
        job = row(result.id)
        raise AssertionError(
            f"{job.status} {job.processed_items} {job.error!r} {job.current_message!r}\n"
            f"first:\n{first.log.read_text()[-3000:]}\nsecond:\n{second.output()}"
        ) from None
    # Counts written by the second run only: absolute, restarted from 0.
    assert (job.processed_items, job.failed_items, job.total_items) == (30, 0, 30)
    assert job.started_at > mid.started_at
    assert result.get(timeout=30) == 30
    assert not SSEProgress.objects.active().exists()

"""The body's API of ``ProgressTask``, run in-process with ``apply()``."""

from __future__ import annotations

import pytest

from celery_progress_tracker.models import SSEProgress
from tests import tasks

pytestmark = [pytest.mark.core, pytest.mark.django_db]


def test_set_progress_set_message_failed_and_the_counter() -> None:
    result = tasks.body_api.apply((4,))
    job = SSEProgress.objects.get(job_id=result.id)
    # 5 set, +2 (and 1 failed), +10 from four threads through the counter, +1
    assert (job.processed_items, job.failed_items, job.total_items) == (18, 1, 20)
    assert job.current_message == "from the counter"
    assert "JobState" in result.get()["state"]


def test_a_counter_no_longer_counts_once_its_job_ended() -> None:
    counter = tasks.body_api.apply().get()["counter"]
    with pytest.raises(RuntimeError, match="has ended"):
        counter.progress()


def test_progress_counter_outside_the_body_raises() -> None:
    with pytest.raises(RuntimeError, match="in the task's body"):
        tasks.body_api.progress_counter()


def test_the_body_api_outside_an_execution_does_nothing() -> None:
    tasks.count.set_progress(3, total=4, message="m")
    tasks.count.set_total(3)
    tasks.count.set_message("m")
    tasks.count.set_metadata(a=1)
    tasks.count.progress(1)
    assert tasks.count.progress_state is None
    assert not tasks.count.is_cancelled
    assert not SSEProgress.objects.exists()


def test_progress_refuses_a_bad_message_type() -> None:
    result = tasks.bad_message.apply()
    job = SSEProgress.objects.get(job_id=result.id)
    assert (job.status, job.processed_items) == ("failed", 0)
    assert job.error == "TypeError: message must be a str, not int: 3"


def test_a_cancelled_eager_job_ends_cancelled() -> None:
    SSEProgress.objects.create(job_id="stop-me", status="pending", has_heartbeat=True)
    assert SSEProgress.objects.get(job_id="stop-me").request_cancel() == "cancelled"
    result = tasks.count.apply((3,), task_id="stop-me")
    assert result.state == "IGNORED"  # an expected outcome, not a failure
    job = SSEProgress.objects.get(job_id="stop-me")
    assert (job.status, job.processed_items, job.started_at) == ("cancelled", 0, None)

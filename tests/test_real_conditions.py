"""Progress inside atomic(), dead workers, cooperative cancel, retention."""

from __future__ import annotations

import signal
import time
import uuid
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.utils import timezone

from celery_progress_tracker.models import SSEProgress
from celery_progress_tracker.serializers import job_to_dict
from tests import tasks
from tests.conftest import row, wait_for, wait_status, worker_queue

FAST = {"CPT_HEARTBEAT_INTERVAL": "0.3", "CPT_STALE_AFTER": "3"}


# -- a connection of its own ----------------------------------------------------


@pytest.mark.postgres
def test_progress_visible_while_the_body_runs_inside_atomic(worker: Any) -> None:
    assert connection.vendor == "postgresql"
    result = tasks.atomic_loop.delay(30, 0.1)
    seen = wait_for(
        lambda: (
            (j := row(result.id))
            and j.status == "in_progress"
            and 0 < j.processed_items < 30
            and j.processed_items
        ),
        timeout=20,
        interval=0.02,
    )
    assert 0 < seen < 30
    assert wait_status(result.id, "completed").processed_items == 30


@pytest.mark.postgres
def test_rollback_keeps_progress_and_the_failed_state(worker: Any) -> None:
    assert connection.vendor == "postgresql"
    result = tasks.atomic_loop.delay(10, 0.05, fail=True)
    job = wait_status(result.id, "failed")
    assert job.error == "RuntimeError: rolled back"
    assert job.processed_items == 10


@pytest.mark.core
def test_atomic_body_never_blocked_by_progress_writes(worker: Any) -> None:
    # On SQLite the body's transaction holds the only write lock: background
    # flushes give up quickly and the final write lands once it is released.
    result = tasks.atomic_loop.delay(20, 0.02)
    job = wait_status(result.id, "completed", timeout=30)
    assert job.processed_items == 20
    failing = tasks.atomic_loop.delay(5, 0.02, fail=True)
    job = wait_status(failing.id, "failed", timeout=30)
    assert (job.processed_items, job.error) == (5, "RuntimeError: rolled back")


# -- heartbeat, stale rule and reaper -----------------------------------------------


@pytest.mark.core
def test_heartbeat_refreshes_a_silent_running_task(worker: Any, settings: Any) -> None:
    settings.PROGRESS_TRACKER_HEARTBEAT_INTERVAL = 0.3
    result = tasks.sleep_then.delay(1, 2.5)
    first = wait_for(lambda: (j := row(result.id)) and j.processed_items == 1 and j.updated_at)
    later = wait_for(lambda: (j := row(result.id)) and j.updated_at > first and j.updated_at)
    assert later > first
    assert row(result.id).status == "in_progress"
    wait_status(result.id, "completed")


def test_whole_worker_killed_row_reported_then_reaped_as_failed(
    worker_process: Any, settings: Any
) -> None:
    settings.PROGRESS_TRACKER_STALE_AFTER = 3
    proc = worker_process(env=FAST)
    result = tasks.sleep_then.apply_async((2, 60), queue=proc.queue)
    wait_for(lambda: (j := row(result.id)) and j.processed_items == 2)
    proc.kill_node()
    job = wait_for(lambda: (j := row(result.id)) and j.is_stale() and j, timeout=15)
    assert job.status == "in_progress"  # in the table...
    data = job_to_dict(job)
    assert data["status"] == "failed"  # ...but reported failed at once
    assert data["end_reason"] == "worker_lost"
    assert data["error"] == f"The job stopped unexpectedly (reference {result.id[:8]})."
    out = StringIO()
    call_command("progress_reap", stdout=out)
    assert "Closed 1 job" in out.getvalue()
    job = row(result.id)
    assert (job.status, job.processed_items) == ("failed", 2)
    assert job.end_reason == "worker_lost"
    assert job.error.startswith("No heartbeat from its worker since")


def test_prefork_child_killed_row_failed(worker_process: Any) -> None:
    proc = worker_process(concurrency=1, env=FAST)
    result = tasks.sleep_then.apply_async((3, 60), queue=proc.queue)
    wait_for(lambda: (j := row(result.id)) and j.processed_items == 3)
    children = proc.children()
    assert children, proc.output()
    for pid in children:
        import os

        os.kill(pid, signal.SIGKILL)
    job = wait_status(result.id, "failed", timeout=30)
    assert "WorkerLostError" in job.error
    assert job.end_reason == "worker_lost"
    assert job.processed_items == 3


@pytest.mark.core
def test_reaped_row_is_corrected_when_its_task_succeeds(worker: Any, settings: Any) -> None:
    result = tasks.sleep_then.delay(1, 2.0, 1)
    wait_for(lambda: (j := row(result.id)) and j.processed_items == 1)
    SSEProgress.objects.filter(job_id=result.id).update(
        updated_at=timezone.now() - timedelta(hours=1)
    )
    call_command("progress_reap", stdout=StringIO())
    assert row(result.id).status == "failed"
    job = wait_status(result.id, "completed")
    assert (job.processed_items, job.error) == (2, "")


@pytest.mark.core
def test_retry_countdown_rows_are_never_reaped(worker: Any) -> None:
    job = SSEProgress.objects.create(job_id="waiting", status="pending", has_heartbeat=True)
    SSEProgress.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(days=1))
    call_command("progress_reap", stdout=StringIO())
    assert row("waiting").status == "pending"


# -- cooperative cancel -----------------------------------------------------------


@pytest.mark.core
def test_cancel_a_running_task_solo_pool(worker: Any) -> None:
    result = tasks.until_cancelled.delay(30)
    wait_for(lambda: (j := row(result.id)) and j.processed_items > 3)
    assert SSEProgress.objects.get(job_id=result.id).request_cancel() == "in_progress"
    job = wait_status(result.id, "cancelled", timeout=15)
    assert job.processed_items > 3
    assert job.cancel_requested_at is not None


def test_cancel_a_running_task_threads_pool(worker_process: Any) -> None:
    proc = worker_process(pool="threads", concurrency=2)
    result = tasks.until_cancelled.apply_async((30,), queue=proc.queue)
    wait_for(lambda: (j := row(result.id)) and j.processed_items > 3)
    SSEProgress.objects.get(job_id=result.id).request_cancel()
    wait_status(result.id, "cancelled", timeout=15)


def test_cancel_a_running_task_prefork(worker_process: Any) -> None:
    proc = worker_process()
    result = tasks.until_cancelled.apply_async((30,), queue=proc.queue)
    wait_for(lambda: (j := row(result.id)) and j.processed_items > 3)
    SSEProgress.objects.get(job_id=result.id).request_cancel()
    wait_status(result.id, "cancelled", timeout=15)


def test_cancel_of_a_queued_task_survives_a_worker_start(worker_process: Any) -> None:
    name = f"later{uuid.uuid4().hex[:6]}"
    result = tasks.count.apply_async((5,), queue=worker_queue(name))
    assert row(result.id).request_cancel() == "cancelled"
    proc = worker_process(name=name)  # started after the cancel: missed the revoke
    # The worker takes the message and must not run the body.
    marker = tasks.count.apply_async((1,), queue=proc.queue)
    wait_status(marker.id, "completed", timeout=30)
    time.sleep(0.5)
    job = row(result.id)
    assert (job.status, job.processed_items, job.started_at) == ("cancelled", 0, None)


@pytest.mark.core
def test_cancel_of_a_finished_job_raises(db: None) -> None:
    from celery_progress_tracker.exceptions import InvalidTransition

    job = SSEProgress.objects.create(job_id="done", status="completed")
    with pytest.raises(InvalidTransition):
        job.request_cancel()


# -- retention ---------------------------------------------------------------------


@pytest.mark.core
def test_progress_purge(db: None, settings: Any) -> None:
    old = timezone.now() - timedelta(days=10)
    for job_id, status in [
        ("old-ok", "completed"),
        ("old-ko", "failed"),
        ("old-run", "in_progress"),
    ]:
        SSEProgress.objects.create(job_id=job_id, status=status, completed_at=old)
    SSEProgress.objects.create(job_id="new-ok", status="completed", completed_at=timezone.now())

    out = StringIO()
    call_command("progress_purge", "--older-than", "7d", "--dry-run", stdout=out)
    assert "Would delete 2 job(s)" in out.getvalue()
    assert SSEProgress.objects.count() == 4

    call_command("progress_purge", "--older-than", "7d", "--status", "failed", stdout=StringIO())
    assert set(SSEProgress.objects.values_list("job_id", flat=True)) == {
        "old-ok",
        "old-run",
        "new-ok",
    }

    settings.PROGRESS_TRACKER_RETENTION_DAYS = 7
    from celery_progress_tracker.tasks import purge_finished_jobs

    assert purge_finished_jobs() == 1
    assert set(SSEProgress.objects.values_list("job_id", flat=True)) == {"old-run", "new-ok"}


@pytest.mark.core
def test_jobs_without_an_owner_have_their_own_retention(
    db: None, settings: Any, django_user_model: Any
) -> None:
    alice = django_user_model.objects.create_user("alice")
    now = timezone.now()
    for job_id, user, days in [
        ("alice-3d", alice, 3),
        ("alice-40d", alice, 40),
        ("system-2h", None, 2 / 24),
        ("system-3d", None, 3),
    ]:
        SSEProgress.objects.create(
            job_id=job_id, user=user, status="completed", completed_at=now - timedelta(days=days)
        )

    def left() -> set[str]:
        return set(SSEProgress.objects.values_list("job_id", flat=True))

    out = StringIO()
    call_command("progress_purge", "--dry-run", stdout=out)  # defaults: 30 days, 1 day
    assert "Would delete 2 job(s) past their retention" in out.getvalue()
    assert "(with an owner: 30 days; without one: 1 day)" in out.getvalue()
    call_command("progress_purge", stdout=StringIO())
    assert left() == {"alice-3d", "system-2h"}

    settings.PROGRESS_TRACKER_SYSTEM_RETENTION_DAYS = None  # system jobs kept
    settings.PROGRESS_TRACKER_RETENTION_DAYS = 2
    call_command("progress_purge", "--dry-run", stdout=out)
    assert "(with an owner: 2 days; without one: kept forever)" in out.getvalue()
    from celery_progress_tracker.tasks import purge_finished_jobs

    assert purge_finished_jobs() == 1
    assert left() == {"system-2h"}
    settings.PROGRESS_TRACKER_RETENTION_DAYS = None
    with pytest.raises(CommandError, match="pass --older-than"):
        call_command("progress_purge", stdout=StringIO())


@pytest.mark.core
@pytest.mark.parametrize("age", ["7", "x7d", "-1d", "0h", "d"])
def test_progress_purge_rejects_bad_ages(db: None, age: str) -> None:
    from django.core.management.base import CommandError

    with pytest.raises(CommandError):
        call_command("progress_purge", "--older-than", age, stdout=StringIO())

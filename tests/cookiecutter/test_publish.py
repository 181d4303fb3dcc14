"""Publishing: a failed publish leaves nothing, a lost message is closed, ids are owned."""

from __future__ import annotations

import uuid
from datetime import timedelta
from io import StringIO
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.utils import timezone
from kombu import Connection

from celery_progress_tracker.exceptions import JobIdInUse
from celery_progress_tracker.models import SSEProgress
from tests.cookiecutter.config.celery_app import app
from tests.cookiecutter.jobs.tasks import import_statement
from tests.harness import row, wait_status

pytestmark = pytest.mark.core


def test_a_publish_that_fails_raises_and_leaves_no_row(transactional_db: None) -> None:
    dead_broker = Connection("redis://127.0.0.1:1/0", connect_timeout=1)
    with pytest.raises(Exception) as raised:
        import_statement.apply_async((3,), connection=dead_broker, retry=False)
    assert "refused" in str(raised.value).lower() or "connect" in str(raised.value).lower()
    assert not SSEProgress.objects.exists()


def test_a_pending_job_whose_message_is_lost_is_closed_by_the_reaper(
    transactional_db: None, settings: Any
) -> None:
    nobody = f"cpt-unconsumed-{uuid.uuid4().hex}"
    lost = import_statement.apply_async((3,), queue=nobody)
    later = import_statement.apply_async((3,), queue=nobody, countdown=3600)
    settings.PROGRESS_TRACKER_PENDING_TIMEOUT = 60
    call_command("progress_reap", stdout=StringIO())
    assert row(lost.id).status == "pending"  # not due long enough yet
    SSEProgress.objects.filter(job_id=lost.id).update(due_at=timezone.now() - timedelta(hours=1))
    out = StringIO()
    call_command("progress_reap", stdout=out)
    assert "Closed 1 job" in out.getvalue()
    job = row(lost.id)
    assert (job.status, job.end_reason) == ("failed", "never_started")
    assert row(later.id).status == "pending"  # its countdown has not even run out
    assert row(later.id).due_at > timezone.now() + timedelta(minutes=59)
    call_command("progress_purge", "--older-than", "1s", "--status", "pending", stdout=out)
    assert row(later.id) is not None  # due in an hour: not old
    SSEProgress.objects.filter(job_id=later.id).update(
        updated_at=timezone.now() - timedelta(days=2)
    )
    call_command("progress_purge", "--older-than", "1d", "--status", "pending", stdout=out)
    assert row(later.id) is None
    with app.connection_for_write() as conn:
        conn.default_channel.queue_purge(nobody)


def test_a_reused_task_id_belongs_to_its_owner(worker: Any, alice: Any) -> None:
    bob = get_user_model().objects.create_user("bob@example.com")
    first = import_statement.apply_async((3,), task_id="daily-report", progress_owner=alice)
    assert wait_status(first.id, "completed").processed_items == 3
    with pytest.raises(JobIdInUse, match="another owner"):
        import_statement.apply_async((5,), task_id="daily-report", progress_owner=bob)
    job = row("daily-report")
    assert (job.user_id, job.status, job.processed_items) == (alice.pk, "completed", 3)
    # A rerun by its owner starts a fresh run of the row.
    rerun = import_statement.apply_async((4,), task_id="daily-report", progress_owner=alice)
    job = row("daily-report")
    assert job.status in ("pending", "in_progress") and job.processed_items < 4
    job = wait_status(rerun.id, "completed")
    assert (job.user_id, job.processed_items, job.total_items) == (alice.pk, 4, 4)


def test_send_task_cannot_write_into_another_owners_row(worker: Any, alice: Any) -> None:
    bob = get_user_model().objects.create_user("bob@example.com")
    import_statement.apply_async((3,), task_id="monthly", progress_owner=alice)
    wait_status("monthly", "completed")
    from celery_progress_tracker.ownership import progress_owner

    with progress_owner(bob):  # no check before a send_task(): the worker refuses
        result = app.send_task(import_statement.name, (7,), task_id="monthly")
    result.get(timeout=30)
    job = row("monthly")
    assert (job.user_id, job.processed_items, job.status) == (alice.pk, 3, "completed")

"""ProgressTask's lifecycle from Celery signals, on a real worker."""

from __future__ import annotations

import re
import time
import uuid
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection

from celery_progress_tracker.ownership import progress_owner
from celery_progress_tracker.serializers import job_to_dict
from tests import tasks
from tests.conftest import row, wait_for, wait_status

pytestmark = pytest.mark.core


def wait_retry_pending(job_id: str) -> Any:
    """The row of a job that started, then went back to pending for a retry."""
    return wait_for(
        lambda: (j := row(job_id)) is not None and j.status == "pending" and j.started_at and j
    )


def test_design_card_usage_end_to_end(worker: Any) -> None:
    result = tasks.count.delay(50, 0.0)
    job = wait_status(result.id, "completed")
    assert job.job_id == result.id
    assert (job.processed_items, job.failed_items, job.total_items) == (50, 0, 50)
    assert job.progress_percentage == 100
    assert job.current_message == "item 50"
    assert job.task_type == "tests.count"
    assert job.started_at is not None and job.completed_at is not None
    assert job.error == ""


def test_app_task_decorator_works_too(worker: Any) -> None:
    result = tasks.app_count.delay(7)
    job = wait_status(result.id, "completed")
    assert job.processed_items == 7


def test_pending_row_exists_when_delay_returns(transactional_db: None) -> None:
    # No worker consumes this queue: the row must exist from the publish alone.
    result = tasks.count.apply_async((5,), queue=f"cpt-unconsumed-{uuid.uuid4().hex}")
    job = row(result.id)
    assert job is not None
    assert job.status == "pending"
    assert job.task_type == "tests.count"
    assert job.has_heartbeat


def test_plain_task_gets_no_row(worker: Any) -> None:
    result = tasks.plain.delay(2)
    assert result.get(timeout=20) == 4
    assert row(result.id) is None


def test_failure_records_error_and_keeps_counts(worker: Any) -> None:
    result = tasks.fail_after.delay(3)
    job = wait_status(result.id, "failed")
    assert (job.error, job.public_error) == ("RuntimeError: boom after 3 items", "")
    # The job's user reads a generic sentence with a reference; staff the row.
    assert job_to_dict(job)["error"] == f"The job failed (reference {result.id[:8]})."
    assert (job.processed_items, job.total_items) == (3, 6)
    assert job.progress_percentage == 50
    assert job.completed_at is not None


def test_retry_goes_pending_then_restarts_with_counts_reset(worker: Any) -> None:
    result = tasks.retry_once.delay(4)
    pending = wait_retry_pending(result.id)
    assert pending.retries == 0
    # No exception text for the job's user, and never a Python repr.
    assert re.fullmatch(r"Retry 1 of 2 at \d\d:\d\d:\d\d UTC", pending.current_message)
    job = wait_status(result.id, "completed")
    assert job.retries == 1
    assert job.processed_items == 4  # counted again from 0, not 8


def test_job_error_message_is_what_the_user_reads(worker: Any) -> None:
    result = tasks.reject_line.delay(21)
    job = wait_status(result.id, "failed")
    assert job.public_error == "Line 21 matches no open invoice"
    assert job.error == (
        "JobError: Line 21 matches no open invoice (caused by LookupError:"
        " SELECT * FROM invoice WHERE line = 21: no row)"
    )
    assert job_to_dict(job)["error"] == "Line 21 matches no open invoice"
    assert job.processed_items == 20


def test_retry_for_a_job_error_names_its_message(worker: Any) -> None:
    result = tasks.retry_public.delay()
    pending = wait_retry_pending(result.id)
    assert re.fullmatch(
        r"Retry 1 of 2 at \d\d:\d\d:\d\d UTC: The bank's server is busy",
        pending.current_message,
    )
    assert wait_status(result.id, "completed").public_error == ""


def test_retry_message_counts_against_the_limit_given_to_retry(worker: Any) -> None:
    result = tasks.retry_limited.delay()
    pending = wait_retry_pending(result.id)
    assert re.fullmatch(r"Retry 1 of 1 at \d\d:\d\d:\d\d UTC", pending.current_message)
    wait_status(result.id, "completed")


def test_revoke_of_a_queued_task_cancels_it(worker_process: Any) -> None:
    # A countdown keeps the message waiting in the worker, which checks the
    # revoke whether it arrives before or after the message.
    queue = worker_process(concurrency=1).queue
    queued = tasks.count.apply_async((3,), queue=queue, countdown=3)
    queued.revoke()
    job = wait_status(queued.id, "cancelled", timeout=30)
    assert job.processed_items == 0
    assert job.started_at is None


def test_task_type_from_class_and_per_call(worker: Any) -> None:
    typed = tasks.typed.delay()
    per_call = tasks.count.apply_async(
        (2,), progress_task_type="report_generation", progress_metadata={"format": "PDF"}
    )
    assert wait_status(typed.id, "completed").task_type == "edi_import"
    job = wait_status(per_call.id, "completed")
    assert job.task_type == "report_generation"
    assert job.metadata == {"format": "PDF"}


def test_total_and_metadata_at_enqueue_and_from_the_body(worker: Any) -> None:
    result = tasks.sleep_then.apply_async((1, 0.0), progress_total=10)
    job = wait_status(result.id, "completed")
    assert job.total_items == 10
    result = tasks.with_metadata.delay(campaign_id=123)
    job = wait_status(result.id, "completed")
    assert job.metadata == {"campaign_id": 123}


def test_explicit_owner_and_inherited_owner(worker: Any) -> None:
    alice = get_user_model().objects.create_user("alice")
    result = tasks.spawn_child.apply_async((2,), progress_owner=alice)
    parent = wait_status(result.id, "completed")
    assert parent.user_id == alice.pk
    child_id = result.get(timeout=20)
    child = wait_status(child_id, "completed")
    assert child.user_id == alice.pk  # a ProgressTask started by a ProgressTask
    with progress_owner(alice):
        owned = tasks.count.delay(1)
    assert wait_status(owned.id, "completed").user_id == alice.pk
    ownerless = tasks.count.apply_async((1,), progress_owner=None)
    assert wait_status(ownerless.id, "completed").user_id is None


def test_threads_pool_keeps_executions_apart(worker_process: Any) -> None:
    queue = worker_process(pool="threads", concurrency=2).queue
    first = tasks.count.apply_async((300, 0.002, "first"), queue=queue)
    second = tasks.count.apply_async((200, 0.003, "second"), queue=queue)
    # Both run at once in one process and share the Task object.
    wait_for(
        lambda: all((j := row(r.id)) and j.status == "in_progress" for r in (first, second)),
        timeout=20,
        interval=0.01,
    )
    one, two = wait_status(first.id, "completed"), wait_status(second.id, "completed")
    assert (one.processed_items, one.current_message) == (300, "first")
    assert (two.processed_items, two.current_message) == (200, "second")


def test_one_progress_then_long_sleep_reaches_the_row(worker: Any) -> None:
    result = tasks.sleep_then.delay(7, 3.0)
    job = wait_for(lambda: (j := row(result.id)) and j.processed_items == 7 and j, timeout=3.0)
    assert job.status == "in_progress"
    assert job.current_message == "before the sleep"
    wait_status(result.id, "completed")


def test_many_progress_calls_few_updates(worker: Any) -> None:
    updates: list[str] = []

    def count_updates(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        if sql.startswith("UPDATE") and "sseprogress" in sql:
            updates.append(sql)
        return execute(sql, params, many, context)

    from django.db.backends.signals import connection_created

    def install(sender: Any, connection: Any, **kwargs: Any) -> None:
        connection.execute_wrappers.append(count_updates)

    connection_created.connect(install, dispatch_uid="count-updates")
    try:
        started = time.monotonic()
        result = tasks.count.delay(100_000)
        job = wait_status(result.id, "completed", timeout=60)
        elapsed = time.monotonic() - started
    finally:
        connection_created.disconnect(dispatch_uid="count-updates")
    assert (job.processed_items, job.total_items) == (100_000, 100_000)
    # start + final + one per flush interval at most (plus slack for the heartbeat).
    bound = elapsed / 0.25 + 5
    print(f"{len(updates)} UPDATEs for 100,000 progress() calls in {elapsed:.2f}s")
    assert 2 <= len(updates) <= bound, (len(updates), elapsed)


def test_delay_on_commit_under_atomic_requests(worker: Any, settings: Any) -> None:
    from django.db import transaction

    with transaction.atomic():
        assert tasks.count.delay_on_commit(2) is None
        # Nothing published yet: the row appears only after commit.
        from celery_progress_tracker.models import SSEProgress

        assert not SSEProgress.objects.exists()
    wait_for(lambda: SSEProgress.objects.filter(status="completed").exists())
    assert connection.in_atomic_block is False

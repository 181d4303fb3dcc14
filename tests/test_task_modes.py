"""ProgressTask run eagerly, with .apply(), or called as a plain function."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from celery_progress_tracker.models import SSEProgress
from celery_progress_tracker.ownership import progress_owner
from tests import tasks
from tests.celery_app import app

pytestmark = [pytest.mark.core, pytest.mark.django_db]


@pytest.fixture
def always_eager() -> Iterator[None]:
    app.conf.task_always_eager = True
    try:
        yield
    finally:
        app.conf.task_always_eager = False


def test_direct_call_is_a_plain_function_call() -> None:
    assert tasks.count(5) == 5  # progress() is a no-op without a task id
    assert not SSEProgress.objects.exists()


def test_apply_records_the_job_once_at_the_end() -> None:
    result = tasks.count.apply((4,), progress_metadata={"source": "cli"})
    assert result.get() == 4
    job = SSEProgress.objects.get(job_id=result.id)
    assert (job.status, job.processed_items, job.total_items) == ("completed", 4, 4)
    assert job.metadata == {"source": "cli"}
    assert job.started_at is not None and job.completed_at is not None
    assert not job.has_heartbeat  # nothing to reap: it ran in the caller


def test_apply_without_a_row() -> None:
    assert tasks.count.apply((4,), progress_track=False).get() == 4
    failed = tasks.fail_after.apply((2,), progress_track=False)
    assert failed.status == "FAILURE"
    assert not SSEProgress.objects.exists()


def test_apply_of_a_failing_task_records_the_failure() -> None:
    result = tasks.fail_after.apply((2,))
    assert result.failed()
    job = SSEProgress.objects.get(job_id=result.id)
    assert (job.status, job.error, job.processed_items) == (
        "failed",
        "RuntimeError: boom after 2 items",
        2,
    )


def test_task_always_eager_gives_a_row_and_the_context_owner(always_eager: None) -> None:
    alice = get_user_model().objects.create_user("alice")
    with progress_owner(alice):
        result = tasks.count.delay(3)
    job = SSEProgress.objects.get(job_id=result.id)
    assert (job.status, job.processed_items, job.user_id) == ("completed", 3, alice.pk)


def test_task_always_eager_with_enqueue_options(always_eager: None) -> None:
    result = tasks.sleep_then.apply_async(
        (1, 0.0), progress_total=10, progress_task_type="export", progress_owner=None
    )
    job = SSEProgress.objects.get(job_id=result.id)
    assert (job.total_items, job.task_type, job.user_id) == (10, "export", None)


@pytest.mark.parametrize(
    ("call", "error"),
    [
        (lambda t: t.set_total(-1), ValueError),
        (lambda t: t.set_total("3"), TypeError),
        (lambda t: t.set_metadata(when=object()), TypeError),
        (lambda t: t.set_message(3), TypeError),
    ],
)
def test_body_api_validates_even_outside_a_task(call: Any, error: type) -> None:
    with pytest.raises(error):
        call(tasks.count)

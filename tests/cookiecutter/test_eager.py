"""Eager mode, as cookiecutter-django's local settings set it: the row tells the truth."""

from __future__ import annotations

from typing import Any

import pytest
from celery.exceptions import Retry
from django.test import Client

from celery_progress_tracker.models import SSEProgress
from tests.cookiecutter.jobs.tasks import flaky_export, import_statement

pytestmark = pytest.mark.core


def test_a_failure_in_a_request_ends_failed_with_its_counts(eager: None, alice: Any) -> None:
    client = Client()
    client.force_login(alice)
    with pytest.raises(RuntimeError, match="Statement line 4 matches no open invoice"):
        client.get("/jobs/fail/")
    job = SSEProgress.objects.get()  # kept although the request's transaction rolled back
    assert (job.status, job.end_reason, job.processed_items, job.total_items) == (
        "failed",
        "error",
        3,
        10,
    )
    assert job.error == "RuntimeError: Statement line 4 matches no open invoice"
    assert job.user_id == alice.pk
    assert job.completed_at is not None


def test_apply_with_throw_records_the_failure(transactional_db: None) -> None:
    with pytest.raises(RuntimeError):
        import_statement.apply((10, 0.0, 4), throw=True, task_id="eager-apply")
    job = SSEProgress.objects.get(job_id="eager-apply")
    assert (job.status, job.processed_items, job.total_items) == ("failed", 3, 10)
    assert job.error.startswith("RuntimeError: Statement line 4")


def test_an_eager_success(eager: None, alice: Any) -> None:
    result = import_statement.apply_async((5,), progress_owner=alice)
    job = SSEProgress.objects.get(job_id=result.id)
    assert (job.status, job.end_reason, job.processed_items, job.user_id) == (
        "completed",
        "succeeded",
        5,
        alice.pk,
    )


def test_eager_retries_without_propagation_end_completed(transactional_db: None) -> None:
    result = flaky_export.apply((4, 2))
    assert result.get() == 4
    job = SSEProgress.objects.get(job_id=result.id)
    assert (job.status, job.processed_items, job.retries) == ("completed", 4, 2)


def test_an_eager_retry_that_propagates_ends_failed_with_its_exception(
    eager: None, transactional_db: None
) -> None:
    with pytest.raises((Retry, ValueError)):
        flaky_export.delay(4, 1)
    job = SSEProgress.objects.get()
    assert (job.status, job.processed_items) == ("failed", 4)
    assert job.error == "ValueError: flaky failure 1"

"""ATOMIC_REQUESTS: a job started in a request runs, visibly, while the request is open."""

from __future__ import annotations

import threading
import uuid
from typing import Any

import pytest
from django.db import connection, transaction

from celery_progress_tracker.models import SSEProgress
from tests.cookiecutter.conftest import AsgiServer
from tests.cookiecutter.jobs.tasks import import_statement
from tests.harness import row, wait_for, wait_status

pytestmark = pytest.mark.core


def test_progress_is_live_while_the_requests_transaction_is_open(
    worker: Any, asgi_server: AsgiServer, alice: Any, alice_cookies: dict[str, str]
) -> None:
    job_id = str(uuid.uuid4())
    answers: list[Any] = []
    request = threading.Thread(
        target=lambda: answers.append(
            asgi_server.get(
                f"/jobs/import/?job_id={job_id}&lines=60&delay=0.05&hold=8", alice_cookies
            )
        )
    )
    request.start()

    seen: list[Any] = []

    def running() -> Any:
        status, data = asgi_server.get(f"/core/sse-progress/{job_id}/", alice_cookies)
        seen.append((status, data))
        if status == 200 and data["status"] == "in_progress" and data["processed_items"] > 0:
            return data
        return None

    try:
        data = wait_for(running, timeout=8)
    except AssertionError:
        raise AssertionError(f"{seen[-3:]}\n{asgi_server.output()}") from None
    assert request.is_alive(), "the request should still be open"
    assert data["started_at"] is not None and data["duration"] is not None
    request.join(30)
    status, answer = answers[0]
    assert (status, answer["in_transaction"]) == (200, True)
    job = wait_status(job_id, "completed")
    assert (job.processed_items, job.user_id) == (60, alice.pk)


def test_a_rolled_back_transaction_keeps_the_row_of_the_job_it_sent(
    worker: Any, alice: Any
) -> None:
    with transaction.atomic():
        result = import_statement.apply_async((3,), progress_owner=alice)
        transaction.set_rollback(True)
    # The message was sent anyway: the job runs, and its row is there to show it.
    job = wait_status(result.id, "completed")
    assert (job.processed_items, job.user_id) == (3, alice.pk)


def test_delay_on_commit_sends_nothing_on_rollback(worker: Any, alice: Any) -> None:
    with transaction.atomic():
        import_statement.delay_on_commit(2)
        transaction.set_rollback(True)
    with transaction.atomic():
        import_statement.delay_on_commit(2)
    job = wait_for(lambda: SSEProgress.objects.filter(status="completed").first())
    assert SSEProgress.objects.count() == 1
    assert job.processed_items == 2
    assert not connection.in_atomic_block


def test_the_row_exists_when_delay_returns_inside_a_transaction(worker: Any) -> None:
    with transaction.atomic():
        result = import_statement.delay(1)
        assert row(result.id) is not None
    wait_status(result.id, "completed")

"""Where progress writes run (outside the caller's transaction) and how they are retried."""

from __future__ import annotations

import asyncio
import threading

import pytest
from django.db import DataError, OperationalError, connection, connections, transaction

from celery_progress_tracker import writes
from celery_progress_tracker.models import SSEProgress
from tests.test_lifecycle import publish, row

pytestmark = pytest.mark.core


# -- transient errors ---------------------------------------------------------------


def test_retry_transient_retries_only_connection_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writes, "FINAL_WRITE_RETRY_DELAYS", (0.0, 0.0, 0.0))
    calls: list[str] = []

    @writes.retry_transient
    def flaky() -> str:
        calls.append("x")
        if len(calls) < 3:
            raise OperationalError("server closed the connection unexpectedly")
        return "written"

    assert flaky() == "written" and len(calls) == 3

    @writes.retry_transient
    def bad_data() -> None:
        calls.append("data")
        raise DataError("invalid byte sequence")

    with pytest.raises(DataError):
        bad_data()
    assert calls.count("data") == 1


def test_retry_transient_gives_up(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(writes, "FINAL_WRITE_RETRY_DELAYS", (0.0, 0.0))
    calls: list[int] = []

    @writes.retry_transient
    def down() -> None:
        calls.append(1)
        raise OperationalError("could not connect to server")

    with pytest.raises(OperationalError):
        down()
    assert len(calls) == 3


# -- where the writes happen ----------------------------------------------------------


@pytest.mark.postgres
def test_a_publish_inside_atomic_commits_at_once(transactional_db: None) -> None:
    other = connections.create_connection("default")
    try:
        with transaction.atomic():
            publish()
            with other.cursor() as cursor:  # another connection sees it before commit
                cursor.execute(
                    "SELECT status FROM celery_progress_tracker_sseprogress WHERE job_id = %s",
                    ["job"],
                )
                assert cursor.fetchall() == [("pending",)]
            transaction.set_rollback(True)
        assert row().status == "pending"  # and the caller's rollback keeps it
    finally:
        other.close()


@pytest.mark.sqlite
def test_on_sqlite_a_publish_inside_atomic_joins_the_transaction(transactional_db: None) -> None:
    assert connection.vendor == "sqlite"
    with transaction.atomic():
        publish()
        assert row().status == "pending"
        transaction.set_rollback(True)
    assert not SSEProgress.objects.exists()


def test_a_publish_from_an_event_loop_runs_off_the_loop(transactional_db: None) -> None:
    threads: list[str] = []

    async def view() -> None:
        publish()
        threads.append(threading.current_thread().name)

    asyncio.run(view())
    assert row().status == "pending"

"""The flusher, driven tick by tick: what it writes, when, and what it notices."""

from __future__ import annotations

import threading
import time
import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from celery.worker import state as worker_state
from django.db import connections
from django.test.utils import CaptureQueriesContext

from celery_progress_tracker import lifecycle
from celery_progress_tracker.flusher import Flusher
from celery_progress_tracker.models import SSEProgress
from celery_progress_tracker.tracker import JobState, helper_for

# Committed rows, and flushes run in a thread of their own, as in a worker.
pytestmark = [pytest.mark.core, pytest.mark.django_db(transaction=True)]


#: Ids no other test uses: the worker's revoked set is process-wide, and a test
#: that revokes a job of the same id earlier in the run would change what a tick does.
JOB = f"flush-{uuid.uuid4().hex}"


class FakeTask:
    name = "tests.fake"


@pytest.fixture
def running() -> JobState:
    lifecycle.publish(JOB, token="t", owner=None, task_type="x", total=0, metadata={}, due_at=None)
    state = JobState(JOB, FakeTask(), token="t")
    lifecycle.start(state)
    return state


@pytest.fixture
def flusher() -> Flusher:
    return Flusher()


def row() -> SSEProgress:
    return SSEProgress.objects.get(job_id=JOB)


def tick(flusher: Flusher, states: list[JobState]) -> int:
    """One flush in a thread of its own (its own connection); its queries on the table."""
    counted: list[int] = []

    def run() -> None:
        try:
            with CaptureQueriesContext(connections["default"]) as queries:
                flusher.flush(states)
            counted.append(sum("sseprogress" in q["sql"] for q in queries.captured_queries))
        finally:
            connections.close_all()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    return counted[0]


def test_writes_only_what_changed(flusher: Flusher, running: JobState) -> None:
    tick(flusher, [running])
    assert flusher.stats.writes == 1  # nothing changed: only the cancel check
    running.processed, running.version = 7, running.version + 1
    tick(flusher, [running])
    assert flusher.stats.writes == 2 and row().processed_items == 7
    assert not running.dirty
    tick(flusher, [running])
    assert flusher.stats.writes == 3  # clean again: a cancel check, no write


def test_helper_threads_counts_are_added_up(flusher: Flusher, running: JobState) -> None:
    def helper() -> None:
        count = helper_for(running)
        count.processed, count.version = 5, 1

    thread = threading.Thread(target=helper)
    thread.start()
    thread.join()
    running.processed, running.version = 2, 1
    tick(flusher, [running])
    assert row().processed_items == 7


def test_heartbeat_when_nothing_changed(flusher: Flusher, running: JobState, settings: Any) -> None:
    settings.PROGRESS_TRACKER_HEARTBEAT_INTERVAL = 0.01
    before = row().updated_at
    time.sleep(0.02)
    tick(flusher, [running])
    assert row().updated_at > before


def test_an_idle_job_learns_of_a_cancel_at_the_next_tick(
    flusher: Flusher, running: JobState
) -> None:
    row().request_cancel()
    tick(flusher, [running])
    assert running.cancel_requested


def test_idle_jobs_are_checked_in_one_query(flusher: Flusher, running: JobState) -> None:
    others = []
    for n in range(5):
        lifecycle.publish(
            f"{JOB}-{n}",
            token=f"t{n}",
            owner=None,
            task_type="x",
            total=0,
            metadata={},
            due_at=None,
        )
        state = JobState(f"{JOB}-{n}", FakeTask(), token=f"t{n}")
        lifecycle.start(state)
        others.append(state)
    assert tick(flusher, [running, *others]) == 1


@pytest.fixture
def revoked_job() -> Iterator[None]:
    worker_state.revoked.add(JOB)
    yield
    worker_state.revoked.discard(JOB)


def test_a_revoke_this_process_received_stops_the_body(
    flusher: Flusher, running: JobState, revoked_job: None
) -> None:
    tick(flusher, [running])
    assert running.cancel_requested


def test_a_finished_row_detaches_its_execution(flusher: Flusher, running: JobState) -> None:
    lifecycle.succeeded(JOB, None)
    running.processed, running.version = 1, 1
    tick(flusher, [running])
    assert running.detached
    writes = flusher.stats.writes
    tick(flusher, [running])
    assert flusher.stats.writes == writes  # a detached execution costs nothing


def test_a_database_error_is_counted_and_retried(
    flusher: Flusher, running: JobState, monkeypatch: pytest.MonkeyPatch
) -> None:
    from django.db import OperationalError

    def down(state: JobState) -> bool:
        raise OperationalError("connection lost")

    monkeypatch.setattr(lifecycle, "write_counts", down)
    running.processed, running.version = 1, 1
    tick(flusher, [running])
    assert flusher.stats.errors == 1 and running.dirty
    monkeypatch.undo()
    tick(flusher, [running])
    assert not running.dirty and row().processed_items == 1

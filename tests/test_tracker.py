"""The in-memory state of an execution: counts, helper threads, nesting."""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import pytest

from celery_progress_tracker import tracker
from celery_progress_tracker.tracker import HelperCount, JobState
from celery_progress_tracker.validation import MAX_COUNT

pytestmark = pytest.mark.core


class FakeTask:
    name = "fake"


@pytest.fixture
def task() -> Any:
    return FakeTask()


@pytest.fixture
def state(task: Any) -> Any:
    job = JobState("job-1", task)
    tracker.activate(job)
    yield job
    tracker.deactivate(job)


def test_versions_and_dirty(state: JobState) -> None:
    assert not state.dirty
    state.processed += 3
    state.version += 1
    assert state.dirty and state.counts() == (3, 0)
    state.written_version = state.total_version
    assert not state.dirty


def test_add_refuses_to_overflow_a_column(state: JobState) -> None:
    state.add(MAX_COUNT, 0)
    with pytest.raises(ValueError, match="<="):
        state.add(1, 0)
    assert state.counts() == (MAX_COUNT, 0)


def test_nested_executions_restore_the_outer_one(task: Any, state: JobState) -> None:
    inner = JobState("job-2", task)
    tracker.activate(inner)
    assert tracker.current_state() is inner
    tracker.deactivate(inner)
    assert tracker.current_state() is state
    assert inner.closed and not state.closed


def test_helper_threads_count_apart_and_exactly(task: Any, state: JobState) -> None:
    barrier = threading.Barrier(8)  # eight distinct threads, attaching at once

    def work(_: int) -> None:
        barrier.wait()
        helper = tracker.attach_helper(task)
        assert isinstance(helper, HelperCount)
        for _ in range(1000):
            helper.processed += 1
            helper.version += 1

    with ThreadPoolExecutor(8) as pool:
        list(pool.map(work, range(8)))
    state.processed += 5
    assert state.counts() == (8005, 0)
    assert len(state.helpers) == 8
    assert state.dirty


def test_a_helper_thread_reuses_its_count(task: Any, state: JobState) -> None:
    seen: list[Any] = []

    def work() -> None:
        seen.append(tracker.attach_helper(task))
        seen.append(tracker.attach_helper(task))
        seen.append(tracker.current_state())

    thread = threading.Thread(target=work)
    thread.start()
    thread.join()
    assert seen[0] is seen[1]
    assert seen[2] is state  # a helper thread's current execution is the job's


def test_no_execution_means_no_helper(task: Any) -> None:
    assert tracker.attach_helper(task) is None


def test_two_executions_of_one_task_cannot_be_told_apart(task: Any, state: JobState) -> None:
    other = JobState("job-2", task)

    def run_other() -> None:  # a second execution, as on the threads pool
        tracker.activate(other)
        ready.set()
        done.wait()
        tracker.deactivate(other)

    ready, done = threading.Event(), threading.Event()
    thread = threading.Thread(target=run_other)
    thread.start()
    ready.wait()
    errors: list[BaseException] = []
    helper = threading.Thread(target=lambda: _capture(errors, task))
    helper.start()
    helper.join()
    done.set()
    thread.join()
    assert len(errors) == 1 and "2 executions of fake" in str(errors[0])
    assert "progress_counter()" in str(errors[0])


def _capture(errors: list[BaseException], task: Any) -> None:
    try:
        tracker.attach_helper(task)
    except RuntimeError as exc:
        errors.append(exc)

"""Per-execution progress counted in memory: the hot path.

``self.progress()`` only touches a :class:`JobState` held in a thread-local
slot; a background thread (``flusher``) writes it to the row. Nothing here
imports Django's web side or touches the database.

Threads the task body starts itself (a ``ThreadPoolExecutor``) get a
:class:`HelperCount` of their own, attached to the execution's state: every
counter has a single writer, so no increment is ever lost and the hot path
takes no lock; the flusher adds them up.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from celery_progress_tracker.validation import MAX_COUNT


class HelperCount:
    """What one helper thread of an execution counted (written by that thread only)."""

    __slots__ = ("failed", "job", "processed", "version")

    def __init__(self, job: JobState) -> None:
        self.job = job
        self.processed = 0
        self.failed = 0
        self.version = 0

    @property
    def task(self) -> Any:
        return self.job.task

    @property
    def closed(self) -> bool:
        return self.job.closed

    @property
    def cancel_requested(self) -> bool:
        return self.job.cancel_requested

    @property
    def job_id(self) -> str:
        return self.job.job_id

    @property
    def message(self) -> str | None:
        return self.job.message

    @message.setter
    def message(self, value: str | None) -> None:
        self.job.message = value
        self.job.version += 1

    def add(self, processed: int, failed: int) -> None:
        _check_sum(self.job, processed, failed)
        self.processed += processed
        self.failed += failed
        self.version += 1


class JobState:
    """What one execution of a ``ProgressTask`` has reported so far.

    Written by the task's own thread, read by the flusher thread. ``version``
    grows on every change, so the flusher writes only what is new; the counts
    are absolute, so writing a state twice can never count twice.
    """

    __slots__ = (
        "cancel_requested",
        "closed",
        "detached",
        "eager",
        "exception",
        "failed",
        "finalised",
        "group_id",
        "helpers",
        "job_id",
        "last_write",
        "message",
        "metadata",
        "metadata_version",
        "outcome",
        "outer",
        "owner",
        "parent_id",
        "processed",
        "retries",
        "root_id",
        "task",
        "task_type",
        "token",
        "total",
        "total_set",
        "version",
        "written_metadata_version",
        "written_version",
    )

    def __init__(
        self,
        job_id: str,
        task: Any,
        *,
        retries: int = 0,
        total: int = 0,
        owner: Any = None,
        task_type: str = "",
        metadata: dict[str, Any] | None = None,
        eager: bool = False,
        token: str = "",
        root_id: str = "",
        parent_id: str = "",
        group_id: str = "",
    ) -> None:
        self.job_id = job_id
        self.task = task
        self.retries = retries
        self.owner = owner
        self.task_type = task_type
        self.eager = eager
        self.token = token
        self.root_id = root_id
        self.parent_id = parent_id
        self.group_id = group_id
        self.processed = 0
        self.failed = 0
        self.total = total
        self.total_set = False
        self.message: str | None = None
        self.metadata: dict[str, Any] = dict(metadata or {})
        self.metadata_version = 0
        self.written_metadata_version = 0
        self.version = 0
        self.written_version = 0
        self.last_write = time.monotonic()
        self.helpers: list[HelperCount] = []
        #: The execution is over: helper threads' calls no longer count.
        self.closed = False
        #: Set by the body's wrapper: how it ended when no Celery signal says it
        #: (``"cancelled"``, ``"replaced"``), and the exception it raised.
        self.outcome: str | None = None
        self.exception: BaseException | None = None
        self.cancel_requested = False
        #: The row is no longer this execution's to write.
        self.detached = False
        self.finalised = False
        #: The state this one hides in its thread (an eager task run inside another).
        self.outer: JobState | None = None

    @property
    def dirty(self) -> bool:
        return self.total_version != self.written_version

    @property
    def total_version(self) -> int:
        if not self.helpers:
            return self.version
        return self.version + sum(helper.version for helper in self.helpers)

    def counts(self) -> tuple[int, int]:
        """``(processed, failed)`` of the execution, helper threads included."""
        processed, failed = self.processed, self.failed
        for helper in self.helpers:
            processed += helper.processed
            failed += helper.failed
        return processed, failed

    def add(self, processed: int, failed: int) -> None:
        _check_sum(self, processed, failed)
        self.processed += processed
        self.failed += failed
        self.version += 1

    def __repr__(self) -> str:
        processed, failed = self.counts()
        return f"<JobState {self.job_id} {processed}+{failed}/{self.total} v{self.total_version}>"


def _check_sum(job: JobState, processed: int, failed: int) -> None:
    total_processed, total_failed = job.counts()
    if total_processed + processed > MAX_COUNT or total_failed + failed > MAX_COUNT:
        raise ValueError(f"progress counts must stay <= {MAX_COUNT}")


class _Current(threading.local):
    # A class attribute, so a thread that never ran a task reads None.
    state: JobState | HelperCount | None = None


_current = _Current()

#: Executions running in this process, for helper threads to find theirs.
_running: dict[str, JobState] = {}
_running_lock = threading.Lock()


def current_state() -> JobState | None:
    """The ``ProgressTask`` execution this thread runs (or, in a helper thread, counts for)."""
    state = _current.state
    if isinstance(state, HelperCount):
        return None if state.job.closed else state.job
    return state


def activate(state: JobState) -> None:
    """Make ``state`` this thread's execution (hiding, not losing, an outer one)."""
    outer = _current.state
    state.outer = outer if isinstance(outer, JobState) else None
    _current.state = state
    with _running_lock:
        _running[state.job_id] = state


def deactivate(state: JobState) -> None:
    """End ``state``'s execution in this thread; an outer one becomes current again."""
    state.closed = True
    if _current.state is state:
        _current.state = state.outer
    with _running_lock:
        if _running.get(state.job_id) is state:
            del _running[state.job_id]


def attach_helper(task: Any) -> HelperCount | None:
    """A count for this (helper) thread in ``task``'s running execution.

    Returns ``None`` when no execution of ``task`` runs in this process (the
    task's function was called directly).

    Raises:
        RuntimeError: several executions of ``task`` run in this process, so
            the call cannot be attributed to one.
    """
    with _running_lock:
        candidates = [state for state in _running.values() if state.task is task]
    if not candidates:
        return None
    if len(candidates) > 1:
        raise RuntimeError(
            f"self.progress() was called from a thread that runs no task, while"
            f" {len(candidates)} executions of {task.name} run in this process: pass"
            " the execution's counter to the thread (counter = self.progress_counter()"
            " in the body, counter.progress(...) in the thread)"
        )
    return helper_for(candidates[0])


def helper_for(job: JobState) -> HelperCount:
    """A count of this thread's own in ``job``, kept as the thread's current state."""
    current = _current.state
    if isinstance(current, HelperCount) and current.job is job:
        return current
    helper = HelperCount(job)
    with _running_lock:
        job.helpers = [*job.helpers, helper]  # a new list: the flusher may be iterating
    _current.state = helper
    return helper

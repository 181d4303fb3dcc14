"""Per-execution progress counted in memory: the hot path.

``self.progress()`` only touches a :class:`JobState` held in a thread-local
slot; a background thread (``flusher``) writes it to the row. Nothing here
imports Django's web side or touches the database.
"""

from __future__ import annotations

import threading
import time
from typing import Any

from celery_progress_tracker.validation import MAX_COUNT


class JobState:
    """What one execution of a ``ProgressTask`` has reported so far.

    Written by the task's own thread, read by the flusher thread. ``version``
    grows on every change, so the flusher writes only what is new; the counts
    are absolute, so writing a state twice can never count twice.
    """

    __slots__ = (
        "cancel_requested",
        "detached",
        "eager",
        "failed",
        "finalised",
        "job_id",
        "last_write",
        "message",
        "metadata",
        "metadata_version",
        "owner",
        "processed",
        "retries",
        "task",
        "task_type",
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
    ) -> None:
        self.job_id = job_id
        self.task = task
        self.retries = retries
        self.owner = owner
        self.task_type = task_type
        self.eager = eager
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
        self.cancel_requested = False
        self.detached = False
        self.finalised = False

    @property
    def dirty(self) -> bool:
        return self.version != self.written_version

    def add(self, processed: int, failed: int) -> None:
        processed += self.processed
        failed += self.failed
        if processed > MAX_COUNT or failed > MAX_COUNT:
            raise ValueError(f"progress counts must stay <= {MAX_COUNT}")
        self.processed = processed
        self.failed = failed
        self.version += 1

    def __repr__(self) -> str:
        return (
            f"<JobState {self.job_id} {self.processed}+{self.failed}/{self.total} v{self.version}>"
        )


class _Current(threading.local):
    # A class attribute, so a thread that never ran a task reads None.
    state: JobState | None = None


_current = _Current()


def current_state() -> JobState | None:
    """The state of the ``ProgressTask`` execution running in this thread."""
    return _current.state


def activate(state: JobState) -> None:
    _current.state = state


def deactivate(state: JobState) -> None:
    if _current.state is state:
        _current.state = None

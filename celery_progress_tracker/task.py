"""``ProgressTask``: the Celery base class whose jobs report progress.

The hot path: ``self.progress()`` adds to counts kept in memory for the
running execution (see ``tracker``); a background thread writes them at most
once per ``FLUSH_INTERVAL``. Nothing here reads or writes the database.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from celery.contrib.django.task import DjangoTask

from celery_progress_tracker.exceptions import TaskCancelled
from celery_progress_tracker.ownership import HEADER, UNSET, owner_pk
from celery_progress_tracker.tracker import JobState, _current
from celery_progress_tracker.validation import (
    MAX_COUNT,
    check_count,
    check_metadata,
    clean_text,
)


def progress_options(
    *,
    owner: Any = UNSET,
    task_type: str | None = None,
    total: int | None = None,
    metadata: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """The job options of one enqueue, checked, as the header value the worker reads.

    Raises:
        TypeError, ValueError: an option is of the wrong type or out of range.
    """
    options: dict[str, Any] = {}
    if owner is not UNSET:
        options["owner"] = owner_pk(owner)
    if task_type is not None:
        options["task_type"] = clean_text("progress_task_type", task_type, 100)
    if total is not None:
        options["total"] = check_count("progress_total", total)
    if metadata is not None:
        options["metadata"] = check_metadata(metadata)
    return options


def _add_job_header(options: dict[str, Any], job: dict[str, Any]) -> None:
    """Put the job's options in the message header the receivers read."""
    if job:
        headers = dict(options.get("headers") or {})
        headers[HEADER] = {**headers.get(HEADER, {}), **job}
        options["headers"] = headers


class ProgressTask(DjangoTask):  # type: ignore[type-arg]
    """A Celery task whose every execution gets an ``SSEProgress`` row.

    Use it as ``@shared_task(base=ProgressTask, bind=True)`` and call
    ``self.progress()`` in the body. The row's ``job_id`` is the task id.
    """

    #: The row's ``task_type``; ``None`` means the task's name.
    progress_task_type: str | None = None

    #: The row's ``total_items`` when the enqueue gives none (``0``: unknown).
    progress_total: int = 0

    # -- enqueue ---------------------------------------------------------------

    def apply_async(
        self,
        args: Any = None,
        kwargs: Any = None,
        task_id: str | None = None,
        producer: Any = None,
        link: Any = None,
        link_error: Any = None,
        shadow: str | None = None,
        *,
        progress_owner: Any = UNSET,
        progress_task_type: str | None = None,
        progress_total: int | None = None,
        progress_metadata: dict[str, Any] | None = None,
        **options: Any,
    ) -> Any:
        """``Task.apply_async`` plus the job's options.

        Args:
            progress_owner: the user (object or primary key) who owns the job;
                ``None`` for no owner. Default: the request's user, or the
                owner of the ``ProgressTask`` that publishes this one.
            progress_task_type: the row's ``task_type`` for this job.
            progress_total: the row's ``total_items`` (``0``: unknown).
            progress_metadata: a JSON-serialisable dict stored on the row.
        """
        job = progress_options(
            owner=progress_owner,
            task_type=progress_task_type,
            total=progress_total,
            metadata=progress_metadata,
        )
        _add_job_header(options, job)
        return super().apply_async(
            args, kwargs, task_id, producer, link, link_error, shadow, **options
        )

    def apply(
        self,
        args: Any = None,
        kwargs: Any = None,
        link: Any = None,
        link_error: Any = None,
        task_id: str | None = None,
        retries: int | None = None,
        throw: bool | None = None,
        logfile: Any = None,
        loglevel: Any = None,
        headers: Mapping[str, Any] | None = None,
        *,
        progress_owner: Any = UNSET,
        progress_task_type: str | None = None,
        progress_total: int | None = None,
        progress_metadata: dict[str, Any] | None = None,
        **options: Any,
    ) -> Any:
        """``Task.apply`` (run here and now) plus the job's options of :meth:`apply_async`."""
        job = progress_options(
            owner=progress_owner,
            task_type=progress_task_type,
            total=progress_total,
            metadata=progress_metadata,
        )
        options["headers"] = dict(headers) if headers else None
        _add_job_header(options, job)
        return super().apply(
            args, kwargs, link, link_error, task_id, retries, throw, logfile, loglevel, **options
        )

    def before_start(self, task_id: str, args: Any, kwargs: Any) -> None:
        state = _current.state
        if state is not None and state.task is self and state.cancel_requested:
            raise TaskCancelled(f"job {task_id} was cancelled before it started")

    # -- the body's API --------------------------------------------------------

    def progress(self, n: int = 1, message: str | None = None, *, failed: int = 0) -> None:
        """Count ``n`` more processed items (and ``failed`` failed ones).

        Costs well under a microsecond: the counts live in memory and are
        written by a background thread at most once per ``FLUSH_INTERVAL``.
        Outside a task execution (the function called directly) it does
        nothing.

        Raises:
            TypeError, ValueError: ``n`` or ``failed`` is not a non-negative int,
                or ``message`` is not a str.
            TaskCancelled: a user cancelled the job.
        """
        state = _current.state
        if state is None or state.task is not self:
            return
        if type(n) is not int or n < 0 or n > MAX_COUNT:
            n = check_count("n", n)
        if failed:
            failed = check_count("failed", failed)
        if message is not None and type(message) is not str:
            clean_text("message", message, 1000)  # raises TypeError
        state.processed += n
        if failed:
            state.add(0, failed)
        if message is not None:
            state.message = message
        state.version += 1
        if state.cancel_requested:
            raise TaskCancelled(f"job {state.job_id} was cancelled")

    def set_progress(
        self, current: int, total: int | None = None, message: str | None = None
    ) -> None:
        """Set the processed count (and the total) to absolute values.

        For code coming from celery-progress's ``set_progress(current, total)``.
        """
        state = _current.state
        if state is None or state.task is not self:
            return
        current = check_count("current", current)
        if total is not None:
            state.total = check_count("total", total)
            state.total_set = True
        if message is not None:
            state.message = clean_text("message", message, 1000)
        state.processed = current
        state.version += 1
        if state.cancel_requested:
            raise TaskCancelled(f"job {state.job_id} was cancelled")

    def set_total(self, total: int) -> None:
        """Set ``total_items`` (``0``: unknown; the bar is then indeterminate)."""
        total = check_count("total", total)
        state = _current.state
        if state is None or state.task is not self:
            return
        state.total = total
        state.total_set = True
        state.version += 1

    def set_message(self, message: str) -> None:
        """Set the current message without counting anything."""
        message = clean_text("message", message, 1000)
        state = _current.state
        if state is None or state.task is not self:
            return
        state.message = message
        state.version += 1

    def set_metadata(self, metadata: dict[str, Any] | None = None, **values: Any) -> None:
        """Merge ``metadata`` and ``values`` into the row's JSON ``metadata``."""
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError(f"metadata must be a dict, not {type(metadata).__name__}")
        merged = {**(metadata or {}), **values}
        check_metadata(merged)
        state = _current.state
        if state is None or state.task is not self:
            return
        check_metadata({**state.metadata, **merged})
        state.metadata.update(merged)
        state.metadata_version += 1
        state.version += 1

    @property
    def progress_state(self) -> JobState | None:
        """The running execution's in-memory state (``None`` outside one)."""
        state = _current.state
        return state if state is not None and state.task is self else None

    @property
    def is_cancelled(self) -> bool:
        """Whether a user asked to cancel the running job (seen within a flush interval)."""
        state = self.progress_state
        return bool(state and state.cancel_requested)

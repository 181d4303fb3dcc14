"""``ProgressTask``: the Celery base class whose jobs report progress.

The hot path: ``self.progress()`` adds to counts kept in memory for the
running execution (see ``tracker``); a background thread writes them at most
once per ``FLUSH_INTERVAL``. Nothing here reads or writes the database: the
lifecycle module does, called from the hooks below and from the receivers.
"""

from __future__ import annotations

import contextlib
from collections.abc import Mapping
from typing import Any

from celery.contrib.django.task import DjangoTask
from celery.exceptions import Ignore
from celery.result import AsyncResult
from celery.utils import uuid

from celery_progress_tracker.exceptions import TaskCancelled
from celery_progress_tracker.offloop import off_event_loop
from celery_progress_tracker.ownership import HEADER, UNSET, current_owner, owner_pk
from celery_progress_tracker.tracker import (
    HelperCount,
    JobState,
    _current,
    attach_helper,
    current_state,
    helper_for,
)
from celery_progress_tracker.validation import (
    MAX_COUNT,
    check_count,
    check_metadata,
    clean_message,
    clean_task_type,
)

#: What an execution's state says when the body replaced itself or was cancelled.
REPLACED = "replaced"
CANCELLED = "cancelled"


def new_run_token() -> str:
    """A token naming one publish (one run) of a job."""
    return uuid().replace("-", "")


def progress_options(
    *,
    owner: Any = UNSET,
    task_type: str | None = None,
    total: int | None = None,
    metadata: dict[str, Any] | None = None,
    track: bool = True,
) -> dict[str, Any]:
    """The job options of one enqueue, checked, as the header value the worker reads.

    Raises:
        TypeError, ValueError: an option is of the wrong type or out of range.
    """
    options: dict[str, Any] = {}
    if owner is not UNSET:
        options["owner"] = owner_pk(owner)
    if task_type is not None:
        options["task_type"] = clean_task_type(task_type, "progress_task_type")
    if total is not None:
        options["total"] = check_count("progress_total", total)
    if metadata is not None:
        options["metadata"] = check_metadata(metadata)
    if not track:
        options["track"] = False
    return options


def _add_job_header(options: dict[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    """Put the job's options in the message header the receivers read; return them."""
    headers = dict(options.get("headers") or {})
    merged = {**(headers.get(HEADER) or {}), **job}
    headers[HEADER] = merged
    options["headers"] = headers
    return merged


class ProgressAsyncResult(AsyncResult):  # type: ignore[type-arg]
    """The result of a ``ProgressTask``: ``revoke(terminate=True)`` works on every pool.

    Besides Celery's broadcast, the terminate is written in the job's row, so
    a worker that cannot stop the body by a signal (the ``solo`` and
    ``threads`` pools; any pool while the message is held elsewhere) stops it
    at its next check, within a flush interval. The job ends ``cancelled``,
    end reason ``revoked``.
    """

    def revoke(
        self, connection: Any = None, terminate: bool = False, *args: Any, **kwargs: Any
    ) -> Any:
        """``AsyncResult.revoke``; with ``terminate``, the running body is stopped too."""
        result = super().revoke(connection, terminate, *args, **kwargs)
        if terminate:
            from celery_progress_tracker import lifecycle
            from celery_progress_tracker.models import EndReason, SSEProgress

            # No row (published without the app): Celery's revoke stands alone.
            with contextlib.suppress(SSEProgress.DoesNotExist):
                lifecycle.request_stop(self.id, EndReason.REVOKED)
        return result


class ProgressCounter:
    """Counts into one running execution from any thread (see ``ProgressTask.progress_counter``)."""

    __slots__ = ("_job",)

    def __init__(self, job: JobState) -> None:
        self._job = job

    def progress(self, n: int = 1, message: str | None = None, *, failed: int = 0) -> None:
        """``self.progress()`` of the execution, callable from any of its threads.

        Raises:
            RuntimeError: the execution has ended.
            TaskCancelled: a user cancelled the job.
        """
        job = self._job
        if job.closed:
            raise RuntimeError(f"job {job.job_id} has ended: its counter no longer counts")
        state = _current.state
        if state is not job:
            state = helper_for(job)
        _count(state, n, message, failed)


def _count(state: JobState | HelperCount, n: int, message: str | None, failed: int) -> None:
    if type(n) is not int or n < 0 or n > MAX_COUNT:
        n = check_count("n", n)
    if failed:
        failed = check_count("failed", failed)
        state.add(0, failed)
    if message is not None:
        if type(message) is not str:
            clean_message(message)  # raises TypeError
        state.message = message
    state.processed += n
    state.version += 1
    if state.cancel_requested:
        raise TaskCancelled(f"job {state.job_id} was cancelled")


class ProgressTask(DjangoTask):  # type: ignore[type-arg]
    """A Celery task whose every execution gets an ``SSEProgress`` row.

    Use it as ``@shared_task(base=ProgressTask, bind=True)`` and call
    ``self.progress()`` in the body. The row's ``job_id`` is the task id.
    """

    #: The row's ``task_type``; ``None`` means the task's name.
    progress_task_type: str | None = None

    #: The title the bar shows for this task's jobs (a translatable text);
    #: ``None`` means the task's name made readable ("reports.tasks.crunch" → "Crunch").
    progress_title: Any = None

    #: The row's ``total_items`` when the enqueue gives none (``0``: unknown).
    progress_total: int = 0

    #: Whether runs that Celery beat starts get a row. ``False``: a scheduled
    #: run records no progress (nobody watches it; a frequent schedule would
    #: fill the table); the same task started any other way still does.
    progress_scheduled: bool = True

    # -- enqueue ---------------------------------------------------------------

    def AsyncResult(self, task_id: str, **kwargs: Any) -> ProgressAsyncResult:
        """The result of job ``task_id`` (what ``delay()`` and ``apply_async()`` return)."""
        return ProgressAsyncResult(
            task_id, backend=self.backend, task_name=self.name, app=self.app, **kwargs
        )

    @off_event_loop  # from an async view: the row and the owner need the database
    def apply_async(
        self,
        args: Any = None,
        kwargs: Any = None,
        task_id: str | None = None,
        *more: Any,
        progress_owner: Any = UNSET,
        progress_task_type: str | None = None,
        progress_total: int | None = None,
        progress_metadata: dict[str, Any] | None = None,
        progress_track: bool = True,
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
            progress_track: ``False`` runs the task without a row (its
                ``self.progress()`` calls do nothing), e.g. in a beat entry's
                ``options``.

        Raises:
            JobIdInUse: ``task_id`` names a job of another owner.
        """
        from celery_progress_tracker import lifecycle

        job = progress_options(
            owner=progress_owner,
            task_type=progress_task_type,
            total=progress_total,
            metadata=progress_metadata,
            track=progress_track,
        )
        header = _add_job_header(options, job)
        if task_id is not None and "owner" not in header and current_owner() is UNSET:
            # Published by Celery itself (a chord's callback by ``chord_unlock``):
            # a canvas member whose row its canvas made takes that row's owner and run.
            header.update(lifecycle.planned_run(task_id))
        header.setdefault("token", new_run_token())
        if task_id is not None and not self.app.conf.task_always_eager:
            owner = header["owner"] if "owner" in header else current_owner()
            lifecycle.check_job_id(task_id, None if owner is UNSET else owner)
        try:
            return super().apply_async(args, kwargs, task_id, *more, **options)
        except Exception:
            # Nothing was published: the row made for it must not wait for ever.
            lifecycle.unpublished(header["token"])
            raise

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
        progress_track: bool = True,
        **options: Any,
    ) -> Any:
        """``Task.apply`` (run here and now) plus the job's options of :meth:`apply_async`.

        Run eagerly (``task_always_eager`` too), the job's row is written as it
        would be on a worker; a failure the caller receives (``throw=True``,
        ``task_eager_propagates``) ends the row ``failed`` with its exception.
        """
        job = progress_options(
            owner=progress_owner,
            task_type=progress_task_type,
            total=progress_total,
            metadata=progress_metadata,
            track=progress_track,
        )
        options["headers"] = dict(headers) if headers else None
        header = _add_job_header(options, job)
        header.setdefault("token", new_run_token())
        return super().apply(
            args, kwargs, link, link_error, task_id, retries, throw, logfile, loglevel, **options
        )

    # -- execution -------------------------------------------------------------

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        # Celery's hooks see an outcome only after it is recorded (and logged as
        # an error); a cancel must instead end as an expected, revoked outcome,
        # and a failure Celery does not report (an eager one it propagates)
        # must still reach the row. Only the body's wrapper can do both.
        state = _current.state
        if not isinstance(state, JobState) or state.task is not self:
            return super().__call__(*args, **kwargs)  # called directly
        try:
            return self._run_in_trace(args, kwargs)
        except TaskCancelled:
            self._stop_as_revoked(state, "cancelled")
        except BaseException as exc:
            state.exception = exc
            raise

    def _run_in_trace(self, args: tuple[Any, ...], kwargs: dict[str, Any]) -> Any:
        # Under Celery's tracer the request is already on the stack. A worker
        # installs a guard so that ``Task.__call__`` does not push a second,
        # "called directly" request over it; a worker started without that
        # guard (``celery.contrib.testing`` on Celery 5.4) does not, and
        # ``self.retry()`` would then raise the exception instead of retrying.
        stack = self.request_stack
        request = stack.top
        if request is not None and len(stack) == 1 and not request.called_directly:
            return self.run(*args, **kwargs)
        return super().__call__(*args, **kwargs)

    def before_start(self, task_id: str, args: Any, kwargs: Any) -> None:
        state = current_state()
        if state is not None and state.task is self and state.cancel_requested:
            # Cancelled while queued: the row says so already; the body never runs.
            self._stop_as_revoked(state, "cancelled before it started")

    def _stop_as_revoked(self, state: JobState, reason: str) -> None:
        state.outcome = CANCELLED
        if not state.eager:
            self.backend.mark_as_revoked(
                state.job_id, "cancelled", request=self.request, store_result=True
            )
        raise Ignore(reason)

    def on_replace(self, sig: Any) -> Any:
        """Keep the row open: it follows the replacement to its end."""
        from celery_progress_tracker import lifecycle
        from celery_progress_tracker.flusher import flusher

        state = current_state()
        if state is not None and state.task is self:
            state.outcome = REPLACED
            flusher.unregister(state)  # no write of the old body lands after this
            lifecycle.replaced(state, sig)
        return super().on_replace(sig)

    # -- the body's API --------------------------------------------------------

    def _state(self) -> JobState | HelperCount | None:
        """This thread's state in a running execution of this task (slow path).

        Raises:
            RuntimeError: the call cannot be attributed to one execution.
        """
        state = _current.state
        if isinstance(state, HelperCount) and state.task is self and state.closed:
            raise RuntimeError(
                f"self.progress() was called after job {state.job_id} ended"
                " (from a thread the body started)"
            )
        return attach_helper(self)

    def progress(self, n: int = 1, message: str | None = None, *, failed: int = 0) -> None:
        """Count ``n`` more processed items (and ``failed`` failed ones).

        Costs well under a microsecond: the counts live in memory and are
        written by a background thread at most once per ``FLUSH_INTERVAL``.
        Threads the body starts may call it too: their counts are kept apart
        and added up, so none is lost. Called with no execution of the task
        running in the process (the function called directly), it does nothing.

        Raises:
            TypeError, ValueError: ``n`` or ``failed`` is not a non-negative int,
                or ``message`` is not a str.
            TaskCancelled: a user cancelled the job.
            RuntimeError: called from a thread that runs no execution while
                several executions of the task run in this process.
        """
        state = _current.state
        if state is None or state.task is not self or state.closed:
            state = self._state()
            if state is None:
                return
        # Inlined _count(): this is the hot path.
        if type(n) is not int or n < 0 or n > MAX_COUNT:
            n = check_count("n", n)
        if failed:
            failed = check_count("failed", failed)
            state.add(0, failed)
        if message is not None:
            if type(message) is not str:
                clean_message(message)  # raises TypeError
            state.message = message
        state.processed += n
        state.version += 1
        if state.cancel_requested:
            raise TaskCancelled(f"job {state.job_id} was cancelled")

    def progress_counter(self) -> ProgressCounter:
        """A counter that any thread may call for the running execution.

        For bodies that hand work to threads when several executions of the
        task may run in one process (the ``threads`` pool): call it in the body,
        pass it to the threads, call ``counter.progress(...)`` there.

        Raises:
            RuntimeError: no execution of this task runs in this thread.
        """
        state = current_state()
        if state is None or state.task is not self:
            raise RuntimeError("progress_counter() must be called in the task's body")
        return ProgressCounter(state)

    def set_progress(
        self, current: int, total: int | None = None, message: str | None = None
    ) -> None:
        """Set the processed count (and the total) to absolute values.

        For code coming from celery-progress's ``set_progress(current, total)``.
        """
        current = check_count("current", current)
        state = current_state()
        if state is None or state.task is not self:
            return
        if total is not None:
            state.total = check_count("total", total)
            state.total_set = True
        if message is not None:
            state.message = clean_message(message)
        state.processed = current
        state.version += 1
        if state.cancel_requested:
            raise TaskCancelled(f"job {state.job_id} was cancelled")

    def set_total(self, total: int) -> None:
        """Set ``total_items`` (``0``: unknown; the bar is then indeterminate)."""
        total = check_count("total", total)
        state = current_state()
        if state is None or state.task is not self:
            return
        state.total = total
        state.total_set = True
        state.version += 1

    def set_message(self, message: str) -> None:
        """Set the current message without counting anything."""
        message = clean_message(message)
        state = current_state()
        if state is None or state.task is not self:
            return
        state.message = message
        state.version += 1

    def set_metadata(self, metadata: dict[str, Any] | None = None, **values: Any) -> None:
        """Merge ``metadata`` and ``values`` into the row's JSON ``metadata``."""
        if metadata is not None and not isinstance(metadata, dict):
            raise TypeError(f"metadata must be a dict, not {type(metadata).__name__}")
        merged = check_metadata({**(metadata or {}), **values})
        state = current_state()
        if state is None or state.task is not self:
            return
        state.metadata = check_metadata({**state.metadata, **merged})
        state.metadata_version += 1
        state.version += 1

    @property
    def progress_state(self) -> JobState | None:
        """The running execution's in-memory state (``None`` outside one)."""
        state = current_state()
        return state if state is not None and state.task is self else None

    @property
    def is_cancelled(self) -> bool:
        """Whether a user asked to cancel the running job (seen within a flush interval)."""
        state = self.progress_state
        return bool(state and state.cancel_requested)

"""Celery signals → lifecycle transitions. Connected in ``AppConfig.ready()``.

Each receiver reads what the signal says (the task, its request, the job's
options from the message header) and calls one function of
:mod:`~celery_progress_tracker.lifecycle`, which writes the row. A receiver
never raises into Celery.
"""

from __future__ import annotations

import logging
from typing import Any

from celery import current_app, signals
from celery import states as celery_states

from celery_progress_tracker import lifecycle, tracker
from celery_progress_tracker.exceptions import TaskCancelled
from celery_progress_tracker.flusher import flusher
from celery_progress_tracker.offloop import off_event_loop
from celery_progress_tracker.ownership import HEADER, UNSET, current_owner
from celery_progress_tracker.task import CANCELLED, REPLACED, ProgressTask, new_run_token
from celery_progress_tracker.validation import clean_task_type

logger = logging.getLogger(__name__)


def _job_options(request: Any) -> dict[str, Any]:
    """The job's options from a worker request's header (``{}`` when it has none)."""
    options = getattr(request, HEADER, None)
    if not isinstance(options, dict):
        headers = getattr(request, "headers", None) or {}
        options = headers.get(HEADER) if isinstance(headers, dict) else None
    return options if isinstance(options, dict) else {}


def _task_type(task: ProgressTask, options: dict[str, Any]) -> str:
    return clean_task_type(options.get("task_type") or task.progress_task_type or task.name)


def _own_state(job_id: str | None) -> tracker.JobState | None:
    state = tracker.current_state()
    return state if state is not None and state.job_id == job_id else None


def _token(request: Any) -> str:
    return str(_job_options(request).get("token") or "")


# -- publish -------------------------------------------------------------------


@off_event_loop  # send_task() from an async view: the row needs the database
def on_before_task_publish(
    sender: str | None = None, headers: dict[str, Any] | None = None, **kwargs: Any
) -> None:
    if headers is None or sender is None:
        return
    task = current_app.tasks.get(sender)
    if not isinstance(task, ProgressTask):
        return
    options = dict(headers.get(HEADER) or {})
    if "owner" not in options:
        owner = current_owner()
        if owner is not UNSET:
            options["owner"] = owner
    options.setdefault("token", new_run_token())  # send_task() passes no token
    headers[HEADER] = options
    job_id = headers.get("id")
    if headers.get("retries") or not job_id:
        return  # a retry re-publishes a job whose row exists
    try:
        lifecycle.publish(
            job_id,
            token=options["token"],
            owner=options.get("owner"),
            task_type=_task_type(task, options),
            total=options.get("total", task.progress_total),
            metadata=options.get("metadata") or {},
            due_at=lifecycle.due_time(headers.get("eta")) if headers.get("eta") else None,
            root_id=headers.get("root_id") or "",
            parent_id=headers.get("parent_id") or "",
            group_id=headers.get("group") or "",
        )
    except Exception:
        logger.exception("could not create the progress row of job %s", job_id)


# -- start ---------------------------------------------------------------------


def on_task_prerun(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    if not isinstance(task, ProgressTask) or not task_id:
        return
    request = task.request
    options = _job_options(request)
    eager = bool(getattr(request, "is_eager", False))
    if eager and "owner" not in options:
        # No publish happened: resolve the owner here, in the caller's context.
        owner = current_owner()
        if owner is not UNSET:
            options = {**options, "owner": owner}
    state = tracker.JobState(
        task_id,
        task,
        retries=int(getattr(request, "retries", 0) or 0),
        total=options.get("total", task.progress_total),
        owner=options.get("owner"),
        task_type=_task_type(task, options),
        metadata=options.get("metadata"),
        eager=eager,
        token=str(options.get("token") or (new_run_token() if eager else "")),
        root_id=getattr(request, "root_id", None) or "",
        parent_id=getattr(request, "parent_id", None) or "",
        group_id=getattr(request, "group", None) or "",
    )
    tracker.activate(state)
    try:
        lifecycle.start(state)
    except Exception:
        logger.exception("could not start the progress row of job %s", task_id)
    if not eager and not state.detached:
        flusher.register(state)


# -- finish --------------------------------------------------------------------


def _follows(request: Any) -> str | None:
    """The run token of a job whose row follows this (non-ProgressTask) task, if any."""
    options = _job_options(request)
    return str(options.get("token") or "") if options.get("follows") else None


def on_task_success(sender: Any = None, **kwargs: Any) -> None:
    job_id = getattr(getattr(sender, "request", None), "id", None)
    if not job_id:
        return
    if isinstance(sender, ProgressTask):
        state = _own_state(job_id)
        if state is None or state.outcome != REPLACED:
            lifecycle.succeeded(job_id, state, _token(sender.request))
    elif (token := _follows(sender.request)) is not None:
        lifecycle.succeeded(job_id, None, token)


def on_task_failure(
    sender: Any = None, task_id: str | None = None, exception: Any = None, **kwargs: Any
) -> None:
    if not task_id:
        return
    if isinstance(sender, ProgressTask):
        state = _own_state(task_id)
        if isinstance(exception, TaskCancelled):  # raised outside the body (before_start)
            lifecycle.cancelled(task_id, state)
        else:
            lifecycle.failed(task_id, exception, state)
    elif (token := _follows(getattr(sender, "request", None))) is not None:
        lifecycle.failed(task_id, exception, None, token)


def on_task_retry(
    sender: Any = None, request: Any = None, reason: Any = None, **kwargs: Any
) -> None:
    if not isinstance(sender, ProgressTask) or request is None or not request.id:
        return
    state = _own_state(request.id)
    token = _token(request)
    if reason is None:
        # Not a retry: the worker cancelled the running task (cold shutdown,
        # lost connection). Only an unacknowledged message comes back.
        requeued = bool(getattr(request, "acks_late", False) or sender.acks_late)
        lifecycle.worker_stopped(request.id, state, token, requeued=requeued)
        return
    retries = int(request.retries or 0)
    when = getattr(reason, "when", None)
    lifecycle.retrying(
        request.id, state, token, retries, retry_message(sender, retries + 1, reason), when
    )


def retry_message(task: Any, attempt: int, reason: Any) -> str:
    """``"Retry 2 of 3 at 12:00:05 UTC: ValueError: flaky"`` for the row's message."""
    max_retries = getattr(task, "override_max_retries", None)
    if max_retries is None:
        max_retries = task.max_retries
    of = f" of {max_retries}" if max_retries is not None else ""
    when = getattr(reason, "when", None)
    at = f" at {lifecycle.due_time(when).strftime('%H:%M:%S')} UTC" if when is not None else ""
    exc = getattr(reason, "exc", None)
    if isinstance(exc, BaseException):
        why = lifecycle.format_exception(exc)
    else:
        why = str(getattr(reason, "message", None) or "retrying")
    return f"Retry {attempt}{of}{at}: {why}"


def on_task_revoked(
    sender: Any = None, request: Any = None, expired: bool = False, **kwargs: Any
) -> None:
    if request is None:
        return
    job_id = getattr(request, "id", None) or getattr(request, "task_id", None)
    if not job_id:
        return
    if isinstance(sender, ProgressTask):
        lifecycle.revoked(job_id, _token(request), expired=expired)
    elif (token := _follows(request)) is not None:
        lifecycle.revoked(job_id, token, expired=expired)


def on_task_postrun(
    sender: Any = None, task_id: str | None = None, state: str | None = None, **kwargs: Any
) -> None:
    if not isinstance(sender, ProgressTask):
        return
    job = _own_state(task_id)
    if job is None or task_id is None:
        return
    flusher.unregister(job)
    tracker.deactivate(job)
    if job.finalised or job.detached:
        return
    # No success, failure or retry signal was sent: how did it end?
    if state == celery_states.IGNORED:
        if job.outcome == CANCELLED:
            lifecycle.cancelled(task_id, job)
        elif job.outcome != REPLACED:
            lifecycle.revoked(task_id, job.token)  # the body raised Ignore itself
    elif state == celery_states.REJECTED:
        lifecycle.rejected(task_id, job, job.token)
    elif job.eager:
        # Eager with propagation: the exception went to the caller, unreported.
        lifecycle.eager_raised(task_id, job, job.exception)
    elif not _in_pool_child:
        # Interrupted (a cold shutdown, a terminate): a lost worker. In a
        # prefork child the main process reports it (WorkerLostError, revoke).
        lifecycle.worker_stopped(task_id, job, job.token, requeued=False)


_in_pool_child = False


def on_worker_process_init(**kwargs: Any) -> None:
    global _in_pool_child
    _in_pool_child = True


RECEIVERS = (
    (signals.before_task_publish, on_before_task_publish),
    (signals.task_prerun, on_task_prerun),
    (signals.task_success, on_task_success),
    (signals.task_failure, on_task_failure),
    (signals.task_retry, on_task_retry),
    (signals.task_revoked, on_task_revoked),
    (signals.task_postrun, on_task_postrun),
    (signals.worker_process_init, on_worker_process_init),
)


def connect() -> None:
    """Connect every receiver (idempotent: each has a ``dispatch_uid``)."""
    for signal, receiver in RECEIVERS:
        signal.connect(
            receiver, weak=False, dispatch_uid=f"celery_progress_tracker.{receiver.__name__}"
        )


def disconnect() -> None:
    for signal, receiver in RECEIVERS:
        signal.disconnect(receiver, dispatch_uid=f"celery_progress_tracker.{receiver.__name__}")

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
from django.utils.translation import gettext

from celery_progress_tracker import canvas, lifecycle, tracker
from celery_progress_tracker.errors import retry_reason
from celery_progress_tracker.exceptions import TaskCancelled
from celery_progress_tracker.flusher import flusher
from celery_progress_tracker.offloop import off_event_loop
from celery_progress_tracker.ownership import HEADER, UNSET, current_owner, job_options
from celery_progress_tracker.task import CANCELLED, REPLACED, ProgressTask, new_run_token
from celery_progress_tracker.tracker import JobState
from celery_progress_tracker.validation import clean_task_type

logger = logging.getLogger(__name__)

#: Headers that mark the runs Celery beat starts: Celery's scheduler's, and
#: django-celery-beat's (which older Celery releases' scheduler lacks).
BEAT_HEADERS = ("celery_beat_task", "periodic_task_name")


#: Set in a beat process: whatever it publishes is a scheduled run (Celery 5.4's
#: scheduler puts no header on its messages; later releases add ``celery_beat_task``).
_in_beat = False


def _scheduled(headers: Any) -> bool:
    if _in_beat:
        return True
    return isinstance(headers, dict) and any(headers.get(name) for name in BEAT_HEADERS)


def _task_type(task: ProgressTask, options: dict[str, Any]) -> str:
    return clean_task_type(options.get("task_type") or task.progress_task_type or task.name)


def _own_state(job_id: str | None) -> tracker.JobState | None:
    state = tracker.current_state()
    return state if state is not None and state.job_id == job_id else None


def _token(request: Any) -> str:
    return str(job_options(request).get("token") or "")


def _tracked(task: ProgressTask, options: dict[str, Any], scheduled: bool) -> bool:
    """Whether a run gets a row: not when the enqueue or, for beat's runs, the task says no."""
    if options.get("track") is False:
        return False
    return task.progress_scheduled or not scheduled


def _run_tracked(task: ProgressTask, request: Any) -> bool:
    """``_tracked()`` for a run the worker holds (``request``: its ``task.request``)."""
    scheduled = _scheduled(getattr(request, "headers", None)) or any(
        getattr(request, name, None) for name in BEAT_HEADERS
    )
    return _tracked(task, job_options(request), scheduled)


# -- publish -------------------------------------------------------------------


@off_event_loop  # send_task() from an async view: the row needs the database
def on_before_task_publish(
    sender: str | None = None, headers: dict[str, Any] | None = None, **kwargs: Any
) -> None:
    if headers is None or sender is None:
        return
    task = current_app.tasks.get(sender)
    if not isinstance(task, ProgressTask):
        _hand_on_owner(headers)
        return
    options = dict(headers.get(HEADER) or {})
    if "owner" not in options:
        owner = current_owner()
        if owner is not UNSET:
            options["owner"] = owner
    options.setdefault("token", new_run_token())  # send_task() passes no token
    if not _tracked(task, options, _scheduled(headers)):
        options["track"] = False
    headers[HEADER] = options
    if options.get("track") is False:
        return  # no row: the worker sees the flag and records nothing either
    job_id = headers.get("id")
    if headers.get("retries") or not job_id:
        return  # a retry re-publishes a job whose row exists
    try:
        plan = canvas.plan(job_id, headers, kwargs.get("body"), options)
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
            rollup_id=plan.rollup_id,
        )
        _publish_members(plan, task, headers, options)
    except Exception:
        logger.exception("could not create the progress row of job %s", job_id)


def _hand_on_owner(headers: dict[str, Any]) -> None:
    """Carry the owner on any other task's message (``send_task``, canvases, plain tasks).

    Such a task makes no row, but the jobs it starts in turn belong to its owner.
    """
    options = headers.get(HEADER)
    if isinstance(options, dict) and "owner" in options:
        return
    try:
        owner = current_owner()
    except Exception as exc:
        # Never stop the publish of a task that has no row for want of an owner.
        logger.warning(
            "could not resolve the owner of task %s (%r): the jobs it starts get none",
            headers.get("id"),
            exc,
        )
        return
    if owner is not UNSET:
        headers[HEADER] = {**(options if isinstance(options, dict) else {}), "owner": owner}


def _publish_members(
    plan: canvas.Plan, task: ProgressTask, headers: dict[str, Any], options: dict[str, Any]
) -> None:
    """The rows of the canvas members published after this job (and its roll-up's row)."""
    rows = canvas.member_rows(
        plan.later,
        rollup_id=plan.rollup_id,
        rollup_kind=plan.rollup_kind,
        owner=options.get("owner"),
        has_owner="owner" in options,
        root_id=headers.get("root_id") or "",
        task_type=_task_type(task, options),
    )
    if rows:
        lifecycle.publish_members(rows)


# -- start ---------------------------------------------------------------------


def on_task_prerun(task_id: str | None = None, task: Any = None, **kwargs: Any) -> None:
    if not isinstance(task, ProgressTask) or not task_id:
        return
    request = task.request
    options = job_options(request)
    eager = bool(getattr(request, "is_eager", False))
    if not _run_tracked(task, request):
        # A state of its own, detached: the body's progress() calls count
        # into it and are never written (nor attributed to another run).
        untracked = tracker.JobState(task_id, task, eager=eager)
        untracked.detached = True
        tracker.activate(untracked)
        return
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
    options = job_options(request)
    return str(options.get("token") or "") if options.get("follows") else None


def on_task_success(sender: Any = None, **kwargs: Any) -> None:
    job_id = getattr(getattr(sender, "request", None), "id", None)
    if not job_id:
        return
    if isinstance(sender, ProgressTask):
        if not _run_tracked(sender, sender.request):
            return
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
        if not _run_tracked(sender, sender.request):
            return
        state = _own_state(task_id)
        if isinstance(exception, TaskCancelled):  # raised outside the body (before_start)
            lifecycle.cancelled(task_id, state)
        else:
            lifecycle.failed(task_id, exception, state)
            lifecycle.abandoned(_later_steps(getattr(sender, "request", None)), task_id)
    elif (token := _follows(getattr(sender, "request", None))) is not None:
        lifecycle.failed(task_id, exception, None, token)


def _later_steps(request: Any) -> list[str]:
    """The ids of the chain steps and chord callback that wait for this task."""
    later = [*(getattr(request, "chain", None) or []), getattr(request, "chord", None)]
    return [canvas.task_id_of(leaf) for sig in later for leaf in canvas.leaves(sig)]


def on_task_retry(
    sender: Any = None, request: Any = None, reason: Any = None, **kwargs: Any
) -> None:
    if not isinstance(sender, ProgressTask) or request is None or not request.id:
        return
    if not _run_tracked(sender, request):
        return
    state = _own_state(request.id)
    token = _token(request)
    if reason is None:
        # Not a retry: the worker cancelled the running task (cold shutdown,
        # lost connection). Only an unacknowledged message comes back.
        requeued = bool(getattr(request, "acks_late", False) or sender.acks_late)
        _stopped(request.id, state, token, requeued=requeued)
        return
    retries = int(request.retries or 0)
    when = getattr(reason, "when", None)
    lifecycle.retrying(
        request.id, state, token, retries, retry_message(sender, retries + 1, reason), when
    )


def retry_message(task: Any, attempt: int, reason: Any) -> str:
    """``"Retry 2 of 3 at 12:00:05 UTC"`` for the row's message, translated.

    The exception retried for is named only when its user may read it (a
    ``JobError``'s message), or with ``PROGRESS_TRACKER_VERBATIM_ERRORS``
    (``"ValueError: flaky"``); never as a Python repr.
    """
    max_retries = getattr(task, "override_max_retries", None)
    if max_retries is None:
        max_retries = task.max_retries
    when = getattr(reason, "when", None)
    values = {
        "attempt": attempt,
        "max": max_retries,
        "time": lifecycle.due_utc(when).strftime("%H:%M:%S") if when is not None else "",
    }
    if max_retries is not None and when is not None:
        text = gettext("Retry %(attempt)d of %(max)d at %(time)s UTC") % values
    elif max_retries is not None:
        text = gettext("Retry %(attempt)d of %(max)d") % values
    elif when is not None:
        text = gettext("Retry %(attempt)d at %(time)s UTC") % values
    else:
        text = gettext("Retry %(attempt)d") % values
    exc = getattr(reason, "exc", None)
    why = retry_reason(exc if isinstance(exc, BaseException) else None)
    return f"{text}: {why}" if why else text


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
            lifecycle.abandoned(_later_steps(sender.request), task_id, cancelled=True)
        elif job.outcome != REPLACED:
            lifecycle.revoked(task_id, job.token)  # the body raised Ignore itself
    elif state == celery_states.REJECTED:
        lifecycle.rejected(task_id, job, job.token)
    elif job.eager:
        # Eager with propagation: the exception went to the caller, unreported.
        lifecycle.eager_raised(task_id, job, job.exception)
    elif not _in_pool_child:
        # Interrupted (a cold shutdown, a terminate). In a prefork child the
        # main process reports it (WorkerLostError, revoke).
        _stopped(task_id, job, job.token, requeued=False)


def _stopped(task_id: str, state: JobState | None, token: str, *, requeued: bool) -> None:
    """The worker stopped a running task: a revoke's terminate (``cancelled``), else lost.

    A terminate on the gevent or eventlet pool kills the task's greenlet, which
    may end before the worker announces the revoke; the worker lists the task
    as revoked before it terminates it.
    """
    from celery.worker import state as worker_state  # a worker's: not loaded by web processes

    if task_id in worker_state.revoked:
        lifecycle.revoked(task_id, token, state=state)
    else:
        lifecycle.worker_stopped(task_id, state, token, requeued=requeued)


_in_pool_child = False


def on_worker_process_init(**kwargs: Any) -> None:
    global _in_pool_child
    _in_pool_child = True


def on_beat_init(sender: Any = None, **kwargs: Any) -> None:
    global _in_beat
    _in_beat = True


RECEIVERS = (
    (signals.before_task_publish, on_before_task_publish),
    (signals.task_prerun, on_task_prerun),
    (signals.task_success, on_task_success),
    (signals.task_failure, on_task_failure),
    (signals.task_retry, on_task_retry),
    (signals.task_revoked, on_task_revoked),
    (signals.task_postrun, on_task_postrun),
    (signals.worker_process_init, on_worker_process_init),
    (signals.beat_init, on_beat_init),
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

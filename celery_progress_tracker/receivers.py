"""Celery signals → row transitions. Connected in ``AppConfig.ready()``.

- ``before_task_publish`` (the publisher): created ``pending`` with owner, type,
  total and metadata.
- ``task_prerun`` (the worker): ``in_progress``, counts reset, ``started_at``;
  created if missing.
- ``task_success``: ``completed`` with the final counts.
- ``task_failure`` (the main worker process for a lost prefork child):
  ``failed`` with ``error``; ``cancelled`` for ``TaskCancelled``.
- ``task_retry``: ``pending``, with a message saying when and why.
- ``task_revoked``: ``cancelled``.
- ``task_postrun``: the in-memory state is dropped.

A receiver never raises into Celery: a transition out of a final status is
logged and ignored, except that a row closed because its worker was lost is
reopened by its own task starting again or succeeding.
"""

from __future__ import annotations

import logging
import time
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from numbers import Real
from typing import Any

from celery import current_app, signals
from celery import states as celery_states
from django.db import connections, transaction
from django.db.models import Q
from django.utils import timezone

from celery_progress_tracker import tracker
from celery_progress_tracker.conf import settings
from celery_progress_tracker.exceptions import TaskCancelled
from celery_progress_tracker.flusher import flusher, snapshot_fields
from celery_progress_tracker.models import (
    ACTIVE_STATUSES,
    WORKER_LOST,
    SSEProgress,
    SSEProgressQuerySet,
    Status,
    format_exception,
)
from celery_progress_tracker.ownership import HEADER, UNSET, current_owner
from celery_progress_tracker.task import ProgressTask
from celery_progress_tracker.validation import clean_text

logger = logging.getLogger(__name__)

#: Statuses a finishing task may close: active ones, and a row closed because
#: its worker was lost (the task turned out to be alive).
REOPENABLE = Q(status__in=ACTIVE_STATUSES) | Q(status=Status.FAILED, error__startswith=WORKER_LOST)

#: Seconds between the attempts of a final write that fails (about 30 s in all).
FINAL_WRITE_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)

#: Statuses a starting task may leave: those, and a row cancelled by the worker
#: (revoked, cut short by a shutdown) rather than by a user: when Celery runs
#: the task again (an ``acks_late`` redelivery), the row follows what happens.
STARTABLE = REOPENABLE | Q(status=Status.CANCELLED, cancel_requested_at__isnull=True)


def _rows(job_id: str) -> SSEProgressQuerySet:
    return SSEProgress.objects.using(settings.DATABASE_ALIAS).filter(job_id=job_id)


def _job_options(request: Any) -> dict[str, Any]:
    options = getattr(request, HEADER, None)
    if not isinstance(options, dict):
        headers = getattr(request, "headers", None) or {}
        options = headers.get(HEADER) if isinstance(headers, dict) else None
    return options if isinstance(options, dict) else {}


def _task_type(task: ProgressTask, options: dict[str, Any]) -> str:
    value = options.get("task_type") or task.progress_task_type or task.name
    return clean_text("task_type", value, 100)


# -- publish -------------------------------------------------------------------


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
    headers[HEADER] = options
    if headers.get("retries"):
        return  # a retry re-publishes a job whose row exists
    job_id = headers.get("id")
    if not job_id:
        return
    row = SSEProgress(
        job_id=job_id,
        user_id=options.get("owner"),
        task_type=_task_type(task, options),
        total_items=options.get("total", task.progress_total),
        metadata=options.get("metadata") or {},
        status=Status.PENDING,
        has_heartbeat=True,
    )
    alias = settings.DATABASE_ALIAS
    try:
        # A savepoint, so a failed insert cannot break the caller's transaction.
        with transaction.atomic(using=alias):
            SSEProgress.objects.using(alias).bulk_create([row], ignore_conflicts=True)
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
    retries = int(getattr(request, "retries", 0) or 0)
    state = tracker.JobState(
        task_id,
        task,
        retries=retries,
        total=options.get("total", task.progress_total),
        owner=options.get("owner"),
        task_type=_task_type(task, options),
        metadata=options.get("metadata"),
        eager=eager,
    )
    tracker.activate(state)
    now = timezone.now()
    try:
        started = (
            _rows(task_id)
            .filter(STARTABLE)
            .update(
                status=Status.IN_PROGRESS,
                started_at=now,
                updated_at=now,
                completed_at=None,
                processed_items=0,
                failed_items=0,
                current_message="",
                error="",
                retries=retries,
                has_heartbeat=not eager,
            )
        )
        if not started:
            _start_missing_row(state, now)
    except Exception:
        logger.exception("could not start the progress row of job %s", task_id)
    if not eager and not state.detached:
        flusher.register(state)


def _start_missing_row(state: tracker.JobState, now: datetime) -> None:
    row = _rows(state.job_id).values("status", "total_items", "metadata").first()
    if row is None:
        # Published by a process without the app, or run eagerly.
        SSEProgress.objects.using(settings.DATABASE_ALIAS).bulk_create(
            [
                SSEProgress(
                    job_id=state.job_id,
                    user_id=state.owner,
                    task_type=state.task_type,
                    total_items=state.total,
                    metadata=state.metadata,
                    status=Status.IN_PROGRESS,
                    started_at=now,
                    updated_at=now,
                    retries=state.retries,
                    has_heartbeat=not state.eager,
                )
            ],
            ignore_conflicts=True,
        )
    elif row["status"] == Status.CANCELLED:
        state.cancel_requested = True  # before_start stops the body
        state.detached = True
    else:
        logger.warning(
            "job %s starts but its row is %s: progress is not recorded",
            state.job_id,
            row["status"],
        )
        state.detached = True


# -- finish --------------------------------------------------------------------


def _finish(task_id: str, status: str, *, attempt: int | None = None, **fields: Any) -> None:
    state = tracker.current_state()
    if state is not None and state.job_id == task_id:
        state.finalised = True
        fields = {**snapshot_fields(state), **fields}
    now = timezone.now()
    fields.setdefault("updated_at", now)
    if status != Status.PENDING:
        fields.setdefault("completed_at", now)
    rows = _rows(task_id).filter(REOPENABLE)
    if attempt is not None:
        rows = rows.filter(retries=attempt)
    changed = _write_final(rows, task_id, status=status, **fields)
    if changed is None:
        return
    if not changed:
        logger.info("job %s: not marked %s (row missing or already final)", task_id, status)


def _write_final(rows: SSEProgressQuerySet, task_id: str, **fields: Any) -> int | None:
    """Update ``rows``, retrying while the database is unreachable.

    The final write is the one a job cannot do without: a lost one leaves the
    row running until the reaper closes it as failed. So it is retried, on a
    fresh connection, for about half a minute; inside the caller's transaction
    (eager mode) it is not, since reconnecting would drop that transaction.
    Returns the number of rows changed, or ``None`` if every attempt failed.
    """
    connection = connections[settings.DATABASE_ALIAS]
    delays = () if connection.in_atomic_block else FINAL_WRITE_RETRY_DELAYS
    for delay in (0.0, *delays):
        if delay:
            time.sleep(delay)
        try:
            return int(rows.update(**fields))
        except Exception as exc:
            logger.warning("final write of job %s failed (%s), retrying", task_id, exc)
            if not connection.in_atomic_block:
                connection.close()
    logger.error("could not write the final state of job %s: %s", task_id, fields.get("status"))
    return None


def on_task_success(sender: Any = None, **kwargs: Any) -> None:
    if not isinstance(sender, ProgressTask) or not sender.request.id:
        return
    _finish(sender.request.id, Status.COMPLETED, error="")


def on_task_failure(
    sender: Any = None, task_id: str | None = None, exception: Any = None, **kwargs: Any
) -> None:
    if not isinstance(sender, ProgressTask) or not task_id:
        return
    if isinstance(exception, TaskCancelled):
        _finish(task_id, Status.CANCELLED)
    else:
        error = format_exception(exception) if exception is not None else "failed"
        _finish(task_id, Status.FAILED, error=error)


def on_task_retry(
    sender: Any = None, request: Any = None, reason: Any = None, **kwargs: Any
) -> None:
    if not isinstance(sender, ProgressTask) or request is None or not request.id:
        return
    if reason is None:
        # Not a retry: the worker cancelled the running task (cold shutdown,
        # lost connection). Only an unacknowledged message comes back.
        if getattr(request, "acks_late", False) or sender.acks_late:
            _finish(request.id, Status.PENDING, current_message="Stopped by the worker, requeued")
        else:
            _finish(
                request.id,
                Status.FAILED,
                error=f"{WORKER_LOST}: the worker stopped while the task ran",
            )
        return
    attempt = int(request.retries or 0) + 1
    max_retries = sender.max_retries
    of = f" of {max_retries}" if max_retries is not None else ""
    when = _describe_when(getattr(reason, "when", None))
    why = getattr(reason, "excs", None) or getattr(reason, "message", None) or str(reason)
    message = f"Retry {attempt}{of} {when}: {why}"
    state = tracker.current_state()
    if state is not None and state.job_id == request.id:
        state.message = message
    _finish(
        request.id,
        Status.PENDING,
        attempt=int(request.retries or 0),
        current_message=clean_text("message", message, 1000),
    )


def _describe_when(when: Any) -> str:
    if isinstance(when, Real):
        eta = timezone.now() + timedelta(seconds=float(when))
    elif isinstance(when, datetime):
        eta = when
    else:
        return "soon"
    return f"at {eta.astimezone(dt_timezone.utc).strftime('%Y-%m-%d %H:%M:%S')} UTC"


def on_task_revoked(
    sender: Any = None, request: Any = None, expired: bool = False, **kwargs: Any
) -> None:
    if not isinstance(sender, ProgressTask) or request is None:
        return
    job_id = getattr(request, "id", None) or getattr(request, "task_id", None)
    if not job_id:
        return
    message = "Expired before it ran" if expired else "Revoked"
    _finish(job_id, Status.CANCELLED, current_message=message)


def on_task_postrun(
    sender: Any = None, task_id: str | None = None, state: str | None = None, **kwargs: Any
) -> None:
    if not isinstance(sender, ProgressTask):
        return
    job = tracker.current_state()
    if job is None or job.job_id != task_id:
        return
    flusher.unregister(job)
    tracker.deactivate(job)
    if not job.finalised and not job.detached and task_id:
        # No success, failure or retry signal was sent.
        if state == celery_states.REJECTED:
            _finish(task_id, Status.PENDING, current_message="Rejected, may be redelivered")
        elif state == celery_states.IGNORED:
            _finish(task_id, Status.CANCELLED, current_message="Ignored by the task")
        else:
            # Interrupted by the worker itself (cold shutdown, terminate): what
            # happened is a lost worker; a redelivery reopens the row.
            _finish(
                task_id,
                Status.FAILED,
                error=f"{WORKER_LOST}: the worker stopped while the task ran",
            )


RECEIVERS = (
    (signals.before_task_publish, on_before_task_publish),
    (signals.task_prerun, on_task_prerun),
    (signals.task_success, on_task_success),
    (signals.task_failure, on_task_failure),
    (signals.task_retry, on_task_retry),
    (signals.task_revoked, on_task_revoked),
    (signals.task_postrun, on_task_postrun),
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

"""Every change of a job's status, in one place.

The receivers (Celery signals), the flusher, the reaper, the views and the
seed's manual API on the model call the functions below; nothing else writes
``status``. ``docs/how-it-works.md`` draws the table:

==================  =====================================  ==========================
event               status (end reason)                    called by
==================  =====================================  ==========================
publish             → pending (a finished row of the same  ``before_task_publish``
                    owner starts a fresh run)
publish failed      row deleted                            ``ProgressTask.apply_async``
start               → in_progress, counts reset            ``task_prerun``
counts flushed      (counts, message, heartbeat)           the flusher
retry               → pending                              ``task_retry``
success             → completed (succeeded)                ``task_success``
failure             → failed (error, time_limit,           ``task_failure``, eager
                    worker_lost)                           ``apply()``
cancel requested    pending → cancelled (cancelled);       the cancel endpoint,
                    running: flagged                       ``request_cancel()``
cancelled           → cancelled (cancelled)                the body's wrapper
revoked / expired   → cancelled (revoked, expired)         ``task_revoked``
replaced            → pending (one task) or stays running  ``ProgressTask.on_replace``
                    (the roll-up of its replacement)
canvas published    members' rows → pending                ``before_task_publish``
step failed         later steps → failed (never_started)   ``task_failure``
roll-up ended       → the members' outcome                 a read of the roll-up
roll-up cancelled   members cancelled as above             the cancel endpoint
worker stopped      → failed (worker_lost) or pending      ``task_retry``/``postrun``
reaped              → failed (worker_lost, never_started)  ``progress_reap``
deleted             row deleted (finished only)            the delete endpoint
==================  =====================================  ==========================

A run token names each publish: a worker's execution writes the row only while
the row's token is its own, so a stale execution, a redelivered message of an
older run or a job id reused by another owner never writes into a row that is
no longer theirs. Rows of ``ProgressTask`` jobs are written outside the
caller's transaction (see :func:`outside_caller_transaction`), so the worker
never waits on an uncommitted row.

Every write of a final status announces it once, when committed, through the
``job_finished`` signal (:func:`_announce`).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from numbers import Real
from typing import Any

from django.db import DataError, IntegrityError
from django.db import transaction as db_transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, NullIf
from django.utils import timezone

from celery_progress_tracker.conf import settings
from celery_progress_tracker.errors import format_exception, public_message, reference
from celery_progress_tracker.exceptions import InvalidTransition, JobIdInUse
from celery_progress_tracker.models import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    EndReason,
    Kind,
    SSEProgress,
    SSEProgressQuerySet,
    Status,
    stored_time,
)
from celery_progress_tracker.signals import job_finished
from celery_progress_tracker.tracker import JobState
from celery_progress_tracker.validation import (
    MAX_COUNT,
    check_count,
    check_metadata,
    clean_error,
    clean_message,
)
from celery_progress_tracker.writes import (
    outside_caller_transaction,
    retry_transient,
    write_connection,
)

logger = logging.getLogger(__name__)

#: Rows a finishing execution may close: active ones, and one closed because
#: its worker was lost (the task turned out to be alive).
REOPENABLE = Q(status__in=ACTIVE_STATUSES) | Q(
    status=Status.FAILED, end_reason=EndReason.WORKER_LOST
)

#: Rows a starting execution may take: those, and one revoked by a worker
#: rather than cancelled by a user (an ``acks_late`` redelivery runs it again).
STARTABLE = REOPENABLE | Q(
    status=Status.CANCELLED, end_reason=EndReason.REVOKED, cancel_requested_at__isnull=True
)


def _announce(closed: SSEProgressQuerySet, *, side_write: bool = False) -> None:
    """Send ``job_finished`` for the rows of ``closed``, once the write is committed.

    ``closed`` selects the rows by the ``completed_at`` their final write
    stamped: a write retried after a lost reply (the retry changes nothing)
    still announces its row, and a write that lost the race to another one
    announces nothing. ``side_write``: the row was written by
    :func:`outside_caller_transaction`, so it is read back the same way.
    """
    if not job_finished.has_listeners(SSEProgress):
        return
    if not side_write:
        db_transaction.on_commit(lambda: _send_finished(list(closed)), using=closed.db)
        return
    try:
        jobs = outside_caller_transaction(lambda: list(closed))
    except Exception:
        logger.exception("could not read the finished jobs back to announce them")
        return
    if jobs:
        db_transaction.on_commit(lambda: _send_finished(jobs), using=settings.DATABASE_ALIAS)


def _send_finished(jobs: list[SSEProgress]) -> None:
    for job in jobs:
        for receiver, response in job_finished.send_robust(sender=SSEProgress, job=job):
            if isinstance(response, Exception):
                logger.error(
                    "job_finished receiver %r raised for job %s",
                    receiver,
                    job.job_id,
                    exc_info=response,
                )


def _jobs() -> SSEProgressQuerySet:
    # The default manager applies PROGRESS_TRACKER_DATABASE_ALIAS.
    return SSEProgress.objects.all()


def _rows(job_id: str, token: str = "") -> SSEProgressQuerySet:
    """The row of ``job_id``, if it belongs to the run ``token`` (any run without one)."""
    rows = _jobs().filter(job_id=job_id)
    return rows.filter(Q(run_token=token) | Q(run_token="")) if token else rows


# -- publish --------------------------------------------------------------------------


def _fresh_run(**fields: Any) -> dict[str, Any]:
    """The fields of a row starting a new run (everything of the last run cleared)."""
    now = timezone.now()
    return {
        "status": Status.PENDING,
        "end_reason": EndReason.NONE,
        "processed_items": 0,
        "failed_items": 0,
        "current_message": "",
        "error": "",
        "public_error": "",
        "retries": 0,
        "has_heartbeat": True,
        "cancel_requested_at": None,
        "started_at": None,
        "completed_at": None,
        "created_at": now,
        "updated_at": now,
        **fields,
    }


def check_job_id(job_id: str, owner: Any) -> None:
    """Raise if ``job_id`` names a job of another owner (a job id reused by someone else).

    Raises:
        JobIdInUse: the row of ``job_id`` belongs to another owner.
    """
    row_owner = _jobs().filter(job_id=job_id).values_list("user_id", flat=True)[:1]
    found = list(row_owner)
    if found and found[0] != owner and str(found[0]) != str(owner):
        raise JobIdInUse(
            f"job id {job_id!r} is already used by a job of another owner: pick another task_id"
        )


def publish(
    job_id: str,
    *,
    token: str,
    owner: Any,
    task_type: str,
    total: int,
    metadata: dict[str, Any],
    due_at: datetime | None,
    root_id: str = "",
    parent_id: str = "",
    group_id: str = "",
    rollup_id: str = "",
) -> None:
    """Create the ``pending`` row of a job being published.

    A finished row of the same owner starts a fresh run; an active one is
    handed to this publish (the last publish of an id runs it); a row of
    another owner is left alone and logged.
    """
    fields: dict[str, Any] = {
        "task_type": task_type,
        "total_items": total,
        "metadata": metadata,
        "run_token": token,
        "due_at": due_at or timezone.now(),
        "root_id": root_id or "",
        "parent_id": parent_id or "",
        "group_id": group_id or "",
        "rollup_id": rollup_id or "",
    }

    def write() -> None:
        if not _insert(SSEProgress(job_id=job_id, user_id=owner, **_fresh_run(**fields))):
            _claim(job_id, owner, token, fields)  # the id has a row

    outside_caller_transaction(write)


def _insert(row: SSEProgress) -> bool:
    """Insert ``row``; ``False`` if its job id is taken."""
    try:
        if write_connection().in_atomic_block:
            # A savepoint: a failed insert must not break the caller's transaction.
            with db_transaction.atomic(using=settings.DATABASE_ALIAS):
                row.save(force_insert=True)
        else:
            row.save(force_insert=True)
    except IntegrityError:
        return False
    return True


def _claim(job_id: str, owner: Any, token: str, fields: dict[str, Any]) -> None:
    owned = _jobs().filter(job_id=job_id, user_id=owner)
    # The same token: the publish of a canvas member whose row was made
    # beforehand (it may have been cancelled meanwhile: it stays so).
    relations = {name: fields[name] for name in ("root_id", "parent_id", "group_id")}
    published = {"has_heartbeat": True, "due_at": fields["due_at"]}  # now due: reapable
    if owned.filter(run_token=token, status=Status.PENDING).update(**relations, **published):
        return
    if owned.filter(run_token=token).update(**relations):
        return
    if owned.filter(status__in=FINAL_STATUSES).update(**_fresh_run(**fields)):
        return
    if (
        owned.filter(status__in=ACTIVE_STATUSES)
        .exclude(run_token=token)
        .update(run_token=token, updated_at=timezone.now())
    ):
        return
    if not owned.exists():
        logger.error(
            "job id %s belongs to another owner: its row is left alone and the job records"
            " no progress",
            job_id,
        )


def publish_members(rows: list[SSEProgress]) -> None:
    """Create the ``pending`` rows of canvas members published later, and roll-up rows.

    A row whose id exists already is left as it is.
    """
    now = timezone.now()
    for row in rows:
        row.created_at = row.updated_at = now
        # Not due yet (published when what comes before ends, however long that
        # takes): the reaper leaves them alone until their own publish. A roll-up
        # row has no worker of its own.
        row.has_heartbeat = False
    outside_caller_transaction(lambda: _jobs().bulk_create(rows, ignore_conflicts=True))


def planned_run(job_id: str) -> dict[str, Any]:
    """The owner and run token of member ``job_id`` if its canvas made its row and it never ran."""
    found = (
        _jobs()
        .filter(job_id=job_id, started_at__isnull=True)
        .exclude(rollup_id="")
        .values("user_id", "run_token")
        .first()
    )
    return {"owner": found["user_id"], "token": found["run_token"]} if found else {}


def unpublished(token: str) -> None:
    """Delete the row a failed publish made (it would wait for ever)."""
    try:
        outside_caller_transaction(
            lambda: (
                _jobs()
                .filter(run_token=token, status=Status.PENDING, started_at__isnull=True)
                .delete()
            )
        )
    except Exception:
        logger.exception("could not delete the row of an unpublished job")


# -- the worker ----------------------------------------------------------------------


def _start_fields(state: JobState) -> dict[str, Any]:
    now = timezone.now()
    fields: dict[str, Any] = {
        "status": Status.IN_PROGRESS,
        "end_reason": EndReason.NONE,
        "started_at": now,
        "updated_at": now,
        "completed_at": None,
        "processed_items": 0,
        "failed_items": 0,
        "current_message": "",
        "error": "",
        "public_error": "",
        "retries": state.retries,
        "has_heartbeat": not state.eager,
    }
    if state.token:
        fields["run_token"] = state.token
    return fields


def start(state: JobState) -> None:
    """Move the job's row to ``in_progress`` for the execution ``state``.

    Sets ``state.detached`` when the row is not this execution's to write
    (finished, cancelled, or of another run or owner), and
    ``state.cancel_requested`` when a user cancelled the job before it started.
    """
    outside_caller_transaction(lambda: _start(state))


def _start(state: JobState) -> None:
    rows = _rows(state.job_id, state.token)
    for _attempt in range(2):
        if rows.filter(STARTABLE).update(**_start_fields(state)):
            return
        row = (
            _jobs()
            .filter(job_id=state.job_id)
            .values("status", "run_token", "user_id", "cancel_requested_at")
            .first()
        )
        if row is None:
            if _insert_running(state):
                return
            continue  # the publish's row appeared meanwhile
        mine = not state.token or row["run_token"] in ("", state.token)
        if mine and row["status"] == Status.CANCELLED and row["cancel_requested_at"]:
            state.cancel_requested = True  # before_start stops the body
            state.detached = True
            return
        if state.eager and row["status"] in FINAL_STATUSES and _same(row["user_id"], state.owner):
            # A rerun (no publish happened): a fresh run of the row.
            fresh = _fresh_run(**_start_fields(state))
            if (
                _jobs()
                .filter(job_id=state.job_id, status__in=FINAL_STATUSES, user_id=state.owner)
                .update(**fresh)
            ):
                return
            continue
        logger.warning(
            "job %s starts but its row is %s%s: this execution records no progress",
            state.job_id,
            row["status"],
            "" if mine else " and belongs to another run",
        )
        break
    state.detached = True


def _same(a: Any, b: Any) -> bool:
    return a == b or (a is not None and b is not None and str(a) == str(b))


def _insert_running(state: JobState) -> bool:
    """Create the row of a job whose publish made none (an eager run, a foreign publisher)."""
    return _insert(
        SSEProgress(
            job_id=state.job_id,
            user_id=state.owner,
            task_type=state.task_type,
            total_items=state.total,
            metadata=state.metadata,
            root_id=state.root_id,
            parent_id=state.parent_id,
            group_id=state.group_id,
            **_start_fields(state),
        )
    )


def snapshot_fields(state: JobState) -> dict[str, Any]:
    """The row fields that hold ``state``'s counts, message, total and metadata."""
    processed, failed = state.counts()
    fields: dict[str, Any] = {
        # Clamped, so an absurd count can never make every write fail.
        "processed_items": min(processed, MAX_COUNT),
        "failed_items": min(failed, MAX_COUNT),
        "updated_at": timezone.now(),
    }
    if state.message is not None:
        fields["current_message"] = clean_message(state.message)
    if state.total_set:
        fields["total_items"] = state.total
    if state.metadata_version != state.written_metadata_version:
        fields["metadata"] = check_metadata(dict(state.metadata))
    return fields


def write_counts(state: JobState) -> bool:
    """Write ``state``'s counts (or just a heartbeat) to its running row.

    Returns whether the row is still this execution's; ``False`` when it was
    finalised, deleted or taken by another run (the execution detaches).
    Sees a cancel request on the way.
    """
    fields = snapshot_fields(state)
    rows = _rows(state.job_id, state.token).filter(status=Status.IN_PROGRESS, retries=state.retries)
    if state.cancel_requested:
        return bool(rows.update(**fields))
    if rows.filter(cancel_requested_at__isnull=True).update(**fields):
        return True
    if rows.filter(cancel_requested_at__isnull=False).update(**fields):
        state.cancel_requested = True
        return True
    return False


def cancel_requested(job_ids: Iterable[str]) -> set[str]:
    """Which of the running ``job_ids`` a user asked to cancel (one indexed query)."""
    return set(
        _jobs()
        .filter(job_id__in=list(job_ids), cancel_requested_at__isnull=False)
        .values_list("job_id", flat=True)
    )


def end_reason_of(exc: BaseException | None) -> str:
    """The end reason of a job that raised ``exc``."""
    from billiard.exceptions import WorkerLostError
    from celery.exceptions import SoftTimeLimitExceeded, TimeLimitExceeded

    if isinstance(exc, WorkerLostError):
        return EndReason.WORKER_LOST
    if isinstance(exc, (TimeLimitExceeded, SoftTimeLimitExceeded)):
        return EndReason.TIME_LIMIT
    return EndReason.ERROR


def _closing_fields(state: JobState | None, job_id: str, fields: dict[str, Any]) -> dict[str, Any]:
    now = timezone.now()
    if state is not None and state.job_id == job_id:
        state.finalised = True
        fields = {**snapshot_fields(state), **fields}
    fields.setdefault("updated_at", now)
    if fields["status"] != Status.PENDING:
        fields.setdefault("completed_at", now)
    return fields


@retry_transient
def _update(rows: SSEProgressQuerySet, fields: dict[str, Any]) -> int:
    return int(rows.update(**fields))


def _close(
    job_id: str,
    fields: dict[str, Any],
    *,
    state: JobState | None = None,
    token: str = "",
    where: Q = REOPENABLE,
) -> int:
    """The final write of a job: ``fields`` on its row if it is in ``where``."""
    fields = _closing_fields(state, job_id, fields)
    token = token or (state.token if state is not None and state.job_id == job_id else "")
    rows = _rows(job_id, token).filter(where)

    def write() -> int:
        try:
            return _update(rows, fields)
        except DataError as exc:
            # Nothing a retry could mend: record the outcome without the texts.
            logger.error("job %s: the row refused its texts (%s); stored without them", job_id, exc)
            kept: dict[str, Any] = {
                name: fields[name]
                for name in ("status", "end_reason", "updated_at", "completed_at")
                if name in fields
            }
            kept["error"] = clean_error(f"The job's text could not be stored: {exc}")
            return _update(rows, kept)

    try:
        changed = outside_caller_transaction(write)
    except Exception:
        logger.exception("could not write the final state of job %s: %s", job_id, fields["status"])
        return 0
    if not changed:
        logger.info(
            "job %s: not marked %s (row missing or already final)", job_id, fields["status"]
        )
    if fields["status"] in FINAL_STATUSES:
        closed = _rows(job_id).filter(status=fields["status"], completed_at=fields["completed_at"])
        _announce(closed, side_write=True)
    return changed


def succeeded(job_id: str, state: JobState | None, token: str = "") -> None:
    """The task returned: ``completed``."""
    _close(
        job_id,
        {
            "status": Status.COMPLETED,
            "end_reason": EndReason.SUCCEEDED,
            "error": "",
            "public_error": "",
        },
        state=state,
        token=token,
    )


def failed(
    job_id: str,
    exc: BaseException | None,
    state: JobState | None,
    token: str = "",
    *,
    reason: str | None = None,
    error: str | None = None,
) -> None:
    """The task raised ``exc`` (or its worker was lost): ``failed``, keeping its counts.

    ``error`` keeps the full text for staff; ``public_error`` what the job's
    user may read (a ``JobError``'s message, else nothing: a generic sentence).
    """
    text = error if error is not None else (format_exception(exc) if exc else "failed")
    if _close(
        job_id,
        {
            "status": Status.FAILED,
            "end_reason": reason or end_reason_of(exc),
            "error": text,
            "public_error": public_message(exc),
        },
        state=state,
        token=token,
    ):
        logger.info("job %s failed (reference %s): %s", job_id, reference(job_id), text)


def cancelled(job_id: str, state: JobState | None, token: str = "", message: str = "") -> None:
    """The body stopped at a stop request: ``cancelled``, for the reason the request gave."""
    fields: dict[str, Any] = {
        "status": Status.CANCELLED,
        # Set with the request (request_stop); a body's own TaskCancelled: cancelled.
        "end_reason": Coalesce(NullIf(F("end_reason"), Value("")), Value(EndReason.CANCELLED)),
        "error": "",
        "public_error": "",
    }
    if message:
        fields["current_message"] = clean_message(message)
    if _close(job_id, fields, state=state, token=token):
        logger.info("job %s cancelled", job_id)


def revoked(
    job_id: str, token: str = "", *, expired: bool = False, state: JobState | None = None
) -> None:
    """Celery revoked the task (or it expired before it ran): ``cancelled``.

    ``state``: the execution it stopped, whose last counts are written too.
    """
    message = "Expired before it ran" if expired else "Revoked"
    _close(
        job_id,
        {
            "status": Status.CANCELLED,
            "end_reason": EndReason.EXPIRED if expired else EndReason.REVOKED,
            "error": "",
            "public_error": "",
            "current_message": message,
        },
        state=state,
        token=token,
    )


def retrying(
    job_id: str, state: JobState | None, token: str, attempt: int, message: str, when: Any
) -> None:
    """The task will run again: ``pending`` until then, with a message saying when."""
    if state is not None and state.job_id == job_id:
        state.message = message
    _close(
        job_id,
        {
            "status": Status.PENDING,
            "current_message": clean_message(message),
            "due_at": due_time(when),
        },
        state=state,
        token=token,
        where=REOPENABLE & Q(retries=attempt),
    )


def due_utc(when: Any) -> datetime:
    """When something due ``when`` (seconds from now, a datetime, an ISO text) is due, in UTC."""
    now = datetime.now(dt_timezone.utc)
    if isinstance(when, Real) and not isinstance(when, bool):
        return now + timedelta(seconds=float(when))
    if isinstance(when, str):
        try:
            when = datetime.fromisoformat(when)
        except ValueError:
            return now
    if isinstance(when, datetime):
        # Celery's ETAs are UTC when they carry no offset.
        due = when.replace(tzinfo=dt_timezone.utc) if timezone.is_naive(when) else when
        return due.astimezone(dt_timezone.utc)
    return now


def due_time(when: Any) -> datetime:
    """``due_utc(when)`` as the rows hold it (see ``models.stored_time``)."""
    return stored_time(due_utc(when))


def worker_stopped(job_id: str, state: JobState | None, token: str, *, requeued: bool) -> None:
    """The worker stopped while the task ran: ``pending`` if its message comes back."""
    if requeued:
        _close(
            job_id,
            {"status": Status.PENDING, "current_message": "Stopped by the worker, requeued"},
            state=state,
            token=token,
        )
    else:
        failed(
            job_id,
            None,
            state,
            token,
            reason=EndReason.WORKER_LOST,
            error="The worker stopped while the task ran",
        )


def rejected(job_id: str, state: JobState | None, token: str) -> None:
    """The task rejected its message for redelivery: ``pending``."""
    _close(
        job_id,
        {"status": Status.PENDING, "current_message": "Rejected, may be redelivered"},
        state=state,
        token=token,
    )


def replaced(state: JobState, sig: Any) -> None:
    """The body replaced itself with ``sig``: the row follows the replacement to its end.

    Replaced by one ``ProgressTask`` (which takes the same id), the row waits
    ``pending`` for it. Replaced by anything else (a group, a chain, a plain
    task), it stays ``in_progress`` until the signature that takes the job's
    id ends; that signature carries the run token in its header, and the
    receivers close the row from its outcome.
    """
    from celery_progress_tracker.ownership import HEADER
    from celery_progress_tracker.task import ProgressTask

    state.detached = True  # the flusher stops writing for this execution
    target = _signature_with_id(sig, state.job_id)
    header = {"token": state.token, "owner": state.owner, "follows": True}
    if target is not None:
        headers = dict(target.options.get("headers") or {})
        headers[HEADER] = {**(headers.get(HEADER) or {}), **header}
        target.set(headers=headers)
    fields = snapshot_fields(state)
    description = _describe(sig)
    fields["current_message"] = clean_message(f"Replaced by {description}")
    one_task = target is sig and isinstance(getattr(sig, "type", None), ProgressTask)
    members: list[SSEProgress] = []
    if one_task:
        fields.update(status=Status.PENDING, due_at=timezone.now())
    else:
        # The row becomes the roll-up of the replacement's members.
        fields.update(has_heartbeat=False, kind=_kind(sig))
        members = _replacement_members(state, sig)
    try:
        if members:
            publish_members(members)
        outside_caller_transaction(
            lambda: _rows(state.job_id, state.token).filter(REOPENABLE).update(**fields)
        )
    except Exception:
        logger.exception("could not record that job %s was replaced", state.job_id)


def _replacement_members(state: JobState, sig: Any) -> list[SSEProgress]:
    from celery_progress_tracker import canvas

    return canvas.member_rows(
        [leaf for leaf in canvas.leaves(sig) if canvas.task_id_of(leaf) != state.job_id],
        rollup_id=state.job_id,
        rollup_kind=Kind.TASK,  # the replaced job's row exists: no roll-up row to make
        owner=state.owner,
        has_owner=True,
        root_id=state.root_id or state.job_id,
        task_type=state.task_type,
    )


def _kind(sig: Any) -> str:
    """The kind of roll-up a job replaced by ``sig`` becomes."""
    if not _members(sig):
        return Kind.TASK  # one task: no roll-up
    kind = _describe(sig).split(" ")[1]
    return kind if kind in (Kind.GROUP, Kind.CHORD, Kind.CHAIN) else Kind.GROUP


def _members(sig: Any) -> list[Any]:
    tasks = getattr(sig, "tasks", None)
    members = list(tasks) if isinstance(tasks, (list, tuple)) else []
    body = getattr(sig, "body", None)
    if body is not None:
        members.append(body)
    return members


def _signature_with_id(sig: Any, job_id: str) -> Any:
    if sig.options.get("task_id") == job_id and not _members(sig):
        return sig
    for member in _members(sig):
        found = _signature_with_id(member, job_id)
        if found is not None:
            return found
    return None


def _describe(sig: Any) -> str:
    members = _members(sig)
    if not members:
        return str(sig.get("task") or "another task")
    kind = type(sig).__name__.strip("_")
    if kind == "chord" and getattr(sig.body, "task", "") == "celery.accumulate":
        kind, members = "group", _members(sig.tasks)
    return f"a {kind} of {len(members)} tasks"


def abandoned(job_ids: list[str], cause: str, *, cancelled: bool = False) -> None:
    """Steps never to be published: an earlier step of their canvas failed or was cancelled.

    They end ``failed`` (``cancelled`` after a cancel), end reason ``never_started``.
    """
    if not job_ids:
        return
    now = timezone.now()
    why = f"Not run: job {cause} {'was cancelled' if cancelled else 'failed'}"
    fields: dict[str, Any] = {
        "status": Status.CANCELLED if cancelled else Status.FAILED,
        "end_reason": EndReason.NEVER_STARTED,
        "completed_at": now,
        "updated_at": now,
    }
    if cancelled:
        fields["current_message"] = clean_message(why)
    else:
        fields["error"] = clean_error(why)
    outside_caller_transaction(
        lambda: _jobs().filter(job_id__in=job_ids, status=Status.PENDING).update(**fields)
    )
    closed = _jobs().filter(job_id__in=job_ids, status=fields["status"], completed_at=now)
    _announce(closed, side_write=True)


def rollup_ended(job_id: str, status: str) -> None:
    """Every member of roll-up ``job_id`` has ended: its row takes their outcome."""
    reasons = {
        Status.COMPLETED: EndReason.SUCCEEDED,
        Status.FAILED: EndReason.ERROR,
        Status.CANCELLED: EndReason.CANCELLED,
    }
    now = timezone.now()
    if (
        _jobs()
        .filter(job_id=job_id, status__in=ACTIVE_STATUSES)
        .update(status=status, end_reason=reasons[Status(status)], completed_at=now, updated_at=now)
    ):
        _announce(_jobs().filter(job_id=job_id, status=status, completed_at=now))


def cancel_rollup(job: SSEProgress, member_ids: list[str]) -> bool:
    """A user cancels roll-up ``job``: every member not yet finished, at once or at its next check.

    Pending members end ``cancelled`` at once (their tasks revoked), running
    ones are flagged like a cancelled job; the roll-up's own row (a group's,
    or a job replaced by a canvas) ends ``cancelled`` at once; a chain's is
    its last step, a member like the others. Returns whether anything was
    still active.
    """
    now = timezone.now()
    fields = _cancelled_fields(EndReason.CANCELLED, now)
    members = _jobs().filter(job_id__in=member_ids)
    pending = list(members.filter(status=Status.PENDING).values_list("job_id", flat=True))
    changed = members.filter(job_id__in=pending, status=Status.PENDING).update(**fields)
    changed += members.filter(status=Status.IN_PROGRESS, cancel_requested_at__isnull=True).update(
        cancel_requested_at=now, end_reason=EndReason.CANCELLED
    )
    if job.kind != Kind.CHAIN:
        changed += _jobs().filter(pk=job.pk, status__in=ACTIVE_STATUSES).update(**fields)
    if pending:
        _revoke(pending)
    closed = [*pending, job.job_id]
    _announce(_jobs().filter(job_id__in=closed, status=Status.CANCELLED, completed_at=now))
    return bool(changed)


def eager_raised(job_id: str, state: JobState, exc: BaseException | None) -> None:
    """An eager run raised into its caller: ``failed`` with the exception and its counts.

    A retry that propagates (``task_eager_propagates``) fails with the
    exception it retried for.
    """
    from celery.exceptions import Retry

    if isinstance(exc, Retry) and isinstance(exc.exc, BaseException):
        exc = exc.exc
    failed(job_id, exc, state)


# -- users and operators -----------------------------------------------------------


def _revoke(task_id: str | list[str]) -> None:
    # Best effort: the row's status already stops the task at start.
    try:
        from celery import current_app

        current_app.control.revoke(task_id)
    except Exception:
        logger.warning("could not revoke task %s", task_id, exc_info=True)


def request_cancel(job: SSEProgress) -> str:
    """A user cancels ``job``: a pending one at once, a running one at its next check.

    Returns the job's status afterwards (``job`` is refreshed).

    Raises:
        InvalidTransition: the job is already finished.
        SSEProgress.DoesNotExist: the job no longer exists.
    """
    status = request_stop(job.job_id, EndReason.CANCELLED)
    job.refresh_from_db()
    if status is None:
        raise InvalidTransition(f"job {job.job_id!r} is {job.status}: it cannot be cancelled")
    return status


def request_stop(job_id: str, reason: str) -> str | None:
    """Ask job ``job_id`` to stop, for ``reason`` (``cancelled`` or ``revoked``).

    A pending job ends ``cancelled`` at once and its task is revoked (a worker
    that runs it anyway sees the row and skips the body). A running job is
    flagged: its worker sees the flag within one flush interval, on every pool,
    even across a worker restart; ``end_reason`` says already why it will end.
    Returns the job's status afterwards, ``None`` if it had already finished.
    """
    now = timezone.now()
    rows = _jobs().filter(job_id=job_id)
    if rows.filter(status=Status.PENDING).update(**_cancelled_fields(reason, now)):
        _announce(rows.filter(status=Status.CANCELLED, completed_at=now))
        _revoke(job_id)
        return Status.CANCELLED
    rows.filter(status=Status.IN_PROGRESS, cancel_requested_at__isnull=True).update(
        cancel_requested_at=now, end_reason=reason
    )
    status = rows.values_list("status", flat=True).first()
    if status is None:
        raise SSEProgress.DoesNotExist(f"job {job_id!r} no longer exists")
    return status if status in ACTIVE_STATUSES else None


def _cancelled_fields(reason: str, now: datetime) -> dict[str, Any]:
    """The columns of a pending job that ends cancelled (for ``reason``) at ``now``."""
    return {
        "status": Status.CANCELLED,
        "end_reason": reason,
        "cancel_requested_at": now,
        "completed_at": now,
        "updated_at": now,
        "current_message": clean_message(str(_cancelled_label())),
    }


def _cancelled_label() -> str:
    from django.utils.translation import gettext

    return gettext("Cancelled")


def delete_finished(job: SSEProgress) -> bool:
    """Delete ``job`` if it is finished, or running with a lost worker (it reads as failed).

    Returns whether it was deleted.
    """
    rows = _jobs().filter(pk=job.pk)
    deleted, _ = rows.filter(status__in=FINAL_STATUSES).delete()
    if not deleted and job.is_stale():
        # Unless it moved since it was read.
        deleted, _ = rows.filter(status=Status.IN_PROGRESS, updated_at=job.updated_at).delete()
    return bool(deleted)


def reap(now: datetime | None = None) -> int:
    """Close the jobs nobody will finish; return how many.

    Running jobs with no heartbeat for ``STALE_AFTER`` seconds end ``failed``
    (worker lost); pending jobs due more than ``PENDING_TIMEOUT`` ago end
    ``failed`` (never started: their message was lost). A row closed as lost
    is reopened if its own task later starts again or succeeds.
    """
    now = now or timezone.now()
    closed = 0
    stale = _jobs().stale(now)
    # One UPDATE per distinct heartbeat time keeps the error text exact; stale
    # rows are rare, so this stays cheap.
    for updated_at in stale.values_list("updated_at", flat=True).distinct():
        closed += stale.filter(updated_at=updated_at).update(
            status=Status.FAILED,
            end_reason=EndReason.WORKER_LOST,
            completed_at=now,
            error=f"No heartbeat from its worker since {updated_at.isoformat()}",
        )
    closed += (
        _jobs()
        .never_started(now)
        .update(
            status=Status.FAILED,
            end_reason=EndReason.NEVER_STARTED,
            completed_at=now,
            updated_at=now,
            error="Never started: no worker took its message",
        )
    )
    if closed:
        _announce(_jobs().filter(status=Status.FAILED, completed_at=now))
    return closed


# -- the seed's manual API ---------------------------------------------------------------
#
# Written on the caller's own connection: the code that created the row with
# ``SSEProgress.objects.create()`` chose that connection and its transaction.


def _own_row(job: SSEProgress) -> SSEProgressQuerySet:
    """``job``'s row, on the database the instance came from."""
    return SSEProgress.objects.db_manager(job._state.db or settings.DATABASE_ALIAS).filter(
        pk=job.pk
    )


def _update_active(job: SSEProgress, fields: dict[str, Any], refusal: str) -> None:
    """``fields`` on ``job``'s row if it is active, else raise saying why not.

    Raises:
        InvalidTransition: the row is final (``refusal`` says what it refuses).
        SSEProgress.DoesNotExist: the row is gone.
    """
    rows = _own_row(job)
    if not rows.filter(status__in=ACTIVE_STATUSES).update(**fields):
        current = rows.values_list("status", flat=True).first()
        if current is None:
            raise SSEProgress.DoesNotExist(f"job {job.job_id!r} no longer exists")
        raise InvalidTransition(f"job {job.job_id!r} is {current}: {refusal}")


def _transition(job: SSEProgress, to: str, **fields: Any) -> None:
    fields = {"status": to, "updated_at": timezone.now(), **fields}
    _update_active(job, fields, f"it cannot become {to}")
    for name, value in fields.items():
        setattr(job, name, value)
    if to in FINAL_STATUSES:
        _announce(_own_row(job).filter(status=to, completed_at=fields["completed_at"]))


def mark_started(job: SSEProgress) -> None:
    """``mark_as_started()``: active → ``in_progress``, ``started_at`` stamped."""
    _transition(job, Status.IN_PROGRESS, started_at=timezone.now())


def mark_completed(job: SSEProgress, message: str | None = None) -> None:
    """``mark_as_completed()``: active → ``completed``."""
    fields: dict[str, Any] = {"completed_at": timezone.now(), "end_reason": EndReason.SUCCEEDED}
    if message is not None:
        fields["current_message"] = clean_message(message)
    _transition(job, Status.COMPLETED, **fields)


def mark_failed(job: SSEProgress, error: object = "") -> None:
    """``mark_as_failed()``: active → ``failed``, an exception stored as ``"Class: text"``.

    A ``JobError``'s message is what the job's user is shown; any other error
    shows as a generic sentence.
    """
    public = public_message(error) if isinstance(error, BaseException) else ""
    if isinstance(error, BaseException):
        error = format_exception(error)
    _transition(
        job,
        Status.FAILED,
        completed_at=timezone.now(),
        end_reason=EndReason.ERROR,
        error=clean_error(error),
        public_error=public,
    )


def mark_cancelled(job: SSEProgress, message: str | None = None) -> None:
    """``mark_as_cancelled()``: active → ``cancelled``."""
    fields: dict[str, Any] = {"completed_at": timezone.now(), "end_reason": EndReason.CANCELLED}
    if message is not None:
        fields["current_message"] = clean_message(message)
    _transition(job, Status.CANCELLED, **fields)


def add_progress(job: SSEProgress, processed: int, failed: int, message: str | None) -> None:
    """``update_progress()``: atomic increments (``F()``) of an active row."""
    processed = check_count("processed", processed)
    failed = check_count("failed", failed)
    fields: dict[str, Any] = {
        "processed_items": F("processed_items") + processed,
        "failed_items": F("failed_items") + failed,
        "updated_at": timezone.now(),
    }
    if message is not None:
        fields["current_message"] = clean_message(message)
    _update_active(job, fields, "it takes no more progress")
    job.processed_items += processed
    job.failed_items += failed
    if message is not None:
        job.current_message = fields["current_message"]
    job.updated_at = fields["updated_at"]


def set_total(job: SSEProgress, total: int) -> None:
    """``set_total()`` of the manual API (``0`` means unknown)."""
    total = check_count("total", total)
    _own_row(job).update(total_items=total, updated_at=timezone.now())
    job.total_items = total

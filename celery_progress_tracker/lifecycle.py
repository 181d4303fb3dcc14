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
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
import time
from collections.abc import Callable, Iterable
from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from numbers import Real
from typing import Any, TypeVar

from django.db import DataError, IntegrityError, InterfaceError, OperationalError, connections
from django.db import transaction as db_transaction
from django.db.models import F, Q
from django.utils import timezone

from celery_progress_tracker.conf import settings
from celery_progress_tracker.exceptions import InvalidTransition, JobIdInUse
from celery_progress_tracker.models import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    EndReason,
    SSEProgress,
    SSEProgressQuerySet,
    Status,
)
from celery_progress_tracker.tracker import JobState
from celery_progress_tracker.validation import (
    MAX_COUNT,
    check_count,
    check_metadata,
    clean_error,
    clean_message,
)

logger = logging.getLogger(__name__)

T = TypeVar("T")

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

#: Seconds between the attempts of a final write while the database is unreachable.
FINAL_WRITE_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)

#: Errors a retry can outlive: the connection was lost or the server is gone.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


def _jobs() -> SSEProgressQuerySet:
    # The default manager applies PROGRESS_TRACKER_DATABASE_ALIAS.
    return SSEProgress.objects.all()


def _connection() -> Any:
    return connections[settings.DATABASE_ALIAS]


def _rows(job_id: str, token: str = "") -> SSEProgressQuerySet:
    """The row of ``job_id``, if it belongs to the run ``token`` (any run without one)."""
    rows = _jobs().filter(job_id=job_id)
    return rows.filter(Q(run_token=token) | Q(run_token="")) if token else rows


# -- where a write happens ------------------------------------------------------------


class _SideWriter:
    """A thread of its own, so a write runs on its own connection, in autocommit."""

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def run(self, func: Callable[[], T], *, sqlite_busy_timeout: float | None = None) -> T:
        """Run ``func`` in the writer's thread and return what it returns (or raise)."""
        with self._lock:
            if self._executor is None or self._pid != os.getpid():  # new, or forked
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="progress-writer")
                self._pid = os.getpid()
            executor = self._executor
        return executor.submit(self._call, func, sqlite_busy_timeout).result()

    @staticmethod
    def _call(func: Callable[[], T], sqlite_busy_timeout: float | None) -> T:
        connection = _connection()
        connection.close_if_unusable_or_obsolete()
        if sqlite_busy_timeout is None or connection.vendor != "sqlite":
            try:
                return func()
            except TRANSIENT_ERRORS:
                connection.close()  # a server restart: once more, on a new connection
                return func()
        # Only a short wait for SQLite's write lock, and no retry: the caller
        # may hold the lock, and then the write must join its transaction.
        _no_retry.active = True
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout")
            usual = cursor.fetchone()[0]
            cursor.execute(f"PRAGMA busy_timeout = {int(sqlite_busy_timeout * 1000)}")
        try:
            return func()
        finally:
            _no_retry.active = False
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA busy_timeout = {int(usual)}")


side_writer = _SideWriter()


class _NoRetry(threading.local):
    active = False


_no_retry = _NoRetry()


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _in_callers_transaction(connection: Any) -> bool:
    """Whether the caller opened a transaction of its own (not a test case's wrapper).

    Inside Django's ``TestCase`` (pytest-django's ``db``) everything stays in
    the test's transaction, so it is rolled back with the test.
    """
    blocks = connection.atomic_blocks
    return bool(blocks) and not getattr(blocks[0], "_from_testcase", False)


def outside_caller_transaction(func: Callable[[], T]) -> T:
    """Run ``func`` (a write of a ``ProgressTask`` row) so it commits at once.

    Inside the caller's ``atomic()`` block (``ATOMIC_REQUESTS``, eager mode in
    a transaction) the write goes through a connection of its own, in
    autocommit, so pollers and the worker see the row before the caller
    commits, and a rollback keeps it. In an event loop (an ``async def``
    view) it goes there too, since the ORM refuses to run in one.

    It joins the caller's transaction (in a savepoint) only when it cannot do
    otherwise: inside a test case's transaction (rolled back with the test),
    when the row refers to something the caller has not committed (its new
    owner), and on SQLite once the caller holds the database's single write
    lock (then the worker, too, waits for the caller's commit).
    """
    connection = _connection()
    if _in_event_loop():
        return side_writer.run(func)
    if not _in_callers_transaction(connection):
        return func()
    sqlite = connection.vendor == "sqlite"
    outermost = connection.atomic_blocks[0]
    if getattr(connection, "_progress_joined", None) is not outermost:
        try:
            return side_writer.run(
                func, sqlite_busy_timeout=settings.SQLITE_BUSY_TIMEOUT if sqlite else None
            )
        except IntegrityError:
            # E.g. the owner was created in the caller's uncommitted transaction.
            logger.info("progress write joins the caller's transaction (a row not committed)")
        except OperationalError as exc:
            if not (sqlite and "locked" in str(exc)):
                raise
            # The caller holds SQLite's write lock: join it for this transaction.
            connection._progress_joined = outermost
    with db_transaction.atomic(using=settings.DATABASE_ALIAS):  # a savepoint
        return func()


def retry_transient(func: Callable[..., T]) -> Callable[..., T]:
    """Retry ``func`` on a fresh connection while the database is unreachable.

    Only connection-level errors are retried (about half a minute in all);
    an error no retry can mend (bad data) raises at once. Inside the caller's
    transaction nothing is retried: reconnecting would drop that transaction.
    """

    @functools.wraps(func)
    def attempt(*args: Any, **kwargs: Any) -> T:
        for delay in FINAL_WRITE_RETRY_DELAYS:
            connection = _connection()
            try:
                return func(*args, **kwargs)
            except TRANSIENT_ERRORS as exc:
                if connection.in_atomic_block or _no_retry.active:
                    raise
                logger.warning("progress write failed (%s): retrying in %g s", exc, delay)
                connection.close()
                time.sleep(delay)
        return func(*args, **kwargs)

    return attempt


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
    }

    def write() -> None:
        if not _insert(SSEProgress(job_id=job_id, user_id=owner, **_fresh_run(**fields))):
            _claim(job_id, owner, token, fields)  # the id has a row

    outside_caller_transaction(write)


def _insert(row: SSEProgress) -> bool:
    """Insert ``row``; ``False`` if its job id is taken."""
    try:
        if _connection().in_atomic_block:
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


def format_exception(exc: BaseException) -> str:
    """``"ClassName: message"``, cut to the ``error`` column."""
    text = str(exc)
    return clean_error(f"{type(exc).__name__}: {text}" if text else type(exc).__name__)


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
    return changed


def succeeded(job_id: str, state: JobState | None, token: str = "") -> None:
    """The task returned: ``completed``."""
    _close(
        job_id,
        {"status": Status.COMPLETED, "end_reason": EndReason.SUCCEEDED, "error": ""},
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
    """The task raised ``exc`` (or its worker was lost): ``failed``, keeping its counts."""
    _close(
        job_id,
        {
            "status": Status.FAILED,
            "end_reason": reason or end_reason_of(exc),
            "error": error if error is not None else (format_exception(exc) if exc else "failed"),
        },
        state=state,
        token=token,
    )


def cancelled(job_id: str, state: JobState | None, token: str = "", message: str = "") -> None:
    """The body stopped at a user's cancel request: ``cancelled``."""
    fields: dict[str, Any] = {
        "status": Status.CANCELLED,
        "end_reason": EndReason.CANCELLED,
        "error": "",
    }
    if message:
        fields["current_message"] = clean_message(message)
    logger.info("job %s cancelled", job_id)
    _close(job_id, fields, state=state, token=token)


def revoked(job_id: str, token: str = "", *, expired: bool = False) -> None:
    """Celery revoked the task (or it expired before it ran): ``cancelled``."""
    message = "Expired before it ran" if expired else "Revoked"
    _close(
        job_id,
        {
            "status": Status.CANCELLED,
            "end_reason": EndReason.EXPIRED if expired else EndReason.REVOKED,
            "error": "",
            "current_message": message,
        },
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


def due_time(when: Any) -> datetime:
    """When something due ``when`` (seconds from now, a datetime, an ISO text) is due, in UTC."""
    now = timezone.now()
    if isinstance(when, Real) and not isinstance(when, bool):
        return now + timedelta(seconds=float(when))
    if isinstance(when, str):
        try:
            when = datetime.fromisoformat(when)
        except ValueError:
            return now
    if isinstance(when, datetime):
        if timezone.is_naive(when):
            return when.replace(tzinfo=dt_timezone.utc)
        return when.astimezone(dt_timezone.utc)
    return now


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
    if one_task:
        fields.update(status=Status.PENDING, due_at=timezone.now())
    else:
        fields.update(has_heartbeat=False)
    try:
        outside_caller_transaction(
            lambda: _rows(state.job_id, state.token).filter(REOPENABLE).update(**fields)
        )
    except Exception:
        logger.exception("could not record that job %s was replaced", state.job_id)


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


def eager_raised(job_id: str, token: str, exc: BaseException) -> None:
    """An eager run raised into its caller: the row ends ``failed`` with the exception."""
    from celery.exceptions import Retry

    if isinstance(exc, Retry) and isinstance(exc.exc, BaseException):
        exc = exc.exc
    failed(job_id, exc, None, token)


# -- users and operators -----------------------------------------------------------


def _revoke(task_id: str) -> None:
    # Best effort: the row's status already stops the task at start.
    try:
        from celery import current_app

        current_app.control.revoke(task_id)
    except Exception:
        logger.warning("could not revoke task %s", task_id, exc_info=True)


def request_cancel(job: SSEProgress) -> str:
    """Cancel ``job``: a pending one at once, a running one at its next check.

    Returns the job's status afterwards (``job`` is refreshed).

    Raises:
        InvalidTransition: the job is already finished.
        SSEProgress.DoesNotExist: the job no longer exists.
    """
    now = timezone.now()
    rows = _jobs().filter(pk=job.pk)
    if rows.filter(status=Status.PENDING).update(
        status=Status.CANCELLED,
        end_reason=EndReason.CANCELLED,
        cancel_requested_at=now,
        completed_at=now,
        updated_at=now,
        current_message=clean_message(str(_cancelled_label())),
    ):
        job.refresh_from_db()
        _revoke(job.job_id)
        return Status.CANCELLED
    if rows.filter(status=Status.IN_PROGRESS, cancel_requested_at__isnull=True).update(
        cancel_requested_at=now
    ):
        job.refresh_from_db()
        return Status.IN_PROGRESS
    job.refresh_from_db()
    if job.is_active:  # already flagged
        return job.status
    raise InvalidTransition(f"job {job.job_id!r} is {job.status}: it cannot be cancelled")


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
    return closed


# -- the seed's manual API ---------------------------------------------------------------
#
# Written on the caller's own connection: the code that created the row with
# ``SSEProgress.objects.create()`` chose that connection and its transaction.


def _transition(job: SSEProgress, to: str, **fields: Any) -> None:
    now = timezone.now()
    fields = {"status": to, "updated_at": now, **fields}
    rows = SSEProgress.objects.db_manager(job._state.db or settings.DATABASE_ALIAS).filter(
        pk=job.pk
    )
    if not rows.filter(status__in=ACTIVE_STATUSES).update(**fields):
        current = rows.values_list("status", flat=True).first()
        if current is None:
            raise SSEProgress.DoesNotExist(f"job {job.job_id!r} no longer exists")
        raise InvalidTransition(f"job {job.job_id!r} is {current}: it cannot become {to}")
    for name, value in fields.items():
        setattr(job, name, value)


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
    """``mark_as_failed()``: active → ``failed``, an exception stored as ``"Class: text"``."""
    if isinstance(error, BaseException):
        error = format_exception(error)
    _transition(
        job,
        Status.FAILED,
        completed_at=timezone.now(),
        end_reason=EndReason.ERROR,
        error=clean_error(error),
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
    rows = SSEProgress.objects.db_manager(job._state.db or settings.DATABASE_ALIAS).filter(
        pk=job.pk
    )
    if not rows.filter(status__in=ACTIVE_STATUSES).update(**fields):
        current = rows.values_list("status", flat=True).first()
        if current is None:
            raise SSEProgress.DoesNotExist(f"job {job.job_id!r} no longer exists")
        raise InvalidTransition(f"job {job.job_id!r} is {current}: it takes no more progress")
    job.processed_items += processed
    job.failed_items += failed
    if message is not None:
        job.current_message = fields["current_message"]
    job.updated_at = fields["updated_at"]


def set_total(job: SSEProgress, total: int) -> None:
    """``set_total()`` of the manual API (``0`` means unknown)."""
    total = check_count("total", total)
    SSEProgress.objects.db_manager(job._state.db or settings.DATABASE_ALIAS).filter(
        pk=job.pk
    ).update(total_items=total, updated_at=timezone.now())
    job.total_items = total

"""A row as the JSON dict every view returns: built here and nowhere else."""

from __future__ import annotations

import hashlib
from datetime import datetime, timezone
from typing import Any, Protocol

from django.utils import timezone as dj_timezone

from celery_progress_tracker import rollups
from celery_progress_tracker.errors import shown_error
from celery_progress_tracker.models import EndReason, SSEProgress, Status, aware_time, is_stale

#: Seconds of running time before a rate and an ETA are reported.
MIN_SECONDS_FOR_RATE = 1.0


def iso_utc(value: datetime | None) -> str | None:
    """ISO 8601 in UTC with a ``Z`` suffix, or ``None``."""
    if value is None:
        return None
    utc = aware_time(value).astimezone(timezone.utc)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


#: The columns a job's ETag is made of (:func:`row_etag`), ``kind`` and ``user_id`` included:
#: the detail poll reads them off its result row and builds no instance for a 304.
ETAG_FIELDS = (
    "job_id",
    "user_id",
    "kind",
    "status",
    "end_reason",
    "error",
    "public_error",
    "updated_at",
    "has_heartbeat",
    "processed_items",
    "failed_items",
    "total_items",
    "current_message",
    "cancel_requested_at",
)


class ReportedJob(Protocol):
    """What :func:`reported_status` and :func:`row_etag` read of a job."""

    job_id: str
    status: str
    end_reason: str
    error: str
    public_error: str
    updated_at: datetime
    processed_items: int
    failed_items: int
    total_items: int
    current_message: str
    cancel_requested_at: datetime | None

    def is_stale(self, now: datetime | None = None) -> bool: ...


class EtagColumns:
    """The :data:`ETAG_FIELDS` of a row, as a job has them (no model instance)."""

    __slots__ = ETAG_FIELDS

    job_id: str
    user_id: Any
    kind: str
    status: str
    end_reason: str
    error: str
    public_error: str
    updated_at: datetime
    has_heartbeat: bool
    processed_items: int
    failed_items: int
    total_items: int
    current_message: str
    cancel_requested_at: datetime | None

    def __init__(self, values: dict[str, Any]) -> None:
        for name in ETAG_FIELDS:
            setattr(self, name, values[name])

    def is_stale(self, now: datetime | None = None) -> bool:
        return is_stale(self.status, self.has_heartbeat, self.updated_at, now)


def reported_status(job: ReportedJob, now: datetime) -> tuple[str, str, str]:
    """The status, end reason and error as reported.

    A running job whose worker stopped sending heartbeats reads as failed
    (worker lost) before any reaper has closed it. The error is the one the
    job's user may read (see :mod:`~celery_progress_tracker.errors`).
    """
    if job.is_stale(now):
        status, end_reason = str(Status.FAILED), str(EndReason.WORKER_LOST)
        error = f"No heartbeat from its worker since {iso_utc(job.updated_at)}"
        public = ""
    else:
        status, end_reason, error = str(job.status), str(job.end_reason), job.error
        public = job.public_error
    return status, end_reason, shown_error(job.job_id, status, end_reason, error, public)


def job_to_dict(job: SSEProgress, now: datetime | None = None) -> dict[str, Any]:
    """The job's state as reported: the seed's keys first, then the extras.

    A running row whose worker stopped sending heartbeats reads as ``failed``
    with a "worker lost" error, before any reaper has closed it. ``error`` is
    for the job's user: a ``JobError``'s message or a generic sentence, unless
    ``PROGRESS_TRACKER_VERBATIM_ERRORS`` (the row's ``error`` keeps the full text).
    """
    now = now or dj_timezone.now()
    rollup = rollups.prepared(job)
    status, end_reason, error = reported_status(job, now)
    done = job.processed_items + job.failed_items
    duration = job.duration if job.completed_at else _running_duration(job, now)
    data: dict[str, Any] = {
        "job_id": job.job_id,
        "status": str(status),
        "task_type": job.task_type,
        "total_items": job.total_items,
        "processed_items": job.processed_items,
        "failed_items": job.failed_items,
        "progress_percentage": rollup.percentage if rollup else job.progress_percentage,
        "current_message": job.current_message,
        "started_at": iso_utc(job.started_at),
        "completed_at": iso_utc(job.completed_at),
        "duration": None if duration is None else round(duration, 3),
        "metadata": job.metadata,
        "error": error,
        "end_reason": end_reason,
        "created_at": iso_utc(job.created_at),
        "updated_at": iso_utc(job.updated_at),
        "cancel_requested": job.cancel_requested_at is not None,
        "items_per_second": None,
        "eta_seconds": None,
        "root_id": job.root_id,
        "parent_id": job.parent_id,
        "group_id": job.group_id,
        "rollup_id": job.rollup_id,
        "kind": job.kind or "task",
    }
    if rollup is not None:
        data.update(
            parts_total=rollup.parts_total,
            parts_done=rollup.parts_done,
            parts_failed=rollup.parts_failed,
            parts_cancelled=rollup.parts_cancelled,
            members=rollup.members,
        )
    if duration and duration >= MIN_SECONDS_FOR_RATE and done:
        rate = done / duration
        data["items_per_second"] = round(rate, 3)
        if status == Status.IN_PROGRESS and job.total_items > done:
            data["eta_seconds"] = round((job.total_items - done) / rate, 1)
    return data


def _running_duration(job: SSEProgress, now: datetime) -> float | None:
    if job.started_at is None:
        return None
    return max(0.0, (now - job.started_at).total_seconds())


def _weak_etag(parts: tuple[Any, ...]) -> str:
    digest = hashlib.blake2b(repr(parts).encode(), digest_size=12).hexdigest()
    return f'W/"{digest}"'


def job_etag(data: dict[str, Any]) -> str:
    """A weak ETag over a job's state as reported (status included), from its dict."""
    return _weak_etag(
        (
            data["status"],
            data["updated_at"],
            data["processed_items"],
            data["failed_items"],
            data["total_items"],
            data["current_message"],
            data["error"],
            data["cancel_requested"],
        )
    )


def row_etag(job: ReportedJob, now: datetime) -> str:
    """``job_etag(job_to_dict(job, now))``, without building the dict.

    The poll's 304 path: a bar whose job has not changed costs no serialisation.
    ``job`` is a job or the :class:`EtagColumns` of a task's row (a roll-up's
    ETag needs its members: pass the job).
    """
    if isinstance(job, SSEProgress):
        rollups.prepared(job)
    status, _end_reason, error = reported_status(job, now)
    return _weak_etag(
        (
            status,
            iso_utc(job.updated_at),
            job.processed_items,
            job.failed_items,
            job.total_items,
            job.current_message,
            error,
            job.cancel_requested_at is not None,
        )
    )


def list_etag(page: dict[str, Any]) -> str:
    """A weak ETag over a list answer: its jobs' ETags, the count and the page links."""
    return _weak_etag(
        (
            page["count"],
            page["next"],
            page["previous"],
            tuple(job_etag(job) for job in page["results"]),
        )
    )

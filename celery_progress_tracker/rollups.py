"""Reading a roll-up: a group's, a chord's or a chain's row as the sum of its members.

Members are the rows whose ``rollup_id`` is the roll-up's ``job_id`` (a
chain's last step, which is the chain's row, counts as well): one query on
the ``cpt_rollup_idx`` index, whatever their number. The rules
(``docs/canvases.md``):

- total: the sum of the members' totals; unknown (0) while any member's is.
- processed, failed: the sums.
- status: ``pending`` while every member is; ``in_progress`` while any is
  active; at the end, ``failed`` if any failed, else ``cancelled`` if any was
  cancelled, else ``completed``. A failed member does not end the roll-up
  before the others (``parts_failed`` says it at once). A group's row
  cancelled by a user, or a replaced job closed by its replacement, keeps
  its own final status.
- message: the most recently updated member's.
- percentage: from the items while the total is known; else the share of
  members that have ended (at most 99 until completed).
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Q

from celery_progress_tracker.models import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    Kind,
    SSEProgress,
    Status,
)

#: The member columns a read needs.
MEMBER_FIELDS = (
    "job_id",
    "status",
    "total_items",
    "processed_items",
    "failed_items",
    "current_message",
    "updated_at",
    "started_at",
    "completed_at",
)


@dataclass
class RollUp:
    """What a roll-up's members add up to."""

    parts_total: int = 0
    parts_done: int = 0
    parts_failed: int = 0
    parts_cancelled: int = 0
    percentage: int = 0
    members: list[dict[str, Any]] = field(default_factory=list)


def is_rollup(job: SSEProgress) -> bool:
    return bool(job.kind)


def members_of(job_id: str) -> Any:
    """The member rows of roll-up ``job_id``, in publish order."""
    return (
        SSEProgress.objects.filter(Q(rollup_id=job_id) | Q(job_id=job_id, kind=Kind.CHAIN))
        .order_by("pk")
        .values(*MEMBER_FIELDS)
    )


def member_ids(job_id: str) -> list[str]:
    return list(members_of(job_id).values_list("job_id", flat=True))


def _percentage(member: dict[str, Any]) -> int:
    if member["status"] == Status.COMPLETED:
        return 100
    if not member["total_items"]:
        return 0
    done = member["processed_items"] + member["failed_items"]
    return min(99, math.floor(100 * done / member["total_items"]))


def _status(statuses: list[str]) -> str:
    if any(status in ACTIVE_STATUSES for status in statuses):
        return Status.PENDING if all(s == Status.PENDING for s in statuses) else Status.IN_PROGRESS
    if Status.FAILED in statuses:
        return Status.FAILED
    if Status.CANCELLED in statuses:
        return Status.CANCELLED
    return Status.COMPLETED


def read(job: SSEProgress) -> RollUp:
    """Fill ``job`` (not saved) with its members' sums; return the parts.

    A group's row whose members have all ended takes their outcome for good
    (through ``lifecycle.rollup_ended``).
    """
    members = list(members_of(job.job_id))
    rollup = RollUp(parts_total=len(members))
    if not members:
        return rollup
    statuses = [str(member["status"]) for member in members]
    rollup.parts_done = statuses.count(Status.COMPLETED)
    rollup.parts_failed = statuses.count(Status.FAILED)
    rollup.parts_cancelled = statuses.count(Status.CANCELLED)
    rollup.members = [
        {"job_id": m["job_id"], "status": m["status"], "progress_percentage": _percentage(m)}
        for m in members
    ]
    latest = max(members, key=lambda member: member["updated_at"])
    own_final = job.status in FINAL_STATUSES and job.kind != Kind.CHAIN
    status = str(job.status) if own_final else _status(statuses)
    if status in FINAL_STATUSES and not own_final and job.kind != Kind.CHAIN:
        from celery_progress_tracker import lifecycle

        lifecycle.rollup_ended(job.job_id, status)
    job.status = status
    job.total_items = (
        0 if any(not m["total_items"] for m in members) else sum(m["total_items"] for m in members)
    )
    job.processed_items = sum(m["processed_items"] for m in members)
    job.failed_items = sum(m["failed_items"] for m in members)
    job.current_message = latest["current_message"] or job.current_message
    job.updated_at = max(job.updated_at, latest["updated_at"])
    started = [m["started_at"] for m in members if m["started_at"] is not None]
    job.started_at = min(started) if started else job.started_at
    if status in FINAL_STATUSES:
        ended = [m["completed_at"] for m in members if m["completed_at"] is not None]
        job.completed_at = max(ended) if ended else job.completed_at
    else:
        job.completed_at = None
    job.has_heartbeat = False  # its members' heartbeats are what count
    parts_ended = rollup.parts_done + rollup.parts_failed + rollup.parts_cancelled
    rollup.percentage = (
        job.progress_percentage
        if job.total_items or status == Status.COMPLETED
        else min(99, math.floor(100 * parts_ended / len(members)))
    )
    return rollup


def prepared(job: SSEProgress) -> RollUp | None:
    """``read(job)`` once per instance for a roll-up row; ``None`` for a task's row."""
    if not is_rollup(job):
        return None
    cached = job.__dict__.get("_rollup")
    if not isinstance(cached, RollUp):
        cached = job.__dict__["_rollup"] = read(job)
    return cached

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

from django.db.models import Case, Count, F, Max, Min, Q, Sum, Value, When, Window
from django.db.models.functions import FirstValue

from celery_progress_tracker.conf import settings
from celery_progress_tracker.models import (
    ACTIVE_STATUSES,
    FINAL_STATUSES,
    Kind,
    SSEProgress,
    SSEProgressQuerySet,
    Status,
)

#: The member columns listed in a roll-up's JSON.
MEMBER_FIELDS = ("job_id", "status", "total_items", "processed_items", "failed_items")


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


def members_of(job_id: str) -> SSEProgressQuerySet:
    """The member rows of roll-up ``job_id``, in the order they were made."""
    return SSEProgress.objects.filter(
        Q(rollup_id=job_id) | Q(job_id=job_id, kind=Kind.CHAIN)
    ).order_by("pk")


def member_ids(job_id: str) -> list[str]:
    return list(members_of(job_id).values_list("job_id", flat=True))


def _count(condition: Q) -> Window:
    """How many members meet ``condition``, over all of them."""
    return Window(Sum(Case(When(condition, then=Value(1)), default=Value(0))))


#: Sums over every member, computed by the database beside each listed row:
#: window functions run before the ``LIMIT`` that cuts the listed members.
SUMS: dict[str, Any] = {
    "n": Window(Count("pk")),
    "total_sum": Window(Sum("total_items")),
    "total_min": Window(Min("total_items")),
    "processed_sum": Window(Sum("processed_items")),
    "failed_sum": Window(Sum("failed_items")),
    "n_pending": _count(Q(status=Status.PENDING)),
    "n_active": _count(Q(status__in=ACTIVE_STATUSES)),
    "n_completed": _count(Q(status=Status.COMPLETED)),
    "n_failed": _count(Q(status=Status.FAILED)),
    "n_cancelled": _count(Q(status=Status.CANCELLED)),
    "last_message": Window(FirstValue("current_message"), order_by=F("updated_at").desc()),
    "last_update": Window(Max("updated_at")),
    "first_start": Window(Min("started_at")),
    "last_end": Window(Max("completed_at")),
}


def _percentage(member: dict[str, Any]) -> int:
    if member["status"] == Status.COMPLETED:
        return 100
    if not member["total_items"]:
        return 0
    done = member["processed_items"] + member["failed_items"]
    return min(99, math.floor(100 * done / member["total_items"]))


def _status(sums: dict[str, Any]) -> str:
    if sums["n_active"]:
        return Status.PENDING if sums["n_pending"] == sums["n"] else Status.IN_PROGRESS
    if sums["n_failed"]:
        return Status.FAILED
    if sums["n_cancelled"]:
        return Status.CANCELLED
    return Status.COMPLETED


def read(job: SSEProgress) -> RollUp:
    """Fill ``job`` (not saved) with its members' sums; return the parts.

    One query: the first ``ROLLUP_MEMBERS_LISTED`` members, each with the sums
    over all of them. A group's row whose members have all ended takes their
    outcome for good (through ``lifecycle.rollup_ended``).
    """
    listed = settings.ROLLUP_MEMBERS_LISTED
    rows = list(
        members_of(job.job_id).annotate(**SUMS).values(*MEMBER_FIELDS, *SUMS)[: max(1, listed)]
    )
    if not rows:
        return RollUp()
    sums = rows[0]
    rollup = RollUp(
        parts_total=sums["n"],
        parts_done=sums["n_completed"],
        parts_failed=sums["n_failed"],
        parts_cancelled=sums["n_cancelled"],
        members=[
            {"job_id": m["job_id"], "status": m["status"], "progress_percentage": _percentage(m)}
            for m in rows[:listed]
        ],
    )
    own_final = job.status in FINAL_STATUSES and job.kind != Kind.CHAIN
    status = str(job.status) if own_final else _status(sums)
    if status in FINAL_STATUSES and not own_final and job.kind != Kind.CHAIN:
        from celery_progress_tracker import lifecycle

        lifecycle.rollup_ended(job.job_id, status)
    job.status = status
    job.total_items = sums["total_sum"] if sums["total_min"] else 0
    job.processed_items = sums["processed_sum"]
    job.failed_items = sums["failed_sum"]
    job.current_message = sums["last_message"] or job.current_message
    job.updated_at = max(job.updated_at, sums["last_update"])
    job.started_at = sums["first_start"] or job.started_at
    job.completed_at = (sums["last_end"] or job.completed_at) if status in FINAL_STATUSES else None
    job.has_heartbeat = False  # its members' heartbeats are what count
    parts_ended = rollup.parts_done + rollup.parts_failed + rollup.parts_cancelled
    rollup.percentage = (
        job.progress_percentage
        if job.total_items or status == Status.COMPLETED
        else min(99, math.floor(100 * parts_ended / rollup.parts_total))
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

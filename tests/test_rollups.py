"""``rollups``: a roll-up's status, counts and percentage from its members' rows."""

from __future__ import annotations

from typing import Any

import pytest

from celery_progress_tracker import rollups
from celery_progress_tracker.models import SSEProgress
from celery_progress_tracker.serializers import job_to_dict

pytestmark = [pytest.mark.core, pytest.mark.django_db]


def rollup_of(*members: dict[str, Any], kind: str = "group") -> SSEProgress:
    group = SSEProgress.objects.create(job_id="g", kind=kind)
    for number, fields in enumerate(members):
        SSEProgress.objects.create(job_id=f"m{number}", rollup_id="g", **fields)
    return group


def read(job: SSEProgress) -> dict[str, Any]:
    return job_to_dict(SSEProgress.objects.get(pk=job.pk))


def test_pending_while_every_member_is_pending() -> None:
    data = read(rollup_of({"total_items": 2}, {"total_items": 3}))
    assert (data["status"], data["total_items"], data["progress_percentage"]) == ("pending", 5, 0)


def test_the_total_is_unknown_while_one_member_s_is_and_the_parts_give_the_percentage() -> None:
    group = rollup_of(
        {"status": "completed", "total_items": 4, "processed_items": 4},
        {"status": "in_progress", "total_items": 0, "processed_items": 7, "current_message": "x"},
    )
    data = read(group)
    assert (data["status"], data["total_items"], data["processed_items"]) == ("in_progress", 0, 11)
    assert (data["progress_percentage"], data["parts_done"], data["current_message"]) == (
        50,
        1,
        "x",
    )


def test_cancelled_at_the_end_when_a_member_was_cancelled_and_none_failed() -> None:
    group = rollup_of({"status": "completed"}, {"status": "cancelled"})
    assert read(group)["status"] == "cancelled"
    assert SSEProgress.objects.get(job_id="g").end_reason == "cancelled"


def test_a_group_s_own_final_status_stands() -> None:
    group = rollup_of({"status": "in_progress"})
    SSEProgress.objects.filter(pk=group.pk).update(status="cancelled")
    assert read(group)["status"] == "cancelled"


def test_a_roll_up_with_no_members_reads_as_its_row() -> None:
    data = read(rollup_of())
    assert (data["status"], data["parts_total"], data["members"]) == ("pending", 0, [])
    assert rollups.prepared(SSEProgress.objects.get(job_id="g")) is not None


def test_a_task_s_row_is_no_roll_up() -> None:
    job = SSEProgress.objects.create(job_id="t")
    assert rollups.prepared(job) is None
    assert "members" not in job_to_dict(job)


def test_a_server_drawn_bar_shows_the_parts_too() -> None:
    from celery_progress_tracker.fragments import bar_view

    data = read(rollup_of({"status": "completed", "total_items": 1, "processed_items": 1}, {}))
    assert bar_view(data, job_id="g")["counts"] == "1 · 1 of 2 parts done"

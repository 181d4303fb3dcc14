"""Chains, groups and chords as jobs a user can follow, on a real worker."""

from __future__ import annotations

import json
import uuid
from datetime import timedelta
from typing import Any

import pytest
from celery import chain, chord, group
from django.contrib.auth import get_user_model
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from celery_progress_tracker.models import SSEProgress
from celery_progress_tracker.ownership import progress_owner
from tests import tasks
from tests.conftest import row, wait_for, wait_status

FINAL = ("completed", "failed", "cancelled")


@pytest.fixture
def alice(transactional_db: None) -> Any:
    return get_user_model().objects.create_user("alice")


@pytest.fixture
def alice_client(alice: Any) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def unconsumed() -> str:
    """A queue no worker reads: what is published there stays pending."""
    return f"cpt-unconsumed-{uuid.uuid4().hex}"


def detail(client: Client, job_id: str) -> dict[str, Any]:
    response = client.get(reverse("celery_progress_tracker:sse_progress_detail", args=[job_id]))
    assert response.status_code == 200, (job_id, response.content)
    data: dict[str, Any] = json.loads(response.content)
    return data


def wait_final(client: Client, job_id: str, timeout: float = 30) -> dict[str, Any]:
    return wait_for(
        lambda: (data := detail(client, job_id))["status"] in FINAL and data, timeout=timeout
    )


# -- every member pollable at publish -------------------------------------------------


@pytest.mark.core
def test_a_chain_s_every_step_answers_at_once(alice: Any, alice_client: Client) -> None:
    steps = chain(tasks.pipe.s(None, 2), tasks.pipe.s(3), tasks.pipe.s(4))
    with progress_owner(alice):
        result = steps.apply_async(queue=unconsumed())
    ids = [result.parent.parent.id, result.parent.id, result.id]
    for job_id in ids:
        job = row(job_id)
        assert (job.status, job.user_id, job.rollup_id) == ("pending", alice.pk, result.id)
    chain_view = detail(alice_client, result.id)
    assert (chain_view["kind"], chain_view["parts_total"], chain_view["parts_done"]) == (
        "chain",
        3,
        0,
    )
    assert [m["job_id"] for m in chain_view["members"]] == ids
    assert detail(alice_client, ids[0])["root_id"] == ids[0]
    # Only the published step can be reaped as never started: the others are not due yet.
    in_two_days = timezone.now() + timedelta(days=2)
    reapable = SSEProgress.objects.never_started(in_two_days).values_list("job_id", flat=True)
    assert set(reapable) == {ids[0]}


@pytest.mark.core
def test_a_group_s_id_answers_with_its_members(alice: Any, alice_client: Client) -> None:
    with progress_owner(alice):
        result = group(tasks.count.si(2) for _ in range(3)).apply_async(queue=unconsumed())
    data = detail(alice_client, result.id)
    assert (data["kind"], data["status"], data["parts_total"]) == ("group", "pending", 3)
    assert {m["job_id"] for m in data["members"]} == {child.id for child in result.results}
    for child in result.results:
        member = detail(alice_client, child.id)
        assert (member["group_id"], member["rollup_id"]) == (result.id, result.id)


@pytest.mark.core
def test_a_chord_s_callback_and_group_answer_at_once(alice: Any, alice_client: Client) -> None:
    with progress_owner(alice):
        result = chord([tasks.count.si(1), tasks.count.si(2)], tasks.summary.s()).apply_async(
            queue=unconsumed()
        )
    callback = detail(alice_client, result.id)
    assert (callback["status"], callback["rollup_id"]) == ("pending", result.parent.id)
    rollup = detail(alice_client, result.parent.id)
    assert (rollup["kind"], rollup["parts_total"]) == ("chord", 3)
    assert result.id in {member["job_id"] for member in rollup["members"]}


# -- on a worker ----------------------------------------------------------------------


@pytest.mark.core
def test_a_chain_runs_step_by_step_to_completed(
    worker: Any, alice: Any, alice_client: Client
) -> None:
    with progress_owner(alice):
        result = chain(tasks.pipe.s(None, 2), tasks.pipe.s(3), tasks.pipe.s(4)).apply_async()
    data = wait_final(alice_client, result.id)
    assert (data["status"], data["parts_done"], data["parts_total"]) == ("completed", 3, 3)
    assert (data["processed_items"], data["total_items"], data["progress_percentage"]) == (
        9,
        9,
        100,
    )
    assert row(result.parent.id).parent_id == result.parent.parent.id


@pytest.mark.core
def test_a_group_rolls_up_to_completed(worker: Any, alice: Any, alice_client: Client) -> None:
    with progress_owner(alice):
        result = group(tasks.count.si(n) for n in (2, 3, 4)).apply_async()
    data = wait_final(alice_client, result.id)
    assert (data["status"], data["parts_done"], data["parts_total"]) == ("completed", 3, 3)
    assert (data["processed_items"], data["total_items"]) == (9, 9)
    assert data["current_message"].startswith("item ")
    assert row(result.id).status == "completed"  # the read closed the group's row


@pytest.mark.core
def test_a_chord_rolls_up_header_and_callback(
    worker: Any, alice: Any, alice_client: Client
) -> None:
    with progress_owner(alice):
        result = chord([tasks.count.si(2), tasks.count.si(3)], tasks.summary.s()).apply_async()
    data = wait_final(alice_client, result.parent.id)
    assert (data["status"], data["parts_done"], data["parts_total"]) == ("completed", 3, 3)
    assert data["processed_items"] == 2 + 3 + 2
    assert wait_status(result.id, "completed").processed_items == 2


def test_a_group_of_chains_rolls_up_every_step(
    worker: Any, alice: Any, alice_client: Client
) -> None:
    canvas = group(
        chain(tasks.pipe.s(None, 1), tasks.pipe.s(2)),
        chain(tasks.pipe.s(None, 3), tasks.pipe.s(4)),
    )
    with progress_owner(alice):
        result = canvas.apply_async()
    first = detail(alice_client, result.id)
    assert first["parts_total"] == 4  # the later steps too, before they are published
    data = wait_final(alice_client, result.id)
    assert (data["status"], data["parts_done"], data["processed_items"]) == ("completed", 4, 10)


def test_a_chain_with_a_group_inside_rolls_up_to_its_result(
    worker: Any, alice: Any, alice_client: Client
) -> None:
    canvas = chain(
        tasks.pipe.s(None, 1), group(tasks.pipe.s(2), tasks.pipe.s(3)), tasks.summary.s()
    )
    with progress_owner(alice):
        result = canvas.apply_async()
    first = detail(alice_client, result.id)
    assert (first["kind"], first["parts_total"]) == ("chain", 4)
    data = wait_final(alice_client, result.id)
    assert (data["status"], data["parts_done"]) == ("completed", 4)


@pytest.mark.core
def test_a_failing_member_fails_the_group_at_the_end(
    worker: Any, alice: Any, alice_client: Client
) -> None:
    with progress_owner(alice):
        result = group(tasks.count.si(2), tasks.fail_after.si(1), tasks.count.si(3)).apply_async()
    data = wait_final(alice_client, result.id)
    assert (data["status"], data["parts_done"], data["parts_failed"]) == ("failed", 2, 1)


@pytest.mark.core
def test_a_failing_chain_step_closes_the_steps_after_it(
    worker: Any, alice: Any, alice_client: Client
) -> None:
    with progress_owner(alice):
        result = chain(tasks.pipe.s(None, 1), tasks.fail_after.si(1), tasks.pipe.s(2)).apply_async()
    data = wait_final(alice_client, result.id)
    assert (data["status"], data["parts_done"], data["parts_failed"]) == ("failed", 1, 2)
    last = row(result.id)
    assert (last.status, last.end_reason) == ("failed", "never_started")
    assert last.error == f"Not run: job {result.parent.id} failed"


@pytest.mark.core
def test_a_failing_chord_member_fails_the_callback(
    worker: Any, alice: Any, alice_client: Client
) -> None:
    with progress_owner(alice):
        result = chord([tasks.count.si(1), tasks.fail_after.si(1)], tasks.summary.s()).apply_async()
    data = wait_final(alice_client, result.parent.id)
    assert (data["status"], data["parts_done"], data["parts_failed"]) == ("failed", 1, 2)
    assert row(result.id).end_reason == "never_started"


@pytest.mark.core
def test_cancel_a_group_by_its_id(worker: Any, alice: Any, alice_client: Client) -> None:
    with progress_owner(alice):
        result = group(tasks.until_cancelled.si(30) for _ in range(3)).apply_async()
    wait_for(lambda: detail(alice_client, result.id)["status"] == "in_progress")
    url = reverse("celery_progress_tracker:sse_progress_cancel", args=[result.id])
    response = alice_client.post(url)
    assert response.status_code == 200, response.content
    assert json.loads(response.content)["status"] == "cancelled"
    for child in result.results:
        assert wait_status(child.id, "cancelled", timeout=30).status == "cancelled"
    data = detail(alice_client, result.id)
    assert (data["status"], data["parts_cancelled"]) == ("cancelled", 3)
    again = alice_client.post(url)
    assert json.loads(again.content)["error"] == "job_finished"


@pytest.mark.core
def test_cancel_a_chain_cancels_its_later_steps(
    worker: Any, alice: Any, alice_client: Client
) -> None:
    with progress_owner(alice):
        result = chain(tasks.until_cancelled.si(30), tasks.pipe.s(2)).apply_async()
    wait_status(result.parent.id, "in_progress")
    url = reverse("celery_progress_tracker:sse_progress_cancel", args=[result.id])
    assert alice_client.post(url).status_code == 200
    assert wait_status(result.parent.id, "cancelled", timeout=30).end_reason == "cancelled"
    assert row(result.id).status == "cancelled"
    assert wait_final(alice_client, result.id)["status"] == "cancelled"


@pytest.mark.core
def test_replaced_by_a_group_the_job_becomes_its_roll_up(
    worker: Any, alice: Any, alice_client: Client
) -> None:
    with progress_owner(alice):
        result = tasks.split_into.delay(3, 4)
    data = wait_final(alice_client, result.id, timeout=40)
    assert (data["status"], data["kind"], data["parts_done"], data["parts_total"]) == (
        "completed",
        "group",
        3,
        3,
    )
    assert (data["processed_items"], data["total_items"]) == (12, 12)
    members = SSEProgress.objects.filter(rollup_id=result.id)
    assert all(m.status == "completed" for m in members)


@pytest.mark.slow
def test_a_thousand_member_roll_up_reads_in_one_query_over_its_members(
    alice: Any, alice_client: Client, django_assert_num_queries: Any
) -> None:
    with progress_owner(alice):
        result = group(tasks.count.si(1) for _ in range(1000)).apply_async(queue=unconsumed())
    members = SSEProgress.objects.filter(rollup_id=result.id)
    assert members.count() == 1000
    members.filter(pk__in=list(members.values_list("pk", flat=True)[:400])).update(
        status="completed", total_items=2, processed_items=2
    )
    with django_assert_num_queries(2):  # the session, the job and its owner; the members
        data = detail(alice_client, result.id)
    assert (data["parts_total"], data["parts_done"], data["status"]) == (1000, 400, "in_progress")
    assert (data["processed_items"], data["total_items"]) == (800, 0)  # totals still unknown
    assert data["progress_percentage"] == 40  # the share of ended parts meanwhile
    assert len(data["members"]) == 100  # PROGRESS_TRACKER_ROLLUP_MEMBERS_LISTED
    members.update(status="completed", total_items=2, processed_items=2)
    with django_assert_num_queries(3):  # and the write that closes the group's row
        data = detail(alice_client, result.id)
    assert (data["parts_done"], data["status"], data["progress_percentage"]) == (
        1000,
        "completed",
        100,
    )
    assert (data["processed_items"], data["total_items"]) == (2000, 2000)
    assert row(result.id).status == "completed"


@pytest.mark.core
def test_a_chain_step_cancelled_by_its_own_id_closes_the_steps_after_it(
    worker: Any, alice: Any, alice_client: Client
) -> None:
    with progress_owner(alice):
        result = chain(tasks.until_cancelled.si(30), tasks.pipe.s(2)).apply_async()
    first = result.parent.id
    wait_status(first, "in_progress")
    url = reverse("celery_progress_tracker:sse_progress_cancel", args=[first])
    assert alice_client.post(url).status_code == 200
    assert wait_status(first, "cancelled", timeout=30).end_reason == "cancelled"
    last = wait_status(result.id, "cancelled")
    assert (last.end_reason, last.current_message) == (
        "never_started",
        f"Not run: job {first} was cancelled",
    )
    assert wait_final(alice_client, result.id)["status"] == "cancelled"


@pytest.mark.core
def test_replaced_by_a_chain_the_job_becomes_its_roll_up(
    worker: Any, alice: Any, alice_client: Client
) -> None:
    with progress_owner(alice):
        result = tasks.split_into_steps.delay(2, 3)
    data = wait_final(alice_client, result.id, timeout=40)
    assert (data["status"], data["kind"], data["parts_done"], data["parts_total"]) == (
        "completed",
        "chain",
        2,
        2,
    )
    assert (data["processed_items"], data["total_items"]) == (5, 5)
    assert result.id in {m["job_id"] for m in data["members"]}  # the last step took its id


def test_a_cancelled_chain_step_published_later_never_runs(
    worker: Any, alice: Any, alice_client: Client
) -> None:
    # The first step makes no progress call after the cancel: it completes, and Celery
    # then publishes the second step, whose row was cancelled with the chain.
    with progress_owner(alice):
        result = chain(tasks.sleep_then.si(1, 1.5), tasks.pipe.s(2)).apply_async()
    wait_status(result.parent.id, "in_progress")
    url = reverse("celery_progress_tracker:sse_progress_cancel", args=[result.id])
    assert alice_client.post(url).status_code == 200
    assert wait_status(result.parent.id, "completed", "cancelled", timeout=30)
    wait_for(lambda: result.state == "REVOKED", timeout=30)
    last = row(result.id)
    assert (last.status, last.started_at, last.processed_items) == ("cancelled", None, 0)
    assert wait_final(alice_client, result.id)["status"] == "cancelled"

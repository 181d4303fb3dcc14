"""The owner follows the work: jobs started by a running task belong to its owner.

One rule for every path: a task published while another runs (a ProgressTask or
a plain task; ``apply_async``, ``send_task``, chains, groups, chords) belongs to
the running task's owner, unless the caller passes one.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from celery_progress_tracker.ownership import progress_owner
from tests.cookiecutter.jobs.tasks import (
    import_then_orchestrate,
    orchestrate,
    orchestrate_tracked,
)
from tests.harness import row, wait_status

pytestmark = pytest.mark.core

PATHS = ["apply_async", "send_task", "chain", "group", "chord"]


def owners(job_ids: list[str]) -> list[Any]:
    return [wait_status(job_id, "completed", timeout=60).user_id for job_id in job_ids]


@pytest.mark.parametrize("how", PATHS)
def test_a_plain_task_hands_its_owner_on(worker: Any, alice: Any, how: str) -> None:
    with progress_owner(alice):
        started = orchestrate.delay(2, how)
    job_ids = started.get(timeout=60)
    assert len(job_ids) >= 1
    assert owners(job_ids) == [alice.pk] * len(job_ids)
    assert row(started.id) is None  # the plain task itself has no row


@pytest.mark.parametrize("how", PATHS)
def test_a_progress_task_hands_its_owner_on(worker: Any, alice: Any, how: str) -> None:
    started = orchestrate_tracked.apply_async((2, how), progress_owner=alice)
    job_ids = started.get(timeout=60)
    assert owners([started.id, *job_ids]) == [alice.pk] * (1 + len(job_ids))


def test_a_plain_task_started_in_a_request_carries_the_user(worker: Any, alice: Any) -> None:
    client = Client()
    client.force_login(alice)
    response = client.post("/jobs/orchestrate/", {"how": "chain"})
    job_ids = orchestrate.AsyncResult(response.json()["task_id"]).get(timeout=60)
    assert owners(job_ids) == [alice.pk, alice.pk]


def test_through_a_progress_task_and_a_plain_task(worker: Any, alice: Any) -> None:
    first = import_then_orchestrate.apply_async((2,), progress_owner=alice)
    middle = orchestrate.AsyncResult(first.get(timeout=60))
    assert owners([first.id, *middle.get(timeout=60)]) == [alice.pk, alice.pk]


def test_an_explicit_owner_wins_and_nothing_is_left_behind(worker: Any, alice: Any) -> None:
    with progress_owner(alice):
        explicit = orchestrate.delay(2, "no_owner")
    assert owners(explicit.get(timeout=60)) == [None]
    # The same worker thread ran alice's tasks: a task started for nobody is nobody's.
    with progress_owner(alice):
        assert owners(orchestrate.delay(2, "apply_async").get(timeout=60)) == [alice.pk]
    assert owners(orchestrate.delay(2, "chain").get(timeout=60)) == [None, None]

"""A job started while a request is handled belongs to the request's user."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from celery_progress_tracker.checks import OWNER_MIDDLEWARE, check_owner_middleware
from celery_progress_tracker.models import SSEProgress
from tests.conftest import row, wait_for, wait_status

pytestmark = pytest.mark.core


@pytest.fixture
def atomic_requests() -> Iterator[None]:
    connection.settings_dict["ATOMIC_REQUESTS"] = True
    try:
        yield
    finally:
        connection.settings_dict["ATOMIC_REQUESTS"] = False


def test_request_user_owns_the_job_without_extra_code(worker: Any, django_user_model: Any) -> None:
    alice = django_user_model.objects.create_user("alice")
    client = Client()
    client.force_login(alice)
    job_id = client.post("/start/").json()["job_id"]
    assert row(job_id).user_id == alice.pk  # from the publish, before any worker
    job = wait_status(job_id, "completed")
    assert job.user_id == alice.pk


def test_without_the_middleware_the_user_cannot_read_the_job_check_w010_says_so(
    worker: Any, django_user_model: Any, settings: Any
) -> None:
    alice = django_user_model.objects.create_user("alice")
    settings.MIDDLEWARE = [m for m in settings.MIDDLEWARE if m != OWNER_MIDDLEWARE]
    client = Client()
    client.force_login(alice)
    job_id = client.post("/start/").json()["job_id"]
    assert wait_status(job_id, "completed").user_id is None
    answer = client.get(f"/core/sse-progress/{job_id}/")
    assert (answer.status_code, answer.json()["error"]) == (404, "not_found")
    assert [w.id for w in check_owner_middleware()] == ["celery_progress_tracker.W010"]


def test_the_middleware_before_authentication_still_sees_the_user(
    worker: Any, django_user_model: Any, settings: Any
) -> None:
    bob = django_user_model.objects.create_user("bob")
    others = [m for m in settings.MIDDLEWARE if m != OWNER_MIDDLEWARE]
    settings.MIDDLEWARE = [OWNER_MIDDLEWARE, *others]  # first: the user is read at publish
    client = Client()
    client.force_login(bob)
    job_id = client.post("/start/").json()["job_id"]
    assert wait_status(job_id, "completed").user_id == bob.pk
    assert client.get(f"/core/sse-progress/{job_id}/").status_code == 200


def test_anonymous_request_gives_an_ownerless_job(worker: Any) -> None:
    job_id = Client().post("/start/").json()["job_id"]
    assert wait_status(job_id, "completed").user_id is None


def test_delay_on_commit_under_atomic_requests(
    worker: Any, django_user_model: Any, atomic_requests: None
) -> None:
    bob = django_user_model.objects.create_user("bob")
    client = Client()
    client.force_login(bob)
    assert client.post("/start-on-commit/").status_code == 200
    job = wait_for(lambda: SSEProgress.objects.filter(user=bob, status="completed").first())
    assert (job.processed_items, job.total_items) == (3, 3)


def test_a_plain_tasks_message_carries_the_owner_when_one_is_known() -> None:
    from celery_progress_tracker.ownership import HEADER, progress_owner
    from celery_progress_tracker.receivers import on_before_task_publish
    from tests.tasks import plain

    headers: dict[str, Any] = {"id": "t1"}
    on_before_task_publish(sender=plain.name, headers=headers)
    assert HEADER not in headers  # nobody known: nothing added
    with progress_owner(7):
        on_before_task_publish(sender=plain.name, headers=headers)
        given = {"id": "t2", HEADER: {"owner": None}}
        on_before_task_publish(sender=plain.name, headers=given)
    assert headers[HEADER] == {"owner": 7}
    assert given[HEADER] == {"owner": None}  # the caller's choice stands


def test_an_owner_that_cannot_be_resolved_never_stops_a_plain_publish(
    caplog: pytest.LogCaptureFixture,
) -> None:
    from celery_progress_tracker.ownership import (
        HEADER,
        reset_current_request,
        set_current_request,
    )
    from celery_progress_tracker.receivers import on_before_task_publish
    from tests.tasks import plain

    class Request:
        @property
        def user(self) -> Any:
            raise RuntimeError("no session here")

    token = set_current_request(Request())
    try:
        headers: dict[str, Any] = {"id": "t3"}
        on_before_task_publish(sender=plain.name, headers=headers)
    finally:
        reset_current_request(token)
    assert HEADER not in headers
    assert "could not resolve the owner of task t3" in caplog.text

"""Who may do what: every requester, every endpoint and method, with and without CSRF."""

from __future__ import annotations

import itertools
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils.crypto import get_random_string

from celery_progress_tracker.models import SSEProgress
from tests.api_support import BASE, body, cancel_url, delete_url, detail_url, finish, make_job

pytestmark = [pytest.mark.django_db, pytest.mark.core]

REQUESTERS = ("anonymous", "owner", "other", "staff")

#: (name, method, url); "done" is a finished job of the owner, "waiting" a pending one.
ENDPOINTS = (
    ("list", "get", BASE),
    ("active", "get", f"{BASE}active/"),
    ("detail", "get", detail_url("done")),
    ("detail-head", "head", detail_url("done")),
    ("delete", "delete", delete_url("done")),
    ("cancel", "post", cancel_url("waiting")),
)

#: Expected (status, error code or the number of jobs listed) with a valid CSRF token.
#: Staff have STAFF_SEES_ALL: they read every job but act only on their own, and the
#: lists stay "my jobs". Everywhere another user's job is a 404, like a missing one.
EXPECTED: dict[tuple[str, str], tuple[int, Any]] = {
    ("anonymous", "list"): (401, "not_authenticated"),
    ("anonymous", "active"): (401, "not_authenticated"),
    ("anonymous", "detail"): (401, "not_authenticated"),
    ("anonymous", "detail-head"): (401, None),
    ("anonymous", "delete"): (401, "not_authenticated"),
    ("anonymous", "cancel"): (401, "not_authenticated"),
    ("owner", "list"): (200, 2),
    ("owner", "active"): (200, 1),
    ("owner", "detail"): (200, None),
    ("owner", "detail-head"): (200, None),
    ("owner", "delete"): (200, None),
    ("owner", "cancel"): (200, None),
    ("other", "list"): (200, 0),
    ("other", "active"): (200, 0),
    ("other", "detail"): (404, "not_found"),
    ("other", "detail-head"): (404, None),
    ("other", "delete"): (404, "not_found"),
    ("other", "cancel"): (404, "not_found"),
    ("staff", "list"): (200, 0),
    ("staff", "active"): (200, 0),
    ("staff", "detail"): (200, None),
    ("staff", "detail-head"): (200, None),
    ("staff", "delete"): (403, "permission_denied"),
    ("staff", "cancel"): (403, "permission_denied"),
}


@pytest.mark.parametrize(
    ("requester", "endpoint", "with_csrf"),
    list(itertools.product(REQUESTERS, ENDPOINTS, (True, False))),
    ids=lambda value: value[0] if isinstance(value, tuple) else str(value),
)
def test_authorisation_matrix(
    requester: str, endpoint: tuple[str, str, str], with_csrf: bool, settings: Any
) -> None:
    settings.PROGRESS_TRACKER_STAFF_SEES_ALL = True
    users = get_user_model().objects
    owner = users.create_user("owner")
    finish(make_job("done", owner))
    make_job("waiting", owner)
    client = Client(enforce_csrf_checks=True)
    if requester != "anonymous":
        client.force_login(
            {
                "owner": owner,
                "other": users.create_user("other"),
                "staff": users.create_user("staff", is_staff=True),
            }[requester]
        )
    headers = {}
    if with_csrf:
        token = get_random_string(32)
        client.cookies["csrftoken"] = token
        headers["X-CSRFToken"] = token

    name, method, url = endpoint
    response = getattr(client, method)(url, headers=headers)

    unsafe = method in ("delete", "post")
    status, detail = (403, "csrf_failed") if unsafe and not with_csrf else EXPECTED[requester, name]
    assert response.status_code == status, (response.status_code, response.content[:200])
    if method == "head":
        assert response.content == b""
    elif isinstance(detail, str):
        assert body(response)["error"] == detail
    elif isinstance(detail, int):
        assert body(response)["count"] == detail
    else:
        assert body(response)["job_id"] in {"done", "waiting"}

    changed = response.status_code == 200 and unsafe
    assert SSEProgress.objects.filter(job_id="done").exists() is not (changed and name == "delete")
    cancelled = SSEProgress.objects.get(job_id="waiting").status == "cancelled"
    assert cancelled is (changed and name == "cancel")

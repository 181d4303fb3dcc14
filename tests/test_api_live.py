"""The polling API over real HTTP, following jobs that run on a real Celery worker."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client
from django.utils.crypto import get_random_string

from tests import tasks
from tests.conftest import wait_for, wait_status

CSRF_TOKEN = get_random_string(32)


@dataclass
class Answer:
    status: int
    headers: Any
    body: Any


class Browser:
    """Requests over a socket with a user's session cookie, like a logged-in page."""

    def __init__(self, base_url: str, user: Any = None) -> None:
        self.base_url = base_url
        self.cookies = f"csrftoken={CSRF_TOKEN}"
        if user is not None:
            client = Client()
            client.force_login(user)
            session = client.cookies[settings.SESSION_COOKIE_NAME].value
            self.cookies += f"; {settings.SESSION_COOKIE_NAME}={session}"

    def request(self, method: str, path: str, **headers: str) -> Answer:
        request = Request(self.base_url + path, method=method)
        request.add_header("Cookie", self.cookies)
        for name, value in headers.items():
            request.add_header(name.replace("_", "-"), value)
        try:
            with urlopen(request, timeout=30) as response:
                status, head, raw = response.status, response.headers, response.read()
        except HTTPError as error:
            with error:
                status, head, raw = error.code, error.headers, error.read()
        if raw:
            assert head["Content-Type"] == "application/json", (status, raw[:200])
        return Answer(status, head, json.loads(raw) if raw else None)


@pytest.fixture
def users() -> dict[str, Any]:
    model = get_user_model()
    return {"alice": model.objects.create_user("alice"), "bob": model.objects.create_user("bob")}


def test_a_bar_polls_a_real_job_to_completion(
    worker: Any, live_server: Any, users: dict[str, Any]
) -> None:
    alice, bob = Browser(live_server.url, users["alice"]), Browser(live_server.url, users["bob"])
    anonymous = Browser(live_server.url)
    result = tasks.count.apply_async((40,), {"delay": 0.05}, progress_owner=users["alice"])
    url = f"/core/sse-progress/{result.id}/"

    seen: list[tuple[str, int]] = []
    etag = ""
    not_modified = 0

    def poll() -> bool:
        nonlocal etag, not_modified
        answer = (
            alice.request("GET", url, If_None_Match=etag) if etag else alice.request("GET", url)
        )
        if answer.status == 304:
            not_modified += 1
            return False
        assert answer.status == 200, answer
        assert "no-store" in answer.headers["Cache-Control"]
        etag = answer.headers["ETag"]
        seen.append((answer.body["status"], answer.body["progress_percentage"]))
        return answer.body["status"] == "completed"

    wait_for(poll, timeout=60, interval=0.02)
    percentages = [percentage for _, percentage in seen]
    assert percentages == sorted(percentages), seen
    assert seen[-1] == ("completed", 100)
    final = alice.request("GET", url, If_None_Match=etag)
    assert (final.status, final.body) == (304, None)

    assert bob.request("GET", url).status == 404
    assert anonymous.request("GET", url).body["error"] == "not_authenticated"
    listed = alice.request("GET", f"/core/sse-progress/?job_id={result.id}&job_id=other")
    assert [job["job_id"] for job in listed.body["results"]] == [result.id]
    assert bob.request("GET", "/core/sse-progress/").body["count"] == 0

    no_token = alice.request("DELETE", f"{url}delete/")
    assert (no_token.status, no_token.body["error"]) == (403, "csrf_failed")
    deleted = alice.request("DELETE", f"{url}delete/", X_CSRFToken=CSRF_TOKEN)
    assert (deleted.status, deleted.body) == (200, {"success": True, "job_id": result.id})
    assert alice.request("GET", url).status == 404


def test_cancel_over_http_stops_a_running_job(
    worker: Any, live_server: Any, users: dict[str, Any]
) -> None:
    alice = Browser(live_server.url, users["alice"])
    result = tasks.until_cancelled.apply_async((60,), progress_owner=users["alice"])
    url = f"/core/sse-progress/{result.id}/"
    wait_for(lambda: alice.request("GET", url).body["status"] == "in_progress", timeout=30)

    busy = alice.request("DELETE", f"{url}delete/", X_CSRFToken=CSRF_TOKEN)
    assert (busy.status, busy.body["error"]) == (409, "job_active")
    cancelled = alice.request("POST", f"{url}cancel/", X_CSRFToken=CSRF_TOKEN)
    assert cancelled.status == 200 and cancelled.body["cancel_requested"] is True

    wait_status(result.id, "cancelled", timeout=30)  # ran to its end, it would be completed
    final = alice.request("GET", url).body
    assert (final["status"], final["cancel_requested"]) == ("cancelled", True)
    again = alice.request("POST", f"{url}cancel/", X_CSRFToken=CSRF_TOKEN)
    assert (again.status, again.body["error"]) == (409, "job_finished")

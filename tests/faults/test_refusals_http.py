"""Requests Django refuses to read, over a real gunicorn: always the API's JSON error."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from tests.api_support import make_job
from tests.faults.server import GunicornServer, HttpClient, session_cookie

pytestmark = pytest.mark.core

# Short fields: gunicorn refuses a request line over 4,094 bytes itself (a 414).
MANY = "&".join(["a=1"] * 1_001)


@pytest.fixture
def server(transactional_db: None) -> Iterator[GunicornServer]:
    server = GunicornServer(workers=1, settings_module="tests.faults.refusal_settings")
    yield server
    server.stop()


def _refused(answer: Any, status: int = 400, code: str = "bad_request") -> None:
    assert answer.status == status, (answer.status, answer.raw[:200])
    assert answer.json()["error"] == code
    assert "no-cache" in answer.headers["cache-control"]
    assert b"<" not in answer.raw


def test_refusals_are_json_over_real_http(server: GunicornServer) -> None:
    alice = get_user_model().objects.create_user("alice")
    make_job("job-1", alice)
    http = HttpClient(server.port, session_cookie(alice))
    _refused(http.request("GET", f"/core/sse-progress/?{MANY}"))
    _refused(http.request("GET", f"/core/sse-progress/active/?{MANY}"))
    form = {"Content-Type": "application/x-www-form-urlencoded"}
    # Without the CSRF header the check looks for the token in the form: 1,001 fields.
    _refused(
        http.request("POST", "/core/sse-progress/job-1/cancel/", MANY.encode(), form, csrf=False)
    )
    broken = {"Content-Type": "multipart/form-data"}  # no boundary
    _refused(http.request("POST", "/core/sse-progress/job-1/cancel/", b"x", broken, csrf=False))
    _refused(http.request("GET", "/core/sse-progress/", headers={"Host": "evil.example"}))
    _refused(http.request("GET", "/core/nowhere/", headers={"Host": "evil.example"}))
    # The site's other pages keep Django's own answer.
    other = http.request("GET", "/admin/", headers={"Host": "evil.example"})
    assert other.status == 400 and "json" not in other.headers["content-type"]
    assert server.errors() == [] or all("DisallowedHost" in line for line in server.errors())

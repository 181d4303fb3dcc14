"""Whatever a client sends, the API answers 200 or a 4xx, in JSON: never a 500.

The PostgreSQL run of the same property is in ``test_api_postgres.py``.
"""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.contrib.auth import get_user_model
from django.test import Client
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from tests.api_support import BASE, finish, make_job

pytestmark = [pytest.mark.django_db, pytest.mark.core]

NASTY_IDS = [
    "",
    "x" * 10_000,
    "x" * 255,
    "x" * 256,
    "a/b",
    "a%2Fb",
    "..",
    "%",
    "\x00",
    "a\x00b",
    "'; DROP TABLE celery_progress_tracker_sseprogress; --",
    "1' OR '1'='1",
    "job-1",
    "active",
    "é😀\u202e\ufeff",
    "\ud7ff\ue000",
    " ",
    "\n",
]

job_ids = st.one_of(st.sampled_from(NASTY_IDS), st.text(max_size=300))
methods = st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS", "TRACE"])
query_values = st.one_of(
    st.sampled_from(["", "0", "-1", "1", "2", "100", "101", "9" * 30, "pending", "\x00", "1e3"]),
    st.text(max_size=60),
)
queries = st.lists(
    st.tuples(
        st.sampled_from(["page", "page_size", "status", "task_type", "job_id", "other"]),
        query_values,
    ),
    max_size=6,
)


@st.composite
def requests(draw: st.DrawFn) -> tuple[str, str]:
    """A method and a URL under the API's prefix."""
    kind = draw(st.sampled_from(["list", "active", "detail", "delete", "cancel", "other"]))
    if kind in ("list", "active"):
        path = BASE if kind == "list" else f"{BASE}active/"
    else:
        job_id = draw(job_ids)
        # Either every character escaped (a slash becomes %2F) or slashes left as they are.
        encoded = quote(job_id, safe="" if draw(st.booleans()) else "/")
        suffix = {"detail": "", "delete": "delete/", "cancel": "cancel/"}.get(kind)
        if suffix is None:
            suffix = quote(draw(st.text(max_size=20)), safe="/")
        path = f"{BASE}{encoded}/{suffix}"
    query = draw(queries)
    if query:
        path = f"{path}?{urlencode(query)}"
    # Half the time a method the endpoint takes, so that requests get past the 405.
    allowed = {"delete": ["DELETE"], "cancel": ["POST"]}.get(kind, ["GET", "HEAD"])
    return draw(st.one_of(st.sampled_from(allowed), methods)), path


def check_answer(client: Client, method: str, url: str) -> None:
    """The property: a 200 or a 4xx, JSON, with the error shape on errors."""
    response = client.generic(method, url)
    assert response.status_code == 200 or 400 <= response.status_code < 500, (
        method, url[:200], response.status_code, response.content[:300],
    )  # fmt: skip
    assert response["Content-Type"] == "application/json", (method, url[:200])
    if method == "HEAD":
        return
    data = json.loads(response.content)
    if response.status_code >= 400:
        assert set(data) == {"error", "message"}, data
        assert "Traceback" not in data["message"]
    if response.status_code == 405:
        assert response["Allow"]


@pytest.fixture
def polling_clients(db: None) -> dict[str, Client]:
    user = get_user_model().objects.create_user("alice")
    finish(make_job("job-1", user))
    make_job("job-2", user)
    make_job("active", user)
    make_job("x" * 255, user)
    logged_in = Client()
    logged_in.force_login(user)
    return {"anonymous": Client(), "owner": logged_in}


FUZZ_SETTINGS = settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)


@FUZZ_SETTINGS
@given(request=requests(), who=st.sampled_from(["anonymous", "owner"]))
def test_any_request_is_answered_in_json_and_never_5xx(
    polling_clients: dict[str, Client], request: tuple[str, str], who: str
) -> None:
    check_answer(polling_clients[who], *request)


def check_nasty_ids(client: Client) -> None:
    """Every nasty id on every endpoint, escaped both ways, and in every query parameter."""
    for job_id in NASTY_IDS:
        for suffix, method in (("", "GET"), ("delete/", "DELETE"), ("cancel/", "POST")):
            for safe in ("", "/"):
                check_answer(client, method, f"{BASE}{quote(job_id, safe=safe)}/{suffix}")
        for name in ("job_id", "task_type", "status", "page", "page_size"):
            for url in (BASE, f"{BASE}active/"):
                check_answer(client, "GET", f"{url}?{urlencode({name: job_id})}")


def test_nasty_ids_on_every_endpoint(polling_clients: dict[str, Client]) -> None:
    check_nasty_ids(polling_clients["owner"])


def test_the_fuzzed_urls_reach_the_views(polling_clients: dict[str, Client]) -> None:
    """Guards the property above against passing vacuously (e.g. everything a 404)."""
    client = polling_clients["owner"]
    assert client.get(f"{BASE}job-1/").status_code == 200
    assert client.get(f"{BASE}{'x' * 255}/").status_code == 200
    assert client.get(f"{BASE}?page=1&status=pending").json()["count"] == 3


@settings(max_examples=100, deadline=None, suppress_health_check=list(HealthCheck))
@given(header=st.text(max_size=200))
def test_any_if_none_match_header_is_harmless(
    polling_clients: dict[str, Client], header: str
) -> None:
    response = polling_clients["owner"].get(f"{BASE}job-1/", headers={"If-None-Match": header})
    assert response.status_code in (200, 304)


def check_fuzz_on_current_database(clients: dict[str, Any]) -> None:
    """Run the property from another module (the PostgreSQL one) with its own fixture."""

    @FUZZ_SETTINGS
    @given(request=requests(), who=st.sampled_from(["anonymous", "owner"]))
    def run(request: tuple[str, str], who: str) -> None:
        check_answer(clients[who], *request)

    run()

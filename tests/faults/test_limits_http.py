"""The list endpoints' limits through a real gunicorn, as the HTTP API docs state them.

gunicorn refuses a request line longer than 4,094 bytes (``--limit-request-line``)
with its own 414 page: Django never sees it. Under it, the API's own limits answer.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from jsonschema import Draft202012Validator

from celery_progress_tracker.params import MAX_JOB_IDS
from tests.api_support import BASE, make_job
from tests.faults.server import Answer, GunicornServer, HttpClient, session_cookie
from tests.test_openapi import BASE_URI, PREFIX, REGISTRY, SPEC

pytestmark = pytest.mark.slow

#: gunicorn's default ``limit_request_line``.
REQUEST_LINE_LIMIT = 4094
#: Celery task ids in one ``?job_id=`` list at ``/core/sse-progress/`` under that limit.
UUIDS_PER_REQUEST = 92


@pytest.fixture
def server(transactional_db: None) -> Iterator[GunicornServer]:
    """One sync worker is enough: the requests go one after the other."""
    gunicorn = GunicornServer(workers=1)
    yield gunicorn
    gunicorn.stop()


def request_line(path: str) -> int:
    """The bytes of the request line ``http.client`` sends (without its CRLF)."""
    return len(f"GET {path} HTTP/1.1".encode())


def documented(answer: Answer, template: str) -> dict[str, Any]:
    """The answer's documented response, its body checked against the document."""
    spec = SPEC["paths"][template]["get"]["responses"][str(answer.status)]
    spec = REGISTRY.resolver(BASE_URI).lookup(spec["$ref"]).contents
    (media_type,) = spec["content"]
    assert answer.headers["content-type"].split(";")[0] == media_type
    if media_type == "application/json":
        schema = spec["content"][media_type]["schema"]
        validator = Draft202012Validator({"$ref": f"{BASE_URI}{schema['$ref']}"}, registry=REGISTRY)
        assert not [error.message for error in validator.iter_errors(answer.json())]
    return spec


def test_list_limits_through_gunicorn(server: GunicornServer) -> None:
    owner = get_user_model().objects.create_user("owner")
    job_ids = [str(uuid.uuid4()) for _ in range(MAX_JOB_IDS + 1)]
    for job_id in job_ids:
        make_job(job_id, owner)
    client = HttpClient(server.port, session_cookie(owner))
    assert f"{PREFIX}/sse-progress/" == BASE  # the document's paths, as mounted here

    def ask(ids: list[str], extra: str = "") -> tuple[Answer, int]:
        path = f"{BASE}?" + "&".join(f"job_id={job_id}" for job_id in ids) + extra
        return client.request("GET", path), request_line(path)

    # As many Celery ids as fit in gunicorn's request line: one JSON answer.
    answer, length = ask(job_ids[:UUIDS_PER_REQUEST])
    assert length <= REQUEST_LINE_LIMIT
    assert answer.status == 200 and answer.json()["count"] == UUIDS_PER_REQUEST
    documented(answer, "/sse-progress/")

    # The line at the limit passes; one byte more is gunicorn's 414, never Django's.
    padding = REQUEST_LINE_LIMIT - length - len("&_=")
    at_limit, length = ask(job_ids[:UUIDS_PER_REQUEST], "&_=" + "1" * padding)
    assert length == REQUEST_LINE_LIMIT and at_limit.status == 200
    over, length = ask(job_ids[:UUIDS_PER_REQUEST], "&_=" + "1" * (padding + 1))
    assert length == REQUEST_LINE_LIMIT + 1
    assert over.status == 414, over.raw[:300]
    assert over.headers["content-type"] == "text/html" and b"URI Too Long" in over.raw
    for template in ("/sse-progress/", "/sse-progress/active/"):
        spec = documented(over, template)
        assert "4094" in spec["description"].replace(",", "")

    # One Celery id more than fit, and the documented maximum of 100: refused by gunicorn.
    for count in (UUIDS_PER_REQUEST + 1, MAX_JOB_IDS):
        answer, length = ask(job_ids[:count])
        assert length > REQUEST_LINE_LIMIT and answer.status == 414

    # Under the line's limit, the API's own: more than 100 ids, a page past the last.
    short = [f"j{n}" for n in range(MAX_JOB_IDS + 1)]
    answer, length = ask(short)
    assert length <= REQUEST_LINE_LIMIT
    assert answer.status == 400 and answer.json()["error"] == "too_many_job_ids"
    documented(answer, "/sse-progress/")
    for page in ("7", "9" * 30):  # 101 jobs: 6 pages of 20
        answer = client.request("GET", f"{BASE}active/?page={page}")
        assert answer.status == 404 and answer.json()["error"] == "not_found"
        documented(answer, "/sse-progress/active/")
    assert not server.errors(), "\n".join(server.errors()[-20:])

"""Hostile HTTP through a real gunicorn: fuzzing, the authorisation matrix, racing deletes.

The in-process versions (``tests/test_api_fuzz.py``, ``tests/test_api_matrix.py``)
use Django's test client; here the same questions are asked over sockets, so
HTTP parsing, headers, bodies and several worker processes are real too.
"""

from __future__ import annotations

import threading
from collections import Counter
from typing import Any
from urllib.parse import quote, urlencode

import pytest
from django.contrib.auth import get_user_model
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from jsonschema import Draft202012Validator

from celery_progress_tracker.models import SSEProgress
from tests import tasks
from tests.api_support import finish, make_job
from tests.conftest import wait_status
from tests.faults.server import Answer, GunicornServer, HttpClient, session_cookie
from tests.test_api_fuzz import job_ids, queries
from tests.test_api_matrix import ENDPOINTS, EXPECTED, REQUESTERS
from tests.test_openapi import BASE_URI, PREFIX, REGISTRY, SPEC

pytestmark = pytest.mark.slow

header_text = st.text(
    alphabet=st.characters(min_codepoint=0x20, max_codepoint=0xFF, exclude_characters="\x7f"),
    max_size=80,
)
HEADERS = {
    "If-None-Match": st.one_of(st.just('W/"x"'), st.just("*"), header_text),
    "Content-Type": st.one_of(
        st.sampled_from(
            [
                "application/json",
                "text/plain",
                "application/x-www-form-urlencoded",
                "multipart/form-data; boundary=x",
            ]
        ),
        header_text,
    ),
    "Accept": header_text,
    "Accept-Language": st.one_of(
        st.sampled_from(["fr", "en", "de", "*", "fr-CH, fr;q=0.9"]), header_text
    ),
    "X-CSRFToken": header_text,
    "Origin": header_text,
    "Referer": header_text,
    "X-Requested-With": st.just("XMLHttpRequest"),
}
bodies = st.one_of(
    st.none(),
    st.binary(max_size=2_000),
    st.just(b'{"job_id": "job-1", "status": "completed"}'),
    st.just(b"page=1&page_size=-1"),
    st.just(b"x" * 300_000),
)


@st.composite
def http_requests(draw: st.DrawFn) -> dict[str, Any]:
    """A request to a path of the OpenAPI document (or another one under the prefix)."""
    documented = sorted(SPEC["paths"])
    template = draw(st.sampled_from([*documented, None]))
    if template is None:
        path = f"{PREFIX}/{quote(draw(st.text(max_size=30)), safe='/')}"
        methods = ["GET"]
    else:
        job_id = draw(job_ids)
        encoded = quote(job_id, safe="" if draw(st.booleans()) else "/")
        path = PREFIX + template.replace("{job_id}", encoded)
        methods = [method.upper() for method in SPEC["paths"][template]]
    query = draw(queries)
    if query:
        path = f"{path}?{urlencode(query)}"
    method = draw(
        st.one_of(
            st.sampled_from(methods),
            st.sampled_from(["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]),
        )
    )
    names = draw(st.lists(st.sampled_from(sorted(HEADERS)), unique=True, max_size=4))
    return {
        "template": template,
        "method": method,
        "path": path,
        "headers": {name: draw(HEADERS[name]) for name in names},
        "body": draw(bodies),
        "who": draw(st.sampled_from(REQUESTERS)),
        "csrf": draw(st.booleans()),
    }


def check_documented(answer: Answer, template: str, method: str) -> str | None:
    """Validate the body against the document when it documents this answer."""
    operations = SPEC["paths"][template]
    if method.lower() not in operations:
        return None
    responses = operations[method.lower()]["responses"]
    if answer.status == 405:
        spec: dict[str, Any] = {"$ref": "#/components/responses/MethodNotAllowed"}
    else:
        assert str(answer.status) in responses, (method, template, answer.status, answer.raw)
        spec = responses[str(answer.status)]
    if "$ref" in spec:
        spec = REGISTRY.resolver(BASE_URI).lookup(spec["$ref"]).contents
    if "content" not in spec:
        return f"{method} {template} {answer.status}"
    schema = spec["content"]["application/json"]["schema"]
    validator = Draft202012Validator({"$ref": f"{BASE_URI}{schema['$ref']}"}, registry=REGISTRY)
    errors = [error.message for error in validator.iter_errors(answer.json())]
    assert not errors, (method, template, answer.status, errors)
    return f"{method} {template} {answer.status}"


@pytest.fixture
def people(transactional_db: None) -> dict[str, Any]:
    users = get_user_model().objects
    owner = users.create_user("owner")
    return {
        "anonymous": None,
        "owner": owner,
        "other": users.create_user("other"),
        "staff": users.create_user("staff", is_staff=True),
    }


def test_fuzz_every_documented_endpoint_through_gunicorn(
    gunicorn: GunicornServer, people: dict[str, Any]
) -> None:
    owner = people["owner"]
    finish(make_job("job-1", owner))
    make_job("job-2", owner)
    for job_id in ("x" * 255, "é😀\u202e\ufeff", "a b"):
        finish(make_job(job_id, owner))
    clients = {who: HttpClient(gunicorn.port, session_cookie(user)) for who, user in people.items()}
    seen: Counter[str] = Counter()
    statuses: Counter[int] = Counter()

    @settings(
        max_examples=400,
        deadline=None,
        suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
    )
    @given(request=http_requests())
    def answers_cleanly(request: dict[str, Any]) -> None:
        answer = clients[request["who"]].request(
            request["method"],
            request["path"],
            body=request["body"],
            headers=request["headers"],
            csrf=request["csrf"],
        )
        statuses[answer.status] += 1
        where = (request["method"], request["path"][:200], answer.status, answer.raw[:300])
        if answer.status == 414:
            # gunicorn's own limit on the request line (4094 bytes): Django never sees it.
            assert len(request["path"]) > 4000, where
            return
        assert answer.status < 500, where
        if request["method"] == "HEAD" or answer.status == 304:
            assert answer.raw == b"", where
        else:
            data = answer.json()
            if answer.status >= 400:
                assert set(data) == {"error", "message"}, where
        if request["template"] is not None:
            documented = check_documented(answer, request["template"], request["method"])
            if documented:
                seen[documented] += 1

    answers_cleanly()
    assert not gunicorn.errors(), "\n".join(gunicorn.errors()[-40:])
    # The fuzzing went past the first checks (authentication, CSRF, methods).
    assert len(statuses) >= 4 and statuses[404], statuses
    print(f"fuzz through gunicorn: statuses {dict(statuses)}; {len(seen)} documented answers")


def test_a_multipart_post_without_boundary_gets_a_json_error(
    gunicorn: GunicornServer, people: dict[str, Any]
) -> None:
    # Without an X-CSRFToken header the CSRF check looks for the token in the
    # form, and parsing a multipart body with no boundary raises before the view.
    finish(make_job("job-1", people["owner"]))
    for who in ("anonymous", "owner"):
        client = HttpClient(gunicorn.port, session_cookie(people[who]))
        for method, url in (("POST", "job-1/cancel/"), ("DELETE", "job-1/delete/")):
            answer = client.request(
                method,
                f"/core/sse-progress/{url}",
                body=b"",
                headers={"Content-Type": "multipart/form-data"},
                csrf=False,
            )
            assert answer.status in (400, 401, 403), (who, method, answer.status)
            assert set(answer.json()) == {"error", "message"}


def test_authorisation_matrix_through_gunicorn(
    gunicorn: GunicornServer, people: dict[str, Any]
) -> None:
    cookies = {who: session_cookie(user) for who, user in people.items()}
    failures = []
    for requester in REQUESTERS:
        for name, method, url in ENDPOINTS:
            for with_csrf in (True, False):
                SSEProgress.objects.all().delete()
                finish(make_job("done", people["owner"]))
                make_job("waiting", people["owner"])
                client = HttpClient(gunicorn.port, cookies[requester])
                answer = client.request(method.upper(), url, csrf=with_csrf)
                unsafe = method in ("delete", "post")
                if unsafe and not with_csrf:
                    status, detail = 403, "csrf_failed"
                else:
                    status, detail = EXPECTED[requester, name]
                case = (requester, name, with_csrf, answer.status, answer.raw[:200])
                if answer.status != status:
                    failures.append(case)
                    continue
                if method == "head":
                    assert answer.raw == b"", case
                elif isinstance(detail, str):
                    assert answer.json()["error"] == detail, case
                elif isinstance(detail, int):
                    assert answer.json()["count"] == detail, case
                else:
                    assert answer.json()["job_id"] in {"done", "waiting"}, case
                changed = answer.status == 200 and unsafe
                deleted = not SSEProgress.objects.filter(job_id="done").exists()
                assert deleted is (changed and name == "delete"), case
                cancelled = SSEProgress.objects.get(job_id="waiting").status == "cancelled"
                assert cancelled is (changed and name == "cancel"), case
    assert not failures, failures
    assert not gunicorn.errors(), "\n".join(gunicorn.errors()[-40:])


def test_pollers_and_deletes_racing_on_a_job_that_just_finished(
    gunicorn: GunicornServer, people: dict[str, Any], worker: Any
) -> None:
    owner = people["owner"]
    client = HttpClient(gunicorn.port, session_cookie(owner))
    outcomes: Counter[str] = Counter()
    for _ in range(10):
        job_id = tasks.count.apply_async((3,), progress_owner=owner).id
        wait_status(job_id, "completed")
        url = f"/core/sse-progress/{job_id}/"
        calls = [("GET", url)] * 2 + [("DELETE", f"{url}delete/")] * 3
        answers: list[tuple[str, Answer]] = []
        start = threading.Barrier(len(calls))

        def call(method: str, path: str, start: threading.Barrier = start) -> None:
            start.wait(30)
            answers.append((method, client.request(method, path)))  # noqa: B023

        threads = [threading.Thread(target=call, args=c) for c in calls]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(60)

        assert len(answers) == len(calls)
        for method, answer in answers:
            assert answer.status in (200, 204, 404), (method, answer.status, answer.raw[:300])
            if answer.status == 404:
                assert answer.json()["error"] == "not_found"
            elif answer.status == 200:
                data = answer.json()
                assert data["job_id"] == job_id and data.get("status", "completed") == "completed"
            outcomes[f"{method} {answer.status}"] += 1
        deletes = [answer.status for method, answer in answers if method == "DELETE"]
        assert sorted(deletes) in ([200, 404, 404], [204, 404, 404]), deletes
        assert not SSEProgress.objects.filter(job_id=job_id).exists()
    assert not gunicorn.errors(), "\n".join(gunicorn.errors()[-40:])
    print(f"racing deletes: {dict(outcomes)}")

"""``docs/openapi.yaml`` is a valid OpenAPI 3.1 document and real responses match it."""

from __future__ import annotations

import json
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from django.contrib.auth import get_user_model
from django.http import HttpResponse
from django.test import Client
from django.utils import timezone
from jsonschema import Draft202012Validator
from openapi_spec_validator import validate as validate_openapi
from referencing import Registry, Resource
from referencing.jsonschema import DRAFT202012

from celery_progress_tracker import urls
from celery_progress_tracker.models import SSEProgress
from celery_progress_tracker.params import MAX_JOB_IDS
from tests.api_support import finish, make_job, make_stale

pytestmark = [pytest.mark.django_db, pytest.mark.core]

DOCUMENT = Path(__file__).resolve().parent.parent / "docs" / "openapi.yaml"
SPEC: dict[str, Any] = yaml.safe_load(DOCUMENT.read_text())
PREFIX = SPEC["servers"][0]["url"]
BASE_URI = "urn:celery-progress-tracker:openapi"
REGISTRY: Registry[Any] = Registry().with_resource(
    BASE_URI, Resource.from_contents(SPEC, default_specification=DRAFT202012)
)
METHODS = ("get", "post", "put", "patch", "delete")
#: Answers of the HTTP server, not of Django: tests/faults/test_limits_http.py checks them.
SERVER_ANSWERS = {"414"}


def test_the_document_is_valid_openapi_3_1() -> None:
    assert SPEC["openapi"].startswith("3.1.")
    validate_openapi(SPEC)
    for schema in SPEC["components"]["schemas"].values():
        Draft202012Validator.check_schema(schema)


def _documented_path(pattern: str) -> str:
    return "/" + pattern.replace("<str:job_id>", "{job_id}")


def test_every_endpoint_and_method_is_documented(client: Client) -> None:
    # The htmx fragment answers HTML, not the JSON API: docs/htmx.md documents it.
    undocumented = ("not_found", "sse_progress_fragment")
    routes = {
        _documented_path(str(p.pattern)): p for p in urls.urlpatterns if p.name not in undocumented
    }
    assert set(routes) == set(SPEC["paths"])
    for path, operations in SPEC["paths"].items():
        documented = {method.upper() for method in operations if method in METHODS}
        response = client.options(PREFIX + path.replace("{job_id}", "abc"))
        allowed = {method.strip() for method in response["Allow"].split(",")} - {"HEAD"}
        assert allowed == documented, path


def _response_spec(path: str, method: str, status: int) -> Any:
    responses = SPEC["paths"][path][method]["responses"]
    if status == 405:
        spec = {"$ref": "#/components/responses/MethodNotAllowed"}
    else:
        assert str(status) in responses, f"{method.upper()} {path} does not document {status}"
        spec = responses[str(status)]
    if "$ref" in spec:
        spec = REGISTRY.resolver(BASE_URI).lookup(spec["$ref"]).contents
    return spec


class Checker:
    """Validates responses against the document and records what was exercised."""

    def __init__(self) -> None:
        self.covered: set[tuple[str, str, str]] = set()

    def __call__(self, response: HttpResponse, path: str, method: str) -> Any:
        status = response.status_code
        spec = _response_spec(path, method, status)
        self.covered.add((path, method, str(status)))
        for header in spec.get("headers", {}):
            assert header in response, (path, method, status, header)
        if "content" not in spec:
            assert response.content == b""
            return None
        assert response["Content-Type"] == "application/json"
        data = json.loads(response.content)
        schema = spec["content"]["application/json"]["schema"]
        validator = Draft202012Validator(
            {"$ref": f"{BASE_URI}{schema['$ref']}"},
            registry=REGISTRY,
            format_checker=Draft202012Validator.FORMAT_CHECKER,
        )
        errors = [error.message for error in validator.iter_errors(data)]
        assert not errors, (path, method, status, errors, data)
        jobs = data.get("results", [data] if "progress_percentage" in data else [])
        documented_keys = set(SPEC["components"]["schemas"]["Job"]["properties"])
        rollup_only = {key for key in documented_keys if key.startswith("parts_")} | {"members"}
        for job in jobs:
            expected = documented_keys if job["kind"] != "task" else documented_keys - rollup_only
            assert set(job) == expected
        return data


def test_real_responses_match_the_document(settings: Any) -> None:
    check = Checker()
    users = get_user_model().objects
    alice = users.create_user("alice")
    staff = users.create_user("root", is_staff=True)
    running = make_job("running", alice, metadata={"campaign_id": 123})
    running.mark_as_started()
    SSEProgress.objects.filter(pk=running.pk).update(
        started_at=timezone.now() - timedelta(seconds=30)
    )
    running.update_progress(processed=40, failed=2, message="Traitement en cours...")
    finish(make_job("done", alice, task_type="edi_import"))
    make_job("waiting", alice, total_items=0)
    make_stale(make_job("lost", alice))
    failed = make_job("failed", alice)
    failed.mark_as_started()
    failed.mark_as_failed(ValueError("bad line 12"))
    # A group's roll-up and its two members (one of them running).
    SSEProgress.objects.create(job_id="a-group", user=alice, kind="group")
    for member in ("member-1", "member-2"):
        make_job(member, alice, group_id="a-group", rollup_id="a-group")
    SSEProgress.objects.get(job_id="member-1").mark_as_started()

    anonymous, client = Client(), Client()
    client.force_login(alice)
    lists = {"/sse-progress/": "", "/sse-progress/active/": "active/"}
    for path, suffix in lists.items():
        url = f"{PREFIX}/sse-progress/{suffix}"
        first = client.get(f"{url}?page_size=1")
        page = check(first, path, "get")
        assert page["results"] and page["next"]
        unchanged = client.get(f"{url}?page_size=1", headers={"If-None-Match": first["ETag"]})
        check(unchanged, path, "get")
        check(client.get(page["next"]), path, "get")
        check(client.get(f"{url}?job_id=done&job_id=running&job_id=lost"), path, "get")
        check(client.get(f"{url}?status=failed&task_type=edi_import"), path, "get")
        check(client.get(f"{url}?page_size=0"), path, "get")
        many = "&".join(f"job_id={n}" for n in range(MAX_JOB_IDS + 1))
        check(client.get(f"{url}?{many}"), path, "get")
        check(client.get(f"{url}?page=50"), path, "get")
        check(client.get(f"{url}?page={'9' * 30}"), path, "get")  # past the last, too
        check(anonymous.get(url), path, "get")
        check(client.put(url), path, "get")

    detail = "/sse-progress/{job_id}/"
    rollup = check(client.get(f"{PREFIX}/sse-progress/a-group/"), detail, "get")
    assert (rollup["kind"], rollup["status"], rollup["parts_total"]) == ("group", "in_progress", 2)
    for job_id in ("running", "done", "waiting", "lost", "failed"):
        data = check(client.get(f"{PREFIX}/sse-progress/{job_id}/"), detail, "get")
    assert data["error"].startswith("The job failed (reference ")
    etag = client.get(f"{PREFIX}/sse-progress/done/")["ETag"]
    not_modified = client.get(f"{PREFIX}/sse-progress/done/", headers={"If-None-Match": etag})
    check(not_modified, detail, "get")
    check(anonymous.get(f"{PREFIX}/sse-progress/done/"), detail, "get")
    check(client.get(f"{PREFIX}/sse-progress/missing/"), detail, "get")
    check(client.post(f"{PREFIX}/sse-progress/done/"), detail, "get")

    settings.PROGRESS_TRACKER_STAFF_SEES_ALL = True
    staff_client = Client()
    staff_client.force_login(staff)
    strict = Client(enforce_csrf_checks=True)
    strict.force_login(alice)
    for path, method, good, conflicting in (
        ("/sse-progress/{job_id}/delete/", "delete", "done", "running"),
        ("/sse-progress/{job_id}/cancel/", "post", "running", "failed"),
    ):
        action = path.removeprefix("/sse-progress/{job_id}/")

        def action_url(job_id: str, action: str = action) -> str:
            return f"{PREFIX}/sse-progress/{job_id}/{action}"

        check(getattr(strict, method)(action_url(good)), path, method)  # CSRF
        check(getattr(staff_client, method)(action_url(good)), path, method)  # not theirs
        check(getattr(anonymous, method)(action_url(good)), path, method)
        check(getattr(client, method)(action_url("missing")), path, method)
        check(getattr(client, method)(action_url(conflicting)), path, method)  # 409
        if method == "post":
            # The CSRF check reads a POST's form for the token: an unparsable one is a 400.
            strict.cookies["csrftoken"] = "x" * 32
            unreadable = strict.post(action_url(good), b"-", content_type="multipart/form-data")
            check(unreadable, path, method)
            del strict.cookies["csrftoken"]
        check(getattr(client, method)(action_url(good)), path, method)
        check(client.get(action_url(good)), path, method)  # 405

    documented = {
        (path, method, status)
        for path, operations in SPEC["paths"].items()
        for method, operation in operations.items()
        if method in METHODS
        for status in operation["responses"]
        if status not in SERVER_ANSWERS
    }
    assert documented - check.covered == set()
    assert {status for _, _, status in check.covered} >= {"405"}

"""Requests Django refuses to read get the API's JSON error, never its HTML "Bad Request"."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

from celery_progress_tracker.middleware import is_api_path
from tests.api_support import BASE, assert_error, cancel_url, detail_url, make_job

pytestmark = [pytest.mark.django_db, pytest.mark.core]

MANY = "&".join(f"f{index}=1" for index in range(1_001))


@pytest.fixture
def alice_client(client: Client) -> Client:
    client.force_login(get_user_model().objects.create_user("alice"))
    return client


@pytest.fixture(autouse=True)
def _quiet_security_log(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.CRITICAL, logger="django.security")


@pytest.mark.parametrize("path", [BASE, f"{BASE}active/", f"{BASE}x/fragment/"])
def test_too_many_query_parameters_is_the_json_400(alice_client: Client, path: str) -> None:
    response = alice_client.get(f"{path}?{MANY}")
    assert_error(response, 400, "bad_request")
    assert "no-cache" in response["Cache-Control"]


def test_the_detail_ignores_its_query_string(alice_client: Client) -> None:
    assert_error(alice_client.get(f"{detail_url('job-1')}?{MANY}"), 404, "not_found")


@pytest.fixture
def csrf_client() -> Client:
    """A client whose form posts go through the CSRF check, which reads the form body."""
    client = Client(enforce_csrf_checks=True)
    client.force_login(get_user_model().objects.create_user("carol"))
    client.cookies["csrftoken"] = "x" * 32
    return client


def test_too_many_form_fields_is_the_json_400(csrf_client: Client) -> None:
    make_job("job-1")
    response = csrf_client.post(
        cancel_url("job-1"), MANY, content_type="application/x-www-form-urlencoded"
    )
    assert_error(response, 400, "bad_request")


def test_a_body_too_large_is_the_json_400(csrf_client: Client, settings: Any) -> None:
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 100
    response = csrf_client.post(
        cancel_url("job-1"), "a=" + "x" * 200, content_type="application/x-www-form-urlencoded"
    )
    assert_error(response, 400, "bad_request")


def test_a_refusal_is_logged_as_django_logs_it(
    alice_client: Client, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.ERROR, logger="django.security")
    alice_client.get(f"{BASE}?{MANY}")
    assert any(record.name == "django.security.TooManyFieldsSent" for record in caplog.records)


JSON_REFUSALS = [
    "celery_progress_tracker.middleware.JsonRefusalMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
]


@override_settings(ALLOWED_HOSTS=["good.example"])
def test_a_disallowed_host_under_the_prefix_is_json_with_the_middleware(client: Client) -> None:
    assert client.get(BASE, HTTP_HOST="evil.example").status_code == 400  # Django's HTML
    with override_settings(MIDDLEWARE=JSON_REFUSALS):
        client = Client()  # a handler loads its middleware once
        response = assert_error(
            client.get(detail_url("x"), HTTP_HOST="evil.example"), 400, "bad_request"
        )
        assert "no-cache" in client.get(BASE, HTTP_HOST="evil.example")["Cache-Control"]
        assert response["error"] == "bad_request"
        # Elsewhere the site's own pages keep Django's answer.
        other = client.get("/admin/", HTTP_HOST="evil.example")
        assert other.status_code == 400 and "json" not in other["Content-Type"]


def test_the_middleware_knows_the_api_paths() -> None:
    assert is_api_path("/core/sse-progress/")
    assert is_api_path("/core/anything/else")
    assert not is_api_path("/admin/")
    assert not is_api_path("/nowhere")


def test_the_middleware_works_under_asgi_too() -> None:
    import asyncio

    from django.http import HttpResponseBadRequest
    from django.test import RequestFactory

    from celery_progress_tracker.middleware import JsonRefusalMiddleware

    async def refuse(request: Any) -> Any:
        return HttpResponseBadRequest("<h1>Bad Request (400)</h1>")

    middleware = JsonRefusalMiddleware(refuse)
    api = asyncio.run(middleware(RequestFactory().get(BASE)))
    assert_error(api, 400, "bad_request")
    elsewhere = asyncio.run(middleware(RequestFactory().get("/admin/")))
    assert elsewhere.status_code == 400 and b"<h1>" in elsewhere.content

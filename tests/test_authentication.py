"""The site's own authentication: a callable, and Django REST framework's real classes."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.http import HttpRequest
from django.test import Client
from rest_framework.authtoken.models import Token

from celery_progress_tracker.authentication import authenticate
from tests.api_support import BASE, assert_error, body, cancel_url, detail_url, make_job

pytestmark = [pytest.mark.django_db, pytest.mark.core]

DRF = [
    "rest_framework.authentication.TokenAuthentication",
    "rest_framework.authentication.SessionAuthentication",
]


@pytest.fixture
def alice() -> AbstractUser:
    return get_user_model().objects.create_user("alice", password="alice-password")


@pytest.fixture
def csrf_client() -> Client:
    """Like a browser: writes go through the CSRF check."""
    return Client(enforce_csrf_checks=True)


def api_key_user(request: HttpRequest) -> Any:
    """A site's own scheme: an API key header names the user."""
    key = request.headers.get("X-Api-Key", "")
    return (
        get_user_model().objects.filter(username=key.removesuffix("-key")).first() if key else None
    )


def test_a_callable_names_the_user_and_its_writes_need_no_csrf_token(
    csrf_client: Client, alice: AbstractUser, settings: Any
) -> None:
    settings.PROGRESS_TRACKER_AUTHENTICATION = ["tests.test_authentication.api_key_user"]
    make_job("mine", alice)
    assert body(csrf_client.get(detail_url("mine"), HTTP_X_API_KEY="alice-key"))["job_id"] == "mine"
    assert body(csrf_client.get(BASE, HTTP_X_API_KEY="alice-key"))["count"] == 1
    assert body(csrf_client.post(cancel_url("mine"), HTTP_X_API_KEY="alice-key"))["status"] == (
        "cancelled"
    )
    assert_error(csrf_client.get(detail_url("mine")), 401, "not_authenticated")
    # Only the configured entries count: a session login alone is not one of them.
    csrf_client.force_login(alice)
    assert_error(csrf_client.get(detail_url("mine")), 401, "not_authenticated")


def test_drf_token_authentication(
    csrf_client: Client, alice: AbstractUser, settings: Any, django_assert_max_num_queries: Any
) -> None:
    settings.PROGRESS_TRACKER_AUTHENTICATION = DRF
    token = Token.objects.create(user=alice)
    make_job("mine", alice)
    make_job("running", alice)
    header = {"HTTP_AUTHORIZATION": f"Token {token.key}"}
    assert body(csrf_client.get(detail_url("mine"), **header))["job_id"] == "mine"
    assert body(csrf_client.get(f"{BASE}active/", **header))["count"] == 2
    # A token is not sent by the browser on its own: no CSRF token needed.
    assert body(csrf_client.post(cancel_url("running"), **header))["status"] == "cancelled"
    wrong = csrf_client.get(detail_url("mine"), HTTP_AUTHORIZATION="Token nope")
    assert "Invalid token" in assert_error(wrong, 401, "not_authenticated")["message"]
    assert_error(csrf_client.get(detail_url("mine")), 401, "not_authenticated")
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)
    assert_error(csrf_client.get(detail_url("mine"), **header), 401, "not_authenticated")


def test_drf_session_authentication_keeps_csrf_for_writes(
    csrf_client: Client, alice: AbstractUser, settings: Any
) -> None:
    settings.PROGRESS_TRACKER_AUTHENTICATION = DRF
    make_job("mine", alice)
    csrf_client.force_login(alice)
    assert body(csrf_client.get(detail_url("mine")))["job_id"] == "mine"
    assert body(csrf_client.get(BASE))["count"] == 1
    refused = csrf_client.post(cancel_url("mine"))
    assert "CSRF" in assert_error(refused, 403, "csrf_failed")["message"]
    csrf_client.cookies["csrftoken"] = "k" * 32
    accepted = csrf_client.post(cancel_url("mine"), HTTP_X_CSRFTOKEN="k" * 32)
    assert body(accepted)["status"] == "cancelled"


def test_the_default_is_the_session_login_with_csrf(
    csrf_client: Client, alice: AbstractUser
) -> None:
    make_job("mine", alice)
    csrf_client.force_login(alice)
    assert body(csrf_client.get(detail_url("mine")))["job_id"] == "mine"
    assert_error(csrf_client.post(cancel_url("mine")), 403, "csrf_failed")
    token = Token.objects.create(user=alice)
    assert_error(
        Client().get(detail_url("mine"), HTTP_AUTHORIZATION=f"Token {token.key}"),
        401,
        "not_authenticated",
    )


def test_a_request_is_authenticated_once(alice: AbstractUser, settings: Any) -> None:
    calls = []

    def hook(request: HttpRequest) -> Any:
        calls.append(request)
        return alice

    settings.PROGRESS_TRACKER_AUTHENTICATION = [hook]
    request = HttpRequest()
    assert authenticate(request).user == alice
    assert authenticate(request).user == alice
    assert len(calls) == 1


def test_the_session_entry_and_a_single_entry(
    csrf_client: Client, alice: AbstractUser, settings: Any, django_assert_num_queries: Any
) -> None:
    make_job("mine", alice)
    csrf_client.force_login(alice)
    settings.PROGRESS_TRACKER_AUTHENTICATION = ["celery_progress_tracker.authentication.session"]
    with django_assert_num_queries(1):  # the default, spelled out: the shortcut still applies
        assert body(csrf_client.get(detail_url("mine")))["job_id"] == "mine"
    settings.PROGRESS_TRACKER_AUTHENTICATION = api_key_user  # one entry, not a list
    assert_error(csrf_client.get(detail_url("mine")), 401, "not_authenticated")
    assert body(csrf_client.get(detail_url("mine"), HTTP_X_API_KEY="alice-key"))["job_id"]

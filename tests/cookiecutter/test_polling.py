"""Polls with cookiecutter-django's user model (e-mail login, no username): the same queries."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from celery_progress_tracker import access
from celery_progress_tracker.models import SSEProgress

pytestmark = pytest.mark.core

URL = "/core/sse-progress/"


@pytest.fixture
def job(alice: Any) -> SSEProgress:
    return SSEProgress.objects.create(job_id="import-1", user=alice, total_items=10)


ALLAUTH = "tests.cookiecutter.users.backends.AuthenticationBackend"


@pytest.mark.parametrize(
    "backend", ["django.contrib.auth.backends.ModelBackend", ALLAUTH], ids=["model", "allauth"]
)
def test_a_poll_is_one_query_with_an_email_login_user(
    alice: Any, job: SSEProgress, django_assert_num_queries: Any, backend: str
) -> None:
    client = Client()
    client.force_login(alice, backend=backend)
    assert client.session["_auth_user_backend"] == backend
    with django_assert_num_queries(1):
        first = client.get(f"{URL}import-1/")
    assert first.json()["job_id"] == "import-1"
    with django_assert_num_queries(1):
        assert client.get(f"{URL}import-1/", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == 304
    with django_assert_num_queries(2):
        assert client.get(URL).json()["count"] == 1


def test_the_fallback_agrees_and_a_password_change_logs_out(
    alice: Any, job: SSEProgress, monkeypatch: pytest.MonkeyPatch
) -> None:
    client = Client()
    client.force_login(alice)
    fast = [client.get(f"{URL}import-1/").json(), client.get(URL).json()]
    with monkeypatch.context() as patched:
        patched.setattr(access, "_shortcut_columns", lambda request: None)
        slow = [client.get(f"{URL}import-1/").json(), client.get(URL).json()]
    for one, other in zip(fast, slow, strict=True):
        for data in (one, other):
            for result in data.get("results", [data]):
                result.pop("duration", None), result.pop("updated_at", None)
        assert one == other
    alice.set_password("changed")
    alice.save()
    assert client.get(f"{URL}import-1/").status_code == 401
    assert client.get(URL).status_code == 401

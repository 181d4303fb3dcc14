"""Polls, lists, the shortcut and a real worker with the project's own user model.

Run once per model (``tests/test_user_models.py``): what holds for Django's
``User`` holds here too, with no ``is_staff`` and, per model, a UUID key or no
``is_active`` column.
"""

from __future__ import annotations

import os
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.test import Client, override_settings
from django.utils import timezone

from celery_progress_tracker import access
from celery_progress_tracker.models import SSEProgress
from celery_progress_tracker.testing import assert_job
from tests.api_support import BASE, assert_error, body, detail_url, make_job
from tests.test_statements import _states

pytestmark = pytest.mark.django_db

LISTS = [
    BASE,
    f"{BASE}?page_size=3&page=2",
    f"{BASE}active/",
    f"{BASE}?status=failed",
    f"{BASE}active/?task_type=mon_type&page_size=2&page=2",
    f"{BASE}?job_id=running&job_id=done&job_id=bobs&job_id=missing",
]


@pytest.fixture
def ann() -> Any:
    return get_user_model().objects.create_user("ann@example.com", password="ann-password")


@pytest.fixture
def bob() -> Any:
    return get_user_model().objects.create_user("bob@example.com", password="bob-password")


@pytest.fixture
def ann_client(client: Client, ann: Any) -> Client:
    client.force_login(ann)
    return client


def test_the_model_is_the_one_asked_for() -> None:
    """The run really uses a model without ``is_staff`` (else these tests prove little)."""
    model = get_user_model()
    assert model._meta.label == os.environ.get("CPT_USER_MODEL", "accounts.UuidUser")
    assert not hasattr(model, "is_staff")


def test_the_shortcut_answers_what_the_normal_path_answers(
    ann_client: Client, ann: Any, bob: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    _states(ann)
    make_job("bobs", bob)
    urls = [detail_url(job.job_id) for job in SSEProgress.objects.all()] + [
        detail_url("missing"),
        *LISTS,
    ]
    fixed = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: fixed)
    fast = [ann_client.get(url) for url in urls]
    monkeypatch.setattr(access, "_shortcut_columns", lambda request: None)
    slow = [ann_client.get(url) for url in urls]
    for url, one, other in zip(urls, fast, slow, strict=True):
        assert (one.status_code, one.get("ETag"), one.content) == (
            other.status_code,
            other.get("ETag"),
            other.content,
        ), url
    statuses = dict(zip(urls, (response.status_code for response in fast), strict=True))
    assert statuses[detail_url("running")] == 200
    assert statuses[detail_url("bobs")] == 404
    assert statuses[detail_url("cancelled")] == 404  # a system job
    found = body(fast[urls.index(LISTS[-1])])["results"]
    assert sorted(job["job_id"] for job in found) == ["done", "running"]


@pytest.mark.parametrize(
    "engine",
    [
        {},
        {
            "SESSION_ENGINE": "django.contrib.sessions.backends.cached_db",
            "CACHES": {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
        },
        {"SESSION_ENGINE": "django.contrib.sessions.backends.signed_cookies"},
    ],
    ids=["db", "cached_db", "signed_cookies"],
)
def test_one_query_per_poll_and_two_per_list(
    client: Client, ann: Any, django_assert_num_queries: Any, engine: dict[str, Any]
) -> None:
    make_job("mine", ann)
    sessions_in_the_database = 1 if not engine else 0
    with override_settings(**engine):
        client.force_login(ann)
        first = client.get(detail_url("mine"))  # a cached_db session is now in the cache
        assert body(first)["job_id"] == "mine"
        with django_assert_num_queries(1):
            assert client.get(detail_url("mine")).status_code == 200
        with django_assert_num_queries(1):
            response = client.get(detail_url("mine"), HTTP_IF_NONE_MATCH=first["ETag"])
            assert response.status_code == 304
        for url in (BASE, f"{BASE}active/", f"{BASE}?job_id=mine"):
            with django_assert_num_queries(1 + sessions_in_the_database):
                assert [job["job_id"] for job in body(client.get(url))["results"]] == ["mine"]


@pytest.mark.parametrize(
    "setting", ["STAFF_SEES_ALL", "STAFF_SEES_SYSTEM_JOBS", "ANONYMOUS_OWNERLESS"]
)
def test_widening_settings_with_a_user_model_that_has_no_staff(
    ann_client: Client, ann: Any, bob: Any, settings: Any, setting: str
) -> None:
    make_job("mine", ann)
    make_job("bobs", bob)
    make_job("system", None)
    setattr(settings, f"PROGRESS_TRACKER_{setting}", True)
    assert_error(ann_client.get(detail_url("bobs")), 404, "not_found")
    system = ann_client.get(detail_url("system"))
    if setting == "ANONYMOUS_OWNERLESS":
        assert body(system)["job_id"] == "system"
    else:
        assert_error(system, 404, "not_found")
    listed = body(ann_client.get(f"{BASE}?job_id=mine&job_id=bobs&job_id=system"))["results"]
    expected = ["mine", "system"] if setting == "ANONYMOUS_OWNERLESS" else ["mine"]
    assert sorted(job["job_id"] for job in listed) == expected
    assert [job["job_id"] for job in body(ann_client.get(BASE))["results"]] == ["mine"]


def test_a_changed_password_ends_the_session(ann_client: Client, ann: Any) -> None:
    make_job("mine", ann)
    assert ann_client.get(detail_url("mine")).status_code == 200
    ann.set_password("a-new-password")
    ann.save()
    assert_error(ann_client.get(detail_url("mine")), 401, "not_authenticated")
    assert_error(ann_client.get(BASE), 401, "not_authenticated")


def test_a_job_started_from_the_site_on_a_real_worker(
    progress_worker: Any, client: Client, ann: Any, bob: Any
) -> None:
    client.force_login(ann)
    job_id = body(client.get("/start/"))["job_id"]
    job = assert_job(job_id, status="completed", processed=5, total=5, timeout=30)
    assert job.user_id == ann.pk
    polled = body(client.get(detail_url(job_id)))
    assert (polled["progress_percentage"], polled["current_message"]) == (100, "item 5")
    client.force_login(bob)
    assert_error(client.get(detail_url(job_id)), 404, "not_found")
    assert body(client.get(BASE))["results"] == []


def test_the_terminal_watcher_finds_a_user_by_login_or_key(
    ann: Any, capsys: pytest.CaptureFixture[str]
) -> None:
    make_job("mine", ann, status="completed", end_reason="succeeded", processed_items=100)
    for name in ("ann@example.com", str(ann.pk)):
        call_command("progress_watch", "mine", "--user", name)
        assert "mine" in capsys.readouterr().out
    with pytest.raises(Exception, match="no user"):
        call_command("progress_watch", "mine", "--user", "not-a-key-or-login")


def test_the_project_has_every_migration_it_needs() -> None:
    call_command("makemigrations", "--check", "--dry-run", verbosity=0)

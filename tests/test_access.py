"""Who may read what, and the session shortcut: through real requests and a real database.

The shortcut answers a poll in one query; every case it does not cover must
fall back to ``request.user`` and answer exactly what Django's own login
would. Each test pins the queries, so a change of path shows.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.models import AbstractUser, UserManager
from django.contrib.sessions.models import Session
from django.test import Client, override_settings
from django.utils import timezone

from celery_progress_tracker import access
from tests.api_support import BASE, assert_error, body, detail_url, make_job
from tests.test_statements import _states

pytestmark = [pytest.mark.django_db, pytest.mark.core]

CACHED_DB = {
    "SESSION_ENGINE": "django.contrib.sessions.backends.cached_db",
    "CACHES": {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}},
}
SIGNED_COOKIES = {"SESSION_ENGINE": "django.contrib.sessions.backends.signed_cookies"}


@pytest.fixture
def alice() -> AbstractUser:
    return get_user_model().objects.create_user("alice", password="alice-password")


@pytest.fixture
def alice_client(client: Client, alice: AbstractUser) -> Client:
    client.force_login(alice)
    return client


def _without_shortcut(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(access, "_shortcut_columns", lambda request: None)


# -- the shortcut and the normal path agree ---------------------------------------------


def test_the_shortcut_answers_what_the_normal_path_answers(
    alice_client: Client, alice: AbstractUser, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    jobs = _states(alice)
    make_job("bobs", get_user_model().objects.create_user("bob"))
    ids = [job.job_id for job in jobs] + ["bobs", "missing"]
    urls = [detail_url(job_id) for job_id in ids] + [
        BASE,
        f"{BASE}?page_size=3&page=2",
        f"{BASE}active/",
        f"{BASE}?status=failed",
        f"{BASE}?status=in_progress&status=pending&task_type=mon_type&task_type=other",
        f"{BASE}active/?task_type=mon_type&page_size=2&page=2",
        f"{BASE}?page=9",
        f"{BASE}?" + "&".join(f"job_id={job_id}" for job_id in ids),
    ]
    fixed = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: fixed)  # durations and staleness alike
    fast = [alice_client.get(url) for url in urls]
    _without_shortcut(monkeypatch)
    slow = [alice_client.get(url) for url in urls]
    for url, one, other in zip(urls, fast, slow, strict=True):
        assert one.status_code == other.status_code, url
        assert one.get("ETag") == other.get("ETag"), url
        assert one.content == other.content, url
        clock = {"Expires", "Date"}  # never_cache's Expires is the wall clock's
        assert {k: v for k, v in one.headers.items() if k not in clock} == {
            k: v for k, v in other.headers.items() if k not in clock
        }, url


# -- queries per endpoint and session engine --------------------------------------------


def _poll_counts(client: Client, django_assert_num_queries: Any, counts: dict[str, int]) -> None:
    first = client.get(detail_url("mine"))
    assert first.status_code == 200
    requests = {
        "detail": lambda: client.get(detail_url("mine")),
        "detail_304": lambda: client.get(detail_url("mine"), HTTP_IF_NONE_MATCH=first["ETag"]),
        "list": lambda: client.get(BASE),
        "active": lambda: client.get(f"{BASE}active/"),
        "job_ids": lambda: client.get(f"{BASE}?job_id=mine&job_id=other"),
    }
    for name, request in requests.items():
        with django_assert_num_queries(counts[name]):
            response = request()
        assert response.status_code == (304 if name == "detail_304" else 200), name


@pytest.mark.parametrize(
    ("engine", "counts"),
    [
        # the session and the job in one statement; lists: the session, then the page
        ({}, {"detail": 1, "detail_304": 1, "list": 2, "active": 2, "job_ids": 2}),
        # the session from the cache or the cookie: the job (or the page) with its owner
        (CACHED_DB, {"detail": 1, "detail_304": 1, "list": 1, "active": 1, "job_ids": 1}),
        (SIGNED_COOKIES, {"detail": 1, "detail_304": 1, "list": 1, "active": 1, "job_ids": 1}),
    ],
    ids=["db", "cached_db", "signed_cookies"],
)
def test_queries_per_endpoint_and_session_engine(
    client: Client,
    alice: AbstractUser,
    django_assert_num_queries: Any,
    engine: dict[str, Any],
    counts: dict[str, int],
) -> None:
    make_job("mine", alice)
    with override_settings(**engine):
        client.force_login(alice)
        client.get(detail_url("mine"))  # a cached_db session is now in the cache
        _poll_counts(client, django_assert_num_queries, counts)


# -- every case the shortcut leaves to Django's login ----------------------------------


def test_an_expired_session_is_anonymous(
    alice_client: Client, alice: AbstractUser, django_assert_num_queries: Any
) -> None:
    make_job("mine", alice)
    Session.objects.update(expire_date=timezone.now() - timedelta(seconds=1))
    with django_assert_num_queries(1):  # the statement finds no session: nothing more to read
        assert_error(alice_client.get(detail_url("mine")), 401, "not_authenticated")
    assert_error(alice_client.get(BASE), 401, "not_authenticated")


def test_an_inactive_owner_is_anonymous(alice_client: Client, alice: AbstractUser) -> None:
    make_job("mine", alice)
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)
    assert_error(alice_client.get(detail_url("mine")), 401, "not_authenticated")
    assert_error(alice_client.get(BASE), 401, "not_authenticated")
    assert_error(alice_client.get(f"{BASE}?job_id=mine"), 401, "not_authenticated")


def test_a_changed_password_ends_the_session(alice_client: Client, alice: AbstractUser) -> None:
    make_job("mine", alice)
    alice.set_password("new-password")
    alice.save()
    assert_error(alice_client.get(detail_url("mine")), 401, "not_authenticated")
    assert_error(alice_client.get(BASE), 401, "not_authenticated")


def test_a_hash_made_with_a_fallback_secret_is_rotated_as_django_does(
    client: Client, alice: AbstractUser, settings: Any
) -> None:
    make_job("mine", alice)
    with override_settings(SECRET_KEY="the-old-secret"):
        client.force_login(alice)
    settings.SECRET_KEY_FALLBACKS = ["the-old-secret"]
    # The session cookie itself is signed with the old key too: it still reads.
    response = client.get(detail_url("mine"))
    assert body(response)["job_id"] == "mine"
    assert body(client.get(detail_url("mine")))["job_id"] == "mine"


class SubclassedBackend(ModelBackend):
    """A ``ModelBackend`` subclass may change ``get_user``: the shortcut must not assume."""

    def get_user(self, user_id: Any) -> Any:
        return None  # nobody, ever


def test_a_custom_backend_decides_for_itself(
    client: Client, alice: AbstractUser, settings: Any, django_assert_num_queries: Any
) -> None:
    settings.AUTHENTICATION_BACKENDS = ["tests.test_access.SubclassedBackend"]
    make_job("mine", alice)
    client.force_login(alice, backend="tests.test_access.SubclassedBackend")
    assert_error(client.get(detail_url("mine")), 401, "not_authenticated")
    assert_error(client.get(BASE), 401, "not_authenticated")


class EmailLoginBackend(ModelBackend):
    """Logs people in by e-mail, as django-allauth's backend does; finds users as ModelBackend."""

    def authenticate(
        self, request: Any, email: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        user = get_user_model()._default_manager.filter(email__iexact=email).first()
        if user and password and user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None


EMAIL_LOGIN = "tests.test_access.EmailLoginBackend"


def test_a_backend_that_only_changes_how_people_log_in_keeps_one_query(
    client: Client,
    alice: AbstractUser,
    settings: Any,
    monkeypatch: pytest.MonkeyPatch,
    django_assert_num_queries: Any,
) -> None:
    settings.AUTHENTICATION_BACKENDS = [EMAIL_LOGIN]
    alice.email = "alice@example.com"
    alice.save()
    make_job("mine", alice)
    make_job("bobs", get_user_model().objects.create_user("bob"))
    assert client.login(email="alice@example.com", password="alice-password")
    assert client.session["_auth_user_backend"] == EMAIL_LOGIN
    counts = {"detail": 1, "detail_304": 1, "list": 2, "active": 2, "job_ids": 2}
    _poll_counts(client, django_assert_num_queries, counts)
    urls = [detail_url("mine"), detail_url("bobs"), BASE, f"{BASE}?job_id=mine&job_id=bobs"]
    fixed = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: fixed)
    fast = [client.get(url) for url in urls]
    _without_shortcut(monkeypatch)
    slow = [client.get(url) for url in urls]
    assert [(r.status_code, r.content) for r in fast] == [(r.status_code, r.content) for r in slow]
    alice.set_password("new-password")
    alice.save()
    assert_error(client.get(detail_url("mine")), 401, "not_authenticated")


def test_a_backend_that_lets_inactive_users_in_decides_for_itself(
    client: Client, alice: AbstractUser, settings: Any, django_assert_num_queries: Any
) -> None:
    """``AllowAllUsersModelBackend`` changes ``user_can_authenticate``: the normal path."""
    backend = "django.contrib.auth.backends.AllowAllUsersModelBackend"
    settings.AUTHENTICATION_BACKENDS = [backend]
    make_job("mine", alice)
    client.force_login(alice, backend=backend)
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)
    with django_assert_num_queries(3):  # session, user, job: and the inactive owner reads it
        assert body(client.get(detail_url("mine")))["job_id"] == "mine"
    assert [job["job_id"] for job in body(client.get(BASE))["results"]] == ["mine"]


def test_a_backend_no_longer_configured_logs_the_session_out(
    client: Client, alice: AbstractUser, settings: Any
) -> None:
    make_job("mine", alice)
    client.force_login(alice)
    settings.AUTHENTICATION_BACKENDS = ["tests.test_access.SubclassedBackend"]
    assert_error(client.get(detail_url("mine")), 401, "not_authenticated")


class ActiveOnlyManager(UserManager[Any]):
    def get_queryset(self) -> Any:
        return super().get_queryset().exclude(username__startswith="hidden")


def test_a_user_model_whose_default_manager_filters_rows(
    client: Client, monkeypatch: pytest.MonkeyPatch, django_assert_num_queries: Any
) -> None:
    user_model = get_user_model()
    hidden = user_model.objects.create_user("hidden-alice", password="x")
    shown = user_model.objects.create_user("carol", password="x")
    make_job("hidden-job", hidden)
    make_job("shown-job", shown)
    manager = ActiveOnlyManager()
    manager.model = user_model
    monkeypatch.setattr(user_model._meta, "default_manager", manager)
    client.force_login(shown)
    with django_assert_num_queries(3):  # the shortcut steps aside: session, user, job
        assert body(client.get(detail_url("shown-job")))["job_id"] == "shown-job"
    client.force_login(hidden)  # ModelBackend's get_user no longer finds this user
    assert_error(client.get(detail_url("hidden-job")), 401, "not_authenticated")
    assert_error(client.get(BASE), 401, "not_authenticated")


def test_a_loaded_user_is_not_read_again(
    alice_client: Client, alice: AbstractUser, django_assert_num_queries: Any
) -> None:
    """Middleware that already read ``request.user`` paid for it: the normal path is as cheap."""
    make_job("mine", alice)
    with (
        override_settings(
            MIDDLEWARE=[
                "django.contrib.sessions.middleware.SessionMiddleware",
                "django.contrib.auth.middleware.AuthenticationMiddleware",
                "tests.test_access.touch_user",
            ]
        ),
        django_assert_num_queries(3),
    ):  # session, user (the middleware's), job
        assert body(alice_client.get(detail_url("mine")))["job_id"] == "mine"


def touch_user(get_response: Any) -> Any:
    def middleware(request: Any) -> Any:
        assert request.user.is_authenticated
        return get_response(request)

    return middleware


# -- system jobs -----------------------------------------------------------------------


def test_staff_see_system_jobs_when_the_setting_allows(
    client: Client, alice: AbstractUser, settings: Any
) -> None:
    staff = get_user_model().objects.create_user("root", password="x", is_staff=True)
    make_job("beat-job", None)
    make_job("alices", alice)
    make_job("roots", staff)
    client.force_login(staff)
    assert_error(client.get(detail_url("beat-job")), 404, "not_found")
    assert [job["job_id"] for job in body(client.get(BASE))["results"]] == ["roots"]
    settings.PROGRESS_TRACKER_STAFF_SEES_SYSTEM_JOBS = True
    assert body(client.get(detail_url("beat-job")))["job_id"] == "beat-job"
    assert_error(client.get(detail_url("alices")), 404, "not_found")
    listed = body(client.get(BASE))
    assert {job["job_id"] for job in listed["results"]} == {"roots", "beat-job"}
    assert listed["count"] == 2
    assert {job["job_id"] for job in body(client.get(f"{BASE}active/"))["results"]} == {
        "roots",
        "beat-job",
    }
    assert body(client.get(f"{BASE}?job_id=beat-job&job_id=alices"))["count"] == 1
    # Not their own: staff read system jobs, they do not act on them.
    assert_error(client.post(f"{detail_url('beat-job')}cancel/"), 403, "permission_denied")
    client.force_login(alice)  # other users never see them
    assert_error(client.get(detail_url("beat-job")), 404, "not_found")
    assert [job["job_id"] for job in body(client.get(BASE))["results"]] == ["alices"]

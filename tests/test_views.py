"""The polling API through real HTTP requests (Django's test client, a real database)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.test import Client, override_settings
from django.urls import include, path, reverse
from django.utils import timezone

from celery_progress_tracker.models import SSEProgress
from celery_progress_tracker.params import MAX_JOB_IDS
from celery_progress_tracker.serializers import job_etag, job_to_dict
from tests.api_support import (
    BASE,
    assert_error,
    body,
    cancel_url,
    delete_url,
    detail_url,
    finish,
    make_job,
    make_stale,
)

pytestmark = [pytest.mark.django_db, pytest.mark.core]

# The seed mounted the app as include(("apps.core.urls", "apps.core"), namespace="core").
urlpatterns = [
    path("core/", include(("celery_progress_tracker.urls", "core"), namespace="core")),
    path("elsewhere/api/", include("celery_progress_tracker.urls")),
]

SEED_KEYS = {
    "job_id": str,
    "status": str,
    "task_type": str,
    "total_items": int,
    "processed_items": int,
    "failed_items": int,
    "progress_percentage": int,
    "current_message": str,
    "started_at": (str, type(None)),
    "completed_at": (str, type(None)),
    "duration": (float, type(None)),
}


@pytest.fixture
def alice() -> AbstractUser:
    return get_user_model().objects.create_user("alice", password="alice-password")


@pytest.fixture
def bob() -> AbstractUser:
    return get_user_model().objects.create_user("bob", password="bob-password")


@pytest.fixture
def staff() -> AbstractUser:
    return get_user_model().objects.create_user("root", password="x", is_staff=True)


@pytest.fixture
def alice_client(client: Client, alice: AbstractUser) -> Client:
    client.force_login(alice)
    return client


# -- URLs ----------------------------------------------------------------------


def test_urls_are_named_under_the_app_namespace() -> None:
    assert reverse("celery_progress_tracker:sse_progress_list") == BASE
    assert reverse("celery_progress_tracker:sse_progress_active") == f"{BASE}active/"
    assert reverse("celery_progress_tracker:sse_progress_detail", args=["abc-123"]) == (
        f"{BASE}abc-123/"
    )
    assert reverse("celery_progress_tracker:sse_progress_delete", args=["abc"]) == (
        f"{BASE}abc/delete/"
    )
    assert reverse("celery_progress_tracker:sse_progress_cancel", args=["abc"]) == (
        f"{BASE}abc/cancel/"
    )


@pytest.mark.urls(__name__)
def test_seed_namespace_and_any_prefix_work(alice_client: Client, alice: AbstractUser) -> None:
    make_job("abc-123", alice)
    url = reverse("core:sse_progress_detail", args=["abc-123"])
    assert url == "/core/sse-progress/abc-123/"
    assert body(alice_client.get(url))["job_id"] == "abc-123"
    other = reverse("celery_progress_tracker:sse_progress_detail", args=["abc-123"])
    assert other == "/elsewhere/api/sse-progress/abc-123/"
    assert body(alice_client.get(other))["job_id"] == "abc-123"
    assert_error(alice_client.get("/elsewhere/api/nothing/here/"), 404, "not_found")


@pytest.mark.parametrize(
    "path_",
    [
        "/core/",
        "/core/nothing/",
        "/core/sse-progress",
        "/core/sse-progress/a/b/c/",
        "/core/x%00/",
        "/core/sse-progress/%0A/0",
        "/core/%0A",
    ],
)
def test_unknown_paths_under_the_prefix_are_json_404(client: Client, path_: str) -> None:
    assert_error(client.get(path_), 404, "not_found")
    assert_error(client.post(path_), 404, "not_found")


# -- detail --------------------------------------------------------------------


def test_detail_is_job_to_dict_with_the_seed_keys_and_types(
    alice_client: Client, alice: AbstractUser
) -> None:
    job = make_job("abc-123", alice, current_message="Traitement en cours...")
    job.mark_as_started()
    job.update_progress(processed=45)
    response = alice_client.get(detail_url("abc-123"))
    data = body(response)
    job.refresh_from_db()
    expected = job_to_dict(job)
    assert {k: v for k, v in data.items() if k != "duration"} == {
        k: v for k, v in expected.items() if k != "duration"
    }
    for key, kind in SEED_KEYS.items():
        assert isinstance(data[key], kind), (key, data[key])
    assert (data["status"], data["processed_items"], data["progress_percentage"]) == (
        "in_progress", 45, 45,
    )  # fmt: skip
    assert data["started_at"].endswith("Z")
    for extra in ("metadata", "error", "updated_at", "created_at", "cancel_requested"):
        assert extra in data
    assert {"items_per_second", "eta_seconds"} <= set(data)


def test_another_users_job_is_the_same_404_as_a_missing_one(
    alice_client: Client, bob: AbstractUser
) -> None:
    make_job("bobs-job", bob)
    theirs = alice_client.get(detail_url("bobs-job"))
    missing = alice_client.get(detail_url("no-such-job"))
    assert_error(theirs, 404, "not_found")
    assert (theirs.status_code, theirs.content) == (missing.status_code, missing.content)
    for url in (delete_url, cancel_url):
        method = alice_client.delete if url is delete_url else alice_client.post
        theirs, missing = method(url("bobs-job")), method(url("no-such-job"))
        assert_error(theirs, 404, "not_found")
        assert theirs.content == missing.content
    assert SSEProgress.objects.get(job_id="bobs-job").status == "pending"


def test_a_lost_worker_reads_as_failed(alice_client: Client, alice: AbstractUser) -> None:
    make_stale(make_job("lost", alice))
    data = body(alice_client.get(detail_url("lost")))
    assert data["status"] == "failed"
    assert data["end_reason"] == "worker_lost"
    assert data["error"].startswith("The job stopped unexpectedly (reference ")


def test_anonymous_gets_a_json_401_not_a_redirect(client: Client, alice: AbstractUser) -> None:
    make_job("abc", alice)
    for url in (BASE, f"{BASE}active/", detail_url("abc")):
        assert_error(client.get(url), 401, "not_authenticated")
    assert_error(client.delete(delete_url("abc")), 401, "not_authenticated")
    assert_error(client.post(cancel_url("abc")), 401, "not_authenticated")


def test_login_required_middleware_does_not_redirect_the_api(
    client: Client, alice: AbstractUser, settings: Any
) -> None:
    settings.MIDDLEWARE = [
        *settings.MIDDLEWARE,
        "django.contrib.auth.middleware.LoginRequiredMiddleware",
    ]
    make_job("abc", alice)
    assert_error(client.get(detail_url("abc")), 401, "not_authenticated")
    assert_error(client.get(BASE), 401, "not_authenticated")
    assert_error(client.get("/core/unknown/"), 404, "not_found")
    assert client.get("/admin/").status_code == 302  # the middleware is really on
    client.force_login(alice)
    assert body(client.get(detail_url("abc")))["job_id"] == "abc"


def test_inactive_user_gets_401(client: Client, alice: AbstractUser) -> None:
    make_job("abc", alice)
    client.force_login(alice)
    get_user_model().objects.filter(pk=alice.pk).update(is_active=False)
    assert_error(client.get(detail_url("abc")), 401, "not_authenticated")


def test_a_password_change_logs_the_poller_out(client: Client, alice: AbstractUser) -> None:
    make_job("abc", alice)
    client.force_login(alice)
    assert client.get(detail_url("abc")).status_code == 200
    alice.set_password("a new password")
    alice.save()
    assert_error(client.get(detail_url("abc")), 401, "not_authenticated")
    # Django flushed the session: the next poll is anonymous too.
    assert_error(client.get(detail_url("abc")), 401, "not_authenticated")


def test_never_cached_and_etag_gives_304(alice_client: Client, alice: AbstractUser) -> None:
    job = make_job("abc", alice)
    response = alice_client.get(detail_url("abc"))
    assert "no-store" in response["Cache-Control"] and "max-age=0" in response["Cache-Control"]
    etag = response["ETag"]
    assert etag.startswith('W/"') and etag == job_etag(body(response))
    same = alice_client.get(detail_url("abc"), headers={"If-None-Match": etag})
    assert same.status_code == 304 and same.content == b""
    assert same["ETag"] == etag and "no-store" in same["Cache-Control"]
    strong = etag.removeprefix("W/")
    assert alice_client.get(detail_url("abc"), headers={"If-None-Match": strong}).status_code == 304
    listed = alice_client.get(detail_url("abc"), headers={"If-None-Match": f'"x", {etag}'})
    assert listed.status_code == 304
    job.mark_as_started()
    job.update_progress(processed=1)
    changed = alice_client.get(detail_url("abc"), headers={"If-None-Match": etag})
    assert changed.status_code == 200 and changed["ETag"] != etag
    assert body(changed)["processed_items"] == 1
    garbage = alice_client.get(detail_url("abc"), headers={"If-None-Match": "no quotes"})
    assert garbage.status_code == 200


def test_head_answers_like_get_without_a_body(alice_client: Client, alice: AbstractUser) -> None:
    make_job("abc", alice)
    response = alice_client.head(detail_url("abc"))
    assert response.status_code == 200 and response.content == b""
    assert response["Content-Type"] == "application/json"


# -- query counts -----------------------------------------------------------


def test_a_poll_costs_one_query_session_job_and_owner_together(
    alice_client: Client, alice: AbstractUser, django_assert_num_queries: Any
) -> None:
    make_job("abc", alice)
    with django_assert_num_queries(1) as captured:  # session JOIN job JOIN user
        response = alice_client.get(detail_url("abc"))
    assert response.status_code == 200
    sql = captured.captured_queries[0]["sql"]
    assert "django_session" in sql and "auth_user" in sql
    with django_assert_num_queries(1):
        again = alice_client.get(detail_url("abc"), HTTP_IF_NONE_MATCH=response["ETag"])
    assert again.status_code == 304


def test_detail_reads_the_job_once_when_the_shortcut_does_not_apply(
    client: Client, staff: AbstractUser, alice: AbstractUser, django_assert_num_queries: Any
) -> None:
    make_job("abc", alice)
    client.force_login(staff)
    with override_settings(PROGRESS_TRACKER_STAFF_SEES_ALL=True):
        # Not the owner: the shortcut says nothing; session with job, then the user.
        with django_assert_num_queries(2):
            assert client.get(detail_url("abc")).status_code == 200
        with django_assert_num_queries(2):
            assert client.get(detail_url("missing")).status_code == 404


def test_a_non_model_backend_session_takes_the_normal_path(
    client: Client, alice: AbstractUser, settings: Any, django_assert_num_queries: Any
) -> None:
    settings.AUTHENTICATION_BACKENDS = [
        "tests.test_views.OtherBackend",
        "django.contrib.auth.backends.ModelBackend",
    ]
    make_job("abc", alice)
    client.force_login(alice, backend="tests.test_views.OtherBackend")
    with django_assert_num_queries(2):  # session with job, then OtherBackend's user
        assert body(client.get(detail_url("abc")))["job_id"] == "abc"


class OtherBackend:
    """A backend of another kind: the API must not second-guess its ``get_user``."""

    def authenticate(self, request: Any, **credentials: Any) -> None:
        return None

    def get_user(self, user_id: Any) -> Any:
        return get_user_model().objects.filter(pk=user_id).first()


def test_lists_make_two_queries_session_then_page_with_total(
    alice_client: Client, alice: AbstractUser, django_assert_num_queries: Any
) -> None:
    for index in range(5):
        make_job(f"job-{index}", alice)
    with django_assert_num_queries(2):  # session; page, count and owner columns
        assert body(alice_client.get(f"{BASE}?page_size=2"))["count"] == 5
    with django_assert_num_queries(2):
        assert body(alice_client.get(f"{BASE}?page_size=2&page=3"))["count"] == 5
    with django_assert_num_queries(2):
        assert body(alice_client.get(f"{BASE}active/?status=pending"))["count"] == 5
    with django_assert_num_queries(2):  # an empty list too
        assert body(alice_client.get(f"{BASE}active/?status=in_progress"))["count"] == 0
    with django_assert_num_queries(2):  # session, the jobs asked for
        ids = "&".join(f"job_id=job-{index}" for index in range(5))
        assert body(alice_client.get(f"{BASE}?{ids}"))["count"] == 5


# -- lists ---------------------------------------------------------------------


def _jobs_at(user: Any, count: int, prefix: str = "job") -> list[SSEProgress]:
    start = timezone.now() - timedelta(hours=1)
    jobs = []
    for index in range(count):
        job = make_job(f"{prefix}-{index}", user)
        SSEProgress.objects.filter(pk=job.pk).update(created_at=start + timedelta(seconds=index))
        jobs.append(job)
    return jobs


def test_list_is_paginated_newest_first_and_only_the_users(
    alice_client: Client, alice: AbstractUser, bob: AbstractUser
) -> None:
    _jobs_at(alice, 5)
    _jobs_at(bob, 3, prefix="bob")
    make_job("ownerless")
    first = body(alice_client.get(f"{BASE}?page_size=2"))
    assert first["count"] == 5
    assert [job["job_id"] for job in first["results"]] == ["job-4", "job-3"]
    assert first["previous"] is None
    assert first["next"] == f"{BASE}?page_size=2&page=2"
    second = body(alice_client.get(first["next"]))
    assert [job["job_id"] for job in second["results"]] == ["job-2", "job-1"]
    assert second["previous"] == f"{BASE}?page_size=2&page=1"
    last = body(alice_client.get(second["next"]))
    assert [job["job_id"] for job in last["results"]] == ["job-0"]
    assert last["next"] is None
    assert last["results"][0] == job_to_dict(SSEProgress.objects.get(job_id="job-0"))


def test_equal_creation_times_are_ordered_by_id(alice_client: Client, alice: AbstractUser) -> None:
    jobs = [make_job(f"same-{index}", alice) for index in range(3)]
    SSEProgress.objects.update(created_at=timezone.now())
    listed = [job["job_id"] for job in body(alice_client.get(BASE))["results"]]
    assert listed == [job.job_id for job in reversed(jobs)]


def test_page_size_defaults_and_maximum_come_from_settings(
    alice_client: Client, alice: AbstractUser, settings: Any
) -> None:
    _jobs_at(alice, 7)
    settings.PROGRESS_TRACKER_PAGE_SIZE = 3
    settings.PROGRESS_TRACKER_MAX_PAGE_SIZE = 5
    assert len(body(alice_client.get(BASE))["results"]) == 3
    assert len(body(alice_client.get(f"{BASE}?page_size=5"))["results"]) == 5
    assert_error(alice_client.get(f"{BASE}?page_size=6"), 400, "invalid_parameter")


def test_empty_list(alice_client: Client) -> None:
    assert body(alice_client.get(BASE)) == {
        "count": 0, "next": None, "previous": None, "results": [],
    }  # fmt: skip
    assert_error(alice_client.get(f"{BASE}?page=2"), 404, "not_found")


@pytest.mark.parametrize(
    "query",
    [
        "page=0", "page=-1", "page=abc", "page=1.5", "page=", "page=%EF%BC%91",
        "page=1_0", "page=%201", "page=01", "page=1&page=2",
        "page_size=0", "page_size=101", "page_size=x", "status=done", "status=",
        "status=PENDING", "task_type=", "task_type=a%00b", f"task_type={'x' * 101}",
    ],
)  # fmt: skip
def test_bad_list_parameters_are_400(alice_client: Client, query: str) -> None:
    for url in (BASE, f"{BASE}active/"):
        assert_error(alice_client.get(f"{url}?{query}"), 400, "invalid_parameter")


def test_page_beyond_the_last_is_404(alice_client: Client, alice: AbstractUser) -> None:
    _jobs_at(alice, 3)
    assert_error(alice_client.get(f"{BASE}?page=4&page_size=1"), 404, "not_found")


@pytest.mark.parametrize("page", ["4", "1000000000", "9" * 18, "9" * 19, "9" * 5000])
def test_a_page_past_the_last_is_404_however_large(
    alice_client: Client, alice: AbstractUser, page: str
) -> None:
    _jobs_at(alice, 3)
    for url in (BASE, f"{BASE}active/"):
        data = assert_error(alice_client.get(f"{url}?page={page}"), 404, "not_found")
        assert data["message"].startswith(f"There is no page {page[:40]}")
        # A job_id lookup is one page: its page parameter is ignored.
        lookup = body(alice_client.get(f"{url}?page={page}&job_id=job-1"))
        assert [job["job_id"] for job in lookup["results"]] == ["job-1"]


def test_a_page_size_of_any_length_above_the_maximum_says_so(alice_client: Client) -> None:
    for size in ("101", "1000000000", "9" * 30):
        data = assert_error(alice_client.get(f"{BASE}?page_size={size}"), 400, "invalid_parameter")
        assert data["message"] == "page_size must be at most 100."


def test_filters_by_status_and_task_type(alice_client: Client, alice: AbstractUser) -> None:
    finish(make_job("done", alice, task_type="edi_import"))
    make_job("waiting", alice, task_type="email_sending")
    running = make_job("running", alice, task_type="edi_import")
    running.mark_as_started()
    make_stale(make_job("lost", alice, task_type="edi_import"))

    def ids(query: str, url: str = BASE) -> set[str]:
        return {job["job_id"] for job in body(alice_client.get(f"{url}?{query}"))["results"]}

    assert ids("status=completed") == {"done"}
    assert ids("status=in_progress") == {"running"}
    assert ids("status=failed") == {"lost"}  # it reads as failed
    assert ids("status=pending&status=completed") == {"waiting", "done"}
    assert ids("task_type=edi_import") == {"done", "running", "lost"}
    assert ids("task_type=edi_import&status=in_progress") == {"running"}
    assert ids("task_type=nothing") == set()
    assert ids("", f"{BASE}active/") == {"waiting", "running"}
    assert ids("status=pending", f"{BASE}active/") == {"waiting"}
    assert ids("status=completed", f"{BASE}active/") == set()
    assert ids("unknown=1&_=1700000000") == {"done", "waiting", "running", "lost"}


def test_job_id_lookup_polls_many_bars_at_once(
    alice_client: Client, alice: AbstractUser, bob: AbstractUser
) -> None:
    _jobs_at(alice, 30)
    make_job("bobs", bob)
    wanted = [f"job-{index}" for index in range(25)] + ["bobs", "missing", "x\x00"]
    query = "&".join(f"job_id={job_id}" for job_id in wanted)
    data = body(alice_client.get(f"{BASE}?{query}"))
    assert data["count"] == 25 and len(data["results"]) == 25  # one response, not paginated
    assert data["next"] is None and data["previous"] is None
    assert [job["job_id"] for job in data["results"]] == [f"job-{i}" for i in range(24, -1, -1)]
    active = body(alice_client.get(f"{BASE}active/?job_id=job-1&job_id=job-2&status=pending"))
    assert active["count"] == 2
    assert body(alice_client.get(f"{BASE}?job_id="))["count"] == 0


def test_too_many_job_ids_is_400(alice_client: Client) -> None:
    query = "&".join(f"job_id=j{index}" for index in range(MAX_JOB_IDS + 1))
    assert_error(alice_client.get(f"{BASE}?{query}"), 400, "too_many_job_ids")
    query = "&".join(f"job_id=j{index}" for index in range(MAX_JOB_IDS))
    assert alice_client.get(f"{BASE}?{query}").status_code == 200


def test_a_repeated_job_id_counts_once(alice_client: Client, alice: AbstractUser) -> None:
    make_job("job-1", alice)
    query = "&".join(["job_id=job-1"] * (MAX_JOB_IDS + 1))
    assert body(alice_client.get(f"{BASE}?{query}"))["count"] == 1


def test_more_job_ids_than_django_reads_is_still_too_many_job_ids(
    alice_client: Client, settings: Any
) -> None:
    fields = settings.DATA_UPLOAD_MAX_NUMBER_FIELDS  # Django refuses a query with more
    query = "&".join(f"job_id=j{index}" for index in range(fields + 1))
    for url in (BASE, f"{BASE}active/"):
        data = assert_error(alice_client.get(f"{url}?{query}"), 400, "too_many_job_ids")
        assert data["message"] == f"At most 100 job_id values per request; got {fields + 1}."


# -- delete and cancel ---------------------------------------------------------


def test_delete_a_finished_job(alice_client: Client, alice: AbstractUser) -> None:
    finish(make_job("done", alice))
    response = alice_client.delete(delete_url("done"))
    assert body(response) == {"success": True, "job_id": "done"}
    assert not SSEProgress.objects.filter(job_id="done").exists()
    assert_error(alice_client.delete(delete_url("done")), 404, "not_found")


def test_delete_an_active_job_is_409(alice_client: Client, alice: AbstractUser) -> None:
    make_job("waiting", alice)
    make_job("running", alice).mark_as_started()
    for job_id in ("waiting", "running"):
        assert_error(alice_client.delete(delete_url(job_id)), 409, "job_active")
    assert SSEProgress.objects.count() == 2


def test_a_job_whose_worker_was_lost_can_be_deleted(
    alice_client: Client, alice: AbstractUser
) -> None:
    make_stale(make_job("lost", alice))
    assert body(alice_client.delete(delete_url("lost")))["success"] is True
    assert not SSEProgress.objects.exists()


def test_cancel_a_pending_job(alice_client: Client, alice: AbstractUser) -> None:
    make_job("waiting", alice)
    data = body(alice_client.post(cancel_url("waiting")))
    assert (data["status"], data["cancel_requested"]) == ("cancelled", True)
    assert data == job_to_dict(SSEProgress.objects.get(job_id="waiting"))


def test_cancel_a_running_job_flags_it(alice_client: Client, alice: AbstractUser) -> None:
    make_job("running", alice).mark_as_started()
    data = body(alice_client.post(cancel_url("running")))
    assert (data["status"], data["cancel_requested"]) == ("in_progress", True)
    etag = alice_client.get(detail_url("running"))["ETag"]
    again = alice_client.post(cancel_url("running"), headers={"If-None-Match": etag})
    assert again.status_code == 200  # an action always answers with the job
    assert (body(again)["status"], body(again)["cancel_requested"]) == ("in_progress", True)
    assert SSEProgress.objects.get(job_id="running").cancel_requested_at is not None


def test_cancel_a_finished_job_is_409(alice_client: Client, alice: AbstractUser) -> None:
    finish(make_job("done", alice))
    make_stale(make_job("lost", alice))
    for job_id in ("done", "lost"):
        assert_error(alice_client.post(cancel_url(job_id)), 409, "job_finished")
    assert SSEProgress.objects.get(job_id="done").cancel_requested_at is None


def test_csrf_failure_is_json_403(alice: AbstractUser) -> None:
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    finish(make_job("done", alice))
    make_job("waiting", alice)
    data = assert_error(client.delete(delete_url("done")), 403, "csrf_failed")
    assert "CSRF" in data["message"]
    assert_error(client.post(cancel_url("waiting")), 403, "csrf_failed")
    assert SSEProgress.objects.count() == 2
    # With the cookie and the header a page sends, both work.
    client.get("/admin/login/")  # sets the CSRF cookie
    token = client.cookies["csrftoken"].value
    assert client.delete(delete_url("done"), headers={"X-CSRFToken": token}).status_code == 200
    cancelled = client.post(cancel_url("waiting"), headers={"X-CSRFToken": token})
    assert body(cancelled)["status"] == "cancelled"


def test_csrf_is_checked_without_the_csrf_middleware(alice: AbstractUser, settings: Any) -> None:
    settings.MIDDLEWARE = [
        m for m in settings.MIDDLEWARE if m != "django.middleware.csrf.CsrfViewMiddleware"
    ]
    client = Client(enforce_csrf_checks=True)
    client.force_login(alice)
    finish(make_job("done", alice))
    assert_error(client.delete(delete_url("done")), 403, "csrf_failed")
    assert SSEProgress.objects.filter(job_id="done").exists()


@pytest.mark.parametrize(
    ("url", "allowed", "methods"),
    [
        (BASE, "GET, HEAD", ("post", "put", "patch", "delete", "options")),
        (f"{BASE}active/", "GET, HEAD", ("post", "delete")),
        (detail_url("abc"), "GET, HEAD", ("post", "put", "delete")),
        (delete_url("abc"), "DELETE", ("get", "head", "post", "put")),
        (cancel_url("abc"), "POST", ("get", "head", "delete", "patch")),
    ],
)
def test_wrong_methods_are_405_with_allow(
    alice_client: Client, url: str, allowed: str, methods: tuple[str, ...]
) -> None:
    for method in methods:
        response = getattr(alice_client, method)(url)
        assert response.status_code == 405, (method, response.status_code)
        assert response["Allow"] == allowed
        if method != "head":
            assert_error(response, 405, "method_not_allowed")


# -- settings that widen access ----------------------------------------------


def test_anonymous_ownerless(client: Client, alice: AbstractUser, settings: Any) -> None:
    make_job("ownerless")
    make_job("alices", alice)
    assert_error(client.get(detail_url("ownerless")), 401, "not_authenticated")
    settings.PROGRESS_TRACKER_ANONYMOUS_OWNERLESS = True
    assert body(client.get(detail_url("ownerless")))["job_id"] == "ownerless"
    owned, missing = client.get(detail_url("alices")), client.get(detail_url("missing"))
    assert_error(owned, 404, "not_found")
    assert owned.content == missing.content
    lookup = body(client.get(f"{BASE}?job_id=ownerless&job_id=alices"))
    assert [job["job_id"] for job in lookup["results"]] == ["ownerless"]
    assert_error(client.get(BASE), 401, "not_authenticated")  # no browsing of others' jobs
    finish(SSEProgress.objects.get(job_id="ownerless"))
    assert_error(client.delete(delete_url("ownerless")), 401, "not_authenticated")
    # Logging in loses nothing: a user reads them too (and still cannot delete them).
    client.force_login(alice)
    assert body(client.get(detail_url("ownerless")))["job_id"] == "ownerless"
    assert_error(client.delete(delete_url("ownerless")), 403, "permission_denied")
    assert body(client.get(BASE))["count"] == 1  # the list stays "my jobs"


def test_staff_sees_all_but_acts_on_their_own(
    client: Client, staff: AbstractUser, alice: AbstractUser, settings: Any
) -> None:
    finish(make_job("alices", alice))
    client.force_login(staff)
    assert_error(client.get(detail_url("alices")), 404, "not_found")
    settings.PROGRESS_TRACKER_STAFF_SEES_ALL = True
    assert body(client.get(detail_url("alices")))["job_id"] == "alices"
    assert body(client.get(f"{BASE}?job_id=alices"))["count"] == 1
    assert body(client.get(BASE))["count"] == 0  # lists stay "my jobs"
    assert_error(client.delete(delete_url("alices")), 403, "permission_denied")
    assert_error(client.post(cancel_url("alices")), 403, "permission_denied")
    assert SSEProgress.objects.filter(job_id="alices").exists()


def team_permission(request: Any, job: SSEProgress) -> bool:
    """Members of the job's team, named in its metadata."""
    user = request.user
    return bool(user.is_authenticated and job.metadata.get("team") == user.last_name)


def test_permission_setting_replaces_the_owner_rule(
    client: Client, alice: AbstractUser, bob: AbstractUser, settings: Any
) -> None:
    settings.PROGRESS_TRACKER_PERMISSION = "tests.test_views.team_permission"
    get_user_model().objects.filter(pk=bob.pk).update(last_name="blue")
    finish(make_job("team-job", alice, metadata={"team": "blue"}))
    make_job("alices-own", alice, metadata={"team": "red"})
    client.force_login(bob)
    assert body(client.get(detail_url("team-job")))["job_id"] == "team-job"
    assert body(client.get(f"{BASE}?job_id=team-job&job_id=alices-own"))["count"] == 1
    assert_error(client.get(detail_url("alices-own")), 404, "not_found")
    client.force_login(alice)  # the owner is not in the team: the rule replaces ownership
    assert_error(client.get(detail_url("team-job")), 404, "not_found")
    client.force_login(bob)
    assert body(client.delete(delete_url("team-job")))["success"] is True


def test_no_sql_reaches_the_database_for_impossible_ids(
    alice_client: Client, django_assert_num_queries: Any
) -> None:
    for job_id in ("x" * 256, "a\x00b"):
        with django_assert_num_queries(2):  # session and user only
            assert_error(alice_client.get(detail_url(job_id)), 404, "not_found")


def test_lists_have_an_etag_too(alice_client: Client, alice: AbstractUser) -> None:
    job = make_job("a", alice)
    make_job("b", alice)
    for url in (f"{BASE}?job_id=a&job_id=b", BASE, f"{BASE}active/"):
        first = alice_client.get(url)
        etag = first["ETag"]
        assert etag.startswith('W/"') and "no-store" in first["Cache-Control"]
        same = alice_client.get(url, headers={"If-None-Match": etag})
        assert (same.status_code, same.content, same["ETag"]) == (304, b"", etag)
    etags = {url: alice_client.get(url)["ETag"] for url in (f"{BASE}?job_id=a&job_id=b", BASE)}
    job.mark_as_started()
    job.update_progress(processed=3)
    for url, etag in etags.items():
        changed = alice_client.get(url, headers={"If-None-Match": etag})
        assert changed.status_code == 200
        assert {j["job_id"]: j["processed_items"] for j in body(changed)["results"]}["a"] == 3
    assert alice_client.get(f"{BASE}?page_size=1")["ETag"] != alice_client.get(BASE)["ETag"]
    before = alice_client.get(BASE)["ETag"]
    SSEProgress.objects.filter(job_id="b").delete()
    assert alice_client.get(BASE, headers={"If-None-Match": before}).status_code == 200

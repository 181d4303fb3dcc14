"""The hot paths' SQL: rows read by one statement are the rows the ORM reads."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.test import Client
from django.utils import timezone

from celery_progress_tracker import statements
from celery_progress_tracker.conf import settings as cpt_settings
from celery_progress_tracker.models import SSEProgress
from celery_progress_tracker.serializers import EtagColumns, job_to_dict, row_etag
from tests.api_support import make_job

pytestmark = [pytest.mark.django_db, pytest.mark.core]


@pytest.fixture
def alice() -> AbstractUser:
    return get_user_model().objects.create_user("alice", password="alice-password")


def _session_key(client: Client, user: Any) -> str:
    client.force_login(user)
    return str(client.session.session_key)


def _states(owner: Any) -> list[SSEProgress]:
    """Rows in every state a poll can meet."""
    now = timezone.now()
    jobs = [
        make_job("pending", owner),
        make_job("unknown-total", owner, total_items=0),
        make_job(
            "running",
            owner,
            status="in_progress",
            started_at=now - timedelta(seconds=30),
            processed_items=40,
            failed_items=2,
            current_message="Traitement en cours… ligne 42 <b>",
            metadata={"file": "été.csv", "nested": {"rows": [1, 2, None]}, "ok": True},
            has_heartbeat=True,
        ),
        make_job(
            "stale",
            owner,
            status="in_progress",
            started_at=now - timedelta(hours=2),
            has_heartbeat=True,
        ),
        make_job(
            "done",
            owner,
            status="completed",
            end_reason="succeeded",
            started_at=now - timedelta(seconds=90),
            completed_at=now - timedelta(seconds=3),
            processed_items=100,
        ),
        make_job(
            "failed",
            owner,
            status="failed",
            end_reason="error",
            error="RuntimeError: boom",
            started_at=now - timedelta(seconds=5),
            completed_at=now,
            retries=2,
        ),
        make_job("cancel-asked", owner, status="in_progress", cancel_requested_at=now),
        make_job("cancelled", None, status="cancelled", end_reason="cancelled", completed_at=now),
        make_job("in-a-group", owner, root_id="root", parent_id="parent", group_id="group"),
    ]
    SSEProgress.objects.filter(job_id="stale").update(updated_at=now - timedelta(hours=1))
    return jobs


def test_a_row_read_by_the_detail_statement_is_the_orm_row(
    client: Client, alice: AbstractUser
) -> None:
    key = _session_key(client, alice)
    jobs = _states(alice)
    owner = statements.owner_columns(get_user_model())
    assert owner is not None
    statement = statements.detail_statement(cpt_settings.DATABASE_ALIAS, owner)
    now = timezone.now()
    for job in jobs:
        row = statement.run(key, job.job_id, now)
        assert row is not None
        found = statement.reader.row_or_none(row)
        assert found is not None
        fast = found.job()
        orm = SSEProgress.objects.get(job_id=job.job_id)
        assert job_to_dict(fast, now) == job_to_dict(orm, now), job.job_id
        assert row_etag(fast, now) == row_etag(orm, now)
        # A 304 answers from the ETag's columns alone: the same ETag, no instance.
        assert isinstance(found.state(), EtagColumns)
        assert row_etag(found.state(), now) == row_etag(orm, now), job.job_id
        assert found.user_id == orm.user_id
        assert {field.attname: getattr(fast, field.attname) for field in orm._meta.fields} == {
            field.attname: getattr(orm, field.attname) for field in orm._meta.fields
        }
        assert fast._state.db == orm._state.db and not fast._state.adding


def test_the_detail_statement_reports_the_owner_and_a_missing_job(
    client: Client, alice: AbstractUser
) -> None:
    key = _session_key(client, alice)
    make_job("mine", alice)
    owner = statements.owner_columns(get_user_model())
    assert owner is not None
    statement = statements.detail_statement(cpt_settings.DATABASE_ALIAS, owner)
    row = statement.run(key, "mine", timezone.now())
    assert row is not None
    assert row[1] == alice.password and bool(row[2]) is True
    missing = statement.run(key, "missing", timezone.now())
    assert missing is not None and statement.reader.row_or_none(missing) is None
    assert missing[1] is None
    assert statement.run("no-such-session", "mine", timezone.now()) is None
    # An expired session is no session, as SessionStore.load() has it.
    assert statement.run(key, "mine", timezone.now() + timedelta(days=365)) is None


def test_the_detail_statement_is_built_once_per_database(alice: AbstractUser) -> None:
    owner = statements.owner_columns(get_user_model())
    assert owner is not None
    first = statements.detail_statement(cpt_settings.DATABASE_ALIAS, owner)
    assert statements.detail_statement(cpt_settings.DATABASE_ALIAS, owner) is first
    for field in SSEProgress._meta.concrete_fields:  # a new column is read without an edit
        assert str(field.column) in first.sql


def test_a_user_model_without_a_password_column_has_no_owner_columns() -> None:
    from django.contrib.sessions.models import Session

    assert statements.owner_columns(Session) is None


def test_a_list_statement_is_compiled_once_per_shape(
    client: Client, alice: AbstractUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.force_login(alice)
    _states(alice)
    bob = get_user_model().objects.create_user("bob")
    make_job("bobs", bob, task_type="mon_type")
    first = client.get("/core/sse-progress/?task_type=mon_type&page_size=2").json()
    compiled = []
    real = statements._compile_page
    monkeypatch.setattr(statements, "_compile_page", lambda *a: compiled.append(a) or real(*a))
    again = client.get("/core/sse-progress/?task_type=mon_type&page_size=2").json()
    assert again == first and compiled == []
    # Other values of the same shape: the same statement, their own rows.
    other = client.get("/core/sse-progress/?task_type=filler&page_size=2").json()
    assert other["count"] == 0 and compiled == []
    client.force_login(bob)
    bobs = client.get("/core/sse-progress/?task_type=mon_type&page_size=2").json()
    assert [job["job_id"] for job in bobs["results"]] == ["bobs"] and compiled == []
    client.get("/core/sse-progress/?task_type=mon_type&page_size=3")
    assert len(compiled) == 1  # a new shape


def test_a_roll_up_s_etag_counts_its_members(client: Client, alice: AbstractUser) -> None:
    key = _session_key(client, alice)
    make_job("g", alice, kind="group", total_items=0)
    make_job("m0", alice, rollup_id="g", status="in_progress", processed_items=3)
    owner = statements.owner_columns(get_user_model())
    assert owner is not None
    statement = statements.detail_statement(cpt_settings.DATABASE_ALIAS, owner)
    now = timezone.now()
    raw = statement.run(key, "g", now)
    assert raw is not None
    found = statement.reader.row_or_none(raw)
    assert found is not None
    state = found.state()
    assert state is found.job()
    assert row_etag(state, now) == row_etag(SSEProgress.objects.get(job_id="g"), now)
    # The group's own row says pending with no item: its members say otherwise.
    assert (state.status, state.processed_items) == ("in_progress", 3)


def test_an_unchanged_job_s_poll_builds_no_instance(
    client: Client, alice: AbstractUser, monkeypatch: pytest.MonkeyPatch
) -> None:
    client.force_login(alice)
    make_job("mine", alice, status="in_progress", processed_items=5)
    url = "/core/sse-progress/mine/"
    first = client.get(url)
    assert first.status_code == 200
    built: list[Any] = []
    from_db = SSEProgress.from_db

    def counted(*args: Any, **kwargs: Any) -> SSEProgress:
        built.append(args)
        return from_db(*args, **kwargs)

    monkeypatch.setattr(SSEProgress, "from_db", counted)
    same = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert (same.status_code, same["ETag"], built) == (304, first["ETag"], [])
    SSEProgress.objects.filter(job_id="mine").update(processed_items=6)
    changed = client.get(url, HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == 200 and changed.json()["processed_items"] == 6
    assert len(built) == 1 and changed["ETag"] != first["ETag"]

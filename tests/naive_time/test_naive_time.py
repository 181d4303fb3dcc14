"""``USE_TZ = False``: rows hold naive local time (``TIME_ZONE``), the API answers UTC.

Run in a pytest process of its own with ``CPT_USE_TZ=0`` (``tests/test_naive_time.py``),
so the web side, the workers and the database connections all see the setting.
"""

from __future__ import annotations

import json
import re
import threading
from datetime import datetime, time, timedelta
from datetime import timezone as dt_timezone
from io import StringIO
from typing import Any

import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management import call_command
from django.db import connection
from django.test import Client
from django.utils import timezone

from celery_progress_tracker import access
from celery_progress_tracker.models import SSEProgress
from tests import tasks
from tests.api_support import BASE, body, detail_url, make_job, make_stale
from tests.harness import wait_status
from tests.test_import_core import INSERT, OLD_TABLE
from tests.test_task_lifecycle import wait_retry_pending

pytestmark = pytest.mark.django_db(transaction=True)


def utc(value: datetime) -> datetime:
    """A naive local time of the project as UTC."""
    return timezone.make_aware(value, timezone.get_default_timezone()).astimezone(dt_timezone.utc)


def parsed(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def ann() -> Any:
    return get_user_model().objects.create_user("ann", password="ann-password")


@pytest.fixture
def ann_client(client: Client, ann: Any) -> Client:
    client.force_login(ann)
    return client


def test_the_run_has_naive_local_time() -> None:
    assert settings.USE_TZ is False
    local = timezone.get_default_timezone()
    assert local.utcoffset(datetime(2026, 1, 1)) != timedelta(0), settings.TIME_ZONE


def test_a_job_on_a_real_worker_reports_utc(worker: Any, ann: Any, ann_client: Client) -> None:
    before = datetime.now(dt_timezone.utc)
    result = tasks.count.apply_async((5,), progress_owner=ann)
    job = wait_status(result.id, "completed", timeout=30)
    assert timezone.is_naive(job.started_at)
    polled = body(ann_client.get(detail_url(result.id)))
    for name in ("created_at", "started_at", "completed_at", "updated_at"):
        assert parsed(polled[name]) == utc(getattr(job, name)).replace(
            microsecond=getattr(job, name).microsecond // 1000 * 1000
        ), name
    # The stored local time is the real time, not shifted by the offset.
    assert before - timedelta(seconds=1) <= parsed(polled["started_at"])
    assert parsed(polled["completed_at"]) <= datetime.now(dt_timezone.utc) + timedelta(seconds=1)
    assert polled["duration"] is not None and 0 <= polled["duration"] < 30


def test_lists_and_staleness_on_both_paths(
    ann: Any, ann_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    make_job("pending", ann)
    make_stale(make_job("stale", ann))
    running = make_job("running", ann)
    running.mark_as_started()
    urls = [f"{BASE}active/", f"{BASE}?status=failed", f"{BASE}?status=in_progress", BASE]
    expected = [["running", "pending"], ["stale"], ["running"], ["running", "stale", "pending"]]
    for shortcut in (True, False):
        if not shortcut:
            monkeypatch.setattr(access, "_shortcut_columns", lambda request: None)
        for url, ids in zip(urls, expected, strict=True):
            found = [job["job_id"] for job in body(ann_client.get(url))["results"]]
            assert found == ids, (shortcut, url)
        assert body(ann_client.get(detail_url("stale")))["status"] == "failed"


def test_a_countdown_is_due_in_local_time_and_a_revoke_cancels(worker: Any, ann: Any) -> None:
    # The worker checks a revoke when the countdown ends: a short one.
    queued = tasks.count.apply_async((3,), countdown=3, progress_owner=ann)
    job = SSEProgress.objects.get(job_id=queued.id)
    assert job.due_at is not None and timezone.is_naive(job.due_at)
    assert abs(job.due_at - (timezone.now() + timedelta(seconds=3))) < timedelta(seconds=2)
    queued.revoke()
    assert wait_status(queued.id, "cancelled", timeout=30).started_at is None


def test_a_retry_says_when_in_utc_and_is_due_in_local_time(worker: Any) -> None:
    result = tasks.retry_once.delay(2)
    pending = wait_retry_pending(result.id)
    said = re.fullmatch(r"Retry 1 of 2 at (\d\d:\d\d:\d\d) UTC", pending.current_message)
    assert said, pending.current_message
    now = datetime.now(dt_timezone.utc)
    at = datetime.combine(now.date(), time.fromisoformat(said[1]), dt_timezone.utc)
    assert min(abs(at + timedelta(days=days) - now) for days in (-1, 0, 1)) < timedelta(minutes=1)
    assert pending.due_at is not None and timezone.is_naive(pending.due_at)
    assert abs(utc(pending.due_at) - now) < timedelta(minutes=1)
    assert wait_status(result.id, "completed").retries == 1


def test_the_terminal_watcher_follows_a_running_job_to_its_end(ann: Any) -> None:
    make_job("running", ann).mark_as_started()

    def finish() -> None:
        SSEProgress.objects.get(job_id="running").mark_as_completed()
        connection.close()

    later = threading.Timer(0.5, finish)
    later.start()
    out = StringIO()
    try:
        call_command(
            "progress_watch", "running", "--user", "ann", "--interval", "0.1", "--plain", stdout=out
        )
    finally:
        later.join()
    assert "running" in out.getvalue() and "completed" in out.getvalue().lower(), out.getvalue()


def test_importing_the_original_table_keeps_local_times() -> None:
    with connection.cursor() as cursor:
        cursor.execute(OLD_TABLE)
        cursor.execute(
            INSERT,
            (1, "old-1", None, "email_sending", "completed", 2, 2, 0, "", json.dumps({}),
             "2025-01-16 10:30:00", datetime(2025, 1, 16, 10, 31)),
        )  # fmt: skip
    try:
        call_command("progress_import_core", stdout=StringIO())
        old = SSEProgress.objects.get(job_id="old-1")
        assert old.started_at == datetime(2025, 1, 16, 10, 30)
        assert old.completed_at == datetime(2025, 1, 16, 10, 31)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("DROP TABLE core_sseprogress")

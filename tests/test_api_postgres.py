"""The polling API on PostgreSQL: no 5xx whatever is sent, and indexed queries at 100,000 rows.

Run with ``DATABASE_URL=postgres://postgres@127.0.0.1:5432/postgres``; on another
database these tests fail rather than skip.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from celery_progress_tracker.models import SSEProgress
from tests.api_support import BASE, detail_url, finish, make_job
from tests.test_api_fuzz import check_fuzz_on_current_database, check_nasty_ids

pytestmark = [pytest.mark.postgres, pytest.mark.django_db]

TABLE = SSEProgress._meta.db_table
ROWS = 100_000
USERS = 1_000


@pytest.fixture(autouse=True)
def _needs_postgresql() -> None:
    assert connection.vendor == "postgresql", (
        "this test needs PostgreSQL: run it with DATABASE_URL=postgres://..."
    )


def test_any_request_is_answered_in_json_and_never_5xx_on_postgresql() -> None:
    user = get_user_model().objects.create_user("alice")
    finish(make_job("job-1", user))
    make_job("x" * 255, user)
    owner = Client()
    owner.force_login(user)
    check_nasty_ids(owner)
    check_fuzz_on_current_database({"anonymous": Client(), "owner": owner})


def test_nul_and_overlong_ids_never_reach_postgresql() -> None:
    user = get_user_model().objects.create_user("alice")
    client = Client()
    client.force_login(user)
    for url in (
        f"{BASE}a%00b/",
        f"{BASE}a%00b/delete/",
        f"{BASE}{'x' * 300}/",
        f"{BASE}?job_id=a%00b",
        f"{BASE}active/?job_id={'x' * 300}",
    ):
        method = client.delete if url.endswith("delete/") else client.get
        response = method(url)
        assert response.status_code in (200, 404), (url, response.content[:200])
    for url in (f"{BASE}?task_type=a%00b", f"{BASE}?status=%00"):
        assert client.get(url).status_code == 400


@pytest.fixture
def hundred_thousand_rows() -> Iterator[Any]:
    """100,000 jobs, 100 for each of 1,000 users: 1 running, 1 pending, 1 failed, 97 done."""
    user_table = get_user_model()._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {user_table} (password, is_superuser, username, first_name, last_name,
                                      email, is_staff, is_active, date_joined)
            SELECT '!', false, 'user-' || n, '', '', '', false, true, now()
            FROM generate_series(1, {USERS}) AS n
            """
        )
        cursor.execute(f"SELECT min(id) FROM {user_table} WHERE username LIKE 'user-%%'")
        first_user = cursor.fetchone()[0]
        cursor.execute(
            f"""
            INSERT INTO {TABLE} (job_id, user_id, task_type, status, total_items,
                processed_items, failed_items, current_message, metadata, error, retries,
                has_heartbeat, created_at, updated_at, started_at, completed_at,
                end_reason, run_token, root_id, parent_id, group_id, public_error, kind,
                rollup_id)
            SELECT 'job-' || n, {first_user} + n % {USERS},
                (ARRAY['email_sending', 'edi_import', 'report_generation'])[1 + n % 3],
                CASE WHEN n / {USERS} % 100 = 0 THEN 'in_progress'
                     WHEN n / {USERS} % 100 = 1 THEN 'pending'
                     WHEN n / {USERS} % 100 = 2 THEN 'failed' ELSE 'completed' END,
                100, 50, 0, '', '{{}}'::jsonb, '', 0, n / {USERS} % 100 = 0,
                now() - n * interval '1 minute',
                now() - n * interval '1 minute' + interval '10 seconds',
                now() - n * interval '1 minute',
                CASE WHEN n / {USERS} % 100 > 1 THEN now() - n * interval '1 minute' END,
                CASE WHEN n / {USERS} % 100 = 2 THEN 'error'
                     WHEN n / {USERS} % 100 > 2 THEN 'succeeded' ELSE '' END,
                '', '', '', '', '', '', ''
            FROM generate_series(1, {ROWS}) AS n
            """
        )
        cursor.execute(f"ANALYZE {TABLE}")
        cursor.execute(f"ANALYZE {user_table}")
    assert SSEProgress.objects.count() == ROWS
    yield get_user_model().objects.get(pk=first_user + 7)


def _plans_on_the_job_table(client: Client, url: str) -> list[str]:
    """EXPLAIN every query the view sent to the job table."""
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, response.content[:200]
    plans = []
    with connection.cursor() as cursor:
        for query in captured.captured_queries:
            if TABLE not in query["sql"]:
                continue
            cursor.execute(f"EXPLAIN {query['sql']}")
            plans.append("\n".join(row[0] for row in cursor.fetchall()))
    assert plans, f"{url} sent no query to {TABLE}"
    return plans


def _assert_indexed(plan: str) -> None:
    assert f"Seq Scan on {TABLE}" not in plan, plan
    assert "Index" in plan, plan


def test_the_api_and_the_reaper_use_indexes(hundred_thousand_rows: Any) -> None:
    user = hundred_thousand_rows
    job_id = SSEProgress.objects.filter(user=user).values_list("job_id", flat=True)[0]
    client = Client()
    client.force_login(user)

    urls = {
        "detail": detail_url(job_id),
        "owner list": BASE,
        "owner list, page 3": f"{BASE}?page=3",
        "active list": f"{BASE}active/",
        "filtered list": f"{BASE}?status=completed&task_type=edi_import",
        "failed list": f"{BASE}?status=failed",
        "lookup": f"{BASE}?job_id={job_id}&job_id=job-1&job_id=job-2",
    }
    for name, url in urls.items():
        plans = _plans_on_the_job_table(client, url)
        if name in ("owner list", "active list"):
            assert len(plans) == 1, plans  # the page with its total (a window count)
        for plan in plans:
            _assert_indexed(plan)

    # The reaper's queries (the partial index on running rows with a heartbeat).
    stale = SSEProgress.objects.stale()
    for plan in (stale.explain(), stale.values_list("updated_at").distinct().explain()):
        _assert_indexed(plan)
        assert "cpt_running_heartbeat_idx" in plan, plan
    # ...and lost messages (the partial index on pending rows, by when they were due).
    plan = SSEProgress.objects.never_started().explain()
    _assert_indexed(plan)
    assert "cpt_pending_due_idx" in plan, plan

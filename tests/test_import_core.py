"""``manage.py progress_import_core``: rows of the original ``core_sseprogress`` table."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import datetime, timezone
from io import StringIO

import pytest
from django.contrib.auth import get_user_model
from django.core.management import CommandError, call_command
from django.db import connection

from celery_progress_tracker.management.commands.progress_import_core import INTERRUPTED
from celery_progress_tracker.models import SSEProgress

# The original model's table, as its Django migration created it (portable types).
OLD_TABLE = """
CREATE TABLE core_sseprogress (
    id integer PRIMARY KEY,
    job_id varchar(255) NOT NULL UNIQUE,
    user_id integer NULL,
    task_type varchar(100) NOT NULL,
    status varchar(20) NOT NULL,
    total_items integer NOT NULL,
    processed_items integer NOT NULL,
    failed_items integer NOT NULL,
    current_message text NOT NULL,
    metadata text NOT NULL,
    started_at timestamp NULL,
    completed_at timestamp NULL
)
"""
INSERT = (
    "INSERT INTO core_sseprogress (id, job_id, user_id, task_type, status, total_items,"
    " processed_items, failed_items, current_message, metadata, started_at, completed_at)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)
STARTED = datetime(2025, 1, 16, 10, 30, tzinfo=timezone.utc)
DONE = datetime(2025, 1, 16, 10, 31, 40, tzinfo=timezone.utc)


@pytest.fixture
def old_table(db: None) -> Iterator[int]:
    """The old table with four jobs of one user; yields the user's id."""
    user = get_user_model().objects.create_user("alice")
    ghost = 999_999  # a user deleted since (the old foreign key was not enforced here)
    naive = "2025-01-16 10:30:00"  # how SQLite hands back an old naive UTC timestamp
    rows = [
        (1, "done-1", user.pk, "email_sending", "completed", 100, 98, 2, "Terminé",
         json.dumps({"campaign_id": 123}), naive, DONE),
        (2, "boom-2", user.pk, "edi_import", "failed", 50, 10, 0, "Erreur", "{}", STARTED, DONE),
        (3, "live-3", user.pk, "report_generation", "in_progress", 10, 4, 0, "En cours",
         "not json", STARTED, None),
        (4, "gone-4", ghost, "accounting_export", "completed", 1, 1, 0, "", "{}", STARTED, DONE),
    ]  # fmt: skip
    with connection.cursor() as cursor:
        cursor.execute(OLD_TABLE)
        for values in rows:
            cursor.execute(INSERT, values)
    yield user.pk
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE core_sseprogress")


def run(*args: str) -> str:
    out = StringIO()
    call_command("progress_import_core", *args, stdout=out)
    return out.getvalue()


def test_copies_the_rows_with_their_owner_counts_and_dates(old_table: int) -> None:
    output = run()

    assert "Copied 3 job(s)" in output and "1 of deleted users left out" in output
    done = SSEProgress.objects.get(job_id="done-1")
    assert (done.user_id, done.task_type, done.status) == (old_table, "email_sending", "completed")
    assert (done.total_items, done.processed_items, done.failed_items) == (100, 98, 2)
    assert done.current_message == "Terminé" and done.metadata == {"campaign_id": 123}
    assert done.started_at == STARTED and done.completed_at == DONE
    assert done.created_at == STARTED
    assert done.progress_percentage == 100 and done.duration == 100.0
    assert SSEProgress.objects.get(job_id="boom-2").status == "failed"
    assert not SSEProgress.objects.filter(job_id="gone-4").exists()


def test_a_job_still_active_in_the_old_table_is_copied_as_failed(old_table: int) -> None:
    run()

    live = SSEProgress.objects.get(job_id="live-3")
    assert live.status == "failed" and live.error == INTERRUPTED
    assert live.completed_at is not None and live.processed_items == 4
    assert live.metadata == {"apps_core_metadata": "not json"}


def test_running_it_again_copies_nothing_twice(old_table: int) -> None:
    run()
    SSEProgress.objects.filter(job_id="done-1").update(current_message="changed since")

    output = run()

    assert "Copied 0 job(s)" in output and "3 already present" in output
    assert SSEProgress.objects.count() == 3
    assert SSEProgress.objects.get(job_id="done-1").current_message == "changed since"


def test_dry_run_copies_nothing(old_table: int) -> None:
    output = run("--dry-run")

    assert "Would copy 3 job(s)" in output
    assert not SSEProgress.objects.exists()


def test_small_batches_copy_everything(old_table: int) -> None:
    run("--batch-size", "1")

    assert set(SSEProgress.objects.values_list("job_id", flat=True)) == {
        "done-1",
        "boom-2",
        "live-3",
    }


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--table", "no_such_table"], "No table 'no_such_table'"),
        (["--source-database", "nope"], "no database 'nope'"),
        (["--batch-size", "0"], "--batch-size must be at least 1"),
    ],
)
def test_bad_arguments_are_clear_errors(db: None, args: list[str], message: str) -> None:
    with pytest.raises(CommandError, match=message):
        run(*args)

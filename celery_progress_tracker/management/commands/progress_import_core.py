"""``manage.py progress_import_core``: copy the rows of the in-house ``apps.core`` system.

The original system kept its jobs in ``core_sseprogress``. This command copies
them into this package's table, once or again (rows already copied are
skipped), without touching the old table. Jobs still active in the old table
cannot be finished by anybody any more: they are copied as ``failed``.
"""

from __future__ import annotations

import json
from datetime import datetime, timezone
from typing import Any

from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import DEFAULT_DB_ALIAS, connections
from django.utils import timezone as dj_timezone
from django.utils.dateparse import parse_datetime

from celery_progress_tracker.conf import settings
from celery_progress_tracker.models import (
    ACTIVE_STATUSES,
    EndReason,
    SSEProgress,
    Status,
    stored_time,
)
from celery_progress_tracker.validation import (
    JOB_ID_LENGTH,
    MAX_COUNT,
    clean_error,
    clean_message,
    clean_task_type,
    clean_text,
)

#: Columns read from the old table when present; only ``job_id`` is required.
COLUMNS = (
    "job_id",
    "user_id",
    "task_type",
    "status",
    "total_items",
    "processed_items",
    "failed_items",
    "current_message",
    "metadata",
    "started_at",
    "completed_at",
    "created_at",
    "updated_at",
)

#: The ``error`` of a job copied while the old system still showed it active.
INTERRUPTED = "Interrupted: still active when imported from apps.core"


class Command(BaseCommand):
    help = "Copy the jobs of the original apps.core system (table core_sseprogress)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--table", default="core_sseprogress", help="the old table")
        parser.add_argument(
            "--source-database",
            default=DEFAULT_DB_ALIAS,
            help="the database alias that holds the old table (default: default)",
        )
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be copied, copy nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        alias = options["source_database"]
        if alias not in connections:
            raise CommandError(f"--source-database: no database {alias!r} in DATABASES.")
        if options["batch_size"] < 1:
            raise CommandError("--batch-size must be at least 1.")
        connection = connections[alias]
        table = options["table"]
        with connection.cursor() as cursor:
            if table not in connection.introspection.table_names(cursor):
                raise CommandError(f"No table {table!r} in database {alias!r}.")
            present = {
                column.name
                for column in connection.introspection.get_table_description(cursor, table)
            }
            if "job_id" not in present:
                raise CommandError(f"Table {table!r} has no job_id column.")
            columns = [name for name in COLUMNS if name in present]
            quote = connection.ops.quote_name
            select = ", ".join(map(quote, columns))
            cursor.execute(f"SELECT {select} FROM {quote(table)} ORDER BY {quote('job_id')}")
            copied = skipped = interrupted = orphaned = 0
            while batch := cursor.fetchmany(options["batch_size"]):
                rows = [_row(dict(zip(columns, values, strict=True))) for values in batch]
                interrupted += sum(row.error == INTERRUPTED for row in rows)
                new, orphans = _to_copy(rows)
                orphaned += orphans
                skipped += len(rows) - len(new) - orphans
                if not options["dry_run"]:
                    SSEProgress.objects.bulk_create(new, ignore_conflicts=True)
                copied += len(new)
        verb = "Would copy" if options["dry_run"] else "Copied"
        self.stdout.write(
            f"{verb} {copied} job(s) from {table} ({interrupted} still active there, copied as"
            f" failed); {skipped} already present; {orphaned} of deleted users left out."
        )


def _to_copy(rows: list[SSEProgress]) -> tuple[list[SSEProgress], int]:
    """The rows not copied yet, and how many belong to users that no longer exist."""
    alias = settings.DATABASE_ALIAS
    existing = set(
        SSEProgress.objects.filter(job_id__in=[row.job_id for row in rows]).values_list(
            "job_id", flat=True
        )
    )
    owners = {row.user_id for row in rows if row.user_id is not None}
    users = set(
        get_user_model().objects.using(alias).filter(pk__in=owners).values_list("pk", flat=True)
    )
    # The old foreign key deleted a user's jobs with the user: do the same.
    kept = [row for row in rows if row.user_id is None or row.user_id in users]
    return [row for row in kept if row.job_id not in existing], len(rows) - len(kept)


def _row(old: dict[str, Any]) -> SSEProgress:
    now = dj_timezone.now()
    status = str(old.get("status") or Status.PENDING)
    error = ""
    if status not in Status.values:
        error = clean_error(f"Unknown status in apps.core: {status}")
        status = str(Status.FAILED)
    started_at = _datetime(old.get("started_at"))
    completed_at = _datetime(old.get("completed_at"))
    if status in [str(active) for active in ACTIVE_STATUSES]:
        status, error, completed_at = str(Status.FAILED), INTERRUPTED, completed_at or now
    created_at = _datetime(old.get("created_at")) or started_at or completed_at or now
    return SSEProgress(
        job_id=clean_text("job_id", str(old["job_id"]), JOB_ID_LENGTH),
        user_id=old.get("user_id"),
        task_type=clean_task_type(old.get("task_type") or ""),
        status=status,
        end_reason=_end_reason(status, error),
        total_items=_count(old.get("total_items")),
        processed_items=_count(old.get("processed_items")),
        failed_items=_count(old.get("failed_items")),
        current_message=clean_message(old.get("current_message") or "", "current_message"),
        metadata=_metadata(old.get("metadata")),
        error=error,
        started_at=started_at,
        completed_at=completed_at,
        created_at=created_at,
        updated_at=_datetime(old.get("updated_at")) or completed_at or created_at,
    )


def _end_reason(status: str, error: str) -> str:
    if error == INTERRUPTED:
        return EndReason.WORKER_LOST
    return {
        Status.COMPLETED: EndReason.SUCCEEDED,
        Status.FAILED: EndReason.ERROR,
        Status.CANCELLED: EndReason.CANCELLED,
    }.get(Status(status), EndReason.NONE)


def _count(value: Any) -> int:
    try:
        return min(MAX_COUNT, max(0, int(value or 0)))
    except (TypeError, ValueError):
        return 0


def _metadata(value: Any) -> dict[str, Any]:
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError:
            return {"apps_core_metadata": value if isinstance(value, str) else value.decode()}
    return value if isinstance(value, dict) else {}


def _datetime(value: Any) -> datetime | None:
    parsed: datetime | None = None
    if isinstance(value, datetime):
        parsed = value
    elif isinstance(value, str):
        parsed = parse_datetime(value.replace(" ", "T", 1))
    if parsed is None or (dj_timezone.is_naive(parsed) and not django_settings.USE_TZ):
        return parsed  # naive local time, as both tables hold it when USE_TZ is off
    if dj_timezone.is_naive(parsed):
        # Django stores UTC when USE_TZ is on, which the original system used.
        parsed = parsed.replace(tzinfo=timezone.utc)
    return stored_time(parsed)

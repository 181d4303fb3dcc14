"""``manage.py progress_purge``: delete old finished (or never started) jobs."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from celery_progress_tracker.maintenance import (
    PURGEABLE_STATUSES,
    expired,
    parse_age,
    purgeable,
    retention_ages,
)
from celery_progress_tracker.models import FINAL_STATUSES


class Command(BaseCommand):
    help = "Delete finished jobs (completed, failed, cancelled) older than an age."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            help=(
                "age such as 7d, 12h, 30m, for every job (default: PROGRESS_TRACKER_RETENTION_DAYS,"
                " and PROGRESS_TRACKER_SYSTEM_RETENTION_DAYS for jobs without an owner)"
            ),
        )
        parser.add_argument(
            "--status",
            action="append",
            choices=[str(s) for s in PURGEABLE_STATUSES],
            help=(
                "only this status (repeatable; default: the final ones; 'pending' deletes"
                " jobs no worker started)"
            ),
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="count what would be deleted, delete nothing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        statuses = options["status"] or FINAL_STATUSES
        if options["older_than"]:
            try:
                age = parse_age(options["older_than"])
            except ValueError as exc:
                raise CommandError(str(exc)) from None
            rows = purgeable(age, statuses)
            when = f"finished more than {age} ago"
        else:
            owned, ownerless = retention_ages()
            if owned is None and ownerless is None:
                raise CommandError(
                    "PROGRESS_TRACKER_RETENTION_DAYS and PROGRESS_TRACKER_SYSTEM_RETENTION_DAYS"
                    " are None (keep forever): pass --older-than."
                )
            rows = expired(statuses)
            when = (
                f"past their retention (with an owner: {_kept(owned)};"
                f" without one: {_kept(ownerless)})"
            )
        if options["dry_run"]:
            self.stdout.write(f"Would delete {rows.count()} job(s) {when}.")
            return
        deleted, _ = rows.delete()
        self.stdout.write(f"Deleted {deleted} job(s) {when}.")


def _kept(age: timedelta | None) -> str:
    if age is None:
        return "kept forever"
    days = age.total_seconds() / 86400
    return f"{days:g} day" if days == 1 else f"{days:g} days"

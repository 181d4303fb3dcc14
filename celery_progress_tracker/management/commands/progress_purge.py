"""``manage.py progress_purge``: delete old finished (or never started) jobs."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from celery_progress_tracker.conf import settings
from celery_progress_tracker.maintenance import PURGEABLE_STATUSES, parse_age, purgeable
from celery_progress_tracker.models import FINAL_STATUSES


class Command(BaseCommand):
    help = "Delete finished jobs (completed, failed, cancelled) older than an age."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--older-than",
            help="age such as 7d, 12h, 30m (default: PROGRESS_TRACKER_RETENTION_DAYS)",
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
        if options["older_than"]:
            try:
                age = parse_age(options["older_than"])
            except ValueError as exc:
                raise CommandError(str(exc)) from None
        elif settings.RETENTION_DAYS is None:
            raise CommandError(
                "PROGRESS_TRACKER_RETENTION_DAYS is None (keep forever): pass --older-than."
            )
        else:
            from datetime import timedelta

            age = timedelta(days=settings.RETENTION_DAYS)
        rows = purgeable(age, options["status"] or FINAL_STATUSES)
        if options["dry_run"]:
            self.stdout.write(f"Would delete {rows.count()} job(s) finished before {age} ago.")
            return
        deleted, _ = rows.delete()
        self.stdout.write(f"Deleted {deleted} job(s) finished more than {age} ago.")

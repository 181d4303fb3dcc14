"""``manage.py progress_reap``: close running jobs whose worker was lost."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from celery_progress_tracker.conf import settings
from celery_progress_tracker.maintenance import reap_stale


class Command(BaseCommand):
    help = (
        "Mark as failed ('worker lost') the in_progress jobs whose worker sent no "
        "heartbeat for PROGRESS_TRACKER_STALE_AFTER seconds."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        closed = reap_stale()
        self.stdout.write(
            f"Closed {closed} job(s) with no heartbeat for {settings.STALE_AFTER:g} s."
        )

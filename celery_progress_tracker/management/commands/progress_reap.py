"""``manage.py progress_reap``: close jobs nobody will finish."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand

from celery_progress_tracker.conf import settings
from celery_progress_tracker.maintenance import reap_stale


class Command(BaseCommand):
    help = (
        "Mark as failed the in_progress jobs whose worker sent no heartbeat for"
        " PROGRESS_TRACKER_STALE_AFTER seconds (worker lost), and the pending jobs no"
        " worker started within PROGRESS_TRACKER_PENDING_TIMEOUT seconds (never started)."
    )

    def handle(self, *args: Any, **options: Any) -> None:
        closed = reap_stale()
        self.stdout.write(
            f"Closed {closed} job(s) with no heartbeat for {settings.STALE_AFTER:g} s"
            " or never started."
        )

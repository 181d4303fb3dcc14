"""Periodic maintenance tasks, for Celery beat.

Add them to ``CELERY_BEAT_SCHEDULE``, e.g. every minute for the reaper and
daily for the purge (see the production docs).
"""

from __future__ import annotations

from celery import shared_task

from celery_progress_tracker.maintenance import purge, reap_stale


@shared_task(name="celery_progress_tracker.reap_stale", ignore_result=True)
def reap_stale_jobs() -> int:
    """Close running jobs whose worker was lost."""
    return reap_stale()


@shared_task(name="celery_progress_tracker.purge", ignore_result=True)
def purge_finished_jobs() -> int:
    """Delete finished jobs past their retention (``RETENTION_DAYS``, ``SYSTEM_RETENTION_DAYS``)."""
    return purge()

"""A job for the worker test."""

from __future__ import annotations

from celery import shared_task

from celery_progress_tracker import ProgressTask


@shared_task(bind=True, base=ProgressTask, name="usermodels.count_to")
def count_to(self: ProgressTask, total: int) -> int:
    self.set_total(total)
    for number in range(1, total + 1):
        self.progress(1, f"item {number}")
    return total

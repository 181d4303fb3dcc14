"""Tasks of the browser tests (imported by their conftest, run by the in-process worker)."""

from __future__ import annotations

import time

from celery import shared_task

from celery_progress_tracker import ProgressTask


@shared_task(
    base=ProgressTask,
    bind=True,
    name="tests.browser.titled",
    progress_title="Crunch the numbers",
)
def titled(self: ProgressTask, items: int, delay: float = 0.0) -> int:
    """A job whose task declares ``progress_title``: the bar's default title."""
    self.set_total(items)
    for idx in range(items):
        time.sleep(delay)
        self.progress(1, f"row {idx + 1:,}")
    return items


@shared_task(base=ProgressTask, bind=True, name="tests.browser.reports.crunch_numbers")
def crunch_numbers(self: ProgressTask, items: int, delay: float = 0.0) -> int:
    """A job without a title: the bar humanises its name ("Crunch numbers")."""
    self.set_total(items)
    for _ in range(items):
        time.sleep(delay)
        self.progress(1)
    return items

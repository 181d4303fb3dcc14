"""A cancel is an expected outcome: quiet logs, REVOKED in Celery, seen between steps."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from celery import states

from tests.cookiecutter.jobs.tasks import crunch, long_steps
from tests.harness import row, wait_for, wait_status

pytestmark = pytest.mark.core


def test_a_cancelled_job_logs_one_info_line_and_reads_revoked(
    worker: Any, caplog: pytest.LogCaptureFixture
) -> None:
    result = crunch.delay(30)
    wait_for(lambda: (job := row(result.id)) and job.processed_items > 3)
    with caplog.at_level(logging.INFO):
        assert row(result.id).request_cancel() == "in_progress"
        job = wait_status(result.id, "cancelled", timeout=15)
        wait_for(lambda: result.state == states.REVOKED, timeout=10)
    assert (job.end_reason, job.error) == ("cancelled", "")
    about_it = [r for r in caplog.records if result.id in r.getMessage()]
    assert not [r for r in about_it if r.levelno >= logging.WARNING], about_it
    assert not [r for r in caplog.records if r.exc_info], "no traceback"
    ours = [r for r in about_it if r.name.startswith("celery_progress_tracker")]
    assert [(r.levelname, r.getMessage()) for r in ours] == [("INFO", f"job {result.id} cancelled")]


def test_a_body_that_reports_nothing_sees_a_cancel_within_a_flush_interval(
    worker: Any, settings: Any
) -> None:
    # No heartbeat during the test, and steps of 0.1 s that report nothing: only
    # the flusher's cancel check can tell the body.
    settings.PROGRESS_TRACKER_HEARTBEAT_INTERVAL = 600
    result = long_steps.delay(400, 0.1)
    wait_status(result.id, "in_progress")
    row(result.id).request_cancel()
    job = wait_status(result.id, "cancelled", timeout=5)
    assert job.end_reason == "cancelled"
    wait_for(lambda: result.state == states.REVOKED, timeout=10)

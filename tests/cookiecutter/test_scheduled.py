"""Runs Celery beat starts: a ProgressTask may opt out of a row for them."""

from __future__ import annotations

import os
import subprocess
import sys
import threading
from datetime import timedelta
from pathlib import Path
from typing import Any

import celery
import pytest
from celery import signals
from celery.beat import ScheduleEntry, Scheduler
from django.db import connection

from tests.cookiecutter.config.celery_app import app
from tests.cookiecutter.jobs.tasks import flaky_export, import_statement, sync_rates
from tests.harness import ROOT, row, wait_for, wait_status

pytestmark = pytest.mark.core


def run_from_beat(task: Any, args: tuple[Any, ...], **options: Any) -> Any:
    """Publish ``task`` as Celery beat does, through beat's own scheduler."""
    entry = ScheduleEntry(
        name=f"every few seconds: {task.name}",
        task=task.name,
        schedule=timedelta(seconds=5),
        args=args,
        options=options,
        app=app,
    )
    if celery.VERSION < (5, 5):
        # Celery 5.4's scheduler marks nothing; a real beat process is recognised
        # by its beat_init signal instead (test_a_real_beat_process).
        entry.options.setdefault("headers", {})["celery_beat_task"] = True
    return Scheduler(app, lazy=True).apply_async(entry, advance=False)


def test_a_task_that_opts_out_gets_no_row_for_its_scheduled_runs(worker: Any) -> None:
    scheduled = run_from_beat(sync_rates, (4,))
    assert scheduled.get(timeout=60) == 4  # it ran, and counted, without a row
    assert row(scheduled.id) is None
    # Started any other way, the same task is tracked as usual.
    direct = sync_rates.delay(3)
    assert wait_status(direct.id, "completed").processed_items == 3


def test_scheduled_runs_of_other_tasks_get_an_ownerless_row(worker: Any) -> None:
    scheduled = run_from_beat(import_statement, (2,))
    job = wait_status(scheduled.id, "completed")
    assert (job.user_id, job.processed_items) == (None, 2)


def test_a_beat_entry_or_a_call_can_turn_the_row_off(worker: Any, alice: Any) -> None:
    scheduled = run_from_beat(import_statement, (2,), progress_track=False)
    called = import_statement.apply_async((3,), progress_track=False, progress_owner=alice)
    assert (scheduled.get(timeout=60), called.get(timeout=60)) == (2, 3)
    assert row(scheduled.id) is None and row(called.id) is None


def test_an_untracked_run_that_fails_or_retries_writes_nothing(worker: Any) -> None:
    failed = import_statement.apply_async((5, 0.0, 2), progress_track=False)
    with pytest.raises(RuntimeError, match="Statement line 2"):
        failed.get(timeout=60)
    assert row(failed.id) is None
    retried = flaky_export.apply_async((2, 1), progress_track=False)
    assert retried.get(timeout=60) == 2  # ran twice: the retry keeps the flag
    assert row(retried.id) is None


def test_django_celery_beats_header_marks_a_scheduled_run_too(worker: Any) -> None:
    # DatabaseScheduler names the entry in a header, on every Celery release.
    scheduled = sync_rates.apply_async((2,), headers={"periodic_task_name": "rates"})
    assert scheduled.get(timeout=60) == 2
    assert row(scheduled.id) is None


#: A ``celery beat`` of the project, its schedule given here: both tasks every 0.3 s.
BEAT = """
import django

django.setup()
from tests.cookiecutter.config.celery_app import app

app.conf.beat_schedule = {
    "rates": {"task": "tests.cookiecutter.jobs.tasks.sync_rates", "schedule": 0.3, "args": (2,)},
    "statement": {
        "task": "tests.cookiecutter.jobs.tasks.import_statement", "schedule": 0.3, "args": (1,)
    },
}
app.Beat(max_interval=0.3, schedule=%r, quiet=True).run()
"""


def test_a_real_beat_process(worker: Any) -> None:
    ran: dict[str, list[str]] = {sync_rates.name: [], import_statement.name: []}
    lock = threading.Lock()

    def record(sender: Any = None, **kwargs: Any) -> None:
        with lock:
            if sender.name in ran:
                ran[sender.name].append(sender.request.id)

    signals.task_success.connect(record, weak=False, dispatch_uid="test_a_real_beat_process")
    tmp = Path(os.environ["CPT_TMP"])
    log = (tmp / f"beat-{os.getpid()}.log").open("wb")
    env = {
        **os.environ,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.cookiecutter.config.settings",
        "CPT_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
    }
    code = BEAT % str(tmp / f"beat-schedule-{os.getpid()}")
    beat = subprocess.Popen(
        [sys.executable, "-c", code], env=env, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT
    )
    try:
        wait_for(lambda: all(len(ids) >= 2 for ids in ran.values()), timeout=60, interval=0.1)
    finally:
        beat.kill()
        beat.wait(10)
        log.close()
        # Whatever beat queued before it stopped runs before this ping (solo pool: in order).
        app.tasks["celery.ping"].delay().get(timeout=60)
        signals.task_success.disconnect(dispatch_uid="test_a_real_beat_process")
    with lock:
        untracked, tracked = list(ran[sync_rates.name]), list(ran[import_statement.name])
    for job_id in tracked:
        job = wait_status(job_id, "completed")
        assert (job.user_id, job.processed_items) == (None, 1)
    assert [row(job_id) for job_id in untracked] == [None] * len(untracked)

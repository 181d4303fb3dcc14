"""The fixtures really run tasks on the configured broker and database."""

from __future__ import annotations

import uuid

import pytest
from django.conf import settings
from django.core.management import call_command

from tests import tasks
from tests.conftest import wait_status

pytestmark = pytest.mark.core


def test_in_process_worker_executes_on_configured_broker(worker: object) -> None:
    result = tasks.plain.delay(21)
    assert result.get(timeout=20) == 42
    assert settings.CELERY_BROKER_URL.split(":")[0] in {"filesystem", "redis", "amqp"}


def test_seed_manual_task_runs_unchanged_on_a_real_worker(worker: object) -> None:
    job_id = str(uuid.uuid4())
    tasks.seed_manual_task.delay(job_id, None, items=100)
    job = wait_status(job_id, "completed")
    assert (job.processed_items, job.total_items, job.progress_percentage) == (100, 100, 100)
    assert job.started_at is not None and job.completed_at is not None


def test_worker_process_executes_tasks(worker_process: object) -> None:
    proc = worker_process()  # type: ignore[operator]
    result = tasks.plain.apply_async((5,), queue=proc.queue)
    assert result.get(timeout=30) == 10


@pytest.mark.django_db
def test_no_missing_migrations() -> None:
    call_command("makemigrations", "celery_progress_tracker", "--check", "--dry-run", verbosity=0)

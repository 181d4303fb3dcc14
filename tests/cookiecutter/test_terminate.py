"""``revoke(terminate=True)`` ends a job ``cancelled`` (revoked) on every pool."""

from __future__ import annotations

from typing import Any

import pytest
from celery import current_app

from tests.cookiecutter.jobs.tasks import crunch
from tests.harness import row, wait_for, wait_status


@pytest.mark.parametrize("pool", ["prefork", "threads", "solo", "gevent"])
def test_revoke_with_terminate_ends_cancelled(worker_process: Any, pool: str) -> None:
    proc = worker_process(pool=pool, concurrency=1)
    result = crunch.apply_async((30,), queue=proc.queue)
    wait_for(lambda: (job := row(result.id)) and job.processed_items > 3, timeout=30)
    result.revoke(terminate=True)  # the result delay() returned
    job = wait_status(result.id, "cancelled", "failed", "completed", timeout=40)
    assert (job.status, job.end_reason, job.error) == ("cancelled", "revoked", ""), proc.output()
    assert 3 < job.processed_items < 1500
    # Nothing arrives later to change it (a lost-worker report, a success).
    assert proc.stop() is not None
    job = row(result.id)
    assert (job.status, job.end_reason, job.error) == ("cancelled", "revoked", "")


@pytest.mark.parametrize("faults", ["", "yield_before_revoked"], ids=["announced", "killed-first"])
def test_a_terminate_sent_by_celery_alone_on_gevent_reads_as_revoked(
    worker_process: Any, faults: str
) -> None:
    """``app.control.revoke(terminate=True)`` (Flower's button): no stop request in the row.

    gevent kills the task's greenlet, so the body never sees a stop request; the
    killed greenlet may end before the worker announces the revoke
    (``yield_before_revoked``): the worker's own list of revoked tasks says why.
    """
    proc = worker_process(pool="gevent", concurrency=1, env={"CPT_FAULTS": faults})
    result = crunch.apply_async((30,), queue=proc.queue)
    wait_for(lambda: (job := row(result.id)) and job.processed_items > 3, timeout=30)
    current_app.control.revoke(result.id, terminate=True)
    job = wait_status(result.id, "cancelled", "failed", "completed", timeout=40)
    assert (job.status, job.end_reason, job.error) == ("cancelled", "revoked", ""), proc.output()
    assert job.processed_items > 3  # the counts made before the terminate are kept
    assert proc.stop() is not None
    assert row(result.id).status == "cancelled"

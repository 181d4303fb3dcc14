"""``revoke(terminate=True)`` ends a job ``cancelled`` (revoked) on every pool."""

from __future__ import annotations

from typing import Any

import pytest

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

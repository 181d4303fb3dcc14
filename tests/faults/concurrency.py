"""Many processes incrementing one row with the manual API: nothing may be lost."""

from __future__ import annotations

import time
import uuid
from typing import Any

from celery import group

from celery_progress_tracker.models import SSEProgress
from tests.faults import tasks as fault_tasks


def increment_concurrently(worker_process: Any, processes: int, each: int) -> dict[str, Any]:
    """Run ``processes`` tasks of ``each`` increments on a prefork worker; return figures."""
    job = SSEProgress.objects.create(job_id=str(uuid.uuid4()), task_type="shared", total_items=0)
    job.mark_as_started()
    proc = worker_process(concurrency=processes)
    started = time.monotonic()
    runs = (
        group(fault_tasks.increments.si(job.job_id, each) for _ in range(processes))
        .apply_async(queue=proc.queue)
        .get(timeout=600)
    )
    elapsed = time.monotonic() - started
    job.refresh_from_db()
    job.mark_as_completed()
    overlap = min(run["end"] for run in runs) > max(run["start"] for run in runs)
    return {
        "job": job,
        "pids": {run["pid"] for run in runs},
        "all_overlapped": overlap,
        "elapsed": elapsed,
    }

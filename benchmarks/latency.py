"""3. End-to-end latency: from ``self.progress()`` in the worker to a poller seeing it.

A task makes progress calls at random moments and returns their wall-clock
times; meanwhile this process polls the job's detail endpoint over HTTP, as
fast as it can, and notes when each new count first appears. Both run on the
same machine, so their clocks agree.
"""

from __future__ import annotations

import json
import statistics
import time
from typing import Any

from benchmarks import tasks, web
from benchmarks.services import wait_until
from celery_progress_tracker.conf import settings
from celery_progress_tracker.models import SSEProgress, Status


def _percentile(values: list[float], pct: float) -> float:
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))
    return ordered[index]


def measure(base: str, session: web.Session, queue: str, calls: int) -> dict[str, Any]:
    tasks.stats.apply_async(args=(True,), queue=queue).get(timeout=60)
    result = tasks.latency.apply_async(args=(calls, 7), queue=queue, progress_owner=session.user)
    path = f"/core/sse-progress/{result.id}/"
    headers = {"Cookie": session.cookie}
    seen: dict[int, float] = {}
    polls = 0
    deadline = time.monotonic() + 30 + calls * 0.5
    while len(seen) < calls:
        if time.monotonic() > deadline:
            raise RuntimeError(f"the poller saw {len(seen)} of {calls} progress calls")
        status, _, body = web.get(base, path, headers)
        now = time.time()
        polls += 1
        if status != 200:
            continue
        processed = json.loads(body)["processed_items"]
        for count in range(len(seen) + 1, processed + 1):
            seen[count] = now
    times = result.get(timeout=60)
    job = wait_until(
        lambda: SSEProgress.objects.filter(job_id=result.id, status=Status.COMPLETED).first(),
        60,
        "the job's final write",
    )
    # The same single worker process ran the job: its counters are the job's writes.
    writes = tasks.stats.apply_async(args=(True,), queue=queue).get(timeout=60)["db_writes"]
    latencies_ms = [(seen[idx + 1] - called) * 1000 for idx, called in enumerate(times)]
    return {
        "calls": calls,
        "polls": polls,
        "flush_interval_ms": settings.FLUSH_INTERVAL * 1000,
        "p50_ms": statistics.median(latencies_ms),
        "p95_ms": _percentile(latencies_ms, 95),
        "max_ms": max(latencies_ms),
        "task_seconds": job.duration,
        "db_writes": writes,
        "db_writes_allowed": job.duration / settings.FLUSH_INTERVAL + 3,
    }

"""200 progress bars polling a real gunicorn while 20 jobs run: no errors, latency measured.

Each poller behaves like ``ProgressPolling`` with its default ``pollInterval``:
it asks for its job, waits for the answer, then waits 500 ms. The run lasts
``CPT_LOAD_SECONDS`` (60 by default, as CI runs it).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import time
from typing import Any

import pytest
from django.contrib.auth import get_user_model

from celery_progress_tracker.models import SSEProgress
from tests.conftest import wait_status
from tests.faults import tasks as fault_tasks
from tests.faults.server import GunicornServer, session_cookie

pytestmark = pytest.mark.slow

POLLERS = 200
JOBS = 20
USERS = 4
POLL_INTERVAL = 0.5
ITEM_DELAY = 0.1
FINAL = {"completed", "failed", "cancelled"}


class Poller:
    """One progress bar: polls a job and checks every answer."""

    def __init__(self, port: int, job_id: str, cookie: str) -> None:
        self.port = port
        self.job_id = job_id
        self.request = (
            f"GET /core/sse-progress/{job_id}/ HTTP/1.1\r\nHost: 127.0.0.1\r\n"
            f"Cookie: {cookie}\r\nAccept: application/json\r\nConnection: close\r\n\r\n"
        ).encode()
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self.last_done = -1

    async def poll_once(self) -> None:
        started = time.monotonic()
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", self.port)
            writer.write(self.request)
            await writer.drain()
            raw = await asyncio.wait_for(reader.read(), timeout=60)
            writer.close()
        except (OSError, asyncio.TimeoutError) as exc:
            self.errors.append(f"{type(exc).__name__}: {exc}")
            return
        self.latencies.append(time.monotonic() - started)
        head, _, body = raw.partition(b"\r\n\r\n")
        status_line = head.split(b"\r\n", 1)[0]
        if not status_line.startswith(b"HTTP/1.1 200 "):
            self.errors.append(f"{status_line!r} {body[:200]!r}")
            return
        data = json.loads(body)
        done = data["processed_items"] + data["failed_items"]
        if data["job_id"] != self.job_id or done < self.last_done:
            self.errors.append(f"wrong or backwards answer: {data}")
        self.last_done = done

    async def run(self, until: float) -> None:
        while time.monotonic() < until:
            await self.poll_once()
            await asyncio.sleep(POLL_INTERVAL)


async def poll_all(pollers: list[Poller], seconds: float) -> None:
    until = time.monotonic() + seconds
    await asyncio.gather(*(poller.run(until) for poller in pollers))


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def test_200_pollers_for_a_minute_while_20_jobs_run(
    gunicorn: GunicornServer, worker_process: Any
) -> None:
    seconds = float(os.environ.get("CPT_LOAD_SECONDS", "60"))
    items = int(seconds / ITEM_DELAY)
    users = [get_user_model().objects.create_user(f"user{n}") for n in range(USERS)]
    cookies = [session_cookie(user) for user in users]
    proc = worker_process(pool="threads", concurrency=JOBS)
    jobs = [
        fault_tasks.steady.apply_async(
            (items, ITEM_DELAY), queue=proc.queue, progress_owner=users[n % USERS]
        ).id
        for n in range(JOBS)
    ]
    pollers = [
        Poller(gunicorn.port, jobs[n % JOBS], cookies[(n % JOBS) % USERS]) for n in range(POLLERS)
    ]

    started = time.monotonic()
    asyncio.run(poll_all(pollers, seconds))
    elapsed = time.monotonic() - started

    errors = [error for poller in pollers for error in poller.errors]
    latencies = [value for poller in pollers for value in poller.latencies]
    assert not errors, f"{len(errors)} errors, first ones: {errors[:5]}"
    assert not gunicorn.errors(), "\n".join(gunicorn.errors()[-40:])
    assert all(poller.latencies for poller in pollers)
    # The jobs ran while they were polled, and end exact.
    assert any(poller.last_done > 0 for poller in pollers)
    for job_id in jobs:
        job = wait_status(job_id, *FINAL, timeout=seconds + 120)
        assert (job.status, job.processed_items, job.total_items) == ("completed", items, items)
    assert not SSEProgress.objects.active().exists()
    print(
        f"load: {POLLERS} pollers, {JOBS} jobs, {elapsed:.0f} s, {len(latencies)} requests "
        f"({len(latencies) / elapsed:.0f}/s), 0 errors; latency p50 "
        f"{statistics.median(latencies) * 1000:.1f} ms, p99 "
        f"{percentile(latencies, 0.99) * 1000:.1f} ms, max {max(latencies) * 1000:.1f} ms"
    )

"""4. Many jobs: as many running at once as PostgreSQL's connections allow, polled by 100.

Sizing: every running job holds two connections (the task's own and its
process's flusher thread, prefork pool, one job per process). From
``max_connections`` we subtract the superuser reserve, the connections other
users hold when the run starts, a headroom for them, the web workers and this
process; half of what is left is the number of jobs.
"""

from __future__ import annotations

import statistics
import threading
import time
from pathlib import Path
from typing import Any

from django.db import connection

from benchmarks import services, tasks, web
from celery_progress_tracker.models import SSEProgress, Status

#: Connections left free for the other users of the shared server.
HEADROOM = 20
POLLERS = 100
#: The JavaScript bar's default interval.
POLL_INTERVAL = 0.5
PROGRESS_TABLE = "celery_progress_tracker_sseprogress"


def size_jobs(web_workers: int) -> dict[str, int]:
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_connections")
        max_connections = int(cursor.fetchone()[0])
        cursor.execute("SHOW superuser_reserved_connections")
        reserved = int(cursor.fetchone()[0])
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE backend_type = 'client backend'"
        )
        in_use = int(cursor.fetchone()[0])
    free = max_connections - reserved - in_use - HEADROOM - web_workers - 1
    return {
        "max_connections": max_connections,
        "superuser_reserved": reserved,
        "in_use_at_start": in_use,
        "headroom": HEADROOM,
        "jobs": max(1, free // 2),
    }


def _updates(dbname: str) -> int:
    rows = services.pg_admin(
        f"SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = '{PROGRESS_TABLE}'", dbname
    )
    return int(rows[0][0]) if rows else 0


class Pollers:
    """``count`` threads, each polling one job's detail every ``POLL_INTERVAL``."""

    def __init__(self, base: str, session: web.Session, job_ids: list[str], count: int) -> None:
        self.latencies: list[float] = []
        self.errors: list[str] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._threads = [
            threading.Thread(
                target=self._poll, args=(base, session.cookie, job_ids[i % len(job_ids)], i)
            )
            for i in range(count)
        ]

    def _poll(self, base: str, cookie: str, job_id: str, index: int) -> None:
        path = f"/core/sse-progress/{job_id}/"
        # Spread the first polls over one interval, as real pages would be.
        self._stop.wait(POLL_INTERVAL * index / len(self._threads))
        while not self._stop.is_set():
            start = time.perf_counter()
            try:
                status, _, body = web.get(base, path, {"Cookie": cookie})
                error = None if status == 200 else f"{status}: {body[:100]!r}"
            except Exception as exc:
                error = repr(exc)
            elapsed = time.perf_counter() - start
            with self._lock:
                self.latencies.append(elapsed * 1000)
                if error:
                    self.errors.append(error)
            self._stop.wait(max(0.0, POLL_INTERVAL - elapsed))

    def __enter__(self) -> Pollers:
        for thread in self._threads:
            thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(30)


def measure(base: str, session: web.Session, env: dict[str, str], log_dir: Path, dbname: str,
            queue: str, seconds: float, web_workers: int,
            max_jobs: int | None = None) -> dict[str, Any]:  # fmt: skip
    sizing = size_jobs(web_workers)
    jobs = sizing["jobs"] = min(sizing["jobs"], max_jobs or sizing["jobs"])
    worker = services.start_worker("many-worker", env, log_dir, concurrency=jobs, queue=queue)
    try:
        services.wait_until(
            lambda: tasks.stats.apply_async(args=(False,), queue=queue).get(timeout=5) is not None,
            180,
            "workers",
        )
        before = _updates(dbname)
        results = [
            tasks.steady.apply_async(args=(seconds,), queue=queue, progress_owner=session.user)
            for _ in range(jobs)
        ]
        job_ids = [result.id for result in results]
        with Pollers(base, session, job_ids, POLLERS) as pollers:
            counts = [result.get(timeout=seconds + 180)["items"] for result in results]
            services.wait_until(
                lambda: (
                    SSEProgress.objects.filter(job_id__in=job_ids, status=Status.COMPLETED).count()
                    == jobs
                ),
                60,
                "the jobs' rows",
            )
    finally:
        worker.stop()
    rows = list(SSEProgress.objects.filter(job_id__in=job_ids))
    expected = dict(zip(job_ids, counts, strict=True))
    wrong = [row.job_id for row in rows if row.processed_items != expected[row.job_id]]
    window = (max(r.completed_at for r in rows) - min(r.started_at for r in rows)).total_seconds()
    # The exited worker's statistics reach pg_stat_user_tables within a moment.
    updates = services.wait_until(
        lambda: (_updates(dbname) - before) or None, 30, "the update statistics"
    )
    time.sleep(1)
    updates = _updates(dbname) - before
    latencies = sorted(pollers.latencies)
    return {
        **sizing,
        "seconds_per_job": seconds,
        "window_seconds": window,
        "items": sum(counts),
        "db_updates": updates,
        "db_updates_per_second": updates / window,
        "pollers": POLLERS,
        "poll_interval_s": POLL_INTERVAL,
        "polls": len(latencies),
        "poll_p50_ms": statistics.median(latencies),
        "poll_p99_ms": latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))],
        "poll_errors": len(pollers.errors),
        "poll_error_sample": pollers.errors[:3],
        "wrong_final_counts": len(wrong),
    }

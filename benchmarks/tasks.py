"""The contenders, as tasks a real worker runs.

Each write-path task times only its loop (``perf_counter`` around it) and
returns the seconds. This package and celery-progress pass the same constant
message; the original system's task is kept as its README writes it (no
message).
"""

from __future__ import annotations

import random
import time
import uuid
from typing import Any

from celery import Task
from celery_progress.backend import ProgressRecorder

from benchmarks import counting
from benchmarks.celery_app import app
from celery_progress_tracker import ProgressTask
from celery_progress_tracker.flusher import flusher
from celery_progress_tracker.models import SSEProgress

MESSAGE = "Traitement en cours..."
#: Seconds of busy loop before each timed loop: a CPU that has just been idle (the
#: worker waits for its next task) runs the first tens of milliseconds slower.
WARM_UP = 0.2


def _warm_up() -> None:
    end = time.perf_counter() + WARM_UP
    while time.perf_counter() < end:
        pass


@app.task(bind=True, name="bench.bare")
def bare(self: Task, items: int) -> float:
    """The floor: the loop with no progress call."""
    _warm_up()
    start = time.perf_counter()
    for _ in range(items):
        pass
    return time.perf_counter() - start


@app.task(base=ProgressTask, bind=True, name="bench.tracker")
def tracker(self: ProgressTask, items: int) -> float:
    """This package: ``self.progress(1, message)`` per item."""
    self.set_total(items)
    _warm_up()
    start = time.perf_counter()
    for _ in range(items):
        self.progress(1, MESSAGE)
    return time.perf_counter() - start


@app.task(bind=True, name="bench.celery_progress")
def celery_progress(self: Task, items: int) -> float:
    """celery-progress: ``ProgressRecorder(self).set_progress(i, total, message)`` per item."""
    recorder = ProgressRecorder(self)
    _warm_up()
    start = time.perf_counter()
    for idx in range(items):
        recorder.set_progress(idx + 1, items, MESSAGE)
    return time.perf_counter() - start


@app.task(bind=True, name="bench.seed")
def seed(self: Task, items: int) -> float:
    """The original system's task: ``update_progress(processed=1)`` per item, as written there."""
    progress = SSEProgress.objects.create(
        job_id=str(uuid.uuid4()), task_type="mon_type", total_items=items
    )
    progress.mark_as_started()
    _warm_up()
    start = time.perf_counter()
    for _ in range(items):
        progress.update_progress(processed=1)
    elapsed = time.perf_counter() - start
    progress.mark_as_completed()
    return elapsed


@app.task(name="bench.stats")
def stats(reset: bool = True) -> dict[str, int]:
    """The worker process's write counters (and the flusher's own, as a cross-check)."""
    values = counting.snapshot(reset=reset)
    values["flusher_writes"] = flusher.stats.writes
    values["flusher_errors"] = flusher.stats.errors
    if reset:
        flusher.stats.writes = flusher.stats.errors = 0
    return values


@app.task(base=ProgressTask, bind=True, name="bench.latency")
def latency(self: ProgressTask, calls: int, seed: int = 0) -> list[float]:
    """``calls`` progress calls at random moments; returns their wall-clock times."""
    rng = random.Random(seed)
    self.set_total(calls)
    times: list[float] = []
    for _ in range(calls):
        time.sleep(rng.uniform(0.05, 0.35))
        times.append(time.time())
        self.progress(1)
    return times


@app.task(base=ProgressTask, bind=True, name="bench.steady")
def steady(self: ProgressTask, seconds: float, pause: float = 0.01) -> dict[str, Any]:
    """A job of the many-jobs run: one item every ``pause`` seconds for ``seconds``."""
    deadline = time.monotonic() + seconds
    count = 0
    while time.monotonic() < deadline:
        time.sleep(pause)
        self.progress(1)
        count += 1
    return {"items": count}

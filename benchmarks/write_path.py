"""1. The write path: what a progress call costs inside a real worker, and what it writes."""

from __future__ import annotations

import statistics
from typing import Any

from benchmarks import services, tasks
from celery_progress_tracker.conf import settings
from celery_progress_tracker.models import SSEProgress

#: The contenders, in the order each repetition runs them.
CONTENDERS = ("bare", "tracker", "celery_progress", "seed")
#: Those that write on every call (run on fewer items: see ``measure``).
SLOW = ("celery_progress", "seed")
#: Runs of each fast contender per repetition: a run lasts a few tens of milliseconds,
#: so one busy moment of a shared machine moves a median of three; not one of nine.
FAST_RUNS = 3
REDIS_WRITES = ("setex", "set", "publish")


def _run_one(name: str, items: int, queue: str, redis_url: str | None) -> dict[str, Any]:
    task = getattr(tasks, name)
    tasks.stats.apply_async(args=(True,), queue=queue).get(timeout=60)
    before = services.redis_commandstats(redis_url) if redis_url else {}
    result = task.apply_async(args=(items,), queue=queue)
    seconds = float(result.get(timeout=600))
    after = services.redis_commandstats(redis_url) if redis_url else {}
    counts = tasks.stats.apply_async(args=(True,), queue=queue).get(timeout=60)
    sample: dict[str, Any] = {"items": items, "seconds": seconds, **counts}
    if redis_url:
        delta = {cmd: after.get(cmd, 0) - before.get(cmd, 0) for cmd in (*REDIS_WRITES, "get")}
        sample["redis_writes"] = sum(delta[cmd] for cmd in REDIS_WRITES)
        sample["redis_gets"] = delta["get"]
    if name == "tracker":
        job = SSEProgress.objects.get(job_id=result.id)
        assert job.status == "completed" and job.processed_items == items, job
        sample["task_seconds"] = job.duration
    return sample


def measure(
    queue: str, items: int, slow_items: int, repeat: int, redis_url: str | None
) -> dict[str, Any]:
    """Run every contender ``repeat`` times, interleaved, and summarise.

    The contenders that write on every call run ``slow_items`` items per
    repetition (their cost per call does not depend on the item count), the
    others ``items``, ``FAST_RUNS`` times per repetition (alternating).
    """
    samples: dict[str, list[dict[str, Any]]] = {name: [] for name in CONTENDERS}
    for _ in range(repeat):
        for name in CONTENDERS:
            if name in SLOW:
                samples[name].append(_run_one(name, slow_items, queue, redis_url))
        for _run in range(FAST_RUNS):
            for name in CONTENDERS:
                if name not in SLOW:
                    samples[name].append(_run_one(name, items, queue, redis_url))
    return summarise(samples)


def _median(values: list[float]) -> float:
    return float(statistics.median(values))


def summarise(samples: dict[str, list[dict[str, Any]]]) -> dict[str, Any]:
    """Medians per contender; overhead per call against the bare loop; ratios."""
    per_item = {
        name: _median([s["seconds"] / s["items"] for s in runs]) for name, runs in samples.items()
    }
    floor = per_item["bare"]
    runs_us = {
        name: [s["seconds"] / s["items"] * 1e6 for s in runs] for name, runs in samples.items()
    }
    rows: dict[str, Any] = {}
    for name, runs in samples.items():
        row: dict[str, Any] = {
            "items": runs[0]["items"],
            "repetitions": len(runs),
            "loop_seconds": _median([s["seconds"] for s in runs]),
            "per_call_us": per_item[name] * 1e6,
            "per_call_us_runs": runs_us[name],
            "overhead_us": (per_item[name] - floor) * 1e6,
            # The fastest run against the bare loop's fastest: the code's own cost
            # when nothing else on the host slows the CPU down (as timeit reports).
            "overhead_best_us": min(runs_us[name]) - min(runs_us["bare"]),
        }
        for key in ("db_writes", "db_updates", "backend_writes", "flusher_writes",
                    "redis_writes", "redis_gets", "task_seconds"):  # fmt: skip
            if key in runs[0]:
                row[key] = _median([s[key] for s in runs])
        row["db_writes_max"] = max(s["db_writes"] for s in runs)
        rows[name] = row
    tracker = rows["tracker"]
    for name in ("celery_progress", "seed"):
        rows[name]["overhead_ratio"] = rows[name]["overhead_us"] / max(tracker["overhead_us"], 1e-6)
    flush = settings.FLUSH_INTERVAL
    tracker["flush_interval"] = flush
    tracker["db_writes_allowed"] = tracker["task_seconds"] / flush + 3
    return {
        "contenders": rows,
        "db_updates_total": sum(s["db_updates"] for runs in samples.values() for s in runs),
    }

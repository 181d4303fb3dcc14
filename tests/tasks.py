"""Tasks the test suite runs on real workers."""

from __future__ import annotations

import time
from typing import Any

import celery.contrib.testing.tasks  # noqa: F401  (registers celery.ping)
from celery import shared_task
from django.db import transaction

from celery_progress_tracker import JobError, ProgressTask, TaskCancelled
from celery_progress_tracker.models import SSEProgress
from tests.celery_app import app


@shared_task(name="tests.seed_manual_task")
def seed_manual_task(
    job_id: str, user_id: int | None, items: int = 100, delay: float = 0.0
) -> dict[str, str]:
    """The seed README's task, as written there (only the import path differs)."""
    progress = SSEProgress.objects.create(
        job_id=job_id, user_id=user_id, task_type="mon_type", total_items=items
    )
    progress.mark_as_started()
    for _idx in range(1, items + 1):
        progress.update_progress(processed=1)
        time.sleep(delay)
    progress.mark_as_completed()
    return {"status": "success", "job_id": job_id}


@shared_task(name="tests.manual_increments")
def manual_increments(job_id: str, count: int) -> int:
    """Increment a shared row ``count`` times with the manual API."""
    progress = SSEProgress.objects.get(job_id=job_id)
    for _ in range(count):
        progress.update_progress(processed=1)
    return count


@shared_task(base=ProgressTask, bind=True, name="tests.count")
def count(self: ProgressTask, items: int, delay: float = 0.0, message: str | None = None) -> int:
    """The design card's usage: ``self.progress()`` once per item."""
    self.set_total(items)
    for idx in range(items):
        if delay:
            time.sleep(delay)
        self.progress(1, message or f"item {idx + 1}")
    return items


@app.task(base=ProgressTask, bind=True, name="tests.app_count")
def app_count(self: ProgressTask, items: int) -> int:
    for _ in range(items):
        self.progress()
    return items


@shared_task(base=ProgressTask, bind=True, name="tests.fail_after")
def fail_after(self: ProgressTask, items: int) -> None:
    self.set_total(items * 2)
    for _ in range(items):
        self.progress(1)
    raise RuntimeError(f"boom after {items} items")


@shared_task(base=ProgressTask, bind=True, name="tests.reject_line")
def reject_line(self: ProgressTask, line: int) -> None:
    """Fails with a message for the job's user, caused by an internal error."""
    self.progress(line - 1)
    try:
        raise LookupError(f"SELECT * FROM invoice WHERE line = {line}: no row")
    except LookupError as exc:
        raise JobError(f"Line {line} matches no open invoice") from exc


@shared_task(base=ProgressTask, bind=True, name="tests.sleep_then")
def sleep_then(self: ProgressTask, first: int, sleep: float, then: int = 0) -> int:
    self.progress(first, "before the sleep")
    time.sleep(sleep)
    if then:
        self.progress(then, "after the sleep")
    return first + then


@shared_task(base=ProgressTask, bind=True, max_retries=2, name="tests.retry_once")
def retry_once(self: ProgressTask, items: int) -> int:
    for _ in range(items):
        self.progress(1)
    if self.request.retries == 0:
        raise self.retry(exc=ValueError("flaky upstream"), countdown=0.5)
    return items


@shared_task(base=ProgressTask, bind=True, max_retries=2, name="tests.retry_public")
def retry_public(self: ProgressTask) -> str:
    if self.request.retries == 0:
        raise self.retry(exc=JobError("The bank's server is busy"), countdown=0.5)
    return "done"


@shared_task(base=ProgressTask, bind=True, name="tests.atomic_loop")
def atomic_loop(self: ProgressTask, items: int, delay: float, fail: bool = False) -> int:
    """Progress reported while the whole loop runs inside ``atomic()``."""
    with transaction.atomic():
        for _ in range(items):
            time.sleep(delay)
            self.progress(1)
        if fail:
            raise RuntimeError("rolled back")
    return items


@shared_task(base=ProgressTask, bind=True, name="tests.until_cancelled")
def until_cancelled(self: ProgressTask, seconds: float) -> str:
    deadline = time.monotonic() + seconds
    try:
        while time.monotonic() < deadline:
            self.progress(1)
            time.sleep(0.02)
    except TaskCancelled:
        raise
    return "not cancelled"


@shared_task(base=ProgressTask, bind=True, name="tests.spawn_child")
def spawn_child(self: ProgressTask, items: int) -> str:
    child = count.delay(items)
    self.progress(1)
    return str(child.id)


@shared_task(base=ProgressTask, bind=True, name="tests.with_metadata")
def with_metadata(self: ProgressTask, **metadata: Any) -> None:
    self.set_metadata(metadata)
    self.progress(1, "done")


class TypedTask(ProgressTask):
    progress_task_type = "edi_import"


@shared_task(base=TypedTask, bind=True, name="tests.typed")
def typed(self: ProgressTask) -> None:
    self.progress(1)


@shared_task(name="tests.plain")
def plain(x: int) -> int:
    return x * 2


# The fault suite's tasks live with it; importing them here registers them on every worker.
import tests.faults.tasks  # noqa: E402, F401


@shared_task(base=ProgressTask, bind=True, name="tests.body_api")
def body_api(self: ProgressTask, threads: int = 0) -> dict[str, Any]:
    """Every call of the body's API, from the body and from helper threads."""
    from concurrent.futures import ThreadPoolExecutor

    self.set_progress(5, total=20, message="five set")
    self.set_message("message only")
    self.progress(2, failed=1)
    counter = self.progress_counter()
    if threads:
        with ThreadPoolExecutor(threads) as pool:
            list(pool.map(lambda _: counter.progress(1), range(10)))
    counter.progress(1, "from the counter")
    return {"counter": counter, "state": repr(self.progress_state)}


@shared_task(base=ProgressTask, bind=True, name="tests.bad_message")
def bad_message(self: ProgressTask) -> None:
    self.progress(1, message=3)  # type: ignore[arg-type]


@shared_task(base=ProgressTask, bind=True, max_retries=3, name="tests.retry_limited")
def retry_limited(self: ProgressTask) -> str:
    """Retries once, with a limit of its own (``max_retries=1`` at the call)."""
    if self.request.retries == 0:
        raise self.retry(exc=ValueError("busy"), countdown=0.5, max_retries=1)
    return "done"


@shared_task(base=ProgressTask, bind=True, name="tests.split_into")
def split_into(self: ProgressTask, parts: int, items: int) -> None:
    """Replaced by a group of ``parts`` jobs of ``items`` items each."""
    from celery import group

    self.progress(1, "Splitting")
    raise self.replace(group(count.si(items) for _ in range(parts)))


@shared_task(base=ProgressTask, bind=True, name="tests.pipe")
def pipe(self: ProgressTask, previous: Any, items: int) -> int:
    """A chain step: counts ``items`` and returns them."""
    self.set_total(items)
    for _ in range(items):
        self.progress(1, f"{self.request.id} counting")
    return items


@shared_task(base=ProgressTask, bind=True, name="tests.summary")
def summary(self: ProgressTask, counts: list[int]) -> int:
    """A chord callback: one item per header result."""
    self.set_total(len(counts))
    self.progress(len(counts), "summed")
    return sum(counts)


@shared_task(base=ProgressTask, bind=True, name="tests.split_into_steps")
def split_into_steps(self: ProgressTask, first: int, then: int) -> None:
    """Replaced by a chain of two ``pipe`` steps."""
    from celery import chain

    self.progress(1, "Splitting")
    raise self.replace(chain(pipe.si(None, first), pipe.s(then)))

"""``self.progress()`` from threads the body starts: exact, or a clear error."""

from __future__ import annotations

from typing import Any

from tests.cookiecutter.jobs.tasks import parallel_import, parallel_with_counter
from tests.harness import wait_status


def test_helper_threads_are_counted_exactly(worker: Any) -> None:
    result = parallel_import.delay(400, 8)
    job = wait_status(result.id, "completed")
    assert (job.processed_items, job.total_items) == (400, 400)
    assert job.current_message.startswith("Item ")


def test_on_the_threads_pool_the_counter_keeps_executions_apart(worker_process: Any) -> None:
    proc = worker_process(pool="threads", concurrency=2)
    first = parallel_with_counter.apply_async((300, 4), queue=proc.queue)
    second = parallel_with_counter.apply_async((200, 4), queue=proc.queue)
    assert wait_status(first.id, "completed", timeout=40).processed_items == 300
    assert wait_status(second.id, "completed", timeout=40).processed_items == 200


def test_an_unattributable_call_raises_instead_of_dropping(worker_process: Any) -> None:
    proc = worker_process(pool="threads", concurrency=2)
    first = parallel_import.apply_async((2000, 4), queue=proc.queue)
    second = parallel_import.apply_async((2000, 4), queue=proc.queue)
    jobs = [wait_status(r.id, "completed", "failed", timeout=60) for r in (first, second)]
    # Whichever ran alongside the other could not tell its threads' calls apart.
    failed = [job for job in jobs if job.status == "failed"]
    assert failed, [(j.status, j.processed_items) for j in jobs]
    assert all("RuntimeError" in job.error and "progress_counter()" in job.error for job in failed)
    for job in jobs:
        if job.status == "completed":
            assert job.processed_items == 2000

"""The project's tasks: imports, exports and reports, written as its developers would."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor

import celery.contrib.testing.tasks  # noqa: F401  (registers celery.ping)
from celery import chain, chord, current_app, group, shared_task

from celery_progress_tracker import ProgressTask, TaskCancelled
from tests.cookiecutter.jobs import faults

faults.install()

#: What ``os.listdir`` returns for a file named in Latin-1: lone surrogates.
LATIN1_NAME = b"r\xe9sum\xe9.csv".decode("utf-8", "surrogateescape")


@shared_task(base=ProgressTask, bind=True)
def import_statement(
    self: ProgressTask, lines: int, delay: float = 0.0, fail_at: int | None = None
) -> int:
    self.set_total(lines)
    for line in range(1, lines + 1):
        if line == fail_at:
            raise RuntimeError(f"Statement line {line} matches no open invoice")
        time.sleep(delay)
        self.progress(1, f"Line {line} matched")
    return lines


@shared_task(base=ProgressTask, bind=True, max_retries=3)
def flaky_export(self: ProgressTask, rows: int, failures: int) -> int:
    for _ in range(rows):
        self.progress(1)
    if self.request.retries < failures:
        attempt = self.request.retries + 1
        raise self.retry(exc=ValueError(f"flaky failure {attempt}"), countdown=0.2)
    return rows


@shared_task(base=ProgressTask, bind=True)
def report_by_one(self: ProgressTask, lines: int) -> None:
    self.progress(1, "Preparing the report")
    raise self.replace(import_statement.si(lines, 0.05))


@shared_task(base=ProgressTask, bind=True)
def report_by_group(self: ProgressTask, parts: int, lines: int) -> None:
    self.progress(1, "Splitting the report")
    raise self.replace(group(import_statement.si(lines, 0.05) for _ in range(parts)))


@shared_task(base=ProgressTask, bind=True)
def long_steps(self: ProgressTask, steps: int, step_seconds: float) -> str:
    """Long steps that report nothing, checking for a cancel between them."""
    for _ in range(steps):
        if self.is_cancelled:
            raise TaskCancelled("stopped between two steps")
        time.sleep(step_seconds)
    return "finished"


@shared_task(base=ProgressTask, bind=True)
def crunch(self: ProgressTask, seconds: float) -> int:
    done = 0
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        time.sleep(0.02)
        done += 1
        self.progress(1, f"{done} crunched")
    return done


@shared_task(base=ProgressTask, bind=True)
def parallel_import(self: ProgressTask, items: int, threads: int) -> int:
    """``self.progress()`` called from the threads of a pool the body starts."""
    self.set_total(items)

    def one(item: int) -> None:
        time.sleep(0.002)
        self.progress(1, f"Item {item} imported")

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(items)))
    return items


@shared_task(base=ProgressTask, bind=True)
def parallel_with_counter(self: ProgressTask, items: int, threads: int) -> int:
    """The same through the counter handle, for pools where executions share a process."""
    self.set_total(items)
    counter = self.progress_counter()

    def one(item: int) -> None:
        time.sleep(0.002)
        counter.progress(1)

    with ThreadPoolExecutor(threads) as pool:
        list(pool.map(one, range(items)))
    return items


class FileImport(ProgressTask):
    progress_task_type = f"import {LATIN1_NAME}"


@shared_task(base=FileImport, bind=True)
def import_file(self: ProgressTask, fail: bool) -> str:
    name = LATIN1_NAME  # as os.listdir() gives it
    self.set_metadata({name: name, "files": [name]})
    self.progress(1, f"Imported {name}")
    if fail:
        raise ValueError(f"Cannot parse {name}")
    return "ok"


@shared_task(base=ProgressTask, bind=True)
def summarise(self: ProgressTask, counts: list[int]) -> int:
    """A chord's callback: adds up its header's results."""
    self.progress(len(counts))
    return sum(counts)


def start_imports(lines: int, how: str) -> list[str]:
    """Start imports as an orchestrator would (``how``: the path); the ids of their jobs."""
    one = import_statement.si(lines)
    if how == "apply_async":
        return [import_statement.apply_async((lines,)).id]
    if how == "send_task":
        return [current_app.send_task(import_statement.name, (lines,)).id]
    if how == "chain":
        last = chain(one, import_statement.si(lines)).apply_async()
        return [last.parent.id, last.id]
    if how == "group":
        return [member.id for member in group(one, one.clone()).apply_async().results]
    if how == "chord":
        callback = chord([one, one.clone()], summarise.s()).apply_async()
        return [*(member.id for member in callback.parent.results), callback.id]
    if how == "no_owner":  # an explicit owner (none) wins over the running task's
        return [import_statement.apply_async((lines,), progress_owner=None).id]
    raise ValueError(how)


@shared_task
def orchestrate(lines: int, how: str) -> list[str]:
    """A plain task that starts imports."""
    return start_imports(lines, how)


@shared_task(base=ProgressTask, bind=True)
def orchestrate_tracked(self: ProgressTask, lines: int, how: str) -> list[str]:
    """The same, as a ProgressTask."""
    self.progress(1, f"Starting imports ({how})")
    return start_imports(lines, how)


@shared_task(base=ProgressTask, bind=True)
def import_then_orchestrate(self: ProgressTask, lines: int) -> str:
    """A ProgressTask that hands work to a plain task, which starts more jobs."""
    self.progress(1)
    return str(orchestrate.delay(lines, "apply_async").id)


@shared_task(base=ProgressTask, bind=True, progress_scheduled=False)
def sync_rates(self: ProgressTask, items: int) -> int:
    """A job beat runs every few seconds: its scheduled runs record no progress."""
    for _ in range(items):
        self.progress(1)
    return items

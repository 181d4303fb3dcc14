"""Tasks of the fault suite (imported by ``tests.tasks``, so every worker has them)."""

from __future__ import annotations

import math
import os
import time
from collections.abc import Callable
from datetime import datetime
from typing import Any

from celery import shared_task

from celery_progress_tracker import JobError, ProgressTask
from celery_progress_tracker.models import SSEProgress

#: The final message of ``hostile_calls``: a NUL and 1 MB of text.
HUGE_MESSAGE = "fin\x00al " + "x" * 1_000_000


#: Every bad call the body's API can get, each made on the running task.
BAD_BODY_CALLS: dict[str, Callable[[ProgressTask], object]] = {
    "progress(-1)": lambda task: task.progress(-1),
    "progress('3')": lambda task: task.progress("3"),  # type: ignore[arg-type]
    "progress(True)": lambda task: task.progress(True),
    "progress(2.5)": lambda task: task.progress(2.5),  # type: ignore[arg-type]
    "progress(2**31)": lambda task: task.progress(2**31),
    "progress(1, failed=-1)": lambda task: task.progress(1, failed=-1),
    "progress(1, message=123)": lambda task: task.progress(1, 123),  # type: ignore[arg-type]
    "set_total(-5)": lambda task: task.set_total(-5),
    "set_total('10')": lambda task: task.set_total("10"),  # type: ignore[arg-type]
    "set_progress(-1)": lambda task: task.set_progress(-1),
    "set_message(b'bytes')": lambda task: task.set_message(b"bytes"),  # type: ignore[arg-type]
    "set_metadata(when=datetime)": lambda task: task.set_metadata(when=datetime.now()),
    "set_metadata(obj=object())": lambda task: task.set_metadata(obj=object()),
    "set_metadata(ratio=nan)": lambda task: task.set_metadata(ratio=math.nan),
    "set_metadata(nul)": lambda task: task.set_metadata(note="a\x00b"),
    "set_metadata([1, 2])": lambda task: task.set_metadata([1, 2]),  # type: ignore[arg-type]
}


@shared_task(base=ProgressTask, bind=True, name="tests.faults.hostile_calls")
def hostile_calls(self: ProgressTask, names: list[str]) -> dict[str, str]:
    """Make the bad calls ``names``; return what each one raised.

    After each refused call the task counts one item, so the row must end with
    exactly one processed item per call.
    """
    raised: dict[str, str] = {}
    for name in names:
        try:
            BAD_BODY_CALLS[name](self)
        except (TypeError, ValueError) as exc:
            raised[name] = f"{type(exc).__name__}: {exc}"
        else:
            raised[name] = "accepted"
        self.progress(1)
    self.set_total(len(raised))
    self.set_metadata(calls=len(raised))
    self.progress(0, HUGE_MESSAGE)
    return raised


@shared_task(base=ProgressTask, bind=True, name="tests.faults.raise_from_bad_call")
def raise_from_bad_call(self: ProgressTask, items: int) -> None:
    """Count ``items``, then make a bad call and let its error end the task."""
    self.set_total(items * 2)
    for _ in range(items):
        self.progress(1)
    self.progress(-1)


@shared_task(base=ProgressTask, bind=True, name="tests.faults.huge_error")
def huge_error(self: ProgressTask, items: int) -> None:
    """Fail with a 1 MB error text that holds a NUL."""
    for _ in range(items):
        self.progress(1)
    raise RuntimeError("bad\x00 " + "e" * 1_000_000)


class Unserialisable:
    """A result no serialiser can encode."""


@shared_task(base=ProgressTask, bind=True, name="tests.faults.unserialisable_result")
def unserialisable_result(self: ProgressTask, items: int) -> Any:
    """Count ``items``, then return something JSON cannot encode."""
    self.set_total(items)
    for _ in range(items):
        self.progress(1)
    return Unserialisable()


@shared_task(name="tests.faults.hostile_manual")
def hostile_manual(job_id: str) -> dict[str, str]:
    """The seed's manual API given bad values; return what each call raised."""
    progress = SSEProgress.objects.create(
        job_id=job_id, user_id=None, task_type="t" * 10_240, total_items=3
    )
    progress.mark_as_started()
    calls: dict[str, Callable[[], object]] = {
        "update_progress(processed=-1)": lambda: progress.update_progress(processed=-1),
        "update_progress(processed='3')": lambda: progress.update_progress(processed="3"),  # type: ignore[arg-type]
        "update_progress(failed=1.5)": lambda: progress.update_progress(failed=1.5),  # type: ignore[arg-type]
        "update_progress(message=123)": lambda: progress.update_progress(1, message=123),  # type: ignore[arg-type]
        "set_total(-5)": lambda: progress.set_total(-5),
    }
    raised: dict[str, str] = {}
    for name, call in calls.items():
        try:
            call()
        except (TypeError, ValueError) as exc:
            raised[name] = f"{type(exc).__name__}: {exc}"
        else:
            raised[name] = "accepted"
    for _ in range(3):
        progress.update_progress(processed=1, message="\x00" + "m" * 1_000_000)
    progress.mark_as_completed()
    return raised


@shared_task(base=ProgressTask, bind=True, name="tests.faults.steady")
def steady(self: ProgressTask, items: int, delay: float) -> int:
    """Count ``items`` at a steady pace (one every ``delay`` seconds)."""
    self.set_total(items)
    for idx in range(items):
        time.sleep(delay)
        self.progress(1, f"item {idx + 1}")
    return items


@shared_task(name="tests.faults.increments")
def increments(job_id: str, count: int) -> dict[str, float]:
    """``update_progress(processed=1)`` ``count`` times on a shared row; say where and when."""
    progress = SSEProgress.objects.get(job_id=job_id)
    start = time.monotonic()
    for _ in range(count):
        progress.update_progress(processed=1)
    return {"pid": os.getpid(), "start": start, "end": time.monotonic()}


@shared_task(base=ProgressTask, bind=True, acks_late=True, name="tests.faults.steady_late")
def steady_late(self: ProgressTask, items: int, delay: float) -> int:
    """``steady`` acknowledged after it runs: a message cut short is delivered again."""
    self.set_total(items)
    for idx in range(items):
        time.sleep(delay)
        self.progress(1, f"item {idx + 1}")
    return items


@shared_task(base=ProgressTask, bind=True, name="tests.faults.text_payload")
def text_payload(self: ProgressTask, payload: str, fail: bool) -> str:
    """Put ``payload`` in every text the job carries: message, metadata, error."""
    self.set_total(2)
    self.set_metadata({payload: payload, "nested": [payload, {"html": payload}]})
    self.progress(1, payload)
    if fail:
        raise JobError(payload)  # the error its user reads: shown as it is
    self.progress(1, payload)
    return payload

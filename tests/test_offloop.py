"""Calls from async code run in a helper thread, with the caller's context."""

from __future__ import annotations

import asyncio
import contextvars
import threading

import pytest

from celery_progress_tracker.offloop import in_event_loop, off_event_loop

pytestmark = pytest.mark.core

marker: contextvars.ContextVar[str] = contextvars.ContextVar("marker", default="unset")


@off_event_loop
def where() -> tuple[str, str, bool]:
    return threading.current_thread().name, marker.get(), in_event_loop()


def test_a_plain_call_stays_in_its_thread() -> None:
    assert where() == (threading.current_thread().name, "unset", False)


def test_a_call_from_an_event_loop_runs_in_a_helper_thread_with_the_callers_context() -> None:
    async def view() -> tuple[str, str, bool]:
        marker.set("the request")
        assert in_event_loop()
        return where()

    thread, seen, looping = asyncio.run(view())
    assert thread.startswith("progress-tracker-offloop")
    assert seen == "the request" and not looping


def test_exceptions_reach_the_caller() -> None:
    @off_event_loop
    def fail() -> None:
        raise LookupError("no such job")

    async def view() -> None:
        fail()

    with pytest.raises(LookupError, match="no such job"):
        asyncio.run(view())

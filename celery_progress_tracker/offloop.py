"""Database work started from an ``async def`` view, run where Django allows it.

Django refuses queries in a thread that runs an event loop
(``SynchronousOnlyOperation``). A ``.delay()`` written in an async view is
such a call: the job's row must be written and the request's user read. When
it happens, :func:`off_event_loop` runs the call in a helper thread, with the
caller's context (the current request, the owner given with
``progress_owner()``), and waits for it: the call behaves as it would in a
sync view. Everywhere else it is a plain call.
"""

from __future__ import annotations

import asyncio
import contextvars
import functools
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import close_old_connections

Result = TypeVar("Result")

#: Threads for calls made in an event loop; each closes its connections as a request would.
_executor = ThreadPoolExecutor(max_workers=4, thread_name_prefix="progress-tracker-offloop")


def in_event_loop() -> bool:
    """Whether this thread runs an event loop (where Django refuses database queries)."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _run(context: contextvars.Context, call: Callable[[], Result]) -> Result:
    try:
        return context.run(call)
    finally:
        close_old_connections()


def off_event_loop(func: Callable[..., Result]) -> Callable[..., Result]:
    """Make ``func`` safe to call from async code: there, it runs in a helper thread."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Result:
        if not in_event_loop():
            return func(*args, **kwargs)
        call = functools.partial(func, *args, **kwargs)
        return _executor.submit(_run, contextvars.copy_context(), call).result()

    return wrapper

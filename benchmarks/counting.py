"""Counters of the writes a worker process issues, read by the ``bench.stats`` task.

Database writes are counted statement by statement with an ``execute_wrapper``
installed on every connection the process opens (the task's own and the
flusher thread's), so nothing is estimated.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from django.db.backends.signals import connection_created

from celery_progress_tracker.embedded import FilesystemBackend

PROGRESS_TABLE = "celery_progress_tracker_sseprogress"
WRITE_VERBS = ("INSERT", "UPDATE", "DELETE")

_lock = threading.Lock()
_counts = {"db_writes": 0, "db_updates": 0, "db_queries": 0, "backend_writes": 0}


def _add(name: str) -> None:
    with _lock:
        _counts[name] += 1


def snapshot(reset: bool = False) -> dict[str, int]:
    """The counts so far; ``reset`` sets them back to zero."""
    with _lock:
        values = dict(_counts)
        if reset:
            for name in _counts:
                _counts[name] = 0
    return values


def _count_statement(
    execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any
) -> Any:
    if PROGRESS_TABLE in sql:
        _add("db_queries")
        verb = sql.lstrip()[:6].upper()
        if verb.startswith(WRITE_VERBS):
            _add("db_writes")
        if verb == "UPDATE":
            _add("db_updates")
    return execute(sql, params, many, context)


def _install(sender: Any, connection: Any, **kwargs: Any) -> None:
    if _count_statement not in connection.execute_wrappers:
        connection.execute_wrappers.append(_count_statement)


def install() -> None:
    """Count the statements of every connection this process opens from now on."""
    connection_created.connect(_install, dispatch_uid="benchmarks.counting")


class CountingFilesystemBackend(FilesystemBackend):  # type: ignore[misc]
    """The package's embedded result backend, counting the files it writes."""

    def set(self, key: Any, value: Any) -> None:
        _add("backend_writes")
        super().set(key, value)

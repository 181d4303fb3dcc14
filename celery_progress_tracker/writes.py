"""Where and how a progress write runs: outside the caller's transaction, through a
lost connection.

Rows of ``ProgressTask`` jobs are written so that they commit at once, whatever
transaction the calling code is in (``ATOMIC_REQUESTS``, ``atomic()``, eager
mode), and final writes survive a database that is briefly unreachable. The
lifecycle module decides *what* to write; this one decides *where* and *how often
to try*.
"""

from __future__ import annotations

import asyncio
import functools
import logging
import os
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

from django.db import IntegrityError, InterfaceError, OperationalError, connections
from django.db import transaction as db_transaction

from celery_progress_tracker.conf import settings

logger = logging.getLogger(__name__)

T = TypeVar("T")

#: Seconds between the attempts of a final write while the database is unreachable.
FINAL_WRITE_RETRY_DELAYS = (0.5, 1.0, 2.0, 4.0, 8.0, 15.0)

#: Errors a retry can outlive: the connection was lost or the server is gone.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)


def write_connection() -> Any:
    """The connection progress rows are written on, in this thread."""
    return connections[settings.DATABASE_ALIAS]


class _SideWriter:
    """A thread of its own, so a write runs on its own connection, in autocommit."""

    def __init__(self) -> None:
        self._executor: ThreadPoolExecutor | None = None
        self._pid = 0
        self._lock = threading.Lock()

    def run(self, func: Callable[[], T], *, sqlite_busy_timeout: float | None = None) -> T:
        """Run ``func`` in the writer's thread and return what it returns (or raise)."""
        with self._lock:
            if self._executor is None or self._pid != os.getpid():  # new, or forked
                self._executor = ThreadPoolExecutor(1, thread_name_prefix="progress-writer")
                self._pid = os.getpid()
            executor = self._executor
        return executor.submit(self._call, func, sqlite_busy_timeout).result()

    @classmethod
    def _call(cls, func: Callable[[], T], sqlite_busy_timeout: float | None) -> T:
        connection = write_connection()
        connection.close_if_unusable_or_obsolete()
        try:
            return cls._write(connection, func, sqlite_busy_timeout)
        finally:
            # As at the end of a request: kept only as long as CONN_MAX_AGE says.
            connection.close_if_unusable_or_obsolete()

    @staticmethod
    def _write(connection: Any, func: Callable[[], T], sqlite_busy_timeout: float | None) -> T:
        if sqlite_busy_timeout is None or connection.vendor != "sqlite":
            try:
                return func()
            except TRANSIENT_ERRORS:
                connection.close()  # a server restart: once more, on a new connection
                return func()
        # Only a short wait for SQLite's write lock, and no retry: the caller
        # may hold the lock, and then the write must join its transaction.
        _no_retry.active = True
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA busy_timeout")
            usual = cursor.fetchone()[0]
            cursor.execute(f"PRAGMA busy_timeout = {int(sqlite_busy_timeout * 1000)}")
        try:
            return func()
        finally:
            _no_retry.active = False
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA busy_timeout = {int(usual)}")


side_writer = _SideWriter()


class _NoRetry(threading.local):
    active = False


_no_retry = _NoRetry()


def _in_event_loop() -> bool:
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return False
    return True


def _in_callers_transaction(connection: Any) -> bool:
    """Whether the caller opened a transaction of its own (not a test case's wrapper).

    Inside Django's ``TestCase`` (pytest-django's ``db``) everything stays in
    the test's transaction, so it is rolled back with the test.
    """
    blocks = connection.atomic_blocks
    return bool(blocks) and not getattr(blocks[0], "_from_testcase", False)


def outside_caller_transaction(func: Callable[[], T]) -> T:
    """Run ``func`` (a write of a ``ProgressTask`` row) so it commits at once.

    Inside the caller's ``atomic()`` block (``ATOMIC_REQUESTS``, eager mode in
    a transaction) the write goes through a connection of its own, in
    autocommit, so pollers and the worker see the row before the caller
    commits, and a rollback keeps it. In an event loop (an ``async def``
    view) it goes there too, since the ORM refuses to run in one.

    It joins the caller's transaction (in a savepoint) only when it cannot do
    otherwise: inside a test case's transaction (rolled back with the test),
    when the row refers to something the caller has not committed (its new
    owner), and on SQLite once the caller holds the database's single write
    lock (then the worker, too, waits for the caller's commit).
    """
    connection = write_connection()
    if _in_event_loop():
        return side_writer.run(func)
    if not _in_callers_transaction(connection):
        return func()
    sqlite = connection.vendor == "sqlite"
    outermost = connection.atomic_blocks[0]
    if getattr(connection, "_progress_joined", None) is not outermost:
        try:
            return side_writer.run(
                func, sqlite_busy_timeout=settings.SQLITE_BUSY_TIMEOUT if sqlite else None
            )
        except IntegrityError:
            # E.g. the owner was created in the caller's uncommitted transaction.
            logger.info("progress write joins the caller's transaction (a row not committed)")
        except OperationalError as exc:
            if not (sqlite and "locked" in str(exc)):
                raise
            # The caller holds SQLite's write lock: join it for this transaction.
            connection._progress_joined = outermost
    with db_transaction.atomic(using=settings.DATABASE_ALIAS):  # a savepoint
        return func()


def retry_transient(func: Callable[..., T]) -> Callable[..., T]:
    """Retry ``func`` on a fresh connection while the database is unreachable.

    Only connection-level errors are retried (about half a minute in all);
    an error no retry can mend (bad data) raises at once. Inside the caller's
    transaction nothing is retried: reconnecting would drop that transaction.
    """

    @functools.wraps(func)
    def attempt(*args: Any, **kwargs: Any) -> T:
        for delay in FINAL_WRITE_RETRY_DELAYS:
            connection = write_connection()
            try:
                return func(*args, **kwargs)
            except TRANSIENT_ERRORS as exc:
                if connection.in_atomic_block or _no_retry.active:
                    raise
                logger.warning("progress write failed (%s): retrying in %g s", exc, delay)
                connection.close()
                time.sleep(delay)
        return func(*args, **kwargs)

    return attempt

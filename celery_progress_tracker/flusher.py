"""The worker-side writer: one background thread per process.

Every ``FLUSH_INTERVAL`` it writes the counts of the running executions that
changed, and every ``HEARTBEAT_INTERVAL`` it refreshes ``updated_at`` of those
that did not, so a live row never looks stale. It runs in its own thread and so
on its own database connection (Django's connections are per thread): progress
written here is committed at once, visible to pollers even while the task body
runs inside ``transaction.atomic()``, and kept if the body rolls back.

Running executions that reported nothing since the last tick are asked, in one
query, whether a user cancelled their job, so ``self.is_cancelled`` turns true
within one flush interval. A database error is logged and retried at the next
tick: it never reaches the task.
"""

from __future__ import annotations

import logging
import os
import threading
import time
from typing import Any

from django.db import connections

from celery_progress_tracker import lifecycle
from celery_progress_tracker.conf import settings
from celery_progress_tracker.models import EndReason
from celery_progress_tracker.tracker import JobState

logger = logging.getLogger(__name__)


class FlushStats:
    """Counters for tests and benchmarks: how many queries the flusher issued."""

    def __init__(self) -> None:
        self.writes = 0
        self.errors = 0


def _revoked_here() -> Any:
    """Task ids this worker process was told to revoke (empty outside a worker)."""
    from celery.worker import state as worker_state

    return worker_state.revoked


class Flusher:
    """Writes registered :class:`JobState` objects from a background thread."""

    def __init__(self) -> None:
        self.stats = FlushStats()
        self._states: dict[str, JobState] = {}
        self._lock = threading.Lock()
        #: Held while a flush runs: once unregister() returns, no write of that state is
        #: under way.
        self._flushing = threading.Lock()
        self._wakeup = threading.Event()
        self._thread: threading.Thread | None = None
        self._pid = 0
        self._connection_id = 0

    # -- the task threads' side ------------------------------------------------

    def register(self, state: JobState) -> None:
        with self._lock:
            self._states[state.job_id] = state
            self._ensure_thread()
        self._wakeup.set()

    def unregister(self, state: JobState) -> None:
        """Stop writing ``state``; a flush of it under way is waited for."""
        with self._flushing, self._lock:
            if self._states.get(state.job_id) is state:
                del self._states[state.job_id]

    def _ensure_thread(self) -> None:
        # After a fork (prefork pool) the parent's thread does not exist here.
        pid = os.getpid()
        if self._thread is not None and self._pid == pid and self._thread.is_alive():
            return
        self._pid = pid
        self._thread = threading.Thread(target=self._run, name="progress-flusher", daemon=True)
        self._thread.start()

    # -- the flusher thread ----------------------------------------------------

    def _run(self) -> None:
        while True:
            states: list[JobState] = []
            try:
                with self._flushing:
                    with self._lock:
                        states = list(self._states.values())
                    if states:
                        self.flush(states)
            except Exception:  # never let the thread die
                logger.exception("progress flusher: unexpected error")
            if not states:
                # Idle: hold no connection, sleep until a task registers. Its first
                # flush comes one interval later, as every other: the start is
                # written by the task's own signals, and a body that has just
                # begun counting is not made to share the interpreter at once.
                self._close_connection()
                self._wakeup.wait()
                self._wakeup.clear()
            time.sleep(max(0.01, settings.FLUSH_INTERVAL))

    def flush(self, states: list[JobState]) -> None:
        """Write each state that changed or whose heartbeat is due; look for cancels.

        A running job that reports nothing still learns of a cancel within one
        flush interval: the idle ones are checked together, in one query.
        """
        heartbeat = settings.HEARTBEAT_INTERVAL
        now = time.monotonic()
        idle: list[JobState] = []
        revoked = _revoked_here()
        for state in states:
            if state.detached or state.finalised or state.closed:
                continue
            if not state.cancel_requested and state.job_id in revoked:
                # Revoked with terminate on a pool that cannot stop a thread:
                # the body stops at its next check instead.
                self.stop(state)
            if state.dirty or now - state.last_write >= heartbeat:
                self.write(state)
            elif not state.cancel_requested:
                idle.append(state)
        if idle:
            self.check_cancels(idle)

    def write(self, state: JobState) -> bool:
        """Write ``state`` to its row; ``False`` if the database failed."""
        version, metadata_version = state.total_version, state.metadata_version
        try:
            self._prepare_connection(settings.DATABASE_ALIAS)
            mine = lifecycle.write_counts(state)
            self.stats.writes += 1
        except Exception as exc:
            self.stats.errors += 1
            logger.warning("progress flush of %s failed, will retry: %s", state.job_id, exc)
            self._close_connection()
            return False
        if mine:
            state.written_version = version
            state.written_metadata_version = metadata_version
            state.last_write = time.monotonic()
        else:
            # The row was finalised, deleted or taken over by another run.
            state.detached = True
        return True

    def stop(self, state: JobState) -> None:
        """Stop ``state``'s body at its next check, as revoked."""
        state.cancel_requested = True
        try:
            self._prepare_connection(settings.DATABASE_ALIAS)
            lifecycle.request_stop(state.job_id, EndReason.REVOKED)
        except Exception as exc:
            logger.warning("progress flusher: could not flag %s as revoked: %s", state.job_id, exc)

    def check_cancels(self, states: list[JobState]) -> None:
        """Flag the states whose job a user asked to cancel (one query for all)."""
        try:
            self._prepare_connection(settings.DATABASE_ALIAS)
            cancelled = lifecycle.cancel_requested(state.job_id for state in states)
            self.stats.writes += 1
        except Exception as exc:
            self.stats.errors += 1
            logger.warning("progress flusher: cancel check failed, will retry: %s", exc)
            self._close_connection()
            return
        for state in states:
            if state.job_id in cancelled:
                state.cancel_requested = True

    def _prepare_connection(self, alias: str) -> None:
        connection = connections[alias]
        connection.ensure_connection()
        raw = connection.connection
        if id(raw) != self._connection_id:
            self._connection_id = id(raw)
            if connection.vendor == "sqlite":
                # A short wait: the next tick retries, the task never waits.
                timeout_ms = int(settings.SQLITE_BUSY_TIMEOUT * 1000)
                with connection.cursor() as cursor:
                    cursor.execute(f"PRAGMA busy_timeout = {timeout_ms}")

    def _close_connection(self) -> None:
        alias = settings.DATABASE_ALIAS
        try:
            connections[alias].close()
        except Exception:
            logger.debug("progress flusher: closing the connection failed", exc_info=True)
        self._connection_id = 0


flusher = Flusher()

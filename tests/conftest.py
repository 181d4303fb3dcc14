"""Fixtures: real Celery workers (in-process and in separate processes)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from celery.contrib.testing.worker import start_worker
from django.db import connection

from tests.celery_app import app as celery_app_instance

ROOT = Path(__file__).resolve().parent.parent
RUN_ID = os.environ["CPT_RUN_ID"]


def wait_for(predicate: Callable[[], Any], timeout: float = 20.0, interval: float = 0.05) -> Any:
    """Poll ``predicate`` until it returns something truthy; fail after ``timeout``."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout}s waiting for {predicate}")
        time.sleep(interval)


def row(job_id: str) -> Any:
    from celery_progress_tracker.models import SSEProgress

    return SSEProgress.objects.filter(job_id=job_id).first()


def wait_status(job_id: str, *statuses: str, timeout: float = 20.0) -> Any:
    """Wait until the job's row is in one of ``statuses`` and return it."""

    def check() -> Any:
        job = row(job_id)
        return job if job is not None and job.status in statuses else None

    return wait_for(check, timeout)


@pytest.fixture(scope="session")
def celery_app_instance_() -> Any:
    return celery_app_instance


def _wait_idle(timeout: float = 30.0) -> None:
    from celery.worker import state

    wait_for(lambda: not state.active_requests, timeout)


@pytest.fixture(scope="session")
def _session_worker(django_db_setup: None, django_db_blocker: Any) -> Iterator[Any]:
    import tests.tasks  # noqa: F401

    with django_db_blocker.unblock():
        with start_worker(
            celery_app_instance,
            pool="solo",
            perform_ping_check=True,
            shutdown_timeout=30,
            loglevel="WARNING",
        ) as worker:
            yield worker
        connection.close()


@pytest.fixture
def worker(_session_worker: Any, transactional_db: None) -> Iterator[Any]:
    """A real in-process Celery worker (solo pool) on the configured broker."""
    yield _session_worker
    _wait_idle()


def worker_queue(name: str) -> str:
    """The queue a ``worker_process(name=name)`` consumes."""
    return f"cpt-{RUN_ID}-{name}"


class WorkerProcess:
    """A ``celery worker`` in a process of its own, which a test may kill."""

    def __init__(self, name: str, pool: str, concurrency: int, env: dict[str, str]) -> None:
        self.queue = worker_queue(name)
        self.nodename = f"{self.queue}@localhost"
        self.log = Path(os.environ["CPT_TMP"]) / f"{name}-{time.monotonic_ns()}.log"
        cmd = [
            sys.executable, "-m", "celery", "-A", "tests.celery_app", "worker",
            "-P", pool, "-c", str(concurrency), "-Q", self.queue, "-n", self.nodename,
            "--without-gossip", "--without-mingle", "--without-heartbeat", "-l", "INFO",
        ]  # fmt: skip
        full_env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "CPT_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
            **env,
        }
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            cmd, env=full_env, stdout=self._log_file, stderr=subprocess.STDOUT,
            start_new_session=True, cwd=ROOT,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 60.0) -> None:
        ping = celery_app_instance.tasks["celery.ping"]
        try:
            ping.apply_async(queue=self.queue).get(timeout=timeout)
        except Exception as exc:
            raise AssertionError(f"worker did not start: {exc}\n{self.output()}") from exc

    def children(self) -> list[int]:
        out = subprocess.run(
            ["pgrep", "-P", str(self.process.pid)], capture_output=True, text=True
        ).stdout
        return [int(pid) for pid in out.split()]

    def kill_node(self) -> None:
        """SIGKILL the whole worker (main process and children)."""
        os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(10)

    def stop(self, sig: int = signal.SIGTERM, timeout: float = 60.0) -> int:
        if self.process.poll() is None:
            os.kill(self.process.pid, sig)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self._log_file.close()
        return self.process.returncode

    def output(self) -> str:
        self._log_file.flush()
        return self.log.read_text(errors="replace")[-5000:]


@pytest.fixture
def worker_process(transactional_db: None) -> Iterator[Callable[..., WorkerProcess]]:
    """Start ``celery worker`` processes (prefork by default); all are stopped at the end."""
    started: list[WorkerProcess] = []
    counter = iter(range(1000))

    def start(
        pool: str = "prefork",
        concurrency: int = 2,
        env: dict[str, str] | None = None,
        name: str | None = None,
    ) -> WorkerProcess:
        proc = WorkerProcess(name or f"proc{next(counter)}", pool, concurrency, env or {})
        started.append(proc)
        proc.wait_ready()
        return proc

    yield start
    for proc in started:
        # The test is over: no need for a slow warm shutdown.
        if proc.process.poll() is None:
            proc.kill_node()
        proc.stop()


@pytest.fixture(scope="session", autouse=True)
def _drop_leftover_connections(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    """Let the test database be dropped even if a killed worker left a session open."""
    yield
    if connection.vendor != "postgresql":
        return
    with django_db_blocker.unblock(), connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """PostgreSQL-only tests run on the PostgreSQL legs (DATABASE_URL set), not here."""
    if os.environ.get("DATABASE_URL", "").startswith("postgres"):
        return
    selected, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker("postgres") else selected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected

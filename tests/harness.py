"""What the real-worker tests share: waiting for rows, and ``celery worker`` processes.

Nothing here imports a Celery app or reads Django settings at import time, so
both test projects (``tests`` and ``tests/cookiecutter``) use it.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
RUN_ID = os.environ["CPT_RUN_ID"]


def missing_prerequisite(message: str) -> None:
    """Skip on a developer machine; fail on CI (``CI`` set), where it must be installed."""
    import pytest

    if os.environ.get("CI"):
        pytest.fail(message)
    pytest.skip(message)


def run_pytest(args: list[str], cwd: Path, timeout: float = 300, **env: str) -> str:
    """A pytest process of its own (another project, other settings); its output.

    It gets this environment with ``env`` on top (an empty value removes the
    variable), minus this process's pytest and Django variables. Fails the test,
    with the output, if the run fails or skips anything.
    """
    full_env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))}
    for name, value in env.items():
        if value:
            full_env[name] = value
        else:
            full_env.pop(name, None)
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", *args],
        cwd=cwd,
        env=full_env,
        capture_output=True,
        text=True,
        timeout=timeout,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "skipped" not in output, output
    return output


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


def worker_queue(name: str) -> str:
    """The queue a ``worker_process(name=name)`` consumes."""
    return f"cpt-{RUN_ID}-{name}"


class WorkerProcess:
    """A ``celery worker`` in a process of its own, which a test may kill."""

    def __init__(
        self,
        name: str,
        pool: str,
        concurrency: int,
        env: dict[str, str],
        app: Any = None,
        app_path: str = "tests.celery_app",
    ) -> None:
        if app is None:
            from tests.celery_app import app
        self.app = app
        self.queue = worker_queue(name)
        self.nodename = f"{self.queue}@localhost"
        self.log = Path(os.environ["CPT_TMP"]) / f"{name}-{time.monotonic_ns()}.log"
        cmd = [
            sys.executable, "-m", "celery", "-A", app_path, "worker",
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
        ping = self.app.tasks["celery.ping"]
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

    def finish(self) -> None:
        """Stop the worker at a test's end: killed at once, unless coverage is measured
        (then a warm shutdown, so the process can write its data)."""
        if self.process.poll() is None and not os.environ.get("COVERAGE_PROCESS_CONFIG"):
            self.kill_node()
        self.stop(signal.SIGTERM, timeout=20)

    def output(self) -> str:
        self._log_file.flush()
        return self.log.read_text(errors="replace")[-5000:]


def drop_leftover_connections() -> None:
    """Let the test database be dropped even if a killed process left a session open."""
    if connection.vendor != "postgresql":
        return
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity"
            " WHERE datname = current_database() AND pid <> pg_backend_pid()"
        )


@contextmanager
def in_process_worker(app: Any, django_db_blocker: Any) -> Iterator[Any]:
    """A real Celery worker (solo pool) in this process, on ``app``'s broker."""
    from celery.contrib.testing.worker import start_worker

    with django_db_blocker.unblock():
        with start_worker(
            app, pool="solo", perform_ping_check=True, shutdown_timeout=30, loglevel="WARNING"
        ) as worker:
            yield worker
        connection.close()


def wait_idle(timeout: float = 30.0) -> None:
    """Wait until the in-process worker runs nothing (a test's task must not outlive it)."""
    from celery.worker import state

    wait_for(lambda: not state.active_requests, timeout)

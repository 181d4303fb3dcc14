"""Fixtures of the cookiecutter-django mirror: a real worker, worker processes, uvicorn."""

from __future__ import annotations

import http.client
import json
import os
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.db import connection

from tests.cookiecutter.config.celery_app import app
from tests.harness import (
    ROOT,
    WorkerProcess,
    drop_leftover_connections,
    in_process_worker,
    wait_for,
    wait_idle,
)

APP_PATH = "tests.cookiecutter.config.celery_app"


@pytest.fixture(scope="session")
def _session_worker(django_db_setup: None, django_db_blocker: Any) -> Iterator[Any]:
    import tests.cookiecutter.jobs.tasks  # noqa: F401

    with in_process_worker(app, django_db_blocker) as worker:
        yield worker


@pytest.fixture(scope="session", autouse=True)
def _drop_leftover_connections(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    yield
    with django_db_blocker.unblock():
        drop_leftover_connections()


@pytest.fixture
def worker(_session_worker: Any, transactional_db: None) -> Iterator[Any]:
    """A real in-process Celery worker (solo pool) on the configured broker."""
    yield _session_worker
    wait_idle()


@pytest.fixture
def worker_process(transactional_db: None) -> Iterator[Callable[..., WorkerProcess]]:
    """Start ``celery worker`` processes of this project; all are stopped at the end."""
    started: list[WorkerProcess] = []

    def start(
        pool: str = "prefork", concurrency: int = 2, env: dict[str, str] | None = None
    ) -> WorkerProcess:
        name = f"cc-{pool}-{len(started)}-{os.getpid()}"
        proc = WorkerProcess(name, pool, concurrency, env or {}, app=app, app_path=APP_PATH)
        started.append(proc)
        proc.wait_ready()
        return proc

    yield start
    for proc in started:
        proc.finish()


class AsgiServer:
    """The project's ASGI application under a real uvicorn, on the test database."""

    def __init__(self) -> None:
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            self.port = sock.getsockname()[1]
        self.log = Path(os.environ["CPT_TMP"]) / f"uvicorn-{self.port}.log"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "tests.cookiecutter.config.settings",
            "CPT_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
        }
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable, "-m", "uvicorn", "tests.cookiecutter.config.asgi:application",
                "--host", "127.0.0.1", "--port", str(self.port), "--log-level", "warning",
            ],
            env=env, cwd=ROOT, stdout=self._log_file, stderr=subprocess.STDOUT,
        )  # fmt: skip
        wait_for(self._up, timeout=30, interval=0.1)

    def _up(self) -> bool:
        assert self.process.poll() is None, self.output()
        try:
            socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
        except OSError:
            return False
        return True

    def get(self, path: str, cookies: dict[str, str] | None = None) -> tuple[int, Any]:
        """GET ``path``; the status and the JSON body (or the text)."""
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        headers = {"Cookie": "; ".join(f"{k}={v}" for k, v in (cookies or {}).items())}
        conn.request("GET", path, headers=headers)
        response = conn.getresponse()
        body = response.read().decode()
        conn.close()
        try:
            return response.status, json.loads(body)
        except ValueError:
            return response.status, body

    def output(self) -> str:
        self._log_file.flush()
        return self.log.read_text(errors="replace")[-5000:]

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(20)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(10)
        self._log_file.close()


@pytest.fixture
def asgi_server(transactional_db: None) -> Iterator[AsgiServer]:
    server = AsgiServer()
    yield server
    server.stop()


@pytest.fixture
def alice(transactional_db: None) -> Any:
    from django.contrib.auth import get_user_model

    return get_user_model().objects.create_user("alice@example.com", "secret")


@pytest.fixture
def alice_cookies(alice: Any) -> dict[str, str]:
    """The session cookie of a logged-in alice, for requests to the real servers."""
    from django.test import Client

    client = Client()
    client.force_login(alice)
    return {name: morsel.value for name, morsel in client.cookies.items()}


@pytest.fixture
def eager() -> Iterator[None]:
    """cookiecutter-django's local settings: eager, propagating exceptions.

    Set under the ``CELERY_`` names the project's settings use: Celery 5.4 reads
    those first, so a change of ``task_always_eager`` alone would go unseen.
    """
    app.conf.CELERY_TASK_ALWAYS_EAGER = True
    app.conf.CELERY_TASK_EAGER_PROPAGATES = True
    try:
        yield
    finally:
        app.conf.CELERY_TASK_ALWAYS_EAGER = False
        app.conf.CELERY_TASK_EAGER_PROPAGATES = False

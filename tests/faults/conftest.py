"""Fixtures of the fault suite."""

from __future__ import annotations

import os
import signal
from collections.abc import Callable, Iterator

import pytest
from django.conf import settings
from django.db import connection

# Every task (and ``celery.ping``, which the worker fixtures wait for) is
# registered before a worker starts.
import tests.tasks  # noqa: F401

# The browser tests' fixtures (a logged-in Chromium page), for test_browser_xss.py.
from tests.browser.conftest import browser, chromium, user  # noqa: F401
from tests.conftest import WorkerProcess
from tests.faults.server import GunicornServer


def require_networked_services() -> None:
    """Fail (never skip) unless the run uses PostgreSQL and Redis or RabbitMQ."""
    broker = str(settings.CELERY_BROKER_URL).split(":")[0]
    assert connection.vendor == "postgresql" and broker in {"redis", "amqp"}, (
        "this test needs PostgreSQL and a networked broker: run it with "
        "DATABASE_URL=postgres://... and CELERY_BROKER_URL=redis://... or amqp://..."
    )


@pytest.fixture
def queue_workers(transactional_db: None) -> Iterator[Callable[..., WorkerProcess]]:
    """Start worker processes; those given the same ``name`` share one queue."""
    started: list[WorkerProcess] = []

    def start(
        name: str, pool: str = "prefork", concurrency: int = 1, env: dict[str, str] | None = None
    ) -> WorkerProcess:
        proc = WorkerProcess(f"{name}-{os.getpid()}", pool, concurrency, env or {})
        started.append(proc)
        proc.wait_ready()
        return proc

    yield start
    for proc in started:
        proc.stop(signal.SIGTERM, timeout=30)


@pytest.fixture
def gunicorn(transactional_db: None) -> Iterator[GunicornServer]:
    """A real gunicorn (4 sync workers) serving the test project on the test database."""
    server = GunicornServer()
    yield server
    server.stop()

"""Fixtures: real Celery workers (in-process and in separate processes)."""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.utils import translation

from tests.celery_app import app as celery_app_instance
from tests.harness import (  # noqa: F401  (the suite imports them from here)
    ROOT,
    RUN_ID,
    WorkerProcess,
    drop_leftover_connections,
    in_process_worker,
    row,
    wait_for,
    wait_idle,
    wait_status,
    worker_queue,
)


@pytest.fixture(scope="session")
def celery_app_instance_() -> Any:
    return celery_app_instance


@pytest.fixture(scope="session")
def _session_worker(django_db_setup: None, django_db_blocker: Any) -> Iterator[Any]:
    import tests.tasks  # noqa: F401

    with in_process_worker(celery_app_instance, django_db_blocker) as worker:
        yield worker


@pytest.fixture
def worker(_session_worker: Any, transactional_db: None) -> Iterator[Any]:
    """A real in-process Celery worker (solo pool) on the configured broker."""
    yield _session_worker
    wait_idle()


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
        proc.finish()


@pytest.fixture(scope="session", autouse=True)
def _drop_leftover_connections(django_db_setup: None, django_db_blocker: Any) -> Iterator[None]:
    yield
    with django_db_blocker.unblock():
        drop_leftover_connections()


@pytest.fixture(autouse=True)
def _default_language() -> Iterator[None]:
    """Each test starts in the default language (LocaleMiddleware leaves a request's active)."""
    translation.deactivate()
    yield
    translation.deactivate()


def pytest_collection_modifyitems(config: Any, items: list[Any]) -> None:
    """Tests of one database run on its legs only (PostgreSQL: DATABASE_URL set)."""
    other = "sqlite" if os.environ.get("DATABASE_URL", "").startswith("postgres") else "postgres"
    selected, deselected = [], []
    for item in items:
        (deselected if item.get_closest_marker(other) else selected).append(item)
    if deselected:
        config.hook.pytest_deselected(items=deselected)
        items[:] = selected


# The cookiecutter-django mirror is a project of its own (its own settings): `make
# test` runs it in a second pytest process. So is the plugin's test project, run by
# tests/test_testing_plugin.py, and the user-model project (tests/test_user_models.py).
collect_ignore = ["cookiecutter", "plugin_project", "usermodels"]
# tests/naive_time runs with USE_TZ off, in a pytest process of its own (test_naive_time.py).
if os.environ.get("CPT_USE_TZ", "1") == "1":
    collect_ignore.append("naive_time")

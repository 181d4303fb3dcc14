"""A pytest plugin for testing your own ``ProgressTask`` jobs.

Enable it in your project's ``conftest.py`` (it needs ``pytest-django``)::

    pytest_plugins = ["celery_progress_tracker.testing"]

It is not registered automatically (no ``pytest11`` entry point): installing the
package must not change every pytest run of an environment, Django or not.

What it gives (``docs/testing.md`` shows each in use):

* ``progress_eager``: ProgressTasks run eagerly, in the test, with real rows.
* ``progress_worker``: a real Celery worker in the test process (solo pool) on
  your app's broker, with real rows; the test gets ``transactional_db``.
* :func:`assert_job`: one line to check a job's row, waiting for a worker to
  finish it, with a message that says what differs.
* ``progress_client``: a Django test client polling the API as a given user.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import pytest
from django.test import Client
from django.urls import NoReverseMatch, reverse

from celery_progress_tracker.models import FINAL_STATUSES, SSEProgress

#: Seconds :func:`assert_job` waits, by default, for a job to reach the status asked for.
DEFAULT_TIMEOUT = 10.0

#: Namespaces the polling API may be included under (the app's, the original system's).
API_NAMESPACES = ("celery_progress_tracker", "core")


def _describe(job: SSEProgress) -> str:
    text = (
        f"status={job.status!r} processed={job.processed_items} failed={job.failed_items}"
        f" total={job.total_items} message={job.current_message!r}"
    )
    if job.end_reason:
        text += f" end_reason={job.end_reason!r}"
    return text + (f" error={job.error!r}" if job.error else "")


def assert_job(
    job_id: str,
    *,
    status: str | None = None,
    processed: int | None = None,
    failed: int | None = None,
    total: int | None = None,
    message: str | None = None,
    timeout: float = DEFAULT_TIMEOUT,
) -> SSEProgress:
    """Check the row of ``job_id``; return it.

    When ``status`` is final and the job is still active (a worker runs it),
    waits up to ``timeout`` seconds for it to end first: ``AsyncResult.get()``
    can return before the row is written. Only the arguments given are checked.

    Raises:
        AssertionError: the job does not exist, or a value differs (the message
            lists what differs and the row's state).
    """
    __tracebackhide__ = True
    expected = {
        "status": status,
        "processed_items": processed,
        "failed_items": failed,
        "total_items": total,
        "current_message": message,
    }
    wait_for_end = status in FINAL_STATUSES
    deadline = time.monotonic() + timeout
    while True:
        job = SSEProgress.objects.filter(job_id=job_id).first()
        if job is not None:
            differences = [
                f"{name} is {getattr(job, name)!r}, expected {value!r}"
                for name, value in expected.items()
                if value is not None and getattr(job, name) != value
            ]
            if not differences:
                return job
            if not (wait_for_end and job.is_active):
                break
        if time.monotonic() >= deadline:
            break
        time.sleep(0.05)
    if job is None:
        pytest.fail(f"job {job_id}: no such job (no SSEProgress row)", pytrace=False)
    waited = f" after waiting {timeout:g}s for it to end" if job.is_active and wait_for_end else ""
    pytest.fail(
        f"job {job_id}: {'; '.join(differences)}{waited}\n  row: {_describe(job)}",
        pytrace=False,
    )


class ProgressClient:
    """The polling API, as one user's browser sees it (JSON in, dicts out)."""

    def __init__(self, user: Any = None) -> None:
        self.client = Client()
        if user is not None:
            self.client.force_login(user)

    @staticmethod
    def url(name: str, *args: str) -> str:
        """The API URL ``name`` (``sse_progress_detail``, ...), in whichever namespace."""
        for namespace in API_NAMESPACES:
            try:
                return reverse(f"{namespace}:{name}", args=args)
            except NoReverseMatch:
                continue
        return reverse(name, args=args)

    def get(self, name: str, *args: str, **params: Any) -> Any:
        """``GET`` the endpoint; the response (``.status_code``, ``.json()``)."""
        return self.client.get(self.url(name, *args), params)

    def job(self, job_id: str) -> dict[str, Any] | None:
        """What the bar polls for ``job_id``: its dict, or ``None`` for a 404."""
        response = self.get("sse_progress_detail", job_id)
        if response.status_code == 404:
            return None
        assert response.status_code == 200, (response.status_code, response.content)
        return response.json()

    def jobs(self, **params: Any) -> list[dict[str, Any]]:
        """The user's jobs (first page), as the list endpoint answers."""
        response = self.get("sse_progress_list", **params)
        assert response.status_code == 200, (response.status_code, response.content)
        return response.json()["results"]

    def active(self) -> list[dict[str, Any]]:
        """The user's pending and running jobs."""
        response = self.get("sse_progress_active")
        assert response.status_code == 200, (response.status_code, response.content)
        return response.json()["results"]

    def cancel(self, job_id: str) -> Any:
        """``POST`` the cancel endpoint; the response."""
        return self.client.post(self.url("sse_progress_cancel", job_id))

    def delete(self, job_id: str) -> Any:
        """``DELETE`` the job; the response."""
        return self.client.delete(self.url("sse_progress_delete", job_id))


# -- fixtures ---------------------------------------------------------------------------


@pytest.fixture(scope="session")
def progress_celery_app() -> Any:
    """The Celery app the fixtures use: ``celery.current_app``; override it to choose."""
    from celery import current_app

    return current_app._get_current_object()  # type: ignore[attr-defined]


@pytest.fixture
def progress_eager(progress_celery_app: Any, db: None) -> Iterator[Any]:
    """Run tasks eagerly (``task_always_eager``) during the test; rows are real.

    Exceptions are not propagated: a failing task leaves a ``failed`` row and
    an ``EagerResult`` holding the exception, as a worker would.
    """
    conf = progress_celery_app.conf
    saved = conf.task_always_eager, conf.task_eager_propagates
    conf.task_always_eager, conf.task_eager_propagates = True, False
    try:
        yield progress_celery_app
    finally:
        conf.task_always_eager, conf.task_eager_propagates = saved


@pytest.fixture(scope="session")
def _progress_session_worker(
    progress_celery_app: Any, django_db_setup: None, django_db_blocker: Any
) -> Iterator[Any]:
    import celery.contrib.testing.tasks  # noqa: F401  (the ping check's task)
    from celery.contrib.testing.worker import start_worker
    from django.db import connection

    with django_db_blocker.unblock():
        with start_worker(
            progress_celery_app,
            pool="solo",
            perform_ping_check=True,
            shutdown_timeout=30,
            loglevel="WARNING",
        ) as worker:
            yield worker
        connection.close()


@pytest.fixture
def progress_worker(_progress_session_worker: Any, transactional_db: None) -> Iterator[Any]:
    """A real Celery worker (solo pool) in the test process, on your app's broker.

    One per test session, started at first use; the test gets
    ``transactional_db`` (the worker must see committed rows). At the end of the
    test it waits until the worker runs nothing, so no task outlives the test.
    """
    from celery.worker import state

    yield _progress_session_worker
    deadline = time.monotonic() + 30
    while state.active_requests and time.monotonic() < deadline:
        time.sleep(0.05)


@pytest.fixture
def progress_client(db: None) -> Callable[..., ProgressClient]:
    """``progress_client(user)``: a :class:`ProgressClient` logged in as ``user``.

    ``progress_client()`` (no user) polls anonymously.
    """
    return ProgressClient

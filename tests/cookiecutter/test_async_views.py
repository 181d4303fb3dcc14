"""``.delay()`` in an ``async def`` view under a real uvicorn: the request's user owns the job."""

from __future__ import annotations

from typing import Any

from celery_progress_tracker.models import SSEProgress
from tests.cookiecutter.conftest import AsgiServer
from tests.harness import wait_for


def test_a_job_started_in_an_async_view_belongs_to_the_requests_user(
    worker: Any, asgi_server: AsgiServer, alice: Any, alice_cookies: dict[str, str]
) -> None:
    status, data = asgi_server.get("/jobs/import-async/?lines=4&send_task=1", alice_cookies)
    assert status == 200, (data, asgi_server.output())
    job = SSEProgress.objects.get(job_id=data["job_id"])
    assert job.user_id == alice.pk, asgi_server.output()
    # send_task() publishes by name: its row is made by the publish hook, owner included.
    assert SSEProgress.objects.get(job_id=data["sent_id"]).user_id == alice.pk

    def finished() -> bool:
        status, polled = asgi_server.get(f"/core/sse-progress/{data['job_id']}/", alice_cookies)
        assert status == 200, polled
        return bool(polled["status"] == "completed")

    wait_for(finished, timeout=60)
    log = asgi_server.output()
    assert "SynchronousOnlyOperation" not in log and "Traceback" not in log, log


def test_an_anonymous_async_request_starts_a_job_without_owner(
    worker: Any, asgi_server: AsgiServer
) -> None:
    status, data = asgi_server.get("/jobs/import-async/?lines=2")
    assert status == 200, (data, asgi_server.output())
    assert SSEProgress.objects.get(job_id=data["job_id"]).user_id is None
    assert "Traceback" not in asgi_server.output()

"""Helpers shared by the polling API tests."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any
from urllib.parse import quote

from django.http import HttpResponse
from django.utils import timezone

from celery_progress_tracker.models import SSEProgress

BASE = "/core/sse-progress/"


def detail_url(job_id: str) -> str:
    return f"{BASE}{quote(job_id, safe='')}/"


def delete_url(job_id: str) -> str:
    return f"{detail_url(job_id)}delete/"


def cancel_url(job_id: str) -> str:
    return f"{detail_url(job_id)}cancel/"


def make_job(job_id: str = "job-1", user: Any = None, **fields: Any) -> SSEProgress:
    defaults: dict[str, Any] = {"task_type": "mon_type", "total_items": 100}
    return SSEProgress.objects.create(job_id=job_id, user=user, **{**defaults, **fields})


def finish(job: SSEProgress) -> SSEProgress:
    job.mark_as_started()
    job.mark_as_completed()
    return job


def make_stale(job: SSEProgress) -> SSEProgress:
    """A running job whose worker stopped sending heartbeats long ago."""
    SSEProgress.objects.filter(pk=job.pk).update(
        status="in_progress",
        has_heartbeat=True,
        started_at=timezone.now() - timedelta(hours=2),
        updated_at=timezone.now() - timedelta(hours=1),
    )
    job.refresh_from_db()
    return job


def body(response: HttpResponse) -> Any:
    """The JSON body, checking that it is JSON."""
    assert response["Content-Type"] == "application/json", response["Content-Type"]
    return json.loads(response.content)


def assert_error(response: HttpResponse, status: int, code: str) -> Any:
    """An error response: the status, the JSON shape, and no leak of internals."""
    assert response.status_code == status, (response.status_code, response.content[:300])
    data = body(response)
    assert set(data) == {"error", "message"}, data
    assert data["error"] == code, data
    assert isinstance(data["message"], str) and data["message"]
    text = response.content.decode()
    for leak in ("Traceback", "/work/", "site-packages", "SECRET", "settings."):
        assert leak not in text
    return data

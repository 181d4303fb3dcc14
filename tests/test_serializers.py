"""The JSON shape and the ETag, built in one place."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone

from celery_progress_tracker.models import SSEProgress
from celery_progress_tracker.serializers import job_etag, job_to_dict, row_etag

pytestmark = [pytest.mark.core, pytest.mark.django_db]


@pytest.mark.parametrize("stale", [False, True])
def test_row_etag_is_the_etag_of_the_reported_dict(stale: bool) -> None:
    job = SSEProgress.objects.create(
        job_id="j", status="in_progress", has_heartbeat=True, total_items=10, processed_items=4
    )
    if stale:
        SSEProgress.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(hours=1))
        job.refresh_from_db()
    now = timezone.now()
    data = job_to_dict(job, now)
    assert data["status"] == ("failed" if stale else "in_progress")
    assert row_etag(job, now) == job_etag(data)


def test_etag_changes_with_what_a_poller_sees() -> None:
    job = SSEProgress.objects.create(job_id="k", status="in_progress", total_items=10)
    now = timezone.now()
    before = row_etag(job, now)
    job.processed_items = 1
    assert row_etag(job, now) != before
    job.processed_items = 0
    job.cancel_requested_at = now
    assert row_etag(job, now) != before

"""The admin lists, filters and finds jobs; counters are read-only."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from celery_progress_tracker.models import SSEProgress

pytestmark = [pytest.mark.core, pytest.mark.django_db]


def test_changelist_search_filter_and_readonly_counters(
    admin_client: Client, admin_user: Any
) -> None:
    SSEProgress.objects.create(job_id="edi-1", task_type="edi_import", user=admin_user)
    SSEProgress.objects.create(job_id="mail-1", task_type="email_sending", status="completed")
    url = "/admin/celery_progress_tracker/sseprogress/"
    page = admin_client.get(url, {"q": "edi"}).content.decode()
    assert "edi-1" in page and "mail-1" not in page
    page = admin_client.get(url, {"q": admin_user.username}).content.decode()
    assert "edi-1" in page and "mail-1" not in page
    page = admin_client.get(url, {"status__exact": "completed"}).content.decode()
    assert "mail-1" in page and "edi-1" not in page
    job = SSEProgress.objects.get(job_id="edi-1")
    form = admin_client.get(f"{url}{job.pk}/change/").content.decode()
    assert 'name="processed_items"' not in form  # read-only
    assert 'name="status"' in form


def test_system_jobs_are_listed_apart(admin_client: Client, admin_user: Any) -> None:
    SSEProgress.objects.create(job_id="users-job", user=admin_user)
    SSEProgress.objects.create(job_id="beat-job")
    url = "/admin/celery_progress_tracker/sseprogress/"
    page = admin_client.get(url, {"started_by": "system"}).content.decode()
    assert "beat-job" in page and "users-job" not in page
    page = admin_client.get(url, {"started_by": "user"}).content.decode()
    assert "users-job" in page and "beat-job" not in page
    page = admin_client.get(url).content.decode()
    assert "users-job" in page and "beat-job" in page and "the system (no owner)" in page

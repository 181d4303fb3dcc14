"""The admin: lists, filters, read-only pages, the two actions, system jobs, the bars' JSON."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from celery_progress_tracker.models import SSEProgress, SystemJob

pytestmark = [pytest.mark.core, pytest.mark.django_db]

JOBS = "/admin/celery_progress_tracker/sseprogress/"
SYSTEM = "/admin/celery_progress_tracker/systemjob/"


def finished(job_id: str, **fields: Any) -> SSEProgress:
    job = SSEProgress.objects.create(job_id=job_id, **fields)
    job.mark_as_completed()
    return job


def test_changelist_search_filters_and_progress_column(
    admin_client: Client, admin_user: Any
) -> None:
    running = SSEProgress.objects.create(
        job_id="edi-1", task_type="edi_import", user=admin_user, total_items=4
    )
    running.mark_as_started()
    running.update_progress(processed=1)
    finished("mail-1", task_type="email_sending")
    page = admin_client.get(JOBS, {"q": "edi"}).content.decode()
    assert "edi-1" in page and "mail-1" not in page
    page = admin_client.get(JOBS, {"q": admin_user.username}).content.decode()
    assert "edi-1" in page and "mail-1" not in page
    page = admin_client.get(JOBS, {"status__exact": "completed"}).content.decode()
    assert "mail-1" in page and "edi-1" not in page
    page = admin_client.get(JOBS, {"end_reason__exact": "succeeded"}).content.decode()
    assert "mail-1" in page and "edi-1" not in page
    page = admin_client.get(JOBS, {"task_type": "edi_import"}).content.decode()
    assert "edi-1" in page and "mail-1" not in page
    page = admin_client.get(JOBS, {"owner": "system"}).content.decode()
    assert "mail-1" in page and "edi-1" not in page
    page = admin_client.get(JOBS, {"owner": "user"}).content.decode()
    assert "edi-1" in page and "mail-1" not in page
    page = admin_client.get(JOBS).content.decode()
    assert '<td class="field-status">in progress</td>' in page
    assert '<td class="field-status">completed</td>' in page
    assert "data-status='in_progress'>25%</span>" in page
    assert "data-status='completed'>100%</span>" in page
    # A live bar for the running job only, polling the admin's own JSON view.
    assert page.count("data-progress-job-id=") == 1
    assert f"data-progress-api-base='{JOBS}progress-api/'" in page
    assert "celery_progress_tracker/progress_polling.js" in page


def test_system_jobs_are_listed_on_their_own(admin_client: Client, admin_user: Any) -> None:
    finished("nightly-1", task_type="nightly")
    finished("mine-1", user=admin_user)
    page = admin_client.get(SYSTEM).content.decode()
    assert "nightly-1" in page and "mine-1" not in page
    assert list(SystemJob.objects.values_list("job_id", flat=True)) == ["nightly-1"]
    job = SystemJob.objects.get()
    assert admin_client.get(f"{SYSTEM}{job.pk}/change/").status_code == 200


def test_change_page_is_read_only_with_a_bar_and_related_jobs(admin_client: Client) -> None:
    parent = finished("root-1", root_id="root-1")
    child = SSEProgress.objects.create(
        job_id="child-1", root_id="root-1", parent_id="root-1", group_id="g-1"
    )
    page = admin_client.get(f"{JOBS}{child.pk}/change/").content.decode()
    for field in ("status", "processed_items", "user", "job_id"):
        assert f'name="{field}"' not in page
    assert "data-progress-job-id='child-1'" in page
    assert f"href='{JOBS}{parent.pk}/change/'" in page  # its parent
    assert f"href='{JOBS}?group_id=g-1'" in page
    assert f"href='{JOBS}?root_id=root-1'" in page
    page = admin_client.get(f"{JOBS}?root_id=root-1").content.decode()
    assert "child-1" in page and "root-1" in page
    # The root of a workflow links to the jobs it started.
    page = admin_client.get(f"{JOBS}{parent.pk}/change/").content.decode()
    assert f"href='{JOBS}?root_id=root-1'>jobs it started" in page
    assert admin_client.get("/admin/celery_progress_tracker/sseprogress/add/").status_code == 403
    # The POST of a change form changes nothing.
    admin_client.post(f"{JOBS}{child.pk}/change/", {"status": "completed"})
    assert SSEProgress.objects.get(pk=child.pk).status == "pending"


def test_cancel_action_goes_through_the_lifecycle(admin_client: Client) -> None:
    pending = SSEProgress.objects.create(job_id="p-1")
    running = SSEProgress.objects.create(job_id="r-1")
    running.mark_as_started()
    done = finished("d-1")
    response = admin_client.post(
        JOBS,
        {"action": "cancel_jobs", "_selected_action": [pending.pk, running.pk, done.pk]},
        follow=True,
    )
    assert "Cancel requested for 2 jobs. 1 had already ended." in response.content.decode()
    pending.refresh_from_db()
    running.refresh_from_db()
    assert (pending.status, pending.end_reason) == ("cancelled", "cancelled")
    # A running job is asked to stop; its worker ends it.
    assert running.status == "in_progress" and running.cancel_requested_at is not None


def test_delete_action_keeps_running_jobs(admin_client: Client) -> None:
    running = SSEProgress.objects.create(job_id="r-1")
    done = finished("d-1")
    actions = admin_client.get(JOBS).content.decode()
    assert 'value="delete_selected"' not in actions  # it would delete running jobs
    response = admin_client.post(
        JOBS,
        {"action": "delete_finished_jobs", "_selected_action": [running.pk, done.pk]},
        follow=True,
    )
    assert "Deleted 1 finished job. 1 still running was kept." in response.content.decode()
    assert list(SSEProgress.objects.values_list("job_id", flat=True)) == ["r-1"]
    # Nothing finished among the selection: a warning, and the job stays.
    response = admin_client.post(
        JOBS, {"action": "delete_finished_jobs", "_selected_action": [running.pk]}, follow=True
    )
    page = response.content.decode()
    assert 'class="warning"' in page and "Deleted 0 finished jobs." in page
    assert admin_client.get(f"{JOBS}{running.pk}/delete/").status_code == 403


def test_the_bars_json_view(admin_client: Client, django_user_model: Any) -> None:
    other = django_user_model.objects.create_user("bob")
    job = SSEProgress.objects.create(job_id="bob-1", user=other, total_items=2)
    data = admin_client.get(f"{JOBS}progress-api/bob-1/").json()
    assert data["job_id"] == "bob-1" and data["status"] == "pending"
    assert admin_client.get(f"{JOBS}progress-api/nope/").status_code == 404
    listed = admin_client.get(f"{JOBS}progress-api/", {"job_id": ["bob-1", "nope"]}).json()
    assert [row["job_id"] for row in listed["results"]] == [job.job_id]
    # Staff without the view permission get nothing; anonymous users the login page.
    staff = django_user_model.objects.create_user("staff", is_staff=True)
    client = Client()
    client.force_login(staff)
    assert client.get(f"{JOBS}progress-api/bob-1/").json()["error"] == "permission_denied"
    assert client.get(f"{JOBS}progress-api/", {"job_id": "bob-1"}).status_code == 403
    bad = admin_client.get(f"{JOBS}progress-api/", {"job_id": "bob-1", "page": "0"})
    assert bad.status_code == 400 and "error" in bad.json()
    assert Client().get(f"{JOBS}progress-api/bob-1/").status_code == 302


def test_cancel_action_on_a_group_cancels_its_members(admin_client: Client) -> None:
    from celery import group

    from tests import tasks
    from tests.conftest import RUN_ID

    # Published to a queue no worker reads: the members wait, pending.
    parts = group(tasks.count.si(1) for _ in range(2)).apply_async(queue=f"cpt-{RUN_ID}-nobody")
    rollup = SSEProgress.objects.get(job_id=parts.id)
    response = admin_client.post(
        JOBS, {"action": "cancel_jobs", "_selected_action": [rollup.pk]}, follow=True
    )
    assert "Cancel requested for 1 job." in response.content.decode()
    statuses = SSEProgress.objects.filter(job_id__in=[parts.id, *(r.id for r in parts.results)])
    assert sorted(statuses.values_list("status", flat=True)) == ["cancelled"] * 3

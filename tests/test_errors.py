"""What a failure says to the job's user, and what stays for staff."""

from __future__ import annotations

from datetime import timedelta
from types import SimpleNamespace
from typing import Any

import pytest
from django.utils import timezone, translation

from celery_progress_tracker import JobError
from celery_progress_tracker.errors import format_exception, reference, retry_reason
from celery_progress_tracker.models import SSEProgress
from celery_progress_tracker.receivers import retry_message
from celery_progress_tracker.serializers import job_etag, job_to_dict, row_etag

pytestmark = pytest.mark.core

JOB_ID = "3f2a9c1e-5b7d-4e21-9c0a-1d2e3f4a5b6c"


def failed_row(**fields: Any) -> SSEProgress:
    values: dict[str, Any] = {
        "job_id": JOB_ID,
        "status": "failed",
        "end_reason": "error",
        "error": "OperationalError: could not connect to server db-7.internal:5432",
    }
    return SSEProgress.objects.create(**{**values, **fields})


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("end_reason", "shown"),
    [
        ("error", "The job failed (reference 3f2a9c1e)."),
        ("time_limit", "The job took too long and was stopped (reference 3f2a9c1e)."),
        ("worker_lost", "The job stopped unexpectedly (reference 3f2a9c1e)."),
        ("never_started", "The job never started (reference 3f2a9c1e)."),
    ],
)
def test_an_internal_error_shows_as_a_generic_sentence(end_reason: str, shown: str) -> None:
    job = failed_row(end_reason=end_reason)
    assert job_to_dict(job)["error"] == shown
    assert "db-7" in SSEProgress.objects.get().error  # staff keep the full text


@pytest.mark.django_db
def test_a_job_errors_message_is_shown() -> None:
    job = failed_row(error="JobError: Line 21 matches no open invoice", public_error="Line 21 ...")
    assert job_to_dict(job)["error"] == "Line 21 ..."


@pytest.mark.django_db
def test_verbatim_errors_setting_shows_the_rows_text(settings: Any) -> None:
    settings.PROGRESS_TRACKER_VERBATIM_ERRORS = True
    job = failed_row(public_error="Line 21 ...")
    assert job_to_dict(job)["error"] == job.error


@pytest.mark.django_db
def test_a_job_that_did_not_fail_shows_no_error() -> None:
    job = failed_row(status="cancelled", end_reason="revoked")
    assert job_to_dict(job)["error"] == ""


@pytest.mark.django_db
def test_a_lost_worker_reads_as_a_generic_sentence_and_the_etag_agrees() -> None:
    job = SSEProgress.objects.create(job_id=JOB_ID, status="in_progress", has_heartbeat=True)
    SSEProgress.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(hours=1))
    job.refresh_from_db()
    now = timezone.now()
    data = job_to_dict(job, now)
    assert data["error"] == "The job stopped unexpectedly (reference 3f2a9c1e)."
    assert row_etag(job, now) == job_etag(data)


@pytest.mark.django_db
def test_the_generic_sentence_is_translated() -> None:
    job = failed_row()
    with translation.override("fr"):
        assert job_to_dict(job)["error"] == "La tâche a échoué (référence 3f2a9c1e)."


@pytest.mark.django_db
def test_manual_api_shows_a_job_errors_message_only() -> None:
    public = SSEProgress.objects.create(job_id="a1b2c3d4-x")
    public.mark_as_failed(JobError("File has no header line"))
    internal = SSEProgress.objects.create(job_id="b1b2c3d4-x")
    internal.mark_as_failed("psycopg.errors.UndefinedTable: relation missing")
    assert job_to_dict(SSEProgress.objects.get(pk=public.pk))["error"] == (
        "File has no header line"
    )
    assert SSEProgress.objects.get(pk=public.pk).error == "JobError: File has no header line"
    assert job_to_dict(SSEProgress.objects.get(pk=internal.pk))["error"] == (
        "The job failed (reference b1b2c3d4)."
    )


def test_reference_of_an_id_that_is_not_hex_is_a_digest() -> None:
    assert reference("3F2A9C1E-anything") == "3f2a9c1e"
    ref = reference("import-2026-12-07")
    assert len(ref) == 8 and ref == reference("import-2026-12-07") != reference("import-2")


def test_format_exception_names_an_explicit_cause() -> None:
    try:
        try:
            raise KeyError("k")
        except KeyError as exc:
            raise JobError("No such customer") from exc
    except JobError as exc:
        assert format_exception(exc) == "JobError: No such customer (caused by KeyError: 'k')"
    assert format_exception(ValueError()) == "ValueError"


def retry(exc: BaseException | None, when: Any = None) -> Any:
    return SimpleNamespace(exc=exc, when=when)


def test_retry_message_names_no_internal_exception(settings: Any) -> None:
    task = SimpleNamespace(max_retries=3, override_max_retries=None)
    assert retry_message(task, 1, retry(ValueError("flaky failure 1"))) == "Retry 1 of 3"
    assert retry_message(task, 2, retry(JobError("Bank busy"))) == "Retry 2 of 3: Bank busy"
    unlimited = SimpleNamespace(max_retries=None, override_max_retries=None)
    assert retry_message(unlimited, 4, retry(None)) == "Retry 4"
    settings.PROGRESS_TRACKER_VERBATIM_ERRORS = True
    message = retry_message(task, 1, retry(ValueError("flaky failure 1")))
    assert message == "Retry 1 of 3: ValueError: flaky failure 1"
    assert retry_reason(None) == ""


def test_retry_message_is_translated() -> None:
    task = SimpleNamespace(max_retries=3, override_max_retries=None)
    with translation.override("fr"):
        text = retry_message(task, 1, retry(JobError("Banque occupée"), when=5))
    assert text.startswith("Nouvel essai 1 sur 3 à ") and text.endswith(" UTC: Banque occupée")

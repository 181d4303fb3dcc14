"""The shop's own tests of its newsletter job, written with the package's plugin."""

import pytest
from shop.tasks import send_newsletter

from celery_progress_tracker.testing import assert_job


def test_eager_run_records_sent_and_bad_addresses(progress_eager):
    result = send_newsletter.delay(["a@example.com", "oops", "b@example.com"])
    assert_job(result.id, status="completed", processed=2, failed=1, total=3)


def test_eager_failure_leaves_a_failed_row(progress_eager):
    result = send_newsletter.delay([])
    job = assert_job(result.id, status="failed", processed=0)
    assert job.error == "ValueError: nobody to send to"


def test_on_a_real_worker(progress_worker, django_user_model, progress_client):
    ann = django_user_model.objects.create_user("ann")
    result = send_newsletter.apply_async((["x@example.com"] * 5,), progress_owner=ann)
    result.get(timeout=30)
    assert_job(result.id, status="completed", processed=5, message="sent to x@example.com")
    # What Ann's page polls, and what another user gets (a 404).
    assert progress_client(ann).job(result.id)["progress_percentage"] == 100
    assert [job["job_id"] for job in progress_client(ann).jobs()] == [result.id]
    bob = django_user_model.objects.create_user("bob")
    assert progress_client(bob).job(result.id) is None
    assert progress_client().get("sse_progress_detail", result.id).status_code == 401
    # Ann's page: nothing running any more; she deletes the finished job.
    assert progress_client(ann).active() == []
    assert progress_client(bob).delete(result.id).status_code == 404
    assert progress_client(ann).delete(result.id).status_code == 200
    assert progress_client(ann).job(result.id) is None
    assert progress_client(ann).cancel(result.id).status_code == 404


def test_a_mismatch_says_what_differs(progress_eager):
    result = send_newsletter.delay(["a@example.com", "oops"])
    with pytest.raises(pytest.fail.Exception) as failure:
        assert_job(result.id, status="completed", processed=2, failed=0, timeout=0.2)
    message = str(failure.value)
    assert message.startswith(f"job {result.id}: processed_items is 1, expected 2;")
    assert "failed_items is 1, expected 0" in message
    assert "row: status='completed' processed=1 failed=1 total=2" in message
    with pytest.raises(pytest.fail.Exception, match="no such job"):
        assert_job("nope", status="completed", timeout=0)

"""The lifecycle module, called directly: every transition and its guards."""

from __future__ import annotations

import logging
from datetime import timedelta
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.db import DataError, connections
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from celery_progress_tracker import lifecycle
from celery_progress_tracker.exceptions import InvalidTransition, JobIdInUse
from celery_progress_tracker.models import SSEProgress
from celery_progress_tracker.tracker import JobState

pytestmark = pytest.mark.core


class FakeTask:
    name = "tests.fake"


def publish(job_id: str = "job", token: str = "t1", owner: Any = None, **kwargs: Any) -> None:
    options: dict[str, Any] = {
        "task_type": "import",
        "total": 10,
        "metadata": {"file": "a.csv"},
        "due_at": None,
        **kwargs,
    }
    lifecycle.publish(job_id, token=token, owner=owner, **options)


def state(job_id: str = "job", token: str = "t1", **kwargs: Any) -> JobState:
    return JobState(job_id, FakeTask(), token=token, **kwargs)


def row(job_id: str = "job") -> SSEProgress:
    return SSEProgress.objects.get(job_id=job_id)


@pytest.fixture
def alice(db: None) -> Any:
    return get_user_model().objects.create_user("alice")


@pytest.fixture
def bob(db: None) -> Any:
    return get_user_model().objects.create_user("bob")


# -- publish ------------------------------------------------------------------------


def test_publish_creates_a_pending_row(alice: Any) -> None:
    publish(owner=alice.pk, root_id="root", parent_id="parent", group_id="group")
    job = row()
    assert (job.status, job.user_id, job.task_type, job.total_items) == (
        "pending",
        alice.pk,
        "import",
        10,
    )
    assert (job.run_token, job.root_id, job.parent_id, job.group_id) == (
        "t1",
        "root",
        "parent",
        "group",
    )
    assert job.metadata == {"file": "a.csv"}
    assert job.has_heartbeat and job.due_at is not None and job.end_reason == ""


def test_publishing_a_finished_job_again_starts_a_fresh_run(alice: Any) -> None:
    publish(owner=alice.pk)
    SSEProgress.objects.filter(job_id="job").update(
        status="completed",
        end_reason="succeeded",
        processed_items=10,
        current_message="done",
        started_at=timezone.now(),
        completed_at=timezone.now(),
    )
    publish(owner=alice.pk, token="t2", total=20)
    job = row()
    assert (job.status, job.end_reason, job.processed_items, job.total_items) == (
        "pending",
        "",
        0,
        20,
    )
    assert (job.run_token, job.current_message, job.started_at, job.completed_at) == (
        "t2",
        "",
        None,
        None,
    )


def test_publishing_an_active_job_again_hands_it_to_the_last_publish(alice: Any) -> None:
    publish(owner=alice.pk)
    publish(owner=alice.pk, token="t2")
    assert (row().status, row().run_token) == ("pending", "t2")


def test_another_owners_row_is_left_alone(
    alice: Any, bob: Any, caplog: pytest.LogCaptureFixture
) -> None:
    publish(owner=alice.pk)
    with caplog.at_level(logging.ERROR, "celery_progress_tracker"):
        publish(owner=bob.pk, token="t2")
    assert (row().user_id, row().run_token) == (alice.pk, "t1")
    assert "belongs to another owner" in caplog.text


def test_check_job_id(alice: Any, bob: Any) -> None:
    lifecycle.check_job_id("job", bob.pk)  # no row: free
    publish(owner=alice.pk)
    lifecycle.check_job_id("job", alice.pk)
    lifecycle.check_job_id("job", str(alice.pk))  # a key from a header is a string
    with pytest.raises(JobIdInUse, match="another owner"):
        lifecycle.check_job_id("job", bob.pk)
    with pytest.raises(JobIdInUse):
        lifecycle.check_job_id("job", None)


def test_unpublished_deletes_only_the_rows_of_that_publish(db: None) -> None:
    publish("a", token="t1")
    publish("b", token="t2")
    lifecycle.unpublished("t1")
    assert list(SSEProgress.objects.values_list("job_id", flat=True)) == ["b"]


# -- the worker ---------------------------------------------------------------------


def test_start_takes_the_pending_row_of_its_run(db: None) -> None:
    publish()
    SSEProgress.objects.filter(job_id="job").update(processed_items=3, current_message="old")
    execution = state(retries=1)
    lifecycle.start(execution)
    job = row()
    assert not execution.detached
    assert (job.status, job.processed_items, job.current_message, job.retries) == (
        "in_progress",
        0,
        "",
        1,
    )
    assert job.started_at is not None and job.has_heartbeat


def test_an_execution_of_another_run_does_not_take_the_row(
    db: None, caplog: pytest.LogCaptureFixture
) -> None:
    publish(token="t2")
    execution = state(token="t1")
    with caplog.at_level(logging.WARNING, "celery_progress_tracker"):
        lifecycle.start(execution)
    assert execution.detached
    assert row().status == "pending"
    assert "another run" in caplog.text


def test_a_job_cancelled_before_it_started_stops_its_execution(db: None) -> None:
    publish()
    assert row().request_cancel() == "cancelled"
    execution = state()
    lifecycle.start(execution)
    assert execution.cancel_requested and execution.detached
    assert (row().status, row().started_at) == ("cancelled", None)


def test_a_missing_row_is_created_running(alice: Any) -> None:
    execution = state(owner=alice.pk, task_type="t", total=5, metadata={"a": 1}, group_id="g")
    lifecycle.start(execution)
    job = row()
    assert (job.status, job.user_id, job.total_items, job.metadata, job.group_id) == (
        "in_progress",
        alice.pk,
        5,
        {"a": 1},
        "g",
    )


def test_an_eager_rerun_of_a_finished_job_starts_a_fresh_run(alice: Any, bob: Any) -> None:
    lifecycle.start(state(owner=alice.pk, eager=True))
    lifecycle.succeeded("job", None, "t1")
    again = state(token="t2", owner=alice.pk, eager=True)
    lifecycle.start(again)
    assert not again.detached
    assert (row().status, row().run_token, row().has_heartbeat) == ("in_progress", "t2", False)
    lifecycle.succeeded("job", again)
    foreign = state(token="t3", owner=bob.pk, eager=True)
    lifecycle.start(foreign)
    assert foreign.detached
    assert (row().status, row().user_id) == ("completed", alice.pk)


def test_a_row_closed_as_lost_is_reopened_by_its_task(db: None) -> None:
    publish()
    lifecycle.start(state())
    lifecycle.failed("job", None, None, reason="worker_lost", error="lost")
    assert row().status == "failed"
    again = state()
    lifecycle.start(again)  # an acks_late redelivery
    assert not again.detached and row().status == "in_progress"
    lifecycle.failed("job", None, None, reason="worker_lost", error="lost")
    lifecycle.succeeded("job", None)  # the task was alive after all
    assert (row().status, row().end_reason, row().error) == ("completed", "succeeded", "")


def test_write_counts_and_the_cancel_flag(db: None) -> None:
    publish()
    execution = state()
    lifecycle.start(execution)
    execution.processed, execution.message, execution.total_set, execution.total = 4, "m", True, 8
    assert lifecycle.write_counts(execution)
    job = row()
    assert (job.processed_items, job.current_message, job.total_items) == (4, "m", 8)
    assert not execution.cancel_requested
    job.request_cancel()
    execution.processed = 5
    assert lifecycle.write_counts(execution)
    assert execution.cancel_requested and row().processed_items == 5
    assert lifecycle.cancel_requested(["job", "other"]) == {"job"}


def test_write_counts_detaches_from_a_row_that_is_no_longer_its(db: None) -> None:
    publish()
    execution = state()
    lifecycle.start(execution)
    publish(token="t2")  # republished while it runs
    assert not lifecycle.write_counts(execution)


def test_final_writes_and_their_end_reasons(db: None) -> None:
    from celery.exceptions import SoftTimeLimitExceeded

    for job_id, close, status, reason in [
        ("ok", lambda j: lifecycle.succeeded(j, None), "completed", "succeeded"),
        ("ko", lambda j: lifecycle.failed(j, ValueError("bad"), None), "failed", "error"),
        (
            "slow",
            lambda j: lifecycle.failed(j, SoftTimeLimitExceeded(), None),
            "failed",
            "time_limit",
        ),
        ("stop", lambda j: lifecycle.cancelled(j, None), "cancelled", "cancelled"),
        ("rev", lambda j: lifecycle.revoked(j), "cancelled", "revoked"),
        ("exp", lambda j: lifecycle.revoked(j, expired=True), "cancelled", "expired"),
    ]:
        publish(job_id, token=job_id)
        close(job_id)
        job = row(job_id)
        assert (job.status, job.end_reason) == (status, reason), job_id
        assert job.completed_at is not None
    assert row("ko").error == "ValueError: bad"
    lifecycle.failed("ok", ValueError("late"), None)  # final rows stay as they are
    assert row("ok").status == "completed"


def test_a_final_write_takes_the_execution_counts(db: None) -> None:
    publish()
    execution = state()
    lifecycle.start(execution)
    execution.processed, execution.failed = 3, 1
    lifecycle.failed("job", RuntimeError("boom"), execution)
    job = row()
    assert (job.processed_items, job.failed_items, job.error) == (3, 1, "RuntimeError: boom")
    assert execution.finalised


def test_retrying_moves_only_the_current_attempt_back_to_pending(db: None) -> None:
    publish()
    lifecycle.start(state(retries=1))
    lifecycle.retrying("job", None, "t1", 0, "stale attempt", 5)
    assert row().status == "in_progress"
    lifecycle.retrying("job", None, "t1", 1, "Retry 2 of 3", 60)
    job = row()
    assert (job.status, job.current_message) == ("pending", "Retry 2 of 3")
    assert job.due_at is not None and job.due_at > timezone.now() + timedelta(seconds=50)


def test_due_time() -> None:
    now = timezone.now()
    assert lifecycle.due_time(10) > now
    assert lifecycle.due_time("2030-01-01T00:00:00+01:00").isoformat() == (
        "2029-12-31T23:00:00+00:00"
    )
    assert lifecycle.due_time("not a date") >= now
    assert lifecycle.due_time(None) >= now


def test_reap_closes_lost_workers_and_lost_messages(db: None, settings: Any) -> None:
    settings.PROGRESS_TRACKER_PENDING_TIMEOUT = 60
    long_ago = timezone.now() - timedelta(hours=2)
    publish("running")
    lifecycle.start(state("running"))
    publish("waiting")
    publish("later", due_at=timezone.now() + timedelta(hours=1))
    publish("fresh")
    SSEProgress.objects.filter(job_id__in=["running", "waiting"]).update(
        updated_at=long_ago, due_at=long_ago
    )
    assert lifecycle.reap() == 2
    assert (row("running").status, row("running").end_reason) == ("failed", "worker_lost")
    assert (row("waiting").status, row("waiting").end_reason) == ("failed", "never_started")
    assert row("later").status == row("fresh").status == "pending"
    settings.PROGRESS_TRACKER_PENDING_TIMEOUT = None
    SSEProgress.objects.filter(job_id="fresh").update(due_at=long_ago)
    assert lifecycle.reap() == 0


def test_delete_finished(db: None, settings: Any) -> None:
    publish("done")
    lifecycle.succeeded("done", None)
    publish("running")
    lifecycle.start(state("running"))
    assert lifecycle.delete_finished(row("done"))
    assert not lifecycle.delete_finished(row("running"))
    settings.PROGRESS_TRACKER_STALE_AFTER = 60
    SSEProgress.objects.filter(job_id="running").update(
        updated_at=timezone.now() - timedelta(hours=1)
    )
    assert lifecycle.delete_finished(row("running"))  # it reads as failed
    assert not SSEProgress.objects.exists()


def test_request_cancel(db: None) -> None:
    publish("queued")
    publish("running")
    lifecycle.start(state("running"))
    queued, running = row("queued"), row("running")
    assert lifecycle.request_cancel(queued) == "cancelled"
    assert (queued.status, queued.end_reason) == ("cancelled", "cancelled")
    assert lifecycle.request_cancel(running) == "in_progress"
    assert lifecycle.request_cancel(running) == "in_progress"  # already asked
    assert running.cancel_requested_at is not None
    with pytest.raises(InvalidTransition):
        lifecycle.request_cancel(queued)


# -- a write the database refuses ----------------------------------------------------


def test_a_final_write_the_database_refuses_is_recorded_without_its_texts(
    db: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    publish()
    real = lifecycle._update
    calls: list[dict[str, Any]] = []

    def refuse_texts_once(rows: Any, fields: dict[str, Any]) -> int:
        calls.append(fields)
        if len(calls) == 1:
            raise DataError("unsupported Unicode escape sequence")
        return real(rows, fields)

    monkeypatch.setattr(lifecycle, "_update", refuse_texts_once)
    lifecycle.failed("job", ValueError("x"), None)
    job = row()
    assert (job.status, job.end_reason) == ("failed", "error")
    assert job.error.startswith("The job's text could not be stored")
    assert len(calls) == 2


# -- the database alias ------------------------------------------------------------------


@pytest.mark.django_db(transaction=True, databases=["default", "progress"])
def test_every_query_honours_the_database_alias(settings: Any) -> None:
    settings.PROGRESS_TRACKER_DATABASE_ALIAS = "progress"
    with CaptureQueriesContext(connections["progress"]) as on_alias:
        publish()
        job = SSEProgress.objects.get(job_id="job")
        job.mark_as_started()
        job.update_progress(processed=2)
        SSEProgress.objects.create(job_id="manual")
        lifecycle.reap()
    assert len(on_alias.captured_queries) >= 6
    assert job._state.db == "progress"

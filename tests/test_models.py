from __future__ import annotations

from datetime import timedelta

import pytest
from django.contrib.auth import get_user_model
from django.utils import timezone

from celery_progress_tracker.exceptions import InvalidTransition
from celery_progress_tracker.models import SSEProgress, Status

pytestmark = [pytest.mark.django_db, pytest.mark.core]


def make(**kwargs: object) -> SSEProgress:
    defaults: dict[str, object] = {"job_id": "job-1", "task_type": "mon_type", "total_items": 100}
    return SSEProgress.objects.create(**{**defaults, **kwargs})


def test_seed_manual_api_flow() -> None:
    user = get_user_model().objects.create_user("alice")
    progress = make(user_id=user.id)
    assert progress.status == Status.PENDING
    progress.mark_as_started()
    for _ in range(45):
        progress.update_progress(processed=1)
    progress.update_progress(failed=2, message="Traitement en cours...")
    progress.refresh_from_db()
    assert (progress.status, progress.processed_items, progress.failed_items) == (
        "in_progress",
        45,
        2,
    )
    assert progress.current_message == "Traitement en cours..."
    assert progress.progress_percentage == 47
    progress.mark_as_completed()
    progress.refresh_from_db()
    assert progress.status == "completed"
    assert progress.progress_percentage == 100
    assert progress.completed_at is not None


def test_percentage_floor_cap_and_unknown_total() -> None:
    job = make(total_items=3, processed_items=2)
    assert job.progress_percentage == 66
    job.processed_items = 3
    assert job.progress_percentage == 99  # capped until completed
    job.total_items = 0
    assert job.progress_percentage == 0
    job.status = Status.FAILED
    job.total_items, job.processed_items = 10, 5
    assert job.progress_percentage == 50  # a failed job keeps what it reached


def test_duration() -> None:
    job = make()
    assert job.duration is None
    start = timezone.now() - timedelta(seconds=30)
    job.started_at = start
    assert 29.9 < job.duration < 40  # type: ignore[operator]
    job.completed_at = start + timedelta(seconds=22.5)
    assert job.duration == 22.5


@pytest.mark.parametrize("final", ["mark_as_completed", "mark_as_failed", "mark_as_cancelled"])
def test_final_statuses_refuse_moves(final: str) -> None:
    job = make()
    job.mark_as_started()
    getattr(job, final)()
    for move in ("mark_as_started", "mark_as_completed", "mark_as_failed", "mark_as_cancelled"):
        with pytest.raises(InvalidTransition):
            getattr(job, move)()
    with pytest.raises(InvalidTransition):
        job.update_progress(processed=1)
    assert SSEProgress.objects.get(pk=job.pk).status == job.status


def test_mark_as_failed_keeps_counts_and_formats_exceptions() -> None:
    job = make()
    job.mark_as_started()
    job.update_progress(processed=10)
    job.mark_as_failed(ValueError("bad line 12"))
    job.refresh_from_db()
    assert job.status == "failed"
    assert job.error == "ValueError: bad line 12"
    assert job.processed_items == 10
    assert job.progress_percentage == 10


@pytest.mark.parametrize(
    ("kwargs", "exc", "needle"),
    [
        ({"processed": -1}, ValueError, "processed"),
        ({"processed": 1.5}, TypeError, "processed"),
        ({"processed": "3"}, TypeError, "processed"),
        ({"processed": True}, TypeError, "processed"),
        ({"failed": -2}, ValueError, "failed"),
        ({"processed": 2**31}, ValueError, "processed"),
        ({"message": 12}, TypeError, "message"),
    ],
)
def test_update_progress_bad_input_writes_nothing(kwargs: dict, exc: type, needle: str) -> None:
    job = make()
    job.mark_as_started()
    before = SSEProgress.objects.filter(pk=job.pk).values().get()
    with pytest.raises(exc, match=needle):
        job.update_progress(**kwargs)
    assert SSEProgress.objects.filter(pk=job.pk).values().get() == before


def test_texts_are_truncated_and_nul_bytes_removed() -> None:
    job = make(task_type="t" * 500)
    assert len(job.task_type) == 100 and job.task_type.endswith("…")
    job.mark_as_started()
    job.update_progress(processed=1, message="a\x00b" + "x" * 5000)
    job.refresh_from_db()
    assert job.current_message.startswith("abx")
    assert len(job.current_message) == 1000
    assert job.current_message.endswith("…")


def test_save_validates_values() -> None:
    with pytest.raises(TypeError, match="metadata"):
        make(metadata={"when": timezone.now()})
    assert not SSEProgress.objects.exists()
    with pytest.raises(TypeError, match="total_items"):
        make(total_items="100")
    with pytest.raises(ValueError, match="total_items"):
        make(total_items=-5)


def test_set_total_validates() -> None:
    job = make()
    with pytest.raises(ValueError, match="total"):
        job.set_total(-5)
    job.set_total(7)
    assert SSEProgress.objects.get(pk=job.pk).total_items == 7


def test_user_deletion_deletes_jobs() -> None:
    user = get_user_model().objects.create_user("bob")
    make(user=user)
    user.delete()
    assert not SSEProgress.objects.exists()


def test_stale_rule() -> None:
    job = make(status=Status.IN_PROGRESS, has_heartbeat=True)
    assert not job.is_stale()
    old = timezone.now() - timedelta(seconds=600)
    SSEProgress.objects.filter(pk=job.pk).update(updated_at=old)
    job.refresh_from_db()
    assert job.is_stale()
    assert list(SSEProgress.objects.stale()) == [job]
    manual = make(job_id="manual", status=Status.IN_PROGRESS, has_heartbeat=False)
    SSEProgress.objects.filter(pk=manual.pk).update(updated_at=old)
    manual.refresh_from_db()
    assert not manual.is_stale()  # manual rows have no heartbeat to miss

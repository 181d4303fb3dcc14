"""``job_finished``: sent once per final status, with the row; the e-mail recipe works."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.core import mail
from django.db import OperationalError, transaction
from django.utils import timezone

from celery_progress_tracker import lifecycle
from celery_progress_tracker.models import SSEProgress
from celery_progress_tracker.signals import job_finished
from celery_progress_tracker.testing import assert_job
from tests import tasks
from tests.conftest import wait_for, wait_idle

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture
def announced() -> Iterator[list[tuple[str, str, int]]]:
    """What ``job_finished`` was sent with: (job id, status, processed items)."""
    seen: list[tuple[str, str, int]] = []

    def receiver(sender: Any, job: SSEProgress, **kwargs: Any) -> None:
        assert sender is SSEProgress
        seen.append((job.job_id, job.status, job.processed_items))

    job_finished.connect(receiver, dispatch_uid="tests.announced")
    yield seen
    job_finished.disconnect(dispatch_uid="tests.announced")


def recipe_namespace() -> dict[str, Any]:
    """The e-mail receiver of docs/recipes.md, run as written there."""
    text = (ROOT / "docs" / "recipes.md").read_text()
    code = re.search(r'```python title="myapp/notifications.py"\n(.*?)```', text, re.S)
    assert code is not None, "the recipe's notifications.py block is missing"
    namespace: dict[str, Any] = {}
    exec(compile(code.group(1), "docs/recipes.md", "exec"), namespace)
    return namespace


@pytest.mark.core
@pytest.mark.django_db(transaction=True)
def test_manual_api_announces_each_final_status_once(
    announced: list[tuple[str, str, int]],
) -> None:
    for job_id, end in (("m-done", "mark_as_completed"), ("m-fail", "mark_as_failed")):
        job = SSEProgress.objects.create(job_id=job_id, total_items=3)
        job.mark_as_started()
        job.update_progress(processed=2)
        assert announced == [] or announced[-1][0] != job_id  # not while it runs
        getattr(job, end)()
    job = SSEProgress.objects.create(job_id="m-cancel")
    job.mark_as_cancelled()
    assert announced == [
        ("m-done", "completed", 2),
        ("m-fail", "failed", 2),
        ("m-cancel", "cancelled", 0),
    ]


@pytest.mark.core
@pytest.mark.django_db(transaction=True)
def test_cancel_of_a_pending_job_and_the_reaper_announce(
    announced: list[tuple[str, str, int]],
) -> None:
    lifecycle.publish(
        "p-1", token="t", owner=None, task_type="x", total=0, metadata={}, due_at=None
    )
    assert lifecycle.request_stop("p-1", SSEProgress.EndReason.CANCELLED) == "cancelled"
    assert lifecycle.request_stop("p-1", SSEProgress.EndReason.CANCELLED) is None
    old = timezone.now() - timedelta(days=3)
    SSEProgress.objects.create(
        job_id="lost", status="in_progress", has_heartbeat=True, processed_items=4
    )
    SSEProgress.objects.filter(job_id="lost").update(updated_at=old)
    assert lifecycle.reap() == 1
    assert lifecycle.reap() == 0
    assert announced == [("p-1", "cancelled", 0), ("lost", "failed", 4)]


@pytest.mark.core
@pytest.mark.django_db(transaction=True)
def test_a_final_write_retried_after_a_lost_reply_announces_once(
    announced: list[tuple[str, str, int]], monkeypatch: pytest.MonkeyPatch
) -> None:
    lifecycle.publish(
        "r-1", token="t", owner=None, task_type="x", total=0, metadata={}, due_at=None
    )
    real_update = lifecycle._update.__wrapped__  # type: ignore[attr-defined]
    calls: list[int] = []

    def commit_then_lose_the_reply(rows: Any, fields: dict[str, Any]) -> int:
        changed = int(real_update(rows, fields))
        calls.append(changed)
        if len(calls) == 1:
            raise OperationalError("server closed the connection unexpectedly")
        return changed

    monkeypatch.setattr("celery_progress_tracker.writes.FINAL_WRITE_RETRY_DELAYS", (0.0, 0.0))
    monkeypatch.setattr(lifecycle, "_update", lifecycle.retry_transient(commit_then_lose_the_reply))
    lifecycle.succeeded("r-1", None, "t")
    assert calls == [1, 0]  # the retry found the row already final
    lifecycle.failed("r-1", RuntimeError("late"), None, "t")  # too late: not a final status
    assert announced == [("r-1", "completed", 0)]


@pytest.mark.core
@pytest.mark.django_db(transaction=True)
def test_a_raising_receiver_is_logged_and_the_job_still_ends(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def broken(sender: Any, **kwargs: Any) -> None:
        raise RuntimeError("mail server down")

    job_finished.connect(broken, dispatch_uid="tests.broken")
    try:
        job = SSEProgress.objects.create(job_id="b-1")
        job.mark_as_completed()
    finally:
        job_finished.disconnect(dispatch_uid="tests.broken")
    assert SSEProgress.objects.get(job_id="b-1").status == "completed"
    assert "job_finished receiver" in caplog.text and "mail server down" in caplog.text


@pytest.mark.core
def test_recipe_emails_the_owner_from_a_real_worker(worker: Any) -> None:
    # Django's test environment sends e-mail to the locmem backend (mail.outbox).
    recipe = recipe_namespace()
    owner = get_user_model().objects.create_user("ann", "ann@example.com", "x")
    job_finished.connect(recipe["email_owner"], dispatch_uid="tests.recipe")
    try:
        done = tasks.count.apply_async((3,), progress_owner=owner.pk)
        failed = tasks.fail_after.apply_async((2,), progress_owner=owner.pk)
        nobody = tasks.count.apply_async((1,), progress_owner=None)
        # The package's own pytest helper: waits for each row's final status.
        assert_job(done.id, status="completed", processed=3, total=3)
        assert_job(failed.id, status="failed", processed=2, total=4)
        assert_job(nobody.id, status="completed", processed=1)
        wait_for(lambda: len(mail.outbox) >= 2)
        wait_idle()
    finally:
        job_finished.disconnect(dispatch_uid="tests.recipe")
    by_subject = {message.subject: message for message in mail.outbox}
    assert sorted(by_subject) == ["Your job failed", "Your job is done"], by_subject
    assert by_subject["Your job is done"].to == ["ann@example.com"]
    assert f"tests.count {done.id}: completed" in by_subject["Your job is done"].body
    assert "3 processed, 0 failed of 3" in by_subject["Your job is done"].body
    # The user reads the failure as the API shows it, not the row's full error.
    failure = by_subject["Your job failed"].body
    assert f"The job failed (reference {failed.id[:8]})." in failure
    assert "RuntimeError" not in failure
    assert len(mail.outbox) == 2  # once each; the owner-less job sent nothing


@pytest.mark.core
@pytest.mark.django_db(transaction=True)
def test_an_eager_run_inside_a_transaction_announces_at_its_commit(
    announced: list[tuple[str, str, int]],
) -> None:
    with transaction.atomic():
        result = tasks.count.apply((2,))
        assert SSEProgress.objects.get(job_id=result.id).status == "completed"
        assert announced == []  # not before the caller's commit
    assert announced == [(result.id, "completed", 2)]
    with transaction.atomic():
        rolled_back = tasks.count.apply((1,))
        transaction.set_rollback(True)
    assert [job_id for job_id, *_ in announced] == [result.id]
    assert rolled_back.id != result.id


@pytest.mark.core
def test_canvas_steps_never_run_and_roll_ups_are_announced(
    worker: Any, announced: list[tuple[str, str, int]]
) -> None:
    from celery import chain, group

    from celery_progress_tracker.ownership import progress_owner
    from celery_progress_tracker.testing import ProgressClient

    alice = get_user_model().objects.create_user("alice")
    with progress_owner(alice):
        steps = chain(tasks.pipe.s(None, 1), tasks.fail_after.si(1), tasks.pipe.s(2))
        result = steps.apply_async()
    # The last step never runs: closed as failed (never started), announced all the same.
    assert_job(result.id, status="failed")
    chain_ids = [result.parent.parent.id, result.parent.id, result.id]
    wait_for(lambda: {job_id for job_id, *_ in announced} >= set(chain_ids))
    assert sorted((job_id, status) for job_id, status, _ in announced) == sorted(
        zip(chain_ids, ["completed", "failed", "failed"], strict=True)
    )
    announced.clear()
    with progress_owner(alice):
        parts = group(tasks.count.si(1), tasks.fail_after.si(1)).apply_async()
    for member in parts.results:
        assert_job(member.id, status="completed" if member.id == parts.results[0].id else "failed")
    # The group's own row closes when it is read (every member has ended).
    assert ProgressClient(alice).job(parts.id)["status"] == "failed"
    wait_for(lambda: len(announced) == 3)
    assert sorted(status for job_id, status, _ in announced if job_id == parts.id) == ["failed"]

"""Hostile input from task code: a clear error at the call, or the documented clean-up.

Whatever a task body or an enqueue passes, the row is never corrupted: its
counts stay those of the calls that were accepted and its status ends as the
task ended.
"""

from __future__ import annotations

import json
import uuid
from datetime import datetime
from typing import Any

import pytest
from django.test import Client

from celery_progress_tracker.models import SSEProgress
from celery_progress_tracker.validation import ELLIPSIS
from tests import tasks
from tests.api_support import detail_url
from tests.conftest import row, wait_status
from tests.faults import tasks as fault_tasks

pytestmark = pytest.mark.slow

#: For each bad call: the exception and the argument its message must name.
EXPECTED_ERRORS = {
    "progress(-1)": ("ValueError", "n must be >= 0"),
    "progress('3')": ("TypeError", "n must be an int"),
    "progress(True)": ("TypeError", "n must be an int"),
    "progress(2.5)": ("TypeError", "n must be an int"),
    "progress(2**31)": ("ValueError", "n must be <="),
    "progress(1, failed=-1)": ("ValueError", "failed must be >= 0"),
    "progress(1, message=123)": ("TypeError", "message must be a str"),
    "set_total(-5)": ("ValueError", "total must be >= 0"),
    "set_total('10')": ("TypeError", "total must be an int"),
    "set_progress(-1)": ("ValueError", "current must be >= 0"),
    "set_message(b'bytes')": ("TypeError", "message must be a str"),
    "set_metadata(when=datetime)": ("TypeError", "metadata must be JSON-serialisable"),
    "set_metadata(obj=object())": ("TypeError", "metadata must be JSON-serialisable"),
    "set_metadata(ratio=nan)": ("TypeError", "metadata must be JSON-serialisable"),
    "set_metadata(nul)": ("ValueError", "metadata must not contain NUL"),
    "set_metadata([1, 2])": ("TypeError", "metadata"),
}


def cut(text: str, length: int) -> str:
    """The documented rule: NULs removed, cut to ``length`` with an ellipsis."""
    text = text.replace("\x00", "")
    return text if len(text) <= length else text[: length - 1] + ELLIPSIS


@pytest.fixture(autouse=True)
def _ownerless_jobs_readable(settings: Any) -> None:
    # The jobs here have no owner: let the API show them to an anonymous client.
    settings.PROGRESS_TRACKER_ANONYMOUS_OWNERLESS = True


def assert_consistent(job: SSEProgress) -> None:
    """The invariants no input may break, and the API still answers for the row."""
    assert 0 <= job.processed_items <= 2**31 - 1
    assert 0 <= job.failed_items <= 2**31 - 1
    assert 0 <= job.progress_percentage <= 100
    assert len(job.current_message) <= 1000 and "\x00" not in job.current_message
    assert len(job.error) <= 1000 and "\x00" not in job.error
    assert len(job.task_type) <= 100
    assert job.started_at is not None and job.completed_at is not None
    assert job.completed_at >= job.started_at
    response = Client().get(detail_url(job.job_id))
    assert response.status_code == 200, response.content[:300]
    data = json.loads(response.content)
    assert (data["status"], data["processed_items"], data["current_message"]) == (
        job.status,
        job.processed_items,
        job.current_message,
    )


def run_bad_calls(queue: str | None, names: list[str]) -> tuple[dict[str, str], SSEProgress]:
    result = fault_tasks.hostile_calls.apply_async((names,), queue=queue)
    raised = result.get(timeout=60)
    return raised, wait_status(result.id, "completed", timeout=30)


def wrong_errors(raised: dict[str, str]) -> dict[str, str]:
    return {
        name: text
        for name, text in raised.items()
        if not (
            text.startswith(EXPECTED_ERRORS[name][0] + ":") and EXPECTED_ERRORS[name][1] in text
        )
    }


def test_bad_calls_in_a_task_body_raise_naming_the_argument(worker_process: Any) -> None:
    assert set(EXPECTED_ERRORS) == set(fault_tasks.BAD_BODY_CALLS)
    names = list(fault_tasks.BAD_BODY_CALLS)
    proc = worker_process(concurrency=1)
    raised, job = run_bad_calls(proc.queue, names)
    assert not wrong_errors(raised), f"calls without the expected error: {wrong_errors(raised)}"

    calls = len(names)
    # One item counted after each refused call, nothing from the refused ones.
    assert (job.processed_items, job.failed_items, job.total_items) == (calls, 0, calls)
    assert job.progress_percentage == 100
    assert job.metadata == {"calls": calls}
    assert job.current_message == cut(fault_tasks.HUGE_MESSAGE, 1000)
    assert job.current_message.endswith(ELLIPSIS) and job.current_message.startswith("final x")
    assert_consistent(job)


def test_an_uncaught_bad_call_fails_the_job_with_its_error(worker: Any) -> None:
    result = fault_tasks.raise_from_bad_call.delay(3)
    job = wait_status(result.id, "failed", timeout=30)
    assert job.error == "ValueError: n must be >= 0, got -1"
    assert (job.processed_items, job.failed_items, job.total_items) == (3, 0, 6)
    assert job.progress_percentage == 50
    assert_consistent(job)


def test_a_huge_error_text_is_cut_to_the_column(worker: Any) -> None:
    result = fault_tasks.huge_error.delay(2)
    job = wait_status(result.id, "failed", timeout=30)
    assert job.error == cut("RuntimeError: bad\x00 " + "e" * 1_000_000, 1000)
    assert job.processed_items == 2
    assert_consistent(job)


def test_a_result_json_cannot_encode_fails_the_job_cleanly(worker: Any) -> None:
    result = fault_tasks.unserialisable_result.delay(4)
    job = wait_status(result.id, "failed", timeout=30)
    # Celery cannot store the result, so the job did not succeed; the row says why.
    assert job.error.startswith("EncodeError:"), job.error
    assert "Unserialisable" in job.error
    assert (job.processed_items, job.total_items) == (4, 4)
    assert_consistent(job)


def test_bad_values_to_the_manual_api_raise_and_texts_are_cut(worker: Any) -> None:
    job_id = str(uuid.uuid4())
    raised = tasks.app.tasks["tests.faults.hostile_manual"].delay(job_id).get(timeout=60)
    assert raised == {
        "update_progress(processed=-1)": "ValueError: processed must be >= 0, got -1",
        "update_progress(processed='3')": "TypeError: processed must be an int, not str: '3'",
        "update_progress(failed=1.5)": "TypeError: failed must be an int, not float: 1.5",
        "update_progress(message=123)": "TypeError: message must be a str, not int: 123",
        "set_total(-5)": "ValueError: total must be >= 0, got -5",
    }
    job = wait_status(job_id, "completed")
    assert (job.processed_items, job.failed_items, job.total_items) == (3, 0, 3)
    assert job.task_type == "t" * 99 + ELLIPSIS
    assert job.current_message == "m" * 999 + ELLIPSIS
    assert_consistent(job)


def test_bad_enqueue_options_raise_before_anything_is_published(worker: Any) -> None:
    before = SSEProgress.objects.count()
    bad: list[tuple[dict[str, Any], type[Exception], str]] = [
        ({"progress_total": -1}, ValueError, "progress_total must be >= 0"),
        ({"progress_total": "5"}, TypeError, "progress_total must be an int"),
        ({"progress_task_type": 42}, TypeError, "progress_task_type must be a str"),
        ({"progress_metadata": {"when": datetime.now()}}, TypeError, "metadata"),
        ({"progress_metadata": ["not", "a", "dict"]}, TypeError, "metadata must be a dict"),
    ]
    for options, error, text in bad:
        with pytest.raises(error, match=text):
            tasks.count.apply_async((1,), **options)
    assert SSEProgress.objects.count() == before


def test_an_owner_that_is_not_a_user_or_a_key_raises_at_enqueue(worker: Any) -> None:
    with pytest.raises(TypeError, match="progress_owner"):
        result = tasks.count.apply_async((1,), progress_owner=object())
        result.get(timeout=30)


def test_a_10_kb_task_type_at_enqueue_is_cut_to_the_column(worker: Any) -> None:
    result = tasks.count.apply_async((2,), progress_task_type="t\x00" * 5_120 + "t" * 5_120)
    assert row(result.id).task_type == "t" * 99 + ELLIPSIS  # created at publish
    job = wait_status(result.id, "completed", timeout=30)
    assert job.task_type == "t" * 99 + ELLIPSIS
    assert (job.processed_items, job.total_items) == (2, 2)
    assert_consistent(job)

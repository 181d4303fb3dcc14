"""Text no database can store (lone surrogates) is cleaned; the row always ends."""

from __future__ import annotations

import logging
from typing import Any

import pytest

from tests.cookiecutter.jobs.tasks import import_file
from tests.harness import wait_status

pytestmark = pytest.mark.core

CLEANED = "r\ufffdsum\ufffd.csv"


@pytest.mark.parametrize("fail", [False, True])
def test_a_latin1_file_name_everywhere(
    worker: Any, fail: bool, caplog: pytest.LogCaptureFixture
) -> None:
    with caplog.at_level(logging.WARNING, "celery_progress_tracker"):
        result = import_file.delay(fail)
        job = wait_status(result.id, "failed" if fail else "completed")
    assert job.task_type == f"import {CLEANED}"
    assert job.current_message == f"Imported {CLEANED}"
    assert job.metadata == {CLEANED: CLEANED, "files": [CLEANED]}
    assert job.processed_items == 1
    if fail:
        assert (job.error, job.end_reason) == (f"ValueError: Cannot parse {CLEANED}", "error")
    assert "retrying" not in caplog.text  # no write was refused, none retried

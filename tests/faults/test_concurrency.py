"""Concurrent manual increments on one row, on the database of the run (SQLite by default)."""

from __future__ import annotations

from typing import Any

import pytest

from tests.faults.concurrency import increment_concurrently

pytestmark = pytest.mark.slow


def test_4_processes_x_500_increments_on_one_row_are_exact(worker_process: Any) -> None:
    figures = increment_concurrently(worker_process, processes=4, each=500)
    job = figures["job"]
    assert (job.processed_items, job.failed_items) == (2_000, 0)
    assert len(figures["pids"]) >= 2, "the tasks did not run in several processes"
    print(f"4 x 500 increments: {figures}")

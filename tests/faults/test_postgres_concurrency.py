"""8 processes x 10,000 manual increments on one PostgreSQL row: exactly 80,000."""

from __future__ import annotations

from typing import Any

import pytest
from django.db import connection

from tests.faults.concurrency import increment_concurrently

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_8_processes_x_10000_increments_on_one_row_are_exact(worker_process: Any) -> None:
    assert connection.vendor == "postgresql", (
        "this test needs PostgreSQL: run it with DATABASE_URL=postgres://..."
    )
    with connection.cursor() as cursor:
        # The test measures lost updates under row-lock contention, not the disk:
        # commits that do not wait for the WAL flush keep the run within minutes.
        # Only new connections (the worker's) take it; the test database is dropped.
        cursor.execute(
            f"ALTER DATABASE {connection.ops.quote_name(connection.settings_dict['NAME'])}"
            " SET synchronous_commit TO off"
        )
    figures = increment_concurrently(worker_process, processes=8, each=10_000)
    job = figures["job"]
    assert (job.processed_items, job.failed_items) == (80_000, 0)
    assert len(figures["pids"]) >= 2, "the tasks did not run in several processes"
    print(f"8 x 10,000 increments: {figures}")

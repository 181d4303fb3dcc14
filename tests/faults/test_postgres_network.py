"""Network faults between a worker and its services, staged with a TCP proxy.

The worker process reaches the broker or PostgreSQL through a
:class:`~tests.tcp_proxy.TcpProxy`; the test cuts the link for 5 seconds in
the middle of a task (open connections reset, new ones refused), then restores
it. The shared services themselves are never stopped.
"""

from __future__ import annotations

import os
import time
from typing import Any
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings

from celery_progress_tracker.models import SSEProgress
from tests import tasks
from tests.conftest import row, wait_for, wait_status
from tests.faults import tasks as fault_tasks
from tests.faults.conftest import require_networked_services
from tests.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

#: How long each link stays cut.
CUT_SECONDS = 5.0
ITEMS = 100
DELAY = 0.1


def through(url: str, proxy: TcpProxy) -> str:
    """``url`` with its host and port replaced by the proxy's."""
    parts = urlsplit(url)
    credentials = parts.netloc.rpartition("@")[0]
    netloc = f"{credentials}@127.0.0.1:{proxy.port}" if credentials else f"127.0.0.1:{proxy.port}"
    return urlunsplit(parts._replace(netloc=netloc))


def target(url: str, default_port: int) -> tuple[str, int]:
    parts = urlsplit(url)
    return parts.hostname or "127.0.0.1", parts.port or default_port


def run_with_cut(worker_process: Any, proxy: TcpProxy, env: dict[str, str]) -> dict[str, Any]:
    """Run ``steady`` on a worker behind ``proxy``; cut the link mid-task; return figures."""
    proc = worker_process(concurrency=1, env=env)
    result = fault_tasks.steady.apply_async((ITEMS, DELAY), queue=proc.queue)
    wait_for(lambda: (job := row(result.id)) and job.processed_items >= 10, 60)
    assert proxy.open_connections, "the worker does not go through the proxy"

    proxy.cut()
    at_cut = row(result.id).processed_items
    time.sleep(CUT_SECONDS)  # the fault itself: the link stays down this long
    at_restore = row(result.id).processed_items
    proxy.restore()
    restored = time.monotonic()
    wait_for(lambda: (job := row(result.id)) and job.processed_items > at_restore, 120)
    caught_up = time.monotonic() - restored

    job = wait_status(result.id, "completed", "failed", "cancelled", timeout=120)
    # The worker still takes new work after the fault.
    assert tasks.plain.apply_async((21,), queue=proc.queue).get(timeout=60) == 42
    return {
        "job": job,
        "result": result,
        "at_cut": at_cut,
        "at_restore": at_restore,
        "caught_up_after": round(caught_up, 2),
        "refused": proxy.refused,
        "log": proc.output(),
    }


def assert_exact(figures: dict[str, Any]) -> None:
    job = figures["job"]
    assert job.status == "completed", (job.status, job.error, figures["log"])
    assert (job.processed_items, job.failed_items, job.total_items) == (ITEMS, 0, ITEMS)
    assert job.current_message == f"item {ITEMS}"
    assert figures["result"].get(timeout=30) == ITEMS
    assert not SSEProgress.objects.active().exists()


def test_broker_link_cut_for_5_s_mid_task(worker_process: Any) -> None:
    require_networked_services()
    url = str(settings.CELERY_BROKER_URL)
    default_port = 6379 if url.startswith("redis") else 5672
    with TcpProxy(*target(url, default_port)) as proxy:
        figures = run_with_cut(worker_process, proxy, {"CELERY_BROKER_URL": through(url, proxy)})
    assert_exact(figures)
    print(f"broker cut: {figures | {'log': ''}}")


def test_database_link_cut_for_5_s_mid_task(worker_process: Any) -> None:
    require_networked_services()
    url = os.environ["DATABASE_URL"]
    with TcpProxy(*target(url, 5432)) as proxy:
        figures = run_with_cut(worker_process, proxy, {"DATABASE_URL": through(url, proxy)})
    # The flusher met the fault, logged it and kept going.
    assert "will retry" in figures["log"], figures["log"]
    # Nothing was written while the link was down.
    assert figures["at_restore"] == figures["at_cut"]
    assert_exact(figures)
    print(f"database cut: {figures | {'log': ''}}")


def test_database_link_down_when_the_task_ends(worker_process: Any) -> None:
    # The task finishes while PostgreSQL is unreachable: its final write (the
    # success signal) must not be lost, or the row would wait for the reaper
    # and end "failed" although the task succeeded.
    require_networked_services()
    url = os.environ["DATABASE_URL"]
    with TcpProxy(*target(url, 5432)) as proxy:
        proc = worker_process(concurrency=1, env={"DATABASE_URL": through(url, proxy)})
        result = fault_tasks.steady.apply_async((30, DELAY), queue=proc.queue)
        wait_for(lambda: (job := row(result.id)) and job.processed_items >= 20, 60)
        proxy.cut()
        assert result.get(timeout=60) == 30  # the result backend is not behind the proxy
        time.sleep(CUT_SECONDS)  # the fault itself: the link stays down this long
        proxy.restore()
        # The link is back: a final write that is retried lands within seconds.
        try:
            job = wait_status(result.id, "completed", "failed", "cancelled", timeout=20)
        except AssertionError:
            job = row(result.id)
            raise AssertionError(
                f"row {job.status} {job.processed_items}\n{proc.output()}"
            ) from None
        assert job.status == "completed", (job.status, job.error, proc.output())
        assert (job.processed_items, job.total_items) == (30, 30)

"""The server-less broker and result backend used by the demo and the tests."""

from __future__ import annotations

import threading
from pathlib import Path

import pytest
from celery import Celery
from kombu import Connection

from celery_progress_tracker.embedded import TRANSPORT, embedded_celery_settings

pytestmark = pytest.mark.core


def test_messages_round_trip_under_a_concurrent_consumer(tmp_path: Path) -> None:
    settings = embedded_celery_settings(tmp_path)
    options = settings["CELERY_BROKER_TRANSPORT_OPTIONS"]
    received: list[int] = []
    count = 300

    def consume() -> None:
        with Connection("filesystem://", transport=TRANSPORT, transport_options=options) as conn:
            queue = conn.SimpleQueue("q")
            while len(received) < count:
                message = queue.get(timeout=20)
                received.append(message.payload["n"])
                message.ack()

    with Connection("filesystem://", transport=TRANSPORT, transport_options=options) as conn:
        # Declared first: kombu's filesystem transport drops messages routed
        # while the exchange table is being written by a first declare.
        queue = conn.SimpleQueue("q")
        consumer = threading.Thread(target=consume)
        consumer.start()
        for n in range(count):
            queue.put({"n": n, "pad": "x" * 20_000})
    consumer.join(60)
    assert sorted(received) == list(range(count))
    assert not list(Path(options["data_folder_in"]).glob("*.msg"))


def test_results_round_trip_through_the_file_backend(tmp_path: Path) -> None:
    settings = embedded_celery_settings(tmp_path, prefix="")
    app = Celery("embedded-test")
    app.conf.update({key.lower(): value for key, value in settings.items()})
    backend = app.backend
    backend.store_result("some-id", {"answer": 42}, "SUCCESS")
    assert backend.get_task_meta("some-id")["result"] == {"answer": 42}
    leftovers = [p.name for p in (tmp_path / "results").iterdir() if p.name.endswith(".tmp")]
    assert leftovers == []

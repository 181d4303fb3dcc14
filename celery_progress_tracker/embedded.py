"""A broker and a result backend that need no server: for demos and tests.

Kombu's ``filesystem://`` transport and Celery's ``file://`` backend work
across processes, but both write a file in place, so a reader polling the
folder can pick up a file that is still empty. The two classes here write to a
temporary name and rename it into place, which is atomic on POSIX. Neither
survives a crash or redelivers a message: use Redis or RabbitMQ in production.

Use :func:`embedded_celery_settings` to get every setting at once::

    globals().update(embedded_celery_settings(BASE_DIR / ".celery"))
"""

from __future__ import annotations

import os
import uuid
from pathlib import Path
from time import monotonic
from typing import Any

from celery.backends.filesystem import FilesystemBackend as _FilesystemBackend
from kombu.transport import filesystem
from kombu.utils.json import dumps

TRANSPORT = "celery_progress_tracker.embedded:FilesystemTransport"
BACKEND = "celery_progress_tracker.embedded:FilesystemBackend"


def _write_atomically(path: str | bytes, data: bytes) -> None:
    path = os.fsdecode(path)
    tmp = f"{path}.{uuid.uuid4().hex}.tmp"
    with open(tmp, "wb") as file:
        file.write(data)
    os.replace(tmp, path)


class FilesystemChannel(filesystem.Channel):
    def _put(self, queue: str, payload: Any, **kwargs: Any) -> None:  # type: ignore[override]
        name = f"{round(monotonic() * 1000)}_{uuid.uuid4()}.{queue}.msg"
        # Written in a subfolder first, under a name no consumer looks for,
        # then moved into the queue folder in one step.
        staging = os.path.join(self.data_folder_out, ".staging")
        os.makedirs(staging, exist_ok=True)
        tmp = os.path.join(staging, f"{uuid.uuid4().hex}.part")
        with open(tmp, "wb") as file:
            file.write(dumps(payload).encode())
        os.replace(tmp, os.path.join(self.data_folder_out, name))


class FilesystemTransport(filesystem.Transport):
    """``filesystem://`` whose messages appear in the folder only once complete."""

    Channel = FilesystemChannel


class FilesystemBackend(_FilesystemBackend):
    """``file://`` results written atomically."""

    def set(self, key: Any, value: Any) -> None:
        data = value if isinstance(value, bytes) else str(value).encode()
        _write_atomically(self._filename(key), data)  # type: ignore[attr-defined]


def embedded_celery_settings(
    folder: str | os.PathLike[str], prefix: str = "CELERY_"
) -> dict[str, Any]:
    """Celery settings for a server-less broker and result backend kept in ``folder``.

    The folders are created. Web and worker processes must use the same folder.
    """
    root = Path(folder).resolve()
    paths = {name: root / name for name in ("queue", "processed", "control", "results")}
    for path in paths.values():
        path.mkdir(parents=True, exist_ok=True)
    return {
        f"{prefix}BROKER_URL": "filesystem://",
        f"{prefix}BROKER_TRANSPORT": TRANSPORT,
        f"{prefix}BROKER_TRANSPORT_OPTIONS": {
            "data_folder_in": str(paths["queue"]),
            "data_folder_out": str(paths["queue"]),
            "processed_folder": str(paths["processed"]),
            "store_processed": False,
            "control_folder": str(paths["control"]),
            "polling_interval": 0.05,
        },
        f"{prefix}RESULT_BACKEND": f"{BACKEND}+file://{paths['results']}",
    }

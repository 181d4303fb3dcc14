"""Fault injection for worker processes started by a test (``CPT_FAULTS=name,...``).

``yield_before_revoked``: on a terminate, the worker yields to other greenlets
before it announces the revoke, as it does when publishing the ``task-revoked``
event waits on its socket under gevent. The killed task's greenlet then ends first.
"""

from __future__ import annotations

import os
from typing import Any


def install() -> None:
    faults = set(filter(None, os.environ.get("CPT_FAULTS", "").split(",")))
    if "yield_before_revoked" in faults:
        _yield_before_revoked()


def _yield_before_revoked() -> None:
    import gevent
    from celery.worker.request import Request

    announce = Request._announce_revoked

    def announce_later(self: Any, *args: Any, **kwargs: Any) -> Any:
        gevent.sleep(0.5)
        return announce(self, *args, **kwargs)

    Request._announce_revoked = announce_later  # type: ignore[method-assign]

"""Fixtures of the fault suite."""

from __future__ import annotations

# Every task (and ``celery.ping``, which the worker fixtures wait for) is
# registered before a worker starts.
import tests.tasks  # noqa: F401

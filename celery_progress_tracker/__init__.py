"""Live progress bars for long Celery jobs in Django."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

__version__ = "0.1.0.dev0"

__all__ = ["JobError", "ProgressTask", "TaskCancelled", "__version__", "progress_options"]

if TYPE_CHECKING:
    from celery_progress_tracker.exceptions import JobError, TaskCancelled
    from celery_progress_tracker.task import ProgressTask, progress_options


def __getattr__(name: str) -> Any:
    # Lazy, so that importing the package (e.g. from settings.py) does not need
    # Django to be configured yet.
    if name in ("ProgressTask", "progress_options"):
        from celery_progress_tracker import task

        return getattr(task, name)
    if name in ("JobError", "TaskCancelled"):
        from celery_progress_tracker import exceptions

        return getattr(exceptions, name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")

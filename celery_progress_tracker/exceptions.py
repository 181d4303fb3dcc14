"""Exceptions raised by the package."""

from __future__ import annotations


class TaskCancelled(Exception):
    """Raised inside a running ``ProgressTask`` whose job a user cancelled.

    ``self.progress()`` raises it once the cancel flag set by
    :meth:`SSEProgress.request_cancel` reaches the worker. Let it propagate: the
    job's row then ends ``cancelled``. Catch it only to clean up, then re-raise.
    """


class InvalidTransition(ValueError):
    """A status change that the job's current status does not allow.

    ``completed``, ``failed`` and ``cancelled`` are final: the manual API raises
    this on any move out of them.
    """


class JobIdInUse(ValueError):
    """A task id given at enqueue names a job of another owner.

    A job id is the row's key: a user's progress is never written into another
    user's row, so such an enqueue is refused before anything is published.
    """

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


class JobError(Exception):
    """A failure whose message is written for the job's user.

    Raise it in a task body (or pass it to ``mark_as_failed()``) when the
    message says what went wrong in the user's terms::

        raise JobError(f"Line {line} matches no open invoice")

    The API shows its message as the job's ``error`` (and in a retry's
    message). Any other exception is shown as a generic sentence with a short
    reference, because its text may hold internals (SQL, paths, host names);
    its full text stays on the row for staff, the admin and the logs.
    Subclass it for your own public errors; chain the cause with ``raise
    JobError(...) from exc`` to keep it in the staff text.
    """

    @property
    def message(self) -> str:
        """The text shown to the job's user."""
        return str(self)

"""What a failure says, to staff and to the job's user.

The row's ``error`` keeps the full text of a failure (``"ValueError: ..."``)
for staff, the admin and the logs. What the job's user reads through the API
is the message of a :class:`~celery_progress_tracker.exceptions.JobError`
(stored in ``public_error``), else a generic translated sentence with a short
reference that staff can find the row and the log lines by.
``PROGRESS_TRACKER_VERBATIM_ERRORS`` shows the full text instead.
"""

from __future__ import annotations

import hashlib
import re

from django.utils.translation import gettext

from celery_progress_tracker.conf import settings
from celery_progress_tracker.exceptions import JobError
from celery_progress_tracker.models import EndReason, Status
from celery_progress_tracker.validation import clean_error

_HEX_PREFIX = re.compile(r"[0-9a-fA-F]{8}")


def format_exception(exc: BaseException) -> str:
    """``"ClassName: message"`` (and its explicit cause), cut to the ``error`` column."""
    text = _one(exc)
    cause = exc.__cause__
    if cause is not None:
        text = f"{text} (caused by {_one(cause)})"
    return clean_error(text)


def _one(exc: BaseException) -> str:
    text = str(exc)
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def public_message(exc: BaseException | None) -> str:
    """The text a job's user may read of ``exc``: a ``JobError``'s message, else ``""``."""
    return clean_error(exc.message) if isinstance(exc, JobError) else ""


def retry_reason(exc: BaseException | None) -> str:
    """What a retry message says of the exception it retries for (``""``: nothing)."""
    if exc is None:
        return ""
    if settings.VERBATIM_ERRORS:
        return format_exception(exc)
    return public_message(exc)


def reference(job_id: str) -> str:
    """A short reference to a job's failure, for a user to quote to staff.

    The first eight hex digits of the job id when it starts with them (Celery's
    ids do: the admin's search finds the job by them), else a digest of the id.
    """
    if _HEX_PREFIX.match(job_id):
        return job_id[:8].lower()
    return hashlib.blake2b(job_id.encode(), digest_size=4).hexdigest()


def shown_error(job_id: str, status: str, end_reason: str, error: str, public_error: str) -> str:
    """The ``error`` the API reports for a job (see the module's docstring)."""
    if settings.VERBATIM_ERRORS:
        return error
    if status != Status.FAILED:
        return ""
    if public_error:
        return public_error
    ref = reference(job_id)
    if end_reason == EndReason.TIME_LIMIT:
        return gettext("The job took too long and was stopped (reference %(reference)s).") % {
            "reference": ref
        }
    if end_reason == EndReason.WORKER_LOST:
        return gettext("The job stopped unexpectedly (reference %(reference)s).") % {
            "reference": ref
        }
    if end_reason == EndReason.NEVER_STARTED:
        return gettext("The job never started (reference %(reference)s).") % {"reference": ref}
    return gettext("The job failed (reference %(reference)s).") % {"reference": ref}

"""The package's own Django signals.

``job_finished`` is sent once a job's final status is written and committed,
so a site can tell the job's owner (an e-mail, a message, a push): see
``docs/recipes.md``. :mod:`~celery_progress_tracker.lifecycle` sends it.
"""

from __future__ import annotations

from django.dispatch import Signal

#: Sent when a job reaches ``completed``, ``failed`` or ``cancelled``, after the
#: write is committed: ``sender`` is the ``SSEProgress`` class and ``job`` the row
#: as it was written. Sent where the write happened (the worker for a task's
#: end, the web process for a cancel, the reaper's process for a lost worker).
#: Receivers that raise are logged, never raised into the job.
job_finished = Signal()

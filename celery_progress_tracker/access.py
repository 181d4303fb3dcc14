"""Who may read a job, and who may act on it (delete, cancel).

By default a job belongs to its owner alone. Three settings widen this:
``ANONYMOUS_OWNERLESS`` (everyone, anonymous requests included, reads jobs
that have no owner),
``STAFF_SEES_ALL`` (staff read every job, but act only on their own) and
``PERMISSION`` (a callable ``(request, job) -> bool`` that replaces the owner
rule for reads and actions alike).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest

from celery_progress_tracker.conf import settings
from celery_progress_tracker.models import SSEProgress


def anonymous_may_read() -> bool:
    """Whether an anonymous request can read any job at all (else it gets a 401)."""
    return settings.ANONYMOUS_OWNERLESS or settings.PERMISSION is not None


def anonymous_may_act() -> bool:
    """Whether an anonymous request can delete or cancel any job (else it gets a 401)."""
    return settings.PERMISSION is not None


def is_owner(user: Any, job: SSEProgress) -> bool:
    return bool(user.is_authenticated) and job.user_id is not None and job.user_id == user.pk


def can_read(request: HttpRequest, user: Any, job: SSEProgress) -> bool:
    """Whether ``user`` (the request's user) may see ``job``."""
    permission = settings.PERMISSION
    if permission is not None:
        return bool(permission(request, job))
    if is_owner(user, job):
        return True
    if job.user_id is None and settings.ANONYMOUS_OWNERLESS:
        return True  # whoever may read them anonymously may read them logged in too
    return bool(user.is_authenticated and user.is_staff and settings.STAFF_SEES_ALL)


def can_act(request: HttpRequest, user: Any, job: SSEProgress) -> bool:
    """Whether ``user`` may delete or cancel ``job`` (staff do not act on others' jobs)."""
    permission = settings.PERMISSION
    if permission is not None:
        return bool(permission(request, job))
    return is_owner(user, job)

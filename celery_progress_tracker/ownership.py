"""Who launched a job, and the options a job carries from enqueue to worker.

The owner is resolved in the publishing process, in this order: an explicit
``progress_owner=`` given at enqueue; the user of the request being handled
(set by :class:`~celery_progress_tracker.middleware.ProgressOwnerMiddleware`
or the :func:`progress_owner` context manager); the owner of the
``ProgressTask`` that publishes it. It travels to the worker in one namespaced
message header, with the task type, total and metadata.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any
from uuid import UUID

#: The message header that carries a job's options (namespaced: every header
#: also becomes an attribute of the worker's ``task.request``).
HEADER = "progress_tracker"

#: Marks "no owner given" apart from an explicit ``None`` (no owner).
UNSET: Any = object()

_request: ContextVar[Any] = ContextVar("progress_tracker_request", default=None)
_owner: ContextVar[Any] = ContextVar("progress_tracker_owner", default=UNSET)


def owner_pk(owner: Any) -> Any:
    """A JSON-friendly primary key for a user object, a primary key, or ``None``."""
    if owner is None:
        return None
    pk = getattr(owner, "pk", owner)
    if pk is None:
        raise ValueError("progress_owner: the user has no primary key (unsaved?)")
    if isinstance(pk, UUID):
        return str(pk)
    if isinstance(pk, bool) or not isinstance(pk, (int, str)):
        raise TypeError(
            "progress_owner must be a user, a user's primary key or None,"
            f" not {type(owner).__name__}"
        )
    return pk


def set_current_request(request: Any) -> Any:
    """Make ``request`` the one whose user owns the tasks published now."""
    return _request.set(request)


def reset_current_request(token: Any) -> None:
    _request.reset(token)


@contextmanager
def progress_owner(user: Any) -> Iterator[None]:
    """Make ``user`` (an object, a primary key or ``None``) own the jobs published inside.

    For code outside a request: management commands, scripts, other tasks.
    """
    token = _owner.set(owner_pk(user))
    try:
        yield
    finally:
        _owner.reset(token)


def current_owner() -> Any:
    """The owner for a job published now without an explicit one (``UNSET`` if none)."""
    owner = _owner.get()
    if owner is not UNSET:
        return owner
    request = _request.get()
    if request is not None:
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            return owner_pk(user)
        return None
    from celery_progress_tracker.tracker import current_state

    state = current_state()
    if state is not None:
        return state.owner
    return UNSET

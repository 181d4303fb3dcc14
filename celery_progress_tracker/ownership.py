"""Who launched a job, and the options a job carries from enqueue to worker.

The owner is resolved in the publishing process, in this order: an explicit
``progress_owner=`` given at enqueue; the :func:`progress_owner` context
manager; the user of the request being handled (set by
:class:`~celery_progress_tracker.middleware.ProgressOwnerMiddleware`); the
owner of the task running in this thread, a ``ProgressTask`` or any other.
It travels to the worker in one namespaced message header (with the task
type, total and metadata of a ``ProgressTask``), on every task's message: a
plain task started for a user hands that user on to the jobs it starts.
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
    return running_task_owner()


def running_task_owner() -> Any:
    """The owner of the task this thread runs (``UNSET`` if it runs none or has none).

    A ``ProgressTask``'s execution knows its owner; any other task reads it
    from its message's header. Celery's own stack of running tasks says which
    task runs, so nothing is left behind when a task ends, however it ends.
    """
    from celery._state import _task_stack  # type: ignore[attr-defined]  # (not in the stubs)

    from celery_progress_tracker.tracker import current_state

    state = current_state()
    if state is not None:
        return state.owner
    # Innermost first; a task run eagerly inside another has no header of its
    # own and runs for the outer one's owner.
    for task in reversed(_task_stack.stack):
        if task.request.called_directly:
            continue
        options = job_options(task.request)
        if "owner" in options:
            return options["owner"]
    return UNSET


def job_options(request: Any) -> dict[str, Any]:
    """The job's options from a worker request's header (``{}`` when it has none)."""
    options = getattr(request, HEADER, None)
    if not isinstance(options, dict):
        headers = getattr(request, "headers", None) or {}
        options = headers.get(HEADER) if isinstance(headers, dict) else None
    return options if isinstance(options, dict) else {}

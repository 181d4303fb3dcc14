"""Who may read a job, who may act on it, and the session shortcut: every access rule.

By default a job belongs to its owner alone. Settings widen this:
``ANONYMOUS_OWNERLESS`` (everyone, anonymous requests included, reads jobs
that have no owner), ``STAFF_SEES_ALL`` (staff read every job by id, but act
only on their own), ``STAFF_SEES_SYSTEM_JOBS`` (staff read and list the jobs
that have no owner) and ``PERMISSION`` (a callable ``(request, job) -> bool``
that replaces the owner rule for reads and actions alike).

The views ask one question per request: :func:`readable_job` ("which job may
this request read?"), :func:`job_to_act_on` or :func:`readable_jobs`. Each
answers a job (or jobs) or the JSON refusal.

The session shortcut: Django's session login costs two queries (the session,
then the user), and the job is a third. When the login is a ``ModelBackend``
login (or one of a subclass that finds users as it does, such as
django-allauth's) in a database session, the owner check needs only the
owner's ``password`` (for the session's auth hash) and ``is_active``, so they
are read with the job (see :mod:`~celery_progress_tracker.statements`) and
checked here exactly as ``django.contrib.auth.get_user`` checks them. The
shortcut can only say "yes, the session's user owns this": anything else
(another owner, a hash signed with a fallback secret, another backend or
session engine) goes through ``request.user`` as usual.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from django.conf import settings as django_settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
)
from django.contrib.auth.backends import ModelBackend
from django.contrib.auth.base_user import AbstractBaseUser
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.contrib.sessions.models import Session
from django.core.exceptions import EmptyResultSet, ValidationError
from django.db import router
from django.db.models import Model, Q, QuerySet
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject, empty
from django.utils.module_loading import import_string

from celery_progress_tracker import authentication, sessioncache, statements
from celery_progress_tracker.conf import settings
from celery_progress_tracker.models import (
    SSEProgress,
    SSEProgressQuerySet,
    Status,
    stale_condition,
)
from celery_progress_tracker.params import ListParams, is_valid_job_id
from celery_progress_tracker.responses import json_error, not_found
from celery_progress_tracker.statements import JobRow, OwnerColumns

# -- the rules ----------------------------------------------------------------


def request_user(request: HttpRequest) -> Any:
    """The request's user by ``AUTHENTICATION`` (default: ``request.user``), or anonymous."""
    return authentication.authenticate(request).user


def anonymous_may_read() -> bool:
    """Whether an anonymous request can read any job at all (else it gets a 401)."""
    return settings.ANONYMOUS_OWNERLESS or settings.PERMISSION is not None


def anonymous_may_act() -> bool:
    """Whether an anonymous request can delete or cancel any job (else it gets a 401)."""
    return settings.PERMISSION is not None


def is_staff(user: Any) -> bool:
    """Whether ``user`` is logged-in staff (a user model without ``is_staff`` has none)."""
    return bool(user.is_authenticated and getattr(user, "is_staff", False))


def is_owner(user: Any, job: SSEProgress) -> bool:
    return bool(user.is_authenticated) and job.user_id is not None and job.user_id == user.pk


def sees_system_jobs(user: Any) -> bool:
    """Whether ``user`` reads and lists the jobs that have no owner (beat, commands)."""
    return is_staff(user) and settings.STAFF_SEES_SYSTEM_JOBS


def can_read(request: HttpRequest, user: Any, job: SSEProgress) -> bool:
    """Whether ``user`` (the request's user) may see ``job``."""
    permission = settings.PERMISSION
    if permission is not None:
        return bool(permission(request, job))
    if is_owner(user, job):
        return True
    if job.user_id is None and (settings.ANONYMOUS_OWNERLESS or sees_system_jobs(user)):
        return True  # whoever may read them anonymously may read them logged in too
    return is_staff(user) and settings.STAFF_SEES_ALL


def can_act(request: HttpRequest, user: Any, job: SSEProgress) -> bool:
    """Whether ``user`` may delete or cancel ``job`` (staff do not act on others' jobs)."""
    permission = settings.PERMISSION
    if permission is not None:
        return bool(permission(request, job))
    return is_owner(user, job)


def listed_for(user: Any, jobs: SSEProgressQuerySet) -> SSEProgressQuerySet:
    """The part of ``jobs`` that ``user``'s list shows: their own, and system jobs for staff."""
    if sees_system_jobs(user):
        return jobs.filter(Q(user_id=user.pk) | Q(user_id__isnull=True))
    return jobs.for_user(user)


def not_authenticated() -> HttpResponse:
    return json_error("not_authenticated", "Log in to see your jobs.")


# -- what the views ask ---------------------------------------------------------------


def _jobs() -> SSEProgressQuerySet:
    return SSEProgress.objects.all()


def _find(job_id: str) -> SSEProgress | None:
    if not is_valid_job_id(job_id):  # could match nothing; PostgreSQL rejects NUL
        return None
    return _jobs().filter(job_id=job_id).first()


_UNKNOWN: Any = object()


def readable_job(request: HttpRequest, job_id: str) -> JobRow | HttpResponse:
    """The job ``job_id`` if this request may read it, else its 401 or 404.

    With a database session and ``ModelBackend``, the owner reading their own
    job costs one query in all (:func:`_owned_by_session`), and the job is
    built from its row only when ``JobRow.job()`` asks for it.
    """
    row = _UNKNOWN
    if is_valid_job_id(job_id):
        owned, row = _owned_by_session(request, job_id)
        if owned:
            found: JobRow = row
            return found
    user = request_user(request)
    if not user.is_authenticated and not anonymous_may_read():
        return not_authenticated()
    job = _find(job_id) if row is _UNKNOWN else None if row is None else row.job()
    if job is None or not can_read(request, user, job):
        return not_found()
    return JobRow.of(job)


def job_to_act_on(request: HttpRequest, job_id: str) -> SSEProgress | HttpResponse:
    """The job ``job_id`` if this request may delete or cancel it, else the refusal."""
    user = request_user(request)
    if not user.is_authenticated and not anonymous_may_act():
        return not_authenticated()
    job = _find(job_id)
    if job is None or not can_read(request, user, job):
        return not_found()
    if not can_act(request, user, job):
        return json_error("permission_denied", "You may only change your own jobs.")
    return job


@dataclass(frozen=True)
class Page:
    """Jobs a list shows, and how many there are in all."""

    jobs: list[SSEProgress]
    total: int


def listed_rows(
    params: ListParams, *, active_only: bool, now: datetime | None = None
) -> SSEProgressQuerySet:
    """The rows a list request selects, newest first, before narrowing them to a user.

    A running row whose worker is lost reads as failed (``job_to_dict``): it
    is listed so, out of the active jobs and among the failed ones.
    """
    jobs: SSEProgressQuerySet = _jobs().order_by("-created_at", "-id")
    # The row's own columns say whether it is stale: no subquery over the stale rows.
    stale = stale_condition(now or timezone.now())
    if active_only:
        jobs = jobs.active().exclude(stale)
    if params.statuses:
        reported = Q(status__in=params.statuses)
        if str(Status.IN_PROGRESS) in params.statuses:
            reported &= ~stale
        if str(Status.FAILED) in params.statuses and not active_only:
            reported |= stale
        jobs = jobs.filter(reported)
    if params.task_types:
        jobs = jobs.filter(task_type__in=params.task_types)
    if params.job_ids is not None:
        jobs = jobs.filter(job_id__in=params.job_ids)
    return jobs


def readable_jobs(
    request: HttpRequest, params: ListParams, *, active_only: bool
) -> Page | HttpResponse:
    """What a list shows this request: a page of its jobs, or the ``job_ids`` it may read.

    With a database session and ``ModelBackend`` this costs two queries: the
    session, then the page with its total and the owner's columns.
    """
    lookup = params.job_ids is not None
    start = (params.page - 1) * params.page_size
    page = _session_users_page(request, params, active_only=active_only, start=start)
    if page is not None:
        return page
    user = request_user(request)
    if not user.is_authenticated and not (lookup and anonymous_may_read()):
        return not_authenticated()
    jobs = listed_rows(params, active_only=active_only)
    if lookup:
        found = [job for job in jobs if can_read(request, user, job)] if params.job_ids else []
        return Page(found, len(found))
    listed = listed_for(user, jobs)
    total = listed.count()
    return Page(list(listed[start : start + params.page_size]) if total > start else [], total)


# -- the session shortcut ------------------------------------------------------------


@functools.cache
def _owner_columns(user_model: type[Model], manager: Any) -> OwnerColumns | None:
    """The owner columns if ``ModelBackend.get_user`` can be reproduced from them."""
    if manager.get_queryset().query.has_filters():
        return None  # the backend would not find every user: let it look
    if getattr(user_model, "get_session_auth_hash", None) is not (
        AbstractBaseUser.get_session_auth_hash
    ) or getattr(user_model, "_get_session_auth_hash", None) is not (
        getattr(AbstractBaseUser, "_get_session_auth_hash", None)
    ):
        return None
    columns = statements.owner_columns(user_model)
    if columns is None:
        return None
    if columns.is_active is None and getattr(user_model, "is_active", True) is not True:
        return None  # a computed is_active: only the model can say
    return columns


@functools.cache
def finds_users_as_model_backend(path: str) -> bool:
    """Whether the backend at ``path`` finds a session's user exactly as ``ModelBackend`` does.

    ``ModelBackend`` itself, or a subclass that changes how people log in but not
    ``get_user`` nor ``user_can_authenticate``: django-allauth's
    ``AuthenticationBackend``, an e-mail login backend.
    """
    try:
        backend = import_string(path)
    except ImportError:
        return False
    if not (isinstance(backend, type) and issubclass(backend, ModelBackend)):
        return False
    return all(
        getattr(backend, name, None) is getattr(ModelBackend, name, None)
        for name in ("get_user", "aget_user", "user_can_authenticate")
    )


def _logged_in_by_model_backend(session: Mapping[str, Any]) -> bool:
    """Whether ``session``'s login is one ``get_user`` would answer as ``ModelBackend``."""
    path = session.get(BACKEND_SESSION_KEY)
    return (
        isinstance(path, str)
        and path in django_settings.AUTHENTICATION_BACKENDS
        and finds_users_as_model_backend(path)
    )


def _shortcut_columns(request: HttpRequest) -> OwnerColumns | None:
    """The owner columns to read, or ``None`` when the shortcut does not apply to ``request``."""
    if settings.PERMISSION is not None or not authentication.is_default():
        return None
    lazy_user = request.__dict__.get("user")
    if not isinstance(lazy_user, SimpleLazyObject) or lazy_user._wrapped is not empty:
        return None  # no AuthenticationMiddleware, or the user is loaded already
    if hasattr(request, "_cached_user"):
        return None
    if not any(map(finds_users_as_model_backend, django_settings.AUTHENTICATION_BACKENDS)):
        return None
    user_model = get_user_model()
    if router.db_for_read(user_model) != settings.DATABASE_ALIAS:
        return None
    return _owner_columns(user_model, user_model._default_manager)


def _logged_in_owner(
    session: Mapping[str, Any], owner_pk: Any, password: Any, is_active: Any
) -> bool:
    """``get_user``'s checks: the session's user is ``owner_pk``, active, with a valid hash."""
    if owner_pk is None or password is None:
        return False
    if not _logged_in_by_model_backend(session):
        return False
    try:
        session_pk = get_user_model()._meta.pk.to_python(session[SESSION_KEY])
    except (KeyError, ValidationError, TypeError, ValueError):
        return False
    if session_pk != owner_pk:
        return False
    if not is_active:  # False, or NULL in a nullable column: ModelBackend refuses both
        return False
    session_hash = session.get(HASH_SESSION_KEY)
    if not isinstance(session_hash, str) or not session_hash:
        return False
    # A hash made with a fallback secret fails here: get_user then rotates it.
    return constant_time_compare(session_hash, sessioncache.auth_hash(str(password)))


def _unread_database_session(request: HttpRequest) -> DatabaseSessionStore | None:
    """The request's database session if it has not been read yet and can be joined."""
    session = getattr(request, "session", None)
    if type(session) is not DatabaseSessionStore or hasattr(session, "_session_cache"):
        return None
    if not session.session_key:
        return None
    if router.db_for_read(Session) != settings.DATABASE_ALIAS:
        return None
    return session


def _owned_by_session(request: HttpRequest, job_id: str) -> tuple[bool, Any]:
    """Whether the session's user owns ``job_id``, read in one statement, and the job's row.

    A database session is read in the same statement, and kept on
    ``request.session`` as its own load would keep it, so whatever follows does
    not read it again; a session kept elsewhere (a cache, a cookie) is read
    first, as ``request.user`` would. The job is ``_UNKNOWN`` when the
    statement could not be used, else the job's row or ``None``.
    """
    columns = _shortcut_columns(request)
    session = getattr(request, "session", None)
    if columns is None or session is None:
        return False, _UNKNOWN
    database_session = _unread_database_session(request)
    with_session = database_session is not None
    if not with_session and not _logged_in_by_model_backend(session):
        return False, _UNKNOWN  # not a ModelBackend login: nothing to gain
    statement = statements.detail_statement(
        settings.DATABASE_ALIAS, columns, with_session=with_session
    )
    row = statement.run(str(session.session_key), job_id, timezone.now())
    if database_session is not None:
        database_session.accessed = True
        if row is None:  # what SessionStore.load() does with a missing or expired session
            database_session._session_key = None
            database_session._session_cache = {}  # type: ignore[attr-defined]
            return False, _UNKNOWN
        database_session._session_cache = sessioncache.decode(database_session, row[0])  # type: ignore[attr-defined]
    job = None if row is None else statement.reader.row_or_none(row)
    if row is None or job is None:
        return False, None
    return _logged_in_owner(session, job.user_id, row[1], row[2]), job


def _session_data(request: HttpRequest) -> Mapping[str, Any] | None:
    """The session's data; a database session not read yet is read by a prepared statement."""
    database_session = _unread_database_session(request)
    if database_session is None:
        session: Mapping[str, Any] | None = getattr(request, "session", None)
        return session
    statement = statements.session_statement(settings.DATABASE_ALIAS)
    data = statement.run(str(database_session.session_key), timezone.now())
    database_session.accessed = True
    if data is None:  # what SessionStore.load() does with a missing or expired session
        database_session._session_key = None
        database_session._session_cache = {}  # type: ignore[attr-defined]
        return None
    decoded = sessioncache.decode(database_session, data)
    database_session._session_cache = decoded  # type: ignore[attr-defined]
    return decoded


#: Pages starting further than this are counted before any is read (no huge OFFSET).
MAX_SHORTCUT_OFFSET = 10**9


def _session_users_page(
    request: HttpRequest, params: ListParams, *, active_only: bool, start: int
) -> Page | None:
    """The session's own jobs in one statement after the session's, or ``None`` (no shortcut)."""
    lookup = params.job_ids is not None
    if start > MAX_SHORTCUT_OFFSET:
        return None  # past any list's last page: the ordinary path counts first
    if sees_system_jobs_possible() or (
        lookup and (settings.ANONYMOUS_OWNERLESS or settings.STAFF_SEES_ALL)
    ):
        return None  # more than the user's own rows may be shown: ask request.user
    columns = _shortcut_columns(request)
    session = _session_data(request) if columns is not None else None
    if columns is None or session is None:
        return None
    try:
        if not _logged_in_by_model_backend(session):
            return None
        user_pk = get_user_model()._meta.pk.to_python(session[SESSION_KEY])
    except (KeyError, ValidationError, TypeError, ValueError):
        return None
    size = params.page_size

    def query(values: statements.PageValues) -> QuerySet[SSEProgress]:
        asked = replace(
            params,
            task_types=values.task_types,
            job_ids=values.job_ids if lookup else None,
        )
        jobs = listed_rows(asked, active_only=active_only, now=values.now).for_user(values.user_pk)
        return jobs if lookup else jobs[start : start + size]

    shape = (
        active_only,
        params.statuses,
        len(params.task_types),
        len(params.job_ids) if params.job_ids is not None else None,
        start,
        size,
    )
    values = statements.PageValues(user_pk, timezone.now(), params.task_types, params.job_ids or ())
    try:
        found = statements.owned_page(query, settings.DATABASE_ALIAS, columns, shape, values)
    except EmptyResultSet:  # no job_id worth asking for: nothing to show, but who asks?
        return None
    if found.owner is None or not _logged_in_owner(session, user_pk, *found.owner):
        return None
    if lookup:
        return Page(found.jobs, len(found.jobs))
    total = found.total
    if total is None:  # an empty page: no job at all, or a page past the last
        mine = listed_rows(params, active_only=active_only).for_user(user_pk)
        total = mine.count() if start else 0
    return Page(found.jobs, total)


def sees_system_jobs_possible() -> bool:
    """Whether some user's list may show more than their own jobs."""
    return settings.STAFF_SEES_SYSTEM_JOBS

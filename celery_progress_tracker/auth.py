"""Who is polling, with a shortcut that saves the user query on the hot path.

Django's session login costs two queries per request: the session, then the
user. A poll only needs to know that the job's owner is the session's user, so
the detail view loads the job *with* its owner (one join) and checks here what
``django.contrib.auth.get_user`` would check: the backend, the session's auth
hash (a password change logs the session out) and ``is_active``. When anything
does not match, or the login is not a plain ``ModelBackend`` session login,
the caller falls back to ``request.user``: the shortcut can only say "yes,
this is the owner", never deny access by itself.
"""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.contrib.auth import (
    BACKEND_SESSION_KEY,
    HASH_SESSION_KEY,
    SESSION_KEY,
    get_user_model,
)
from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject, empty

#: The only backend whose ``get_user`` the shortcut reproduces exactly
#: (a default-manager lookup by primary key, then ``is_active``).
MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


def request_user(request: HttpRequest) -> Any:
    """``request.user``, or an anonymous user when no authentication middleware set it."""
    user = getattr(request, "user", None)
    return AnonymousUser() if user is None else user


def session_user_pk(request: HttpRequest) -> Any:
    """The primary key of the session's user without loading the user, or ``None``.

    ``None`` means "use ``request.user``": the user is already loaded (nothing
    to save), ``request.user`` was not set by ``AuthenticationMiddleware``, the
    session was not opened by ``ModelBackend``, or the user model's default
    manager filters rows (``ModelBackend`` would not find every user).
    """
    lazy_user = request.__dict__.get("user")
    if not isinstance(lazy_user, SimpleLazyObject) or lazy_user._wrapped is not empty:
        return None
    if hasattr(request, "_cached_user"):
        return None
    session = getattr(request, "session", None)
    if session is None:
        return None
    backend = session.get(BACKEND_SESSION_KEY)
    if backend != MODEL_BACKEND or backend not in django_settings.AUTHENTICATION_BACKENDS:
        return None
    if not session.get(HASH_SESSION_KEY) or SESSION_KEY not in session:
        return None
    user_model = get_user_model()
    if user_model._default_manager.get_queryset().query.has_filters():
        return None
    try:
        return user_model._meta.pk.to_python(session[SESSION_KEY])
    except (ValidationError, TypeError, ValueError):
        return None


def is_session_user(request: HttpRequest, user_pk: Any, candidate: Any) -> bool:
    """Whether ``candidate`` (loaded with the job) is the session's valid, active user."""
    if candidate is None or user_pk is None or candidate.pk != user_pk:
        return False
    if not getattr(candidate, "is_active", True):
        return False
    get_hash = getattr(candidate, "get_session_auth_hash", None)
    if get_hash is None:
        return False
    session_hash = request.session.get(HASH_SESSION_KEY)
    return isinstance(session_hash, str) and constant_time_compare(session_hash, get_hash())

"""Who is polling: Django's session login, or the site's own authentication.

``PROGRESS_TRACKER_AUTHENTICATION`` lists what is tried, in order; the first
that names a user wins, and a request that none names is anonymous. Each entry
is a dotted path (or the object itself) to:

- a callable ``(request) -> user | None``: a token, an API key, a header set
  by a proxy. Its users are not asked for a CSRF token: the browser does not
  send such credentials on its own;
- a Django REST framework authentication class (``TokenAuthentication``,
  ``SessionAuthentication``, ...), adapted by :mod:`celery_progress_tracker.drf`
  (``pip install celery-progress-tracker[drf]``);
- :func:`session`: Django's session login (``request.user``), the default. Its
  writes need a CSRF token.

CSRF applies to session-authenticated writes only, as in DRF.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.models import AnonymousUser
from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest
from django.utils.module_loading import import_string

from celery_progress_tracker.conf import PREFIX, settings


@dataclass(frozen=True)
class Authenticated:
    """The request's user, and whether it came from a session (then writes need CSRF)."""

    user: Any
    via_session: bool


class AuthenticationFailed(Exception):
    """Credentials were sent and are wrong (a bad token): a 401, not an anonymous request."""


class CsrfRejected(Exception):
    """A session-authenticated write without a valid CSRF token (raised by an adapter)."""


Authenticator = Callable[[HttpRequest], "Authenticated | None"]

#: The path of the default entry.
SESSION = "celery_progress_tracker.authentication.session"


def session(request: HttpRequest) -> Authenticated | None:
    """Django's session login: ``request.user`` as ``AuthenticationMiddleware`` set it."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    return Authenticated(user, via_session=True)


def is_default() -> bool:
    """Whether only Django's session login is used (the API's shortcuts rely on it)."""
    return settings.AUTHENTICATION in (None, [SESSION], (SESSION,))


def authenticators() -> list[Authenticator]:
    """The configured entries as callables ``(request) -> Authenticated | None``."""
    entries = settings.AUTHENTICATION
    if entries is None:
        return [session]
    if isinstance(entries, (str, bytes)) or callable(entries):
        entries = [entries]
    return [_authenticator(entry) for entry in entries]


def _authenticator(entry: Any) -> Authenticator:
    target = entry
    if isinstance(entry, str):
        try:
            target = import_string(entry)
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"{PREFIX}AUTHENTICATION: cannot import {entry!r} ({exc})"
            ) from exc
    if target is session:
        return session
    if isinstance(target, type):
        if _is_drf_class(target):
            from celery_progress_tracker.drf import drf_authenticator

            return drf_authenticator(target)
        raise ImproperlyConfigured(
            f"{PREFIX}AUTHENTICATION: {entry!r} is a class but not a Django REST framework"
            " authentication class"
        )
    if not callable(target):
        raise ImproperlyConfigured(f"{PREFIX}AUTHENTICATION: {entry!r} is not callable")
    return _from_callable(target)


def _is_drf_class(target: type) -> bool:
    return any(
        base.__module__.startswith("rest_framework.") and base.__name__ == "BaseAuthentication"
        for base in target.__mro__
    )


def _from_callable(func: Callable[[HttpRequest], Any]) -> Authenticator:
    def authenticate(request: HttpRequest) -> Authenticated | None:
        user = func(request)
        if user is None or not getattr(user, "is_authenticated", False):
            return None
        return Authenticated(user, via_session=False)

    return authenticate


_CACHE = "_progress_tracker_authenticated"


def authenticate(request: HttpRequest) -> Authenticated:
    """The request's user by the configured entries (once per request), anonymous if none.

    Raises:
        AuthenticationFailed: an entry found wrong credentials.
        CsrfRejected: a session-authenticated write without a valid CSRF token.
    """
    found: Authenticated | None = request.__dict__.get(_CACHE)
    if found is not None:
        return found
    for authenticator in authenticators():
        result = authenticator(request)
        if result is not None:
            found = result
            break
    else:
        found = Authenticated(AnonymousUser(), via_session=False)
    request.__dict__[_CACHE] = found
    return found


def csrf_applies(request: HttpRequest) -> bool:
    """Whether this request's writes need a CSRF token: yes unless a non-session entry named it."""
    if is_default():
        return True
    authenticated = authenticate(request)
    return authenticated.via_session or not authenticated.user.is_authenticated

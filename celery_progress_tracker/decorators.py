"""What every endpoint of the polling API shares: methods, CSRF, caching, no login redirect.

The endpoints check CSRF themselves (Django's own check, run by hand) so that a
failure is the API's JSON 403 whatever ``CSRF_FAILURE_VIEW`` says, and even
where ``CsrfViewMiddleware`` is not installed.
"""

from __future__ import annotations

import functools
import logging
import time
from collections.abc import Callable
from typing import Any

from django.contrib.auth.decorators import login_not_required
from django.core.exceptions import (
    RequestDataTooBig,
    SuspiciousOperation,
    TooManyFieldsSent,
    TooManyFilesSent,
)
from django.http import HttpRequest, HttpResponse, UnreadablePostError
from django.http.multipartparser import MultiPartParserError
from django.middleware.csrf import CsrfViewMiddleware
from django.utils.cache import add_never_cache_headers
from django.utils.http import http_date
from django.views.decorators.csrf import csrf_exempt

from celery_progress_tracker.authentication import (
    AuthenticationFailed,
    CsrfRejected,
    csrf_applies,
)
from celery_progress_tracker.responses import json_error, method_not_allowed

View = Callable[..., HttpResponse]

SAFE_METHODS = frozenset({"GET", "HEAD"})

#: What ``django.utils.cache.add_never_cache_headers`` writes on a response without one.
NEVER_CACHE = "max-age=0, no-cache, no-store, must-revalidate, private"


def never_cached(response: HttpResponse) -> HttpResponse:
    """``add_never_cache_headers``, written directly on the API's responses (none sets its own).

    Django's version parses and rebuilds ``Cache-Control`` twice: a tenth of
    a poll's time in the view.
    """
    if response.has_header("Cache-Control") or response.has_header("Expires"):
        add_never_cache_headers(response)
    else:
        response.headers["Expires"] = http_date(time.time())
        response.headers["Cache-Control"] = NEVER_CACHE
    return response


class _JsonCsrfCheck(CsrfViewMiddleware):
    """Django's CSRF check, answering a failure with the API's JSON 403."""

    def _reject(self, request: HttpRequest, reason: str) -> HttpResponse:
        return json_error("csrf_failed", f"CSRF verification failed: {reason}")


def _protected_view(request: HttpRequest) -> HttpResponse:
    # Stands for the view in the CSRF check (which only looks at its csrf_exempt flag).
    return HttpResponse()


def csrf_failure(request: HttpRequest) -> HttpResponse | None:
    """Django's CSRF check on ``request``: ``None`` if it passes, else the JSON 403."""
    check = _JsonCsrfCheck(_protected_view)
    check.process_request(request)
    try:
        response: HttpResponse | None = check.process_view(request, _protected_view, (), {})
    except (MultiPartParserError, UnreadablePostError, RequestDataTooBig) as exc:
        # Looking for a form token parses the body: a broken one is the client's fault.
        return refused(request, exc)
    return response


def refused(request: HttpRequest, exc: Exception) -> HttpResponse:
    """The JSON 400 for a request Django refuses to read (too many fields, a broken body).

    Logged as Django logs it (``django.security.<ClassName>`` for a suspicious
    operation), so operators see the same lines as for any other view.
    """
    if isinstance(exc, SuspiciousOperation):
        logger = logging.getLogger(f"django.security.{exc.__class__.__name__}")
        logger.error(str(exc), extra={"request": request, "status_code": 400})
    if isinstance(exc, (TooManyFieldsSent, TooManyFilesSent)):
        message = "Too many query parameters, form fields or files."
    elif isinstance(exc, RequestDataTooBig):
        message = "The request body is too large."
    else:
        message = "The request cannot be read."
    return json_error("bad_request", message)


#: What reading a request's query string or body may raise because of what the client sent.
UNREADABLE = (SuspiciousOperation, MultiPartParserError, UnreadablePostError)


class _EveryDatabase(frozenset[str]):
    """Contains every database alias: what ``non_atomic_requests`` would need for each."""

    def __contains__(self, alias: object) -> bool:
        return True


def api_view(*methods: str) -> Callable[[View], View]:
    """Make ``view`` an API endpoint answering ``methods`` (``GET`` implies ``HEAD``).

    Other methods get a 405 with ``Allow``; unsafe ones must pass the CSRF
    check when a session authenticates the request (always, by default); a
    request Django refuses to read, or wrong credentials, get JSON errors;
    every answer is marked never to be cached; the view is exempt from
    ``LoginRequiredMiddleware`` (it answers anonymous requests with a JSON 401).
    """
    allowed = tuple(methods) + (("HEAD",) if "GET" in methods else ())

    def decorate(view: View) -> View:
        @functools.wraps(view)
        def endpoint(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            return never_cached(_answer(request, *args, **kwargs))

        def _answer(request: HttpRequest, *args: Any, **kwargs: Any) -> HttpResponse:
            method = request.method or ""
            if method not in allowed:
                return method_not_allowed(method, allowed)
            try:
                if method not in SAFE_METHODS and csrf_applies(request):
                    failure = csrf_failure(request)
                    if failure is not None:
                        return failure
                return view(request, *args, **kwargs)
            except UNREADABLE as exc:  # e.g. 1,001 query parameters: JSON, not Django's HTML
                return refused(request, exc)
            except AuthenticationFailed as exc:
                return json_error("not_authenticated", str(exc) or "Invalid credentials.")
            except CsrfRejected as exc:
                return json_error("csrf_failed", str(exc))

        # Never wrapped in ATOMIC_REQUESTS' transaction: a poll is one statement, and
        # BEGIN/COMMIT around it would be two more round trips; writes are atomic in
        # lifecycle.
        endpoint._non_atomic_requests = _EveryDatabase()  # type: ignore[attr-defined]
        return login_not_required(csrf_exempt(endpoint))

    return decorate

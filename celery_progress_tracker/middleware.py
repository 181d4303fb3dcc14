"""Middleware: the owner of tasks published in a request, and JSON refusals before the API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse
from django.urls import Resolver404, resolve
from django.utils.cache import add_never_cache_headers

from celery_progress_tracker.ownership import reset_current_request, set_current_request
from celery_progress_tracker.responses import json_error

#: Refusals that Django answers in HTML before a view runs, as the API's error codes.
REFUSAL_CODES = {400: "bad_request", 403: "permission_denied", 404: "not_found"}


class _Middleware:
    """A middleware for both stacks: under ASGI, ``__call__`` returns a coroutine."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest) -> Any:  # pragma: no cover - each subclass has one
        raise NotImplementedError


class ProgressOwnerMiddleware(_Middleware):
    """Record the current request so ``ProgressTask`` jobs published during it get its user.

    Add it after ``AuthenticationMiddleware``. It costs nothing per request:
    ``request.user`` is only read when a ``ProgressTask`` is published.
    """

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        token = set_current_request(request)
        try:
            return self.get_response(request)
        finally:
            reset_current_request(token)

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        token = set_current_request(request)
        try:
            response: Awaitable[HttpResponse] = self.get_response(request)
            return await response
        finally:
            reset_current_request(token)


def is_api_path(path_info: str) -> bool:
    """Whether ``path_info`` is under the polling API's prefix (every such path resolves to it)."""
    try:
        match = resolve(path_info)
    except Resolver404:
        return False
    return str(getattr(match.func, "__module__", "")).startswith("celery_progress_tracker.")


def as_json_refusal(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    """``response``, or the API's JSON error if it is Django's HTML refusal of an API path."""
    code = REFUSAL_CODES.get(response.status_code)
    if code is None or response.get("Content-Type", "").startswith("application/json"):
        return response
    if not is_api_path(request.path_info):
        return response
    refusal = json_error(code, "The request was refused before it reached the API.")
    if response.status_code == 400:
        refusal = json_error(code, "The request cannot be read (e.g. a host that is not allowed).")
    add_never_cache_headers(refusal)
    return refusal


class JsonRefusalMiddleware(_Middleware):
    """Answer the API's JSON error where Django refuses a request before any view runs.

    Django rejects a host outside ``ALLOWED_HOSTS`` in ``CommonMiddleware``
    with an HTML 400; under the API's prefix this turns such HTML refusals
    into ``{"error", "message"}`` with the API's cache headers. Put it first
    in ``MIDDLEWARE``. The API's own views already answer JSON: this is only
    for what happens before them. Costs nothing unless a response is a 400,
    403 or 404 that is not JSON.
    """

    def __call__(self, request: HttpRequest) -> Any:
        if self.async_mode:
            return self.__acall__(request)
        return as_json_refusal(request, self.get_response(request))

    async def __acall__(self, request: HttpRequest) -> HttpResponse:
        response: Awaitable[HttpResponse] = self.get_response(request)
        return as_json_refusal(request, await response)

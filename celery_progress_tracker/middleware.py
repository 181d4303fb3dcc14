"""Makes tasks published while a request is handled belong to its user."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.http import HttpRequest, HttpResponse

from celery_progress_tracker.ownership import reset_current_request, set_current_request


class ProgressOwnerMiddleware:
    """Record the current request so ``ProgressTask`` jobs published during it get its user.

    Add it after ``AuthenticationMiddleware``. It costs nothing per request:
    ``request.user`` is only read when a ``ProgressTask`` is published.
    """

    sync_capable = True
    async_capable = True

    def __init__(self, get_response: Callable[[HttpRequest], Any]) -> None:
        self.get_response = get_response
        self.async_mode = iscoroutinefunction(get_response)
        if self.async_mode:
            markcoroutinefunction(self)

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

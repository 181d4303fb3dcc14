"""Django REST framework's authentication classes as entries of ``AUTHENTICATION``.

``pip install celery-progress-tracker[drf]``, then e.g.::

    PROGRESS_TRACKER_AUTHENTICATION = [
        "rest_framework.authentication.TokenAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ]

Each class authenticates a DRF ``Request`` wrapped around the API's request,
as it would in a DRF view: a wrong token is a 401, and ``SessionAuthentication``
enforces CSRF on writes (a failure is the API's JSON 403).
"""

from __future__ import annotations

from typing import Any

from django.http import HttpRequest
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication, SessionAuthentication
from rest_framework.parsers import FormParser, MultiPartParser
from rest_framework.request import Request

from celery_progress_tracker.authentication import (
    Authenticated,
    AuthenticationFailed,
    Authenticator,
    CsrfRejected,
)


def drf_authenticator(cls: type[BaseAuthentication]) -> Authenticator:
    """An entry ``(request) -> Authenticated | None`` for DRF authentication class ``cls``."""
    via_session = issubclass(cls, SessionAuthentication)

    def authenticate(request: HttpRequest) -> Authenticated | None:
        authenticator = cls()
        # The form parsers: SessionAuthentication's CSRF check may read a form token.
        drf_request = Request(
            request, parsers=[FormParser(), MultiPartParser()], authenticators=[authenticator]
        )
        try:
            result: Any = authenticator.authenticate(drf_request)
        except exceptions.AuthenticationFailed as exc:
            raise AuthenticationFailed(str(exc.detail)) from exc
        except exceptions.PermissionDenied as exc:  # SessionAuthentication's CSRF check
            raise CsrfRejected(str(exc.detail)) from exc
        except (exceptions.ParseError, exceptions.UnsupportedMediaType) as exc:
            raise CsrfRejected(f"CSRF Failed: the form cannot be read ({exc.detail}).") from exc
        if result is None:
            return None
        return Authenticated(result[0], via_session=via_session)

    return authenticate

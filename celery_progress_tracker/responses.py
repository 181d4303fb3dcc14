"""JSON responses of the polling API, errors included.

Every error the API returns has the same body, ``{"error": "<code>", "message":
"<text>"}``, so a client can branch on ``error`` and show ``message``.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from django.http import HttpRequest, HttpResponse, HttpResponseNotModified, JsonResponse
from django.utils.http import parse_etags

#: Error codes and their HTTP statuses; ``docs/http-api.md`` lists them.
ERROR_STATUSES: dict[str, int] = {
    "invalid_parameter": 400,
    "bad_request": 400,
    "too_many_job_ids": 400,
    "not_authenticated": 401,
    "csrf_failed": 403,
    "permission_denied": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "job_active": 409,
    "job_finished": 409,
}


def json_response(data: Any, status: int = 200) -> JsonResponse:
    """``data`` as JSON (``safe=False``: a list or a dict)."""
    return JsonResponse(data, status=status, safe=False)


def json_error(code: str, message: str) -> JsonResponse:
    """The error body for ``code``, with the status that code always has."""
    return JsonResponse({"error": code, "message": message}, status=ERROR_STATUSES[code])


def not_found(message: str = "No such job.") -> JsonResponse:
    """A 404; also what another user's job answers, so a job's existence never leaks."""
    return json_error("not_found", message)


def method_not_allowed(method: str, allowed: Iterable[str]) -> JsonResponse:
    """A 405 with the ``Allow`` header HTTP requires."""
    allowed = list(allowed)
    response = json_error(
        "method_not_allowed",
        f"Method {method[:20]!r} is not allowed here; use {', '.join(allowed)}.",
    )
    response["Allow"] = ", ".join(allowed)
    return response


def _etag_matches(header: str | None, etag: str) -> bool:
    if not header:
        return False
    wanted = parse_etags(header)
    # Weak comparison (RFC 9110, 13.1.2): If-None-Match ignores the W/ prefix.
    return "*" in wanted or any(tag.removeprefix("W/") == etag[2:] for tag in wanted)


def not_modified(request: HttpRequest, etag: str) -> HttpResponse | None:
    """A bodiless 304 when ``If-None-Match`` already has ``etag``, else ``None``."""
    # META, not request.headers: that would build a dict of every header first.
    if _etag_matches(request.META.get("HTTP_IF_NONE_MATCH"), etag):
        return HttpResponseNotModified()
    return None


def conditional_json(request: HttpRequest, data: dict[str, Any], etag: str) -> HttpResponse:
    """``data`` with its ``ETag``, or a bodiless 304 when ``If-None-Match`` already has it."""
    response = not_modified(request, etag) or json_response(data)
    response["ETag"] = etag
    return response

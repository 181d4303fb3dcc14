"""Views that start jobs, as a user's project would."""

from __future__ import annotations

from django.http import HttpRequest, JsonResponse

from tests import tasks


def start(request: HttpRequest) -> JsonResponse:
    result = tasks.count.delay(2)
    return JsonResponse({"success": True, "job_id": result.id})


def start_on_commit(request: HttpRequest) -> JsonResponse:
    tasks.count.delay_on_commit(3)
    return JsonResponse({"success": True})

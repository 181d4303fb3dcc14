from __future__ import annotations

from django.http import HttpRequest, JsonResponse
from django.urls import include, path

from tests.usermodels.accounts.tasks import count_to


def start(request: HttpRequest) -> JsonResponse:
    """The site's own view: the job belongs to whoever is logged in."""
    return JsonResponse({"job_id": count_to.delay(5).id})


urlpatterns = [
    path("start/", start),
    path("core/", include("celery_progress_tracker.urls")),
]

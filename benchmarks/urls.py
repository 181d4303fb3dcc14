"""The package's polling API next to celery-progress's endpoint, as shipped and secured."""

from __future__ import annotations

from celery_progress.views import get_progress
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.urls import include, path

from celery_progress_tracker.models import SSEProgress

#: The ceiling's constant answer: what a detail poll's body looks like.
CONSTANT = {"job_id": "constant", "status": "in_progress", "processed_items": 450,
            "total_items": 1000, "progress_percentage": 45}  # fmt: skip


def ready(request: HttpRequest) -> HttpResponse:
    """Answers once the web process is up."""
    return HttpResponse("ok", content_type="text/plain")


def ceiling(request: HttpRequest) -> JsonResponse:
    """The ceiling: Django answering JSON with no database at all."""
    return JsonResponse(CONSTANT)


def floor(request: HttpRequest, pk: int) -> JsonResponse:
    """The floor of a poll that reads the database: one primary-key read, no authentication."""
    row = SSEProgress.objects.values("job_id", "status", "processed_items", "total_items").get(
        pk=pk
    )
    return JsonResponse(row)


urlpatterns = [
    path("ready/", ready),
    path("core/", include("celery_progress_tracker.urls")),
    # As shipped: no authentication, any task's result to anyone.
    path("celery-progress/<str:task_id>/", get_progress),
    # What a deployment has to do to keep tasks private.
    path("celery-progress-secured/<str:task_id>/", login_required(get_progress)),
    path("ceiling/", ceiling),
    path("floor/<int:pk>/", floor),
]

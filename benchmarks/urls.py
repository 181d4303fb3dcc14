"""The package's polling API next to celery-progress's endpoint, as shipped and secured."""

from __future__ import annotations

from celery_progress.views import get_progress
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.urls import include, path


def ready(request: HttpRequest) -> HttpResponse:
    """Answers once the web process is up."""
    return HttpResponse("ok", content_type="text/plain")


urlpatterns = [
    path("ready/", ready),
    path("core/", include("celery_progress_tracker.urls")),
    # As shipped: no authentication, any task's result to anyone.
    path("celery-progress/<str:task_id>/", get_progress),
    # What a deployment has to do to keep tasks private.
    path("celery-progress-secured/<str:task_id>/", login_required(get_progress)),
]

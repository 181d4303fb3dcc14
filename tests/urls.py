from __future__ import annotations

from django.contrib import admin
from django.urls import include, path

from tests import enqueue_views

urlpatterns = [
    path("admin/", admin.site.urls),
    path("core/", include("celery_progress_tracker.urls")),
    path("start/", enqueue_views.start),
    path("start-on-commit/", enqueue_views.start_on_commit),
]

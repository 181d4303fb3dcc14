from __future__ import annotations

from django.urls import include, path

from tests.cookiecutter.jobs import views

urlpatterns = [
    path("core/", include("celery_progress_tracker.urls")),
    path("jobs/import/", views.start_import),
    path("jobs/fail/", views.start_failing),
    path("jobs/import-async/", views.start_import_async),
    path("jobs/orchestrate/", views.start_orchestrate),
]

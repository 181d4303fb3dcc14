"""The polling API's URLs (``app_name = "celery_progress_tracker"``)."""

from __future__ import annotations

from django.urls import URLPattern

app_name = "celery_progress_tracker"

urlpatterns: list[URLPattern] = []

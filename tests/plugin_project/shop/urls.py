from django.urls import include, path

urlpatterns = [path("core/", include(("celery_progress_tracker.urls", "core"), namespace="core"))]

"""The example's URLs: the demo pages, the polling API under ``/core/``, login."""

from django.contrib import admin
from django.contrib.auth import views as auth_views
from django.urls import include, path

urlpatterns = [
    path("", include("demo.urls")),
    # The seed's mount point and namespace: /core/sse-progress/<job_id>/.
    path("core/", include(("celery_progress_tracker.urls", "core"), namespace="core")),
    path("accounts/login/", auth_views.LoginView.as_view(), name="login"),
    path("accounts/logout/", auth_views.LogoutView.as_view(), name="logout"),
    path("i18n/", include("django.conf.urls.i18n")),
    path("admin/", admin.site.urls),
]

# Unknown pages get the demo's own page (DEBUG is off by default).
handler404 = "demo.views.not_found"

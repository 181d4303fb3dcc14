"""The polling API's URLs (``app_name = "celery_progress_tracker"``).

Include them under any prefix, e.g. ``path("core/", include("celery_progress_tracker.urls"))``
or, as the original system did, ``include(("celery_progress_tracker.urls", "core"),
namespace="core")``. The last pattern answers every other path under the prefix with a
JSON 404, so mount the app under a prefix of its own.
"""

from __future__ import annotations

from django.urls import URLPattern, path, re_path

from celery_progress_tracker import fragments, views

app_name = "celery_progress_tracker"

urlpatterns: list[URLPattern] = [
    path("sse-progress/", views.job_list, name="sse_progress_list"),
    path("sse-progress/active/", views.active_job_list, name="sse_progress_active"),
    path("sse-progress/<str:job_id>/", views.job_detail, name="sse_progress_detail"),
    path("sse-progress/<str:job_id>/delete/", views.job_delete, name="sse_progress_delete"),
    path("sse-progress/<str:job_id>/cancel/", views.job_cancel, name="sse_progress_cancel"),
    # The bar as HTML for htmx (286 once the job is final).
    path(
        "sse-progress/<str:job_id>/fragment/",
        fragments.job_fragment,
        name="sse_progress_fragment",
    ),
    # [\s\S] and \Z: a path may contain a newline (%0A), which "." and "$" let through.
    re_path(r"^(?P<path>[\s\S]*)\Z", views.unknown_endpoint, name="not_found"),
]

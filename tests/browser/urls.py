"""The test suite's URLs plus the browser tests' pages and local assets."""

from __future__ import annotations

from django.conf import settings
from django.contrib.staticfiles.views import serve as serve_static
from django.urls import path, re_path
from django.views.static import serve

from tests.browser import views
from tests.urls import urlpatterns as base_urlpatterns

urlpatterns = [
    path("browser/harness/", views.harness),
    path("browser/seed/", views.seed_page),
    path("browser/launch/", views.launch),
    path("browser/tag/", views.tag_page),
    path("browser/htmx/", views.htmx_page),
    path("browser/snippet/", views.docs_snippet),
    # Fomantic-UI, Bootstrap, jQuery and htmx from the local npm install, never from a CDN.
    re_path(r"^browser/assets/(?P<path>.*)$", serve, {"document_root": views.NODE_MODULES}),
    *base_urlpatterns,
]

if getattr(settings, "SERVE_STATIC", False):
    # gunicorn serves no static files: Django does it for the browser tests' server.
    urlpatterns.append(
        re_path(r"^static/(?P<path>.*)$", serve_static, {"insecure": True}),
    )

"""The project's Celery app, configured from the Django settings (``CELERY_`` namespace)."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.usermodels.settings")

app = Celery("usermodels")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

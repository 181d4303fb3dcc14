"""config/celery_app.py, as cookiecutter-django writes it."""

from __future__ import annotations

import os

from celery import Celery

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.cookiecutter.config.settings")

app = Celery("cookiecutter")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

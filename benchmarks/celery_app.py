"""The Celery app of the benchmarks (``celery -A benchmarks.celery_app worker``)."""

from __future__ import annotations

import os

from celery import Celery

from benchmarks import counting

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")

app = Celery("benchmarks")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.conf.imports = ["benchmarks.tasks"]
counting.install()

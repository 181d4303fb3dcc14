"""The WSGI application gunicorn serves during the read-path benchmarks."""

from __future__ import annotations

import os

from django.core.wsgi import get_wsgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "benchmarks.settings")

# Importing the Celery app configures the result backend celery-progress reads.
from benchmarks.celery_app import app as celery_app

application = get_wsgi_application()

__all__ = ["application", "celery_app"]

"""The gunicorn server's settings with JSON refusals before the API and one allowed host."""

from __future__ import annotations

from tests.faults.server_settings import *  # noqa: F403
from tests.settings import MIDDLEWARE

ALLOWED_HOSTS = ["127.0.0.1"]
MIDDLEWARE = ["celery_progress_tracker.middleware.JsonRefusalMiddleware", *MIDDLEWARE]

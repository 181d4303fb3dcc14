"""The user-model project's tests: the package's pytest plugin, and the chosen model's file."""

from __future__ import annotations

from django.conf import settings

pytest_plugins = ["celery_progress_tracker.testing"]

# Tests of one model's own traits run when that model is AUTH_USER_MODEL.
collect_ignore = [
    f"test_{label}.py"
    for model, label in (("accounts.UuidUser", "uuid_user"),)
    if model != settings.AUTH_USER_MODEL
]

"""The Django app: wiring only."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CeleryProgressTrackerConfig(AppConfig):
    name = "celery_progress_tracker"
    verbose_name = _("Celery progress tracker")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from celery_progress_tracker import checks, receivers

        checks.register()
        receivers.connect()

"""The Django app: wiring only."""

from __future__ import annotations

from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CeleryProgressTrackerConfig(AppConfig):
    name = "celery_progress_tracker"
    verbose_name = _("Celery progress tracker")
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self) -> None:
        from django.core.signals import setting_changed

        from celery_progress_tracker import checks, receivers, sessioncache
        from celery_progress_tracker.conf import settings

        checks.register()
        receivers.connect()
        setting_changed.connect(settings.forget, dispatch_uid="cpt.conf")
        setting_changed.connect(
            sessioncache.forget, dispatch_uid="celery_progress_tracker.sessions"
        )

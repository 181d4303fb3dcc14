"""Every setting of the package, with its default, read at use time.

Settings are plain Django settings prefixed ``PROGRESS_TRACKER_``. They are read
at first use (never at import time) and kept until Django announces a change
of settings (``setting_changed``: ``override_settings``, pytest-django's
``settings`` fixture), so a poll does not pay for a missing attribute's lookup.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from django.conf import settings as django_settings
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

PREFIX = "PROGRESS_TRACKER_"

#: Every setting and its default; ``docs/settings.md`` documents each one.
DEFAULTS: dict[str, Any] = {
    # Database alias that progress rows are read from and written to.
    "DATABASE_ALIAS": "default",
    # Seconds between two writes of a running task's counts (the hot path
    # counts in memory; a background thread writes at most this often).
    "FLUSH_INTERVAL": 0.25,
    # Seconds between two heartbeats (``updated_at`` refreshes) of a running
    # task's row when its counts have not changed.
    "HEARTBEAT_INTERVAL": 10.0,
    # Seconds without a heartbeat after which an ``in_progress`` row is
    # reported, and reaped, as failed ("worker lost").
    "STALE_AFTER": 60.0,
    # Seconds a background flush waits for a SQLite write lock before it gives
    # up and retries at the next flush.
    "SQLITE_BUSY_TIMEOUT": 0.05,
    # Seconds after which a pending job that no worker started (its message was
    # lost: a purged queue, a broker without persistence) is closed as failed
    # ("never started") by the reaper; counted from its ETA or countdown, or
    # from its publish. ``None`` keeps pending jobs for ever.
    "PENDING_TIMEOUT": 86400.0,
    # Let requests (anonymous ones too) read jobs that have no owner; nobody
    # may delete or cancel them through the API.
    "ANONYMOUS_OWNERLESS": False,
    # Let staff users read (not delete or cancel) every user's jobs by id.
    "STAFF_SEES_ALL": False,
    # Let staff users read and list the jobs that have no owner ("system" jobs:
    # started by beat, a management command or a script).
    "STAFF_SEES_SYSTEM_JOBS": False,
    # Dotted path to a callable ``(request, job) -> bool`` deciding whether a
    # request may read, delete and cancel a job; replaces the owner rule when
    # set. Lists without ``?job_id=`` always show the user's own jobs.
    "PERMISSION": None,
    # What authenticates API requests, tried in order: dotted paths to callables
    # ``(request) -> user | None`` or to Django REST framework authentication
    # classes; ``None`` is Django's session login alone.
    "AUTHENTICATION": None,
    # Default and maximum page sizes of the list endpoints.
    "PAGE_SIZE": 20,
    "MAX_PAGE_SIZE": 100,
    # Days after which finished rows are deleted by ``progress_purge`` (without
    # ``--older-than``) and by the periodic purge task; ``None`` keeps them.
    "RETENTION_DAYS": 30,
    # The same for jobs without an owner (beat, management commands, scripts,
    # anonymous requests), which a frequent schedule piles up; ``None`` keeps them.
    "SYSTEM_RETENTION_DAYS": 1,
    # The progress bar's look for the template tags and the htmx fragments:
    # "default" (the package's stylesheet), "bootstrap5", "semantic"
    # (Fomantic-UI / Semantic UI), or "auto" (the script picks the framework the
    # page loads; fragments drawn on the server use "default").
    "THEME": "auto",
    # Show a failed job's exception text ("ValueError: ...") through the API and
    # in retry messages, as the row stores it. Off by default: users read the
    # message of a ``JobError`` or a generic sentence with a reference.
    "VERBATIM_ERRORS": False,
    # How many members a roll-up's JSON lists (``members``); its ``parts_*``
    # counts always cover every member.
    "ROLLUP_MEMBERS_LISTED": 100,
}

#: The themes the bar is drawn with (``templates/celery_progress_tracker/themes/``).
THEMES = ("default", "bootstrap5", "semantic")


class Settings:
    """Typed access to the package's settings."""

    def __init__(self) -> None:
        self._values: dict[str, Any] = {}

    def _get(self, name: str) -> Any:
        try:
            return self._values[name]
        except KeyError:
            value = self._values[name] = getattr(django_settings, PREFIX + name, DEFAULTS[name])
            return value

    def forget(self, **kwargs: Any) -> None:
        """Read every setting again at its next use (a ``setting_changed`` receiver)."""
        self._values.clear()

    @property
    def DATABASE_ALIAS(self) -> str:
        return str(self._get("DATABASE_ALIAS"))

    @property
    def FLUSH_INTERVAL(self) -> float:
        return float(self._get("FLUSH_INTERVAL"))

    @property
    def HEARTBEAT_INTERVAL(self) -> float:
        return float(self._get("HEARTBEAT_INTERVAL"))

    @property
    def STALE_AFTER(self) -> float:
        return float(self._get("STALE_AFTER"))

    @property
    def PENDING_TIMEOUT(self) -> float | None:
        value = self._get("PENDING_TIMEOUT")
        return None if value is None else float(value)

    @property
    def SQLITE_BUSY_TIMEOUT(self) -> float:
        return float(self._get("SQLITE_BUSY_TIMEOUT"))

    @property
    def ANONYMOUS_OWNERLESS(self) -> bool:
        return bool(self._get("ANONYMOUS_OWNERLESS"))

    @property
    def STAFF_SEES_ALL(self) -> bool:
        return bool(self._get("STAFF_SEES_ALL"))

    @property
    def STAFF_SEES_SYSTEM_JOBS(self) -> bool:
        return bool(self._get("STAFF_SEES_SYSTEM_JOBS"))

    @property
    def PERMISSION(self) -> Callable[..., bool] | None:
        value = self._get("PERMISSION")
        if value is None or callable(value):
            return value
        try:
            func = import_string(value)
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"{PREFIX}PERMISSION: cannot import {value!r} ({exc})"
            ) from exc
        if not callable(func):
            raise ImproperlyConfigured(f"{PREFIX}PERMISSION: {value!r} is not callable")
        return func

    @property
    def AUTHENTICATION(self) -> Any:
        return self._get("AUTHENTICATION")

    @property
    def PAGE_SIZE(self) -> int:
        return int(self._get("PAGE_SIZE"))

    @property
    def MAX_PAGE_SIZE(self) -> int:
        return int(self._get("MAX_PAGE_SIZE"))

    @property
    def RETENTION_DAYS(self) -> float | None:
        value = self._get("RETENTION_DAYS")
        return None if value is None else float(value)

    @property
    def SYSTEM_RETENTION_DAYS(self) -> float | None:
        value = self._get("SYSTEM_RETENTION_DAYS")
        return None if value is None else float(value)

    @property
    def ROLLUP_MEMBERS_LISTED(self) -> int:
        return int(self._get("ROLLUP_MEMBERS_LISTED"))

    @property
    def THEME(self) -> str:
        value = str(self._get("THEME"))
        if value != "auto" and value not in THEMES:
            raise ImproperlyConfigured(
                f"{PREFIX}THEME: {value!r} is not one of auto, {', '.join(THEMES)}"
            )
        return value

    @property
    def VERBATIM_ERRORS(self) -> bool:
        return bool(self._get("VERBATIM_ERRORS"))


settings = Settings()

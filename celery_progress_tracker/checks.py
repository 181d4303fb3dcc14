"""System checks for settings the package can verify (``celery_progress_tracker.E0xx``)."""

from __future__ import annotations

from typing import Any

from django.conf import settings as django_settings
from django.core import checks
from django.core.exceptions import ImproperlyConfigured
from django.utils.module_loading import import_string

from celery_progress_tracker.conf import DEFAULTS, PREFIX, THEMES
from celery_progress_tracker.middleware import ProgressOwnerMiddleware

#: Celery's default ``worker_lost_wait``: a lost child is reported this late.
WORKER_LOST_WAIT = 10.0

#: The middleware through which a request's user reaches the publish hook.
OWNER_MIDDLEWARE = "celery_progress_tracker.middleware.ProgressOwnerMiddleware"


def _value(name: str) -> Any:
    return getattr(django_settings, PREFIX + name, DEFAULTS[name])


def _positive_number(name: str, check_id: str) -> list[checks.CheckMessage]:
    value = _value(name)
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        return [
            checks.Error(
                f"{PREFIX}{name} must be a positive number of seconds, not {value!r}.",
                id=check_id,
            )
        ]
    return []


def check_settings(**kwargs: Any) -> list[checks.CheckMessage]:
    errors: list[checks.CheckMessage] = []
    errors += _positive_number("FLUSH_INTERVAL", "celery_progress_tracker.E001")
    errors += _positive_number("HEARTBEAT_INTERVAL", "celery_progress_tracker.E002")
    errors += _positive_number("STALE_AFTER", "celery_progress_tracker.E003")
    errors += _positive_number("SQLITE_BUSY_TIMEOUT", "celery_progress_tracker.E004")
    alias = _value("DATABASE_ALIAS")
    if alias not in django_settings.DATABASES:
        errors.append(
            checks.Error(
                f"{PREFIX}DATABASE_ALIAS {alias!r} is not a key of DATABASES.",
                id="celery_progress_tracker.E005",
            )
        )
    for name, check_id in (("PAGE_SIZE", "E006"), ("MAX_PAGE_SIZE", "E006")):
        value = _value(name)
        if isinstance(value, bool) or not isinstance(value, int) or value < 1:
            errors.append(
                checks.Error(
                    f"{PREFIX}{name} must be a positive integer, not {value!r}.",
                    id=f"celery_progress_tracker.{check_id}",
                )
            )
    permission = _value("PERMISSION")
    if permission is not None and not callable(permission):
        try:
            func = import_string(str(permission))
        except ImportError as exc:
            errors.append(
                checks.Error(
                    f"{PREFIX}PERMISSION {permission!r} cannot be imported: {exc}",
                    id="celery_progress_tracker.E007",
                )
            )
        else:
            if not callable(func):
                errors.append(
                    checks.Error(
                        f"{PREFIX}PERMISSION {permission!r} is not callable.",
                        id="celery_progress_tracker.E007",
                    )
                )
    for name, check_id in (("RETENTION_DAYS", "E008"), ("SYSTEM_RETENTION_DAYS", "E021")):
        retention = _value(name)
        if retention is not None and (
            isinstance(retention, bool) or not isinstance(retention, (int, float)) or retention <= 0
        ):
            errors.append(
                checks.Error(
                    f"{PREFIX}{name} must be a positive number of days or None, not {retention!r}.",
                    id=f"celery_progress_tracker.{check_id}",
                )
            )
    pending = _value("PENDING_TIMEOUT")
    if pending is not None and (
        isinstance(pending, bool) or not isinstance(pending, (int, float)) or pending <= 0
    ):
        errors.append(
            checks.Error(
                f"{PREFIX}PENDING_TIMEOUT must be a positive number of seconds or None,"
                f" not {pending!r}.",
                id="celery_progress_tracker.E009",
            )
        )
    verbatim = _value("VERBATIM_ERRORS")
    if not isinstance(verbatim, bool):
        errors.append(
            checks.Error(
                f"{PREFIX}VERBATIM_ERRORS must be True or False, not {verbatim!r}.",
                id="celery_progress_tracker.E020",
            )
        )
    theme = _value("THEME")
    if theme != "auto" and theme not in THEMES:
        errors.append(
            checks.Error(
                f"{PREFIX}THEME must be one of auto, {', '.join(THEMES)}, not {theme!r}.",
                id="celery_progress_tracker.E022",
            )
        )
    if not errors:
        errors += _check_timing()
    errors += _check_authentication()
    return errors


def _check_authentication() -> list[checks.CheckMessage]:
    from celery_progress_tracker.authentication import authenticators

    try:
        authenticators()
    except ImproperlyConfigured as exc:
        return [checks.Error(str(exc), id="celery_progress_tracker.E023")]
    return []


def _check_timing() -> list[checks.CheckMessage]:
    flush, heartbeat, stale = (
        float(_value(n)) for n in ("FLUSH_INTERVAL", "HEARTBEAT_INTERVAL", "STALE_AFTER")
    )
    warnings: list[checks.CheckMessage] = []
    if stale < 3 * heartbeat + WORKER_LOST_WAIT:
        warnings.append(
            checks.Warning(
                f"{PREFIX}STALE_AFTER ({stale:g} s) is shorter than three heartbeats plus"
                f" Celery's worker_lost_wait ({3 * heartbeat + WORKER_LOST_WAIT:g} s):"
                " live jobs may be reported as lost.",
                id="celery_progress_tracker.W001",
            )
        )
    if flush > heartbeat:
        warnings.append(
            checks.Warning(
                f"{PREFIX}FLUSH_INTERVAL ({flush:g} s) is longer than"
                f" {PREFIX}HEARTBEAT_INTERVAL ({heartbeat:g} s).",
                id="celery_progress_tracker.W002",
            )
        )
    return warnings


def _is_owner_middleware(path: Any) -> bool:
    if path == OWNER_MIDDLEWARE:
        return True
    try:
        middleware = import_string(str(path))
    except ImportError:
        return False  # Django itself reports a middleware it cannot import
    return isinstance(middleware, type) and issubclass(middleware, ProgressOwnerMiddleware)


def check_owner_middleware(**kwargs: Any) -> list[checks.CheckMessage]:
    """Warn when jobs started in requests can never get the request's user as owner.

    The request's user reaches the publish hook only through
    ``ProgressOwnerMiddleware`` (or a subclass): without it a job started in a
    view has no owner, unless each call passes ``progress_owner=``, which no
    check can see. Where it sits in ``MIDDLEWARE`` does not matter: the user is
    read when a task is published, inside the view.
    """
    middleware = getattr(django_settings, "MIDDLEWARE", None) or []
    if any(_is_owner_middleware(path) for path in middleware):
        return []
    return [
        checks.Warning(
            f"{OWNER_MIDDLEWARE} is not in MIDDLEWARE: jobs started in a request get no"
            " owner, so the user who started one cannot read it (the bar waits 10 s,"
            " then says the job does not exist, while it runs).",
            hint=f"Add {OWNER_MIDDLEWARE!r} to MIDDLEWARE, after"
            " 'django.contrib.auth.middleware.AuthenticationMiddleware'. If every"
            " job started in a view names its owner (progress_owner=), silence"
            " this check: SILENCED_SYSTEM_CHECKS = ['celery_progress_tracker.W010'].",
            id="celery_progress_tracker.W010",
        )
    ]


def register() -> None:
    checks.register(check_settings, "celery_progress_tracker")
    checks.register(check_owner_middleware, "celery_progress_tracker")

"""System checks: one test per id, and ``manage.py check`` runs them."""

from __future__ import annotations

from io import StringIO
from typing import Any

import pytest
from django.core.management import call_command
from django.core.management.base import SystemCheckError

from celery_progress_tracker.checks import OWNER_MIDDLEWARE, check_owner_middleware, check_settings
from celery_progress_tracker.conf import settings as conf
from celery_progress_tracker.middleware import ProgressOwnerMiddleware

pytestmark = pytest.mark.core


def ids() -> list[str]:
    return [message.id for message in check_settings()]  # type: ignore[misc]


@pytest.mark.parametrize(
    ("name", "value", "check_id"),
    [
        ("FLUSH_INTERVAL", 0, "celery_progress_tracker.E001"),
        ("FLUSH_INTERVAL", "fast", "celery_progress_tracker.E001"),
        ("HEARTBEAT_INTERVAL", -1, "celery_progress_tracker.E002"),
        ("STALE_AFTER", None, "celery_progress_tracker.E003"),
        ("SQLITE_BUSY_TIMEOUT", True, "celery_progress_tracker.E004"),
        ("DATABASE_ALIAS", "nope", "celery_progress_tracker.E005"),
        ("PAGE_SIZE", 0, "celery_progress_tracker.E006"),
        ("MAX_PAGE_SIZE", 2.5, "celery_progress_tracker.E006"),
        ("PERMISSION", "no.such.module.func", "celery_progress_tracker.E007"),
        ("PERMISSION", "celery_progress_tracker.conf.PREFIX", "celery_progress_tracker.E007"),
        ("RETENTION_DAYS", 0, "celery_progress_tracker.E008"),
        ("PENDING_TIMEOUT", -5, "celery_progress_tracker.E009"),
        ("PENDING_TIMEOUT", "1d", "celery_progress_tracker.E009"),
        ("VERBATIM_ERRORS", "yes", "celery_progress_tracker.E020"),
        ("SYSTEM_RETENTION_DAYS", -1, "celery_progress_tracker.E021"),
        ("SYSTEM_RETENTION_DAYS", "1d", "celery_progress_tracker.E021"),
        ("THEME", "bootstrap4", "celery_progress_tracker.E022"),
        ("AUTHENTICATION", ["no.such.module.func"], "celery_progress_tracker.E023"),
        ("AUTHENTICATION", ["celery_progress_tracker.conf.PREFIX"], "celery_progress_tracker.E023"),
        ("AUTHENTICATION", ["django.contrib.auth.models.User"], "celery_progress_tracker.E023"),
        ("STALE_AFTER", 20, "celery_progress_tracker.W001"),
        ("FLUSH_INTERVAL", 30, "celery_progress_tracker.W002"),
    ],
)
def test_each_check_id(settings: Any, name: str, value: Any, check_id: str) -> None:
    assert ids() == []  # the defaults pass
    setattr(settings, f"PROGRESS_TRACKER_{name}", value)
    assert check_id in ids()


def test_manage_py_check_runs_them(settings: Any) -> None:
    call_command("check", stdout=StringIO())
    settings.PROGRESS_TRACKER_FLUSH_INTERVAL = -1
    with pytest.raises(SystemCheckError, match=r"celery_progress_tracker\.E001"):
        call_command("check", stdout=StringIO())


def test_settings_are_read_at_use_time(settings: Any) -> None:
    assert conf.FLUSH_INTERVAL == 0.25
    settings.PROGRESS_TRACKER_FLUSH_INTERVAL = 1
    assert conf.FLUSH_INTERVAL == 1.0
    settings.PROGRESS_TRACKER_RETENTION_DAYS = None
    assert conf.RETENTION_DAYS is None


def test_permission_setting_is_imported_or_refused(settings: Any) -> None:
    from django.core.exceptions import ImproperlyConfigured

    settings.PROGRESS_TRACKER_PERMISSION = "tests.test_checks.allow_all"
    assert conf.PERMISSION is allow_all
    settings.PROGRESS_TRACKER_PERMISSION = "no.such.thing"
    with pytest.raises(ImproperlyConfigured, match="PERMISSION"):
        conf.PERMISSION  # noqa: B018


def allow_all(request: Any, job: Any) -> bool:
    return True


class SiteOwnerMiddleware(ProgressOwnerMiddleware):
    """A site's own subclass: the request's user still reaches the publish hook."""


def owner_ids() -> list[str]:
    return [message.id for message in check_owner_middleware()]  # type: ignore[misc]


def test_w010_jobs_started_in_requests_can_never_get_an_owner(settings: Any) -> None:
    assert owner_ids() == []  # the test project has the middleware
    without = [path for path in settings.MIDDLEWARE if path != OWNER_MIDDLEWARE]
    settings.MIDDLEWARE = without
    (warning,) = check_owner_middleware()
    assert warning.id == "celery_progress_tracker.W010"
    assert "the bar waits 10 s, then says the job does not exist" in warning.msg
    assert f"Add {OWNER_MIDDLEWARE!r} to MIDDLEWARE" in str(warning.hint)
    out = StringIO()
    call_command("check", stdout=out, stderr=out)
    assert "celery_progress_tracker.W010" in out.getvalue()

    settings.MIDDLEWARE = [*without, "tests.test_checks.SiteOwnerMiddleware"]
    assert owner_ids() == []
    # Where it sits does not matter: the user is read when a task is published.
    settings.MIDDLEWARE = [OWNER_MIDDLEWARE, *without]
    assert owner_ids() == []
    settings.MIDDLEWARE = [*without, "no.such.Middleware"]
    assert owner_ids() == ["celery_progress_tracker.W010"]
    settings.SILENCED_SYSTEM_CHECKS = ["celery_progress_tracker.W010"]
    out = StringIO()
    call_command("check", stdout=out, stderr=out)
    assert "W010" not in out.getvalue()

"""Closing jobs nobody will finish, and deleting old ones."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import timedelta

from django.db.models import Q
from django.utils import timezone

from celery_progress_tracker import lifecycle
from celery_progress_tracker.conf import settings
from celery_progress_tracker.models import (
    FINAL_STATUSES,
    SSEProgress,
    SSEProgressQuerySet,
    Status,
)

#: Statuses ``progress_purge`` may delete: the final ones, and ``pending``
#: (jobs whose message was lost). Running jobs are never purged.
PURGEABLE_STATUSES = (*FINAL_STATUSES, Status.PENDING)


def reap_stale() -> int:
    """Close the jobs nobody will finish (see :func:`lifecycle.reap`); return how many."""
    return lifecycle.reap()


def parse_age(text: str) -> timedelta:
    """``"7d"``, ``"12h"``, ``"30m"``, ``"45s"`` or ``"2w"`` as a ``timedelta``.

    Raises:
        ValueError: the text is not a positive number followed by a unit.
    """
    units = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
    text = text.strip().lower()
    if len(text) < 2 or text[-1] not in units:
        raise ValueError(f"age {text!r}: use a number followed by one of s, m, h, d, w (e.g. 7d)")
    try:
        amount = float(text[:-1])
    except ValueError:
        raise ValueError(f"age {text!r}: {text[:-1]!r} is not a number") from None
    if not amount > 0:
        raise ValueError(f"age {text!r} must be positive")
    return timedelta(**{units[text[-1]]: amount})


def _checked(statuses: Iterable[str]) -> list[str]:
    statuses = list(statuses)
    for status in statuses:
        if status not in PURGEABLE_STATUSES:
            allowed = ", ".join(PURGEABLE_STATUSES)
            raise ValueError(f"status {status!r} cannot be purged (allowed: {allowed})")
    return statuses


def _ended_before(older_than: timedelta) -> Q:
    cutoff = timezone.now() - older_than
    return Q(completed_at__lt=cutoff) | Q(completed_at__isnull=True, updated_at__lt=cutoff)


def purgeable(
    older_than: timedelta, statuses: Iterable[str] = FINAL_STATUSES
) -> SSEProgressQuerySet:
    """Rows in ``statuses`` that ended (or, pending, were last touched) ``older_than`` ago.

    Raises:
        ValueError: a status is unknown or running (running jobs are never purged).
    """
    return SSEProgress.objects.filter(_ended_before(older_than), status__in=_checked(statuses))


def retention_ages() -> tuple[timedelta | None, timedelta | None]:
    """How long rows are kept: ``(with an owner, without one)``; ``None``: for ever."""
    days, system_days = settings.RETENTION_DAYS, settings.SYSTEM_RETENTION_DAYS
    return (
        None if days is None else timedelta(days=days),
        None if system_days is None else timedelta(days=system_days),
    )


def expired(statuses: Iterable[str] = FINAL_STATUSES) -> SSEProgressQuerySet:
    """Rows in ``statuses`` past their retention.

    Jobs with an owner are kept ``RETENTION_DAYS``; jobs without one (system
    jobs: beat, commands, scripts) ``SYSTEM_RETENTION_DAYS``.

    Raises:
        ValueError: a status is unknown or running (running jobs are never purged).
    """
    owned, ownerless = retention_ages()
    rule = Q(pk__in=[])
    if owned is not None:
        rule |= Q(user__isnull=False) & _ended_before(owned)
    if ownerless is not None:
        rule |= Q(user__isnull=True) & _ended_before(ownerless)
    return SSEProgress.objects.filter(rule, status__in=_checked(statuses))


def purge(older_than: timedelta | None = None, statuses: Iterable[str] = FINAL_STATUSES) -> int:
    """Delete finished rows older than ``older_than`` (default: past their retention).

    Without ``older_than``, jobs with an owner go after ``RETENTION_DAYS`` and
    jobs without one after ``SYSTEM_RETENTION_DAYS`` (see :func:`expired`).
    Returns the number of rows deleted.
    """
    rows = expired(statuses) if older_than is None else purgeable(older_than, statuses)
    deleted, _ = rows.delete()
    return deleted

"""The ``SSEProgress`` row: one per job, keyed by the Celery task id.

What a row holds is defined here; how its status changes is
:mod:`celery_progress_tracker.lifecycle` (the manual API below calls it).
"""

from __future__ import annotations

import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings as django_settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from celery_progress_tracker.conf import settings
from celery_progress_tracker.validation import (
    ERROR_LENGTH,
    JOB_ID_LENGTH,
    MESSAGE_LENGTH,
    TASK_TYPE_LENGTH,
    check_count,
    check_metadata,
    clean_error,
    clean_message,
    clean_task_type,
)

if TYPE_CHECKING:
    # The installed django-stubs type ``TextChoices`` members as tuples; these
    # twins tell type checkers what they are at run time: ``str`` enum members.
    class Status(models.TextChoices):
        PENDING = "pending"
        IN_PROGRESS = "in_progress"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLED = "cancelled"

    class EndReason(models.TextChoices):
        NONE = ""
        SUCCEEDED = "succeeded"
        ERROR = "error"
        TIME_LIMIT = "time_limit"
        WORKER_LOST = "worker_lost"
        CANCELLED = "cancelled"
        REVOKED = "revoked"
        EXPIRED = "expired"
        NEVER_STARTED = "never_started"

    class Kind(models.TextChoices):
        TASK = ""
        GROUP = "group"
        CHORD = "chord"
        CHAIN = "chain"

else:

    class Status(models.TextChoices):
        """The statuses of a job; the last three are final."""

        PENDING = "pending", _("pending")
        IN_PROGRESS = "in_progress", _("in progress")
        COMPLETED = "completed", _("completed")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")

    class EndReason(models.TextChoices):
        """Why a job ended (empty while it is active)."""

        NONE = "", _("not ended")
        SUCCEEDED = "succeeded", _("succeeded")
        ERROR = "error", _("error")
        TIME_LIMIT = "time_limit", _("time limit")
        WORKER_LOST = "worker_lost", _("worker lost")
        CANCELLED = "cancelled", _("cancelled by a user")
        REVOKED = "revoked", _("revoked")
        EXPIRED = "expired", _("expired")
        NEVER_STARTED = "never_started", _("never started")

    class Kind(models.TextChoices):
        """What a row stands for: one task, or the roll-up of a canvas."""

        TASK = "", _("task")
        GROUP = "group", _("group")
        CHORD = "chord", _("chord")
        CHAIN = "chain", _("chain")


ACTIVE_STATUSES = (Status.PENDING, Status.IN_PROGRESS)
FINAL_STATUSES = (Status.COMPLETED, Status.FAILED, Status.CANCELLED)


class SSEProgressQuerySet(models.QuerySet["SSEProgress"]):
    """Queries the API, the reaper and the purge make."""

    def for_user(self, user: Any) -> SSEProgressQuerySet:
        """Jobs owned by ``user`` (a user object or a primary key)."""
        return self.filter(user_id=getattr(user, "pk", user))

    def active(self) -> SSEProgressQuerySet:
        """Jobs that are pending or running."""
        return self.filter(status__in=ACTIVE_STATUSES)

    def finished(self) -> SSEProgressQuerySet:
        """Jobs in a final status."""
        return self.filter(status__in=FINAL_STATUSES)

    def stale(self, now: datetime | None = None) -> SSEProgressQuerySet:
        """Running jobs whose worker stopped sending heartbeats."""
        return self.filter(stale_condition(now))

    def never_started(self, now: datetime | None = None) -> SSEProgressQuerySet:
        """Pending jobs due more than ``PENDING_TIMEOUT`` ago: their message was lost."""
        timeout = settings.PENDING_TIMEOUT
        if timeout is None:
            return self.none()
        now = now or timezone.now()
        return self.filter(
            status=Status.PENDING,
            has_heartbeat=True,
            due_at__lt=now - timedelta(seconds=timeout),
        )


class SSEProgressManager(models.Manager.from_queryset(SSEProgressQuerySet)):  # type: ignore[misc]
    """The default manager: every query goes to ``PROGRESS_TRACKER_DATABASE_ALIAS``.

    The alias is applied here, once, so the API, the admin, the manual API and
    the management commands all honour it. ``db_manager()``/``using()`` still
    choose another database explicitly.
    """

    def get_queryset(self) -> SSEProgressQuerySet:
        jobs: SSEProgressQuerySet = super().get_queryset()
        return jobs if self._db else jobs.using(settings.DATABASE_ALIAS)


def stored_time(value: datetime) -> datetime:
    """An aware ``value`` as the rows hold it: naive local time when ``USE_TZ`` is off."""
    if django_settings.USE_TZ:
        return value
    return timezone.make_naive(value, timezone.get_default_timezone())


def aware_time(value: datetime) -> datetime:
    """A time read from a row, made aware (rows hold naive local time when ``USE_TZ`` is off)."""
    if value.tzinfo is not None:
        return value
    return timezone.make_aware(value, timezone.get_default_timezone())


def stale_condition(now: datetime | None = None) -> Q:
    """A row's own condition for being stale (no subquery: usable in a filter or an exclude)."""
    now = now or timezone.now()
    return Q(
        status=Status.IN_PROGRESS,
        has_heartbeat=True,
        updated_at__lt=now - timedelta(seconds=settings.STALE_AFTER),
    )


def is_stale(status: str, has_heartbeat: bool, updated_at: datetime, now: datetime | None) -> bool:
    """Whether a row of these columns runs with no heartbeat for longer than ``STALE_AFTER``."""
    if status != Status.IN_PROGRESS or not has_heartbeat:
        return False
    now = now or timezone.now()
    return (now - updated_at).total_seconds() > settings.STALE_AFTER


class SSEProgress(models.Model):
    """The progress of one job (the name is kept from the original system).

    Rows of ``ProgressTask`` jobs are created and finalised by Celery signals;
    code that does not use ``ProgressTask`` drives its row with the manual API
    (``mark_as_started``, ``update_progress``, ``mark_as_completed``,
    ``mark_as_failed``).
    """

    Status: ClassVar[type[Status]] = Status
    EndReason: ClassVar[type[EndReason]] = EndReason
    Kind: ClassVar[type[Kind]] = Kind

    job_id = models.CharField(_("job id"), max_length=JOB_ID_LENGTH, unique=True)
    user = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
    )
    task_type = models.CharField(
        _("task type"), max_length=TASK_TYPE_LENGTH, blank=True, default=""
    )
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    end_reason = models.CharField(
        _("end reason"), max_length=20, choices=EndReason.choices, blank=True, default=""
    )
    total_items = models.PositiveIntegerField(_("total items"), default=0)
    processed_items = models.PositiveIntegerField(_("processed items"), default=0)
    failed_items = models.PositiveIntegerField(_("failed items"), default=0)
    current_message = models.CharField(
        _("current message"), max_length=MESSAGE_LENGTH, blank=True, default=""
    )
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    error = models.CharField(_("error"), max_length=ERROR_LENGTH, blank=True, default="")
    retries = models.PositiveIntegerField(
        _("retries"), default=0, help_text=_("Celery retry count of the current attempt.")
    )
    has_heartbeat = models.BooleanField(
        _("has heartbeat"),
        default=False,
        help_text=_("A worker refreshes updated_at while the job runs (ProgressTask jobs)."),
    )
    run_token = models.CharField(
        _("run token"),
        max_length=32,
        blank=True,
        default="",
        help_text=_("Names the publish whose execution may write this row."),
    )
    root_id = models.CharField(_("root id"), max_length=JOB_ID_LENGTH, blank=True, default="")
    parent_id = models.CharField(_("parent id"), max_length=JOB_ID_LENGTH, blank=True, default="")
    group_id = models.CharField(_("group id"), max_length=JOB_ID_LENGTH, blank=True, default="")
    cancel_requested_at = models.DateTimeField(_("cancel requested at"), null=True, blank=True)
    due_at = models.DateTimeField(
        _("due at"),
        null=True,
        blank=True,
        help_text=_("When a pending job was due to start (publish time, ETA or retry)."),
    )
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)
    public_error = models.CharField(
        _("public error"),
        max_length=ERROR_LENGTH,
        blank=True,
        default="",
        help_text=_(
            "What the job's user is shown of its failure (a JobError's message);"
            " empty: a generic sentence."
        ),
    )
    # Canvases (docs/canvases.md): a roll-up row reads as the sum of the rows
    # whose ``rollup_id`` is its ``job_id``.
    kind = models.CharField(
        _("kind"), max_length=10, choices=Kind.choices, blank=True, default=Kind.TASK
    )
    rollup_id = models.CharField(
        _("roll-up id"),
        max_length=JOB_ID_LENGTH,
        blank=True,
        default="",
        help_text=_("The roll-up job (group, chord or chain) this job is counted in."),
    )

    objects: ClassVar[SSEProgressManager] = SSEProgressManager()

    class Meta:
        verbose_name = _("job progress")
        verbose_name_plural = _("job progress")
        indexes = [
            models.Index(fields=["user", "-created_at"], name="cpt_user_created_idx"),
            models.Index(
                fields=["user", "-created_at"],
                name="cpt_user_active_idx",
                condition=Q(status__in=["pending", "in_progress"]),
            ),
            models.Index(
                fields=["updated_at"],
                name="cpt_running_heartbeat_idx",
                condition=Q(status="in_progress", has_heartbeat=True),
            ),
            models.Index(
                fields=["due_at"],
                name="cpt_pending_due_idx",
                condition=Q(status="pending", has_heartbeat=True),
            ),
            models.Index(fields=["completed_at"], name="cpt_completed_idx"),
            models.Index(fields=["group_id"], name="cpt_group_idx", condition=~Q(group_id="")),
            models.Index(fields=["root_id"], name="cpt_root_idx", condition=~Q(root_id="")),
            models.Index(fields=["rollup_id"], name="cpt_rollup_idx", condition=~Q(rollup_id="")),
        ]

    def __str__(self) -> str:
        return f"{self.task_type or 'job'} {self.job_id} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        """Save with every text made storable and every count checked.

        A new row goes to ``PROGRESS_TRACKER_DATABASE_ALIAS``; a loaded one back
        to the database it came from.
        """
        self.task_type = clean_task_type(self.task_type)
        self.current_message = clean_message(self.current_message, "current_message")
        self.error = clean_error(self.error)
        self.public_error = clean_error(self.public_error)
        self.metadata = check_metadata(self.metadata)
        for name in ("total_items", "processed_items", "failed_items"):
            check_count(name, getattr(self, name))
        self.updated_at = timezone.now()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "updated_at"}
        if not kwargs.get("using"):
            kwargs["using"] = self._state.db or settings.DATABASE_ALIAS
        super().save(*args, **kwargs)

    # -- numbers ---------------------------------------------------------------

    @property
    def progress_percentage(self) -> int:
        """``floor(100 * (processed + failed) / total)``, capped at 99 until completed."""
        if self.status == Status.COMPLETED:
            return 100
        if not self.total_items:
            return 0
        done = self.processed_items + self.failed_items
        return min(99, math.floor(100 * done / self.total_items))

    @property
    def duration(self) -> float | None:
        """Seconds from start to completion (or to now while running); ``None`` before start."""
        if self.started_at is None:
            return None
        end = self.completed_at or timezone.now()
        return max(0.0, (end - self.started_at).total_seconds())

    @property
    def is_active(self) -> bool:
        return self.status in ACTIVE_STATUSES

    @property
    def is_final(self) -> bool:
        return self.status in FINAL_STATUSES

    def is_stale(self, now: datetime | None = None) -> bool:
        """Whether the row runs with no heartbeat for longer than ``STALE_AFTER``."""
        return is_stale(self.status, self.has_heartbeat, self.updated_at, now)

    # -- the manual API (the seed's), each a lifecycle transition -----------------

    def mark_as_started(self) -> None:
        """Move a pending job to ``in_progress`` and stamp ``started_at``.

        Raises:
            InvalidTransition: the job is already finished.
        """
        from celery_progress_tracker import lifecycle

        lifecycle.mark_started(self)

    def update_progress(
        self, processed: int = 0, failed: int = 0, message: str | None = None
    ) -> None:
        """Add ``processed`` and ``failed`` items, atomically, and set the message.

        Several processes may report into one row: the counts are incremented
        in the database (one ``UPDATE`` with ``F()`` expressions), so nothing is
        lost. The instance's own counts are advanced locally; call
        ``refresh_from_db()`` to read what the other writers added.

        Raises:
            TypeError, ValueError: a count is not a non-negative int, or the
                message is not a str.
            InvalidTransition: the job is already finished.
        """
        from celery_progress_tracker import lifecycle

        lifecycle.add_progress(self, processed, failed, message)

    def mark_as_completed(self, message: str | None = None) -> None:
        """Move an active job to ``completed`` and stamp ``completed_at``."""
        from celery_progress_tracker import lifecycle

        lifecycle.mark_completed(self, message)

    def mark_as_failed(self, error: object = "") -> None:
        """Move an active job to ``failed``, keeping its counts.

        Args:
            error: a text or an exception; an exception is stored as
                ``"ClassName: message"``.
        """
        from celery_progress_tracker import lifecycle

        lifecycle.mark_failed(self, error)

    def mark_as_cancelled(self, message: str | None = None) -> None:
        """Move an active job to ``cancelled``."""
        from celery_progress_tracker import lifecycle

        lifecycle.mark_cancelled(self, message)

    def request_cancel(self) -> str:
        """Ask the job to stop, and return its status afterwards.

        A pending job is ``cancelled`` at once and its task revoked, so a worker
        skips it (and, should the revoke be missed, the task sees the status at
        start and does not run). A running job is flagged: the worker sees the
        flag within one flush interval, ``self.is_cancelled`` turns true and the
        next ``self.progress()`` raises :class:`~celery_progress_tracker.TaskCancelled`;
        the job ends ``cancelled``. The flag lives in the row, so it works on
        every pool and survives a worker restart.

        Raises:
            InvalidTransition: the job is already finished.
        """
        from celery_progress_tracker import lifecycle

        return lifecycle.request_cancel(self)

    def set_total(self, total: int) -> None:
        """Set ``total_items`` (``0`` means unknown)."""
        from celery_progress_tracker import lifecycle

        lifecycle.set_total(self, total)


class SystemJobManager(SSEProgressManager):
    """Only the jobs without an owner (beat schedules, scripts, other systems)."""

    def get_queryset(self) -> SSEProgressQuerySet:
        return super().get_queryset().filter(user__isnull=True)


class SystemJob(SSEProgress):
    """A job without an owner, listed on its own in the admin."""

    objects: ClassVar[SystemJobManager] = SystemJobManager()

    class Meta:
        proxy = True
        verbose_name = _("system job")
        verbose_name_plural = _("system jobs")

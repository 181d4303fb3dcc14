"""The ``SSEProgress`` row: one per job, keyed by the Celery task id."""

from __future__ import annotations

import logging
import math
from datetime import datetime, timedelta
from typing import TYPE_CHECKING, Any, ClassVar

from django.conf import settings as django_settings
from django.db import models
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from celery_progress_tracker.conf import settings
from celery_progress_tracker.exceptions import InvalidTransition
from celery_progress_tracker.validation import check_count, check_metadata, clean_text

logger = logging.getLogger(__name__)

#: Prefix of ``error`` on rows closed because their worker was lost; such a row
#: is reopened if its own task later starts again or succeeds.
WORKER_LOST = "WorkerLost"


if TYPE_CHECKING:
    # The installed django-stubs type ``TextChoices`` members as tuples; this
    # twin tells type checkers what they are at run time: ``str`` enum members.
    class Status(models.TextChoices):
        PENDING = "pending"
        IN_PROGRESS = "in_progress"
        COMPLETED = "completed"
        FAILED = "failed"
        CANCELLED = "cancelled"

else:

    class Status(models.TextChoices):
        """The statuses of a job; the last three are final."""

        PENDING = "pending", _("pending")
        IN_PROGRESS = "in_progress", _("in progress")
        COMPLETED = "completed", _("completed")
        FAILED = "failed", _("failed")
        CANCELLED = "cancelled", _("cancelled")


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
        now = now or timezone.now()
        return self.filter(
            status=Status.IN_PROGRESS,
            has_heartbeat=True,
            updated_at__lt=now - timedelta(seconds=settings.STALE_AFTER),
        )


class SSEProgress(models.Model):
    """The progress of one job (the name is kept from the original system).

    Rows of ``ProgressTask`` jobs are created and finalised by Celery signals;
    code that does not use ``ProgressTask`` drives its row with the manual API
    (``mark_as_started``, ``update_progress``, ``mark_as_completed``,
    ``mark_as_failed``).
    """

    Status: ClassVar[type[Status]] = Status

    job_id = models.CharField(_("job id"), max_length=255, unique=True)
    user = models.ForeignKey(
        django_settings.AUTH_USER_MODEL,
        verbose_name=_("user"),
        on_delete=models.CASCADE,
        null=True,
        blank=True,
    )
    task_type = models.CharField(_("task type"), max_length=100, blank=True, default="")
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.PENDING
    )
    total_items = models.PositiveIntegerField(_("total items"), default=0)
    processed_items = models.PositiveIntegerField(_("processed items"), default=0)
    failed_items = models.PositiveIntegerField(_("failed items"), default=0)
    current_message = models.CharField(
        _("current message"), max_length=1000, blank=True, default=""
    )
    metadata = models.JSONField(_("metadata"), default=dict, blank=True)
    error = models.CharField(_("error"), max_length=1000, blank=True, default="")
    retries = models.PositiveIntegerField(
        _("retries"), default=0, help_text=_("Celery retry count of the current attempt.")
    )
    has_heartbeat = models.BooleanField(
        _("has heartbeat"),
        default=False,
        help_text=_("A worker refreshes updated_at while the job runs (ProgressTask jobs)."),
    )
    cancel_requested_at = models.DateTimeField(_("cancel requested at"), null=True, blank=True)
    created_at = models.DateTimeField(_("created at"), default=timezone.now)
    updated_at = models.DateTimeField(_("updated at"), default=timezone.now)
    started_at = models.DateTimeField(_("started at"), null=True, blank=True)
    completed_at = models.DateTimeField(_("completed at"), null=True, blank=True)

    objects: ClassVar[SSEProgressQuerySet] = SSEProgressQuerySet.as_manager()  # type: ignore[assignment]

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
            models.Index(fields=["completed_at"], name="cpt_completed_idx"),
        ]

    def __str__(self) -> str:
        return f"{self.task_type or 'job'} {self.job_id} ({self.status})"

    def save(self, *args: Any, **kwargs: Any) -> None:
        self.task_type = clean_text("task_type", self.task_type, 100)
        self.current_message = clean_text("current_message", self.current_message, 1000)
        self.error = clean_text("error", self.error, 1000)
        check_metadata(self.metadata)
        for name in ("total_items", "processed_items", "failed_items"):
            check_count(name, getattr(self, name))
        self.updated_at = timezone.now()
        update_fields = kwargs.get("update_fields")
        if update_fields is not None:
            kwargs["update_fields"] = {*update_fields, "updated_at"}
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
        if self.status != Status.IN_PROGRESS or not self.has_heartbeat:
            return False
        now = now or timezone.now()
        return (now - self.updated_at).total_seconds() > settings.STALE_AFTER

    # -- the manual API --------------------------------------------------------

    def _queryset(self) -> SSEProgressQuerySet:
        return (
            type(self).objects.using(self._state.db or settings.DATABASE_ALIAS).filter(pk=self.pk)
        )

    def _transition(self, to: str, allowed_from: tuple[str, ...], **fields: Any) -> None:
        now = timezone.now()
        fields = {"status": to, "updated_at": now, **fields}
        changed = self._queryset().filter(status__in=allowed_from).update(**fields)
        if not changed:
            current = self._queryset().values_list("status", flat=True).first()
            if current is None:
                raise SSEProgress.DoesNotExist(f"job {self.job_id!r} no longer exists")
            raise InvalidTransition(f"job {self.job_id!r} is {current}: it cannot become {to}")
        for name, value in fields.items():
            setattr(self, name, value)

    def mark_as_started(self) -> None:
        """Move a pending job to ``in_progress`` and stamp ``started_at``."""
        self._transition(Status.IN_PROGRESS, ACTIVE_STATUSES, started_at=timezone.now())

    def update_progress(
        self, processed: int = 0, failed: int = 0, message: str | None = None
    ) -> None:
        """Add ``processed`` and ``failed`` items, atomically, and set the message.

        Several processes may report into one row: the counts are incremented
        in the database (one ``UPDATE`` with ``F()`` expressions), so nothing is
        lost. The instance's own counts are advanced locally; call
        ``refresh_from_db()`` to read what the other writers added.
        """
        processed = check_count("processed", processed)
        failed = check_count("failed", failed)
        fields: dict[str, Any] = {
            "processed_items": F("processed_items") + processed,
            "failed_items": F("failed_items") + failed,
            "updated_at": timezone.now(),
        }
        if message is not None:
            fields["current_message"] = clean_text("message", message, 1000)
        if not self._queryset().filter(status__in=ACTIVE_STATUSES).update(**fields):
            current = self._queryset().values_list("status", flat=True).first()
            if current is None:
                raise SSEProgress.DoesNotExist(f"job {self.job_id!r} no longer exists")
            raise InvalidTransition(f"job {self.job_id!r} is {current}: it takes no more progress")
        self.processed_items += processed
        self.failed_items += failed
        if message is not None:
            self.current_message = fields["current_message"]
        self.updated_at = fields["updated_at"]

    def mark_as_completed(self, message: str | None = None) -> None:
        """Move an active job to ``completed`` and stamp ``completed_at``."""
        fields: dict[str, Any] = {"completed_at": timezone.now()}
        if message is not None:
            fields["current_message"] = clean_text("message", message, 1000)
        self._transition(Status.COMPLETED, ACTIVE_STATUSES, **fields)

    def mark_as_failed(self, error: object = "") -> None:
        """Move an active job to ``failed``, keeping its counts.

        Args:
            error: a text or an exception; an exception is stored as
                ``"ClassName: message"``.
        """
        if isinstance(error, BaseException):
            error = format_exception(error)
        self._transition(
            Status.FAILED,
            ACTIVE_STATUSES,
            completed_at=timezone.now(),
            error=clean_text("error", error, 1000),
        )

    def mark_as_cancelled(self, message: str | None = None) -> None:
        """Move an active job to ``cancelled``."""
        fields: dict[str, Any] = {"completed_at": timezone.now()}
        if message is not None:
            fields["current_message"] = clean_text("message", message, 1000)
        self._transition(Status.CANCELLED, ACTIVE_STATUSES, **fields)

    def request_cancel(self) -> str:
        """Ask the job to stop, and return its status afterwards.

        A pending job is ``cancelled`` at once and its task revoked, so a worker
        skips it (and, should the revoke be missed, the task sees the status at
        start and does not run). A running job is flagged: its next
        ``self.progress()`` raises :class:`~celery_progress_tracker.TaskCancelled`
        and the job ends ``cancelled``. The flag lives in the row, so it works on
        every pool and survives a worker restart.

        Raises:
            InvalidTransition: the job is already finished.
        """
        now = timezone.now()
        rows = self._queryset()
        if rows.filter(status=Status.PENDING).update(
            status=Status.CANCELLED,
            cancel_requested_at=now,
            completed_at=now,
            updated_at=now,
            current_message=clean_text("message", str(_("Cancelled")), 1000),
        ):
            self.refresh_from_db()
            _revoke(self.job_id)
            return Status.CANCELLED
        if rows.filter(status=Status.IN_PROGRESS, cancel_requested_at__isnull=True).update(
            cancel_requested_at=now
        ):
            self.refresh_from_db()
            return Status.IN_PROGRESS
        self.refresh_from_db()
        if self.is_active:  # already flagged
            return self.status
        raise InvalidTransition(f"job {self.job_id!r} is {self.status}: it cannot be cancelled")

    def set_total(self, total: int) -> None:
        """Set ``total_items`` (``0`` means unknown)."""
        total = check_count("total", total)
        self._queryset().update(total_items=total, updated_at=timezone.now())
        self.total_items = total


def _revoke(task_id: str) -> None:
    # Best effort: the row's status already stops the task at start.
    try:
        from celery import current_app

        current_app.control.revoke(task_id)
    except Exception:
        logger.warning("could not revoke task %s", task_id, exc_info=True)


def format_exception(exc: BaseException) -> str:
    """``"ClassName: message"``, cut to the ``error`` column."""
    text = f"{type(exc).__name__}: {exc}" if str(exc) else type(exc).__name__
    return clean_text("error", text, 1000)

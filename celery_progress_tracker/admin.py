"""The admin: find jobs, follow them live, cancel running ones, delete finished ones.

Jobs are read-only here: a status changes only through
:mod:`~celery_progress_tracker.lifecycle` (the two actions call it). The bars
are drawn by the package's own ``progress_polling.js``, polling a JSON view of
the admin (same shape as the API, any job the admin user may view), so staff
follow every user's jobs without ``STAFF_SEES_ALL``. Jobs without an owner
(beat schedules, scripts) are listed on their own, as "system jobs".

The model's default manager applies ``PROGRESS_TRACKER_DATABASE_ALIAS``, so the
admin reads and writes the jobs where the rest of the package does.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.urls import URLPattern, path, reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.http import urlencode
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext

from celery_progress_tracker import lifecycle, rollups
from celery_progress_tracker.models import (
    ACTIVE_STATUSES,
    EndReason,
    SSEProgress,
    SystemJob,
)
from celery_progress_tracker.params import BadParameter, is_valid_job_id, parse_list_params
from celery_progress_tracker.responses import json_error, json_response, not_found
from celery_progress_tracker.serializers import job_to_dict

SCRIPT = "celery_progress_tracker/progress_polling.js"
#: The admin's JSON view, polled by the bars of every job admin.
API_URL_NAME = "celery_progress_tracker_sseprogress_progress_api"


class OwnerFilter(admin.SimpleListFilter):
    """Jobs of users, or system jobs (no owner)."""

    title = _("owner")
    parameter_name = "owner"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("user", _("a user")), ("system", _("none (system job)"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "user":
            return queryset.filter(user__isnull=False)
        if self.value() == "system":
            return queryset.filter(user__isnull=True)
        return queryset


class JobAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    """What both job lists share: columns, filters, actions and the read-only page."""

    list_display = (
        "job_id",
        "task_type",
        "status",
        "progress",
        "end_reason",
        "user",
        "processed_items",
        "failed_items",
        "total_items",
        "created_at",
        "completed_at",
    )
    list_filter = ("status", "end_reason", "kind", "task_type", OwnerFilter)
    search_fields = ("job_id", "task_type")
    list_select_related = ("user",)
    date_hierarchy = "created_at"
    actions = ("cancel_jobs", "delete_finished_jobs")
    fields = (
        "progress_bar",
        "job_id",
        "task_type",
        "user",
        "status",
        "end_reason",
        "error",
        "public_error",
        "current_message",
        ("total_items", "processed_items", "failed_items"),
        "metadata",
        ("kind", "related_jobs"),
        ("created_at", "started_at", "completed_at", "updated_at"),
        ("retries", "has_heartbeat", "cancel_requested_at", "due_at"),
    )
    readonly_fields = ("progress_bar", "related_jobs")

    class Media:
        js = (SCRIPT,)

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        # The user's USERNAME_FIELD, so custom user models work too.
        username = get_user_model().USERNAME_FIELD
        return (*self.search_fields, f"user__{username}")

    # -- read-only: statuses change through the lifecycle only ------------------------

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        # A running job is cancelled, not deleted.
        allowed = super().has_delete_permission(request, obj)
        return allowed and (obj is None or not obj.is_active)

    def has_cancel_permission(self, request: HttpRequest) -> bool:
        opts = self.opts
        return request.user.has_perm(f"{opts.app_label}.change_{opts.model_name}")

    def get_actions(self, request: HttpRequest, action_location: Any = None) -> dict[str, Any]:
        # Django 6.1 passes where the actions show (``action_location``); 5.2 does not.
        if action_location is None:
            actions = super().get_actions(request)
        else:
            actions = super().get_actions(request, action_location)  # type: ignore[call-arg]
        actions.pop("delete_selected", None)  # it would delete running jobs too
        return actions

    # -- columns -------------------------------------------------------------------------

    def _api_base(self) -> str:
        return reverse(f"{self.admin_site.name}:{API_URL_NAME}")

    def _bar(self, job: SSEProgress, fallback: str = "", **options: str) -> str:
        """An element the script draws the job's bar in (``fallback`` until it does)."""
        attributes = {"job-id": job.job_id, "api-base": self._api_base(), **options}
        return format_html(
            "<div class='progress-polling-container'{}>{}</div>",
            format_html_join("", " data-progress-{}='{}'", attributes.items()),
            fallback,
        )

    @admin.display(description=_("progress"))
    def progress(self, job: SSEProgress) -> str:
        """The percentage; a live bar (percentage and status) while the job is active."""
        data = job_to_dict(job, timezone.now())
        text = format_html(
            "<span class='cpt-percent' data-status='{}'>{}%</span>",
            data["status"],
            data["progress_percentage"],
        )
        if not job.is_active:
            return text
        return self._bar(job, text, **{"show-details": "false", "show-stats": "false"})

    @admin.display(description=_("progress"))
    def progress_bar(self, job: SSEProgress) -> str:
        return self._bar(job, **{"show-details": "true", "show-stats": "true"})

    @admin.display(description=_("related jobs"))
    def related_jobs(self, job: SSEProgress) -> str:
        """Links to the jobs of the same canvas: its roll-up or members, parent, group, workflow."""
        changelist = reverse(
            f"{self.admin_site.name}:celery_progress_tracker_sseprogress_changelist"
        )
        links = []
        if job.kind:  # a roll-up row: the jobs it counts
            members = f"{changelist}?{urlencode({'rollup_id': job.job_id})}"
            links.append((members, _("its member jobs")))
        for other_id, label in (
            (job.rollup_id if job.rollup_id != job.job_id else "", _("its canvas")),
            (job.parent_id, _("parent job")),
        ):
            if not other_id:
                continue
            pk = SSEProgress.objects.filter(job_id=other_id).values_list("pk", flat=True)
            if pk:
                url = reverse(
                    f"{self.admin_site.name}:celery_progress_tracker_sseprogress_change",
                    args=[pk[0]],
                )
                links.append((url, label))
        if job.group_id:
            links.append(
                (f"{changelist}?{urlencode({'group_id': job.group_id})}", _("jobs of its group"))
            )
        workflow = f"{changelist}?{urlencode({'root_id': job.root_id})}"
        if job.root_id and job.root_id != job.job_id:
            links.append((workflow, _("jobs of its workflow")))
        elif job.root_id and SSEProgress.objects.filter(root_id=job.job_id).count() > 1:
            links.append((workflow, _("jobs it started")))
        if not links:
            return "-"
        return format_html_join(" · ", "<a href='{}'>{}</a>", links)

    # -- actions ---------------------------------------------------------------------------

    def _report(self, request: HttpRequest, count: int, done: str, left: str | None) -> None:
        """``done`` (what the action did to ``count`` jobs), then ``left`` (what it left)."""
        level = messages.SUCCESS if count else messages.WARNING
        self.message_user(request, f"{done} {left}" if left else done, level)

    @admin.action(description=_("Cancel the selected running jobs"), permissions=["cancel"])
    def cancel_jobs(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        """Ask each active job to stop (a pending one ends at once), as the API's cancel does.

        A canvas's roll-up (a group, a chord, a chain) cancels its unfinished members.
        """
        asked = 0
        for job in queryset.filter(status__in=ACTIVE_STATUSES):
            if rollups.is_rollup(job):
                asked += lifecycle.cancel_rollup(job, rollups.member_ids(job.job_id))
            else:
                asked += lifecycle.request_stop(job.job_id, EndReason.CANCELLED) is not None
        ended = queryset.count() - asked
        self._report(
            request,
            asked,
            ngettext(
                "Cancel requested for %(count)d job.", "Cancel requested for %(count)d jobs.", asked
            )
            % {"count": asked},
            ngettext("%(count)d had already ended.", "%(count)d had already ended.", ended)
            % {"count": ended}
            if ended
            else None,
        )

    @admin.action(description=_("Delete the selected finished jobs"), permissions=["delete"])
    def delete_finished_jobs(self, request: HttpRequest, queryset: QuerySet[Any]) -> None:
        """Delete the finished jobs (and lost ones), as the API's delete does; keep the rest."""
        jobs = list(queryset)
        deleted = sum(1 for job in jobs if lifecycle.delete_finished(job))
        kept = len(jobs) - deleted
        self._report(
            request,
            deleted,
            ngettext("Deleted %(count)d finished job.", "Deleted %(count)d finished jobs.", deleted)
            % {"count": deleted},
            ngettext(
                "%(count)d still running was kept.", "%(count)d still running were kept.", kept
            )
            % {"count": kept}
            if kept
            else None,
        )


@admin.register(SSEProgress)
class SSEProgressAdmin(JobAdmin):
    """Every job; the JSON view the bars of both lists poll."""

    def get_urls(self) -> list[URLPattern]:
        api = [
            path(
                "progress-api/",
                self.admin_site.admin_view(self.api_list),
                name=API_URL_NAME,
            ),
            path(
                "progress-api/<str:job_id>/",
                self.admin_site.admin_view(self.api_detail),
                name=f"{API_URL_NAME}_detail",
            ),
        ]
        return api + super().get_urls()

    def _may_view(self, request: HttpRequest) -> bool:
        system = self.admin_site._registry.get(SystemJob)
        return self.has_view_permission(request) or bool(
            system and system.has_view_permission(request)
        )

    def _viewable(self, request: HttpRequest) -> QuerySet[Any]:
        jobs = SSEProgress.objects.all()
        return jobs if self.has_view_permission(request) else jobs.filter(user__isnull=True)

    def api_detail(self, request: HttpRequest, job_id: str) -> HttpResponse:
        """One job, as the API reports it, for an admin user who may view it."""
        if not self._may_view(request):
            return json_error("permission_denied", "You may not view jobs.")
        job = (
            self._viewable(request).filter(job_id=job_id).first()
            if is_valid_job_id(job_id)
            else None
        )
        if job is None:
            return not_found()
        return json_response(job_to_dict(job))

    def api_list(self, request: HttpRequest) -> HttpResponse:
        """The jobs of ``?job_id=...`` (what a page of bars polls), as the API lists them."""
        if not self._may_view(request):
            return json_error("permission_denied", "You may not view jobs.")
        try:
            params = parse_list_params(request.GET)
        except BadParameter as exc:
            return json_error(exc.code, exc.message)
        now = timezone.now()
        jobs = self._viewable(request).filter(job_id__in=params.job_ids or ())
        results = [job_to_dict(job, now) for job in jobs]
        return json_response(
            {"count": len(results), "next": None, "previous": None, "results": results}
        )


@admin.register(SystemJob)
class SystemJobAdmin(JobAdmin):
    """Jobs without an owner: beat schedules, scripts, other systems."""

    def get_list_display(self, request: HttpRequest) -> Any:
        return [name for name in super().get_list_display(request) if name != "user"]

    def get_list_filter(self, request: HttpRequest) -> Any:
        return [name for name in super().get_list_filter(request) if name is not OwnerFilter]

"""The admin: find jobs by id, user and type; counters are read-only.

The model's default manager applies ``PROGRESS_TRACKER_DATABASE_ALIAS``, so the
admin reads and writes the jobs where the rest of the package does.
"""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.contrib.auth import get_user_model
from django.db.models import QuerySet
from django.http import HttpRequest
from django.utils.translation import gettext_lazy as _

from celery_progress_tracker.models import SSEProgress


class OwnerFilter(admin.SimpleListFilter):
    """System jobs (no owner: beat, commands, scripts) apart from users' jobs."""

    title = _("started by")
    parameter_name = "started_by"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [("system", _("the system (no owner)")), ("user", _("a user"))]

    def queryset(self, request: HttpRequest, queryset: QuerySet[Any]) -> QuerySet[Any]:
        if self.value() == "system":
            return queryset.filter(user__isnull=True)
        if self.value() == "user":
            return queryset.filter(user__isnull=False)
        return queryset


@admin.register(SSEProgress)
class SSEProgressAdmin(admin.ModelAdmin):  # type: ignore[type-arg]
    list_display = (
        "job_id",
        "task_type",
        "status",
        "end_reason",
        "user",
        "processed_items",
        "failed_items",
        "total_items",
        "created_at",
        "completed_at",
    )
    list_filter = (OwnerFilter, "status", "end_reason", "kind", "task_type")
    search_fields = ("job_id", "task_type")
    list_select_related = ("user",)
    raw_id_fields = ("user",)
    date_hierarchy = "created_at"

    def get_search_fields(self, request: HttpRequest) -> tuple[str, ...]:
        # The user's USERNAME_FIELD, so custom user models work too.
        username = get_user_model().USERNAME_FIELD
        return (*self.search_fields, f"user__{username}")

    readonly_fields = (
        "job_id",
        "total_items",
        "processed_items",
        "failed_items",
        "retries",
        "has_heartbeat",
        "run_token",
        "root_id",
        "parent_id",
        "group_id",
        "kind",
        "rollup_id",
        "due_at",
        "cancel_requested_at",
        "created_at",
        "updated_at",
        "started_at",
        "completed_at",
        "public_error",
    )

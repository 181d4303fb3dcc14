"""The demo's pages, and the JSON view that starts jobs (the seed's pattern).

Cancelling uses the package's own endpoint, ``POST /core/sse-progress/<job_id>/cancel/``.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from celery_progress_tracker.models import SSEProgress
from demo.context_processors import installed_themes
from demo.scenarios import SCENARIOS

#: Task types whose job writes a file the user can download.
DOWNLOADS = {"report_generation": "reports", "accounting_export": "exports"}


def json_error(code: str, message: str, status: int) -> JsonResponse:
    return JsonResponse({"success": False, "error": code, "message": message}, status=status)


def json_post(view: Callable[..., JsonResponse]) -> Callable[..., JsonResponse]:
    """A JSON view: POST only, logged-in users only, answering errors in JSON."""

    @wraps(view)
    def wrapper(request: HttpRequest, *args: Any, **kwargs: Any) -> JsonResponse:
        if not request.user.is_authenticated:
            return json_error("not_authenticated", _("Please log in."), 401)
        if request.method != "POST":
            response = json_error("method_not_allowed", _("Use POST."), 405)
            response["Allow"] = "POST"
            return response
        return view(request, *args, **kwargs)

    return wrapper


@login_required
def home(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/home.html", {"scenarios": SCENARIOS.values()})


@json_post
def start(request: HttpRequest, name: str) -> JsonResponse:
    """Start a scenario's job and answer ``{"success": true, "job_id": ...}``."""
    scenario = SCENARIOS.get(name)
    if scenario is None:
        return json_error("not_found", _("No such scenario."), 404)
    result = scenario.start(request)
    # The job id is the Celery task id: the row already exists (created at publish).
    return JsonResponse({"success": True, "job_id": result.id})


@login_required
def my_jobs(request: HttpRequest) -> HttpResponse:
    jobs = SSEProgress.objects.for_user(request.user).order_by("-created_at")
    active, finished = list(jobs.active()), list(jobs.finished()[:50])
    return render(
        request,
        "demo/my_jobs.html",
        {"active_jobs": active, "finished_jobs": finished, "downloads": DOWNLOADS},
    )


@login_required
def download(request: HttpRequest, job_id: str) -> HttpResponse:
    """The file a report or an export job wrote, for its owner only."""
    job = (
        SSEProgress.objects.for_user(request.user)
        .finished()
        .filter(job_id=job_id, task_type__in=DOWNLOADS, status=SSEProgress.Status.COMPLETED)
        .first()
    )
    # The name comes from the job id we looked up, never from the URL alone.
    path = (
        Path(settings.MEDIA_ROOT) / DOWNLOADS[job.task_type] / f"{job.job_id}.csv" if job else None
    )
    if path is None or not path.is_file():
        return not_found(request)
    return FileResponse(
        path.open("rb"), as_attachment=True, filename=f"{job.task_type}-{job.job_id[:8]}.csv"
    )


@require_POST
def set_theme(request: HttpRequest) -> HttpResponse:
    """The theme switcher: remember the bar's theme in the session, go back."""
    theme = request.POST.get("theme", "")
    if theme in installed_themes():
        request.session["demo_theme"] = theme
    target = request.POST.get("next", "/")
    if not url_has_allowed_host_and_scheme(target, {request.get_host()}):
        target = "/"
    return HttpResponseRedirect(target)


def not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    """The demo's 404 page (``handler404``), in the demo's style."""
    return render(request, "demo/not_found.html", status=404)

"""The bar drawn on the server, for htmx: the same markup as the script's themes.

``GET <prefix>/sse-progress/<job_id>/fragment/?theme=bootstrap5`` answers the
bar as HTML, drawn by the template ``celery_progress_tracker/themes/<theme>.html``
(override it to change the markup). An element with ``hx-get`` and
``hx-trigger="every 500ms"`` polls it; a job in a final status answers HTTP 286,
which tells htmx to swap the bar in one last time and stop polling.
``{% progress_fragment job_id %}`` writes such an element.

The view model :func:`bar_view` is the script's ``view()`` in Python, computed
from the same JSON (``serializers.job_to_dict``), so both draw the same bar.
"""

from __future__ import annotations

import math
import re
import time
from collections.abc import Mapping
from typing import Any

from django.http import HttpRequest, HttpResponse, QueryDict
from django.template.loader import render_to_string
from django.utils import formats
from django.utils.text import capfirst
from django.utils.translation import get_language

from celery_progress_tracker.access import anonymous_may_read, can_read, request_user
from celery_progress_tracker.conf import THEMES, settings
from celery_progress_tracker.decorators import api_view
from celery_progress_tracker.labels import bar_labels
from celery_progress_tracker.models import FINAL_STATUSES, SSEProgress
from celery_progress_tracker.params import is_valid_job_id
from celery_progress_tracker.serializers import job_to_dict

#: htmx stops polling when a response has this status (and still swaps it in).
STOP_POLLING = 286

#: Seconds during which an unknown job is "not created yet" (the script's notFoundGrace).
NOT_FOUND_GRACE = 10.0

#: Status colours in each framework's names (the script's paint()).
COLOURS = {
    "semantic": {"in_progress": "blue", "completed": "green", "failed": "red", "error": "red"},
    "bootstrap5": {
        "in_progress": "primary",
        "completed": "success",
        "failed": "danger",
        "error": "danger",
    },
}
DEFAULT_COLOURS = {"semantic": "grey", "bootstrap5": "secondary", "default": ""}


def theme_name(requested: str | None = None) -> str:
    """The theme to draw on the server: the one asked for, else the setting ("auto": default)."""
    name = requested or settings.THEME
    return name if name in THEMES else "default"


def humanise(name: str) -> str:
    """``"reports.tasks.crunch_numbers"`` -> ``"Crunch numbers"`` (the script's ``humanise``)."""
    words = re.sub(r"[_\s-]+", " ", name.split(".")[-1]).strip().lower()
    return str(capfirst(words))


def task_titles() -> dict[str, str]:
    """``task_type -> title`` for every registered task with a ``progress_title`` attribute.

    ``@shared_task(base=ProgressTask, bind=True, progress_title=_("Monthly report"))``
    gives the task's jobs that title (translated in the active language).
    """
    from celery import current_app

    titles: dict[str, str] = {}
    for name, task in list(current_app.tasks.items()):
        title = getattr(task, "progress_title", None)
        if title:
            task_type = getattr(task, "progress_task_type", None) or name
            titles[str(task_type)] = str(title)
    return titles


def job_title(task_type: str, titles: Mapping[str, str] | None = None) -> str:
    """A readable title for a job: its task's ``progress_title``, else a humanised name."""
    titles = task_titles() if titles is None else titles
    return titles.get(task_type) or humanise(task_type) or bar_labels()["title"]


def format_number(value: int) -> str:
    """A count with the active language's digit grouping ("1,200", "1 200")."""
    return str(formats.number_format(value, force_grouping=True))


def format_seconds(total: float) -> str:
    """A duration as the script writes it: "45 s", "2 min 5 s", "1 h 3 min"."""
    seconds = max(0, round(total))
    minutes = seconds // 60
    if seconds < 60:
        return f"{format_number(seconds)} s"
    if minutes < 60:
        return f"{format_number(minutes)} min {format_number(seconds % 60)} s"
    return f"{format_number(minutes // 60)} h {format_number(minutes % 60)} min"


def bar_view(
    data: Mapping[str, Any] | None,
    *,
    job_id: str,
    theme: str = "default",
    title: str = "",
    icon: str = "",
    show_details: bool = True,
    show_stats: bool = True,
    waiting: bool = False,
    error: str = "",
) -> dict[str, Any]:
    """What a theme template draws: the job's state, formatted in the active language.

    ``data`` is the job's JSON (``None`` before it exists); ``error`` a problem
    of the bar itself (not found, logged out), which shows as status "error".
    """
    labels = bar_labels()
    data = data or {}
    status = "error" if error else str(data.get("status") or "pending")
    total = int(data.get("total_items") or 0)
    processed = int(data.get("processed_items") or 0)
    failed = int(data.get("failed_items") or 0)
    running = status == "in_progress"
    indeterminate = running and not total and not data.get("parts_done")
    parts = int(data.get("parts_total") or 0)  # a canvas's roll-up: "12 of 40 parts done"
    parts_done = labels["parts"].format(
        done=format_number(int(data.get("parts_done") or 0)), total=format_number(parts)
    )
    percent = max(0, min(100, math.floor(float(data.get("progress_percentage") or 0))))
    message = labels["waiting"] if waiting else str(data.get("current_message") or "")
    eta = data.get("eta_seconds")
    if status == "failed" and not error:
        error = str(data.get("error") or labels["jobFailed"])
    unknown = "?"
    return {
        "job_id": job_id,
        "theme": theme,
        "status": status,
        "label": labels.get(status, status),
        "colour": COLOURS.get(theme, {}).get(status, DEFAULT_COLOURS.get(theme, "")),
        "title": title or job_title(str(data.get("task_type") or "")),
        "icon": icon,
        "percent": percent,
        "width": 100 if indeterminate else percent,
        "running": running,
        "indeterminate": indeterminate,
        "counts": (
            f"{format_number(processed + failed)} / {format_number(total)}"
            if total
            else format_number(processed + failed)
        )
        + (f" · {parts_done}" if parts else ""),
        "stats": [
            {
                "name": "total",
                "label": labels["total"],
                "value": format_number(total) if total else unknown,
            },
            {"name": "processed", "label": labels["processed"], "value": format_number(processed)},
            {
                "name": "remaining",
                "label": labels["remaining"],
                "value": format_number(max(0, total - processed - failed)) if total else unknown,
            },
            {
                "name": "failed",
                "label": labels["failedItems"],
                "value": format_number(failed),
                "hidden": not failed,
            },
        ],
        "show_details": show_details,
        "eta": (
            labels["eta"].replace("{time}", format_seconds(eta))
            if running and isinstance(eta, (int, float)) and math.isfinite(eta)
            else ""
        ),
        "message": message,
        "show_message": bool(show_stats and message),
        "error": error,
        "final": status in FINAL_STATUSES or status == "error",
        "language": get_language(),
    }


def _flag(query: QueryDict, name: str) -> bool:
    return query.get(name, "1") not in ("0", "false", "")


def render_bar(
    request: HttpRequest,
    job_id: str,
    *,
    theme: str | None = None,
    title: str = "",
    icon: str = "",
    show_details: bool = True,
    show_stats: bool = True,
    since: float | None = None,
) -> tuple[str, bool]:
    """The bar's HTML for ``request``'s user, and whether it is final (polling may stop).

    Who may see the job is decided as by the JSON API: another user's job is
    "not found"; an anonymous request is asked to log in. An unknown job is
    waited for ``NOT_FOUND_GRACE`` seconds after ``since`` (the page's render).
    """
    theme = theme_name(theme)
    labels = bar_labels()
    data: dict[str, Any] | None = None
    error = ""
    waiting = False
    user = request_user(request)
    if not user.is_authenticated and not anonymous_may_read():
        error = labels["unauthorized"]
    else:
        job = None
        if is_valid_job_id(job_id):
            job = SSEProgress.objects.using(settings.DATABASE_ALIAS).filter(job_id=job_id).first()
        if job is not None and can_read(request, user, job):
            data = job_to_dict(job)
        elif since is not None and time.time() - since < NOT_FOUND_GRACE:
            waiting = True
        else:
            error = labels["notFound"]
    bar = bar_view(
        data,
        job_id=job_id,
        theme=theme,
        title=title,
        icon=icon,
        show_details=show_details,
        show_stats=show_stats,
        waiting=waiting,
        error=error,
    )
    html = render_to_string(f"celery_progress_tracker/themes/{theme}.html", {"bar": bar}, request)
    return html, bool(bar["final"])


@api_view("GET")
def job_fragment(request: HttpRequest, job_id: str) -> HttpResponse:
    """One job's bar as HTML for htmx; 286 once it is final (htmx then stops polling).

    Like the JSON endpoints: never cached, no login redirect, other methods a
    JSON 405.

    Query parameters: ``theme``, ``title``, ``icon``, ``show_details`` and
    ``show_stats`` (``0`` hides), ``since`` (the page's render time, seconds
    since the epoch: an unknown job is waited for a while after it).
    """
    query = request.GET
    try:
        since: float | None = float(query.get("since", ""))
    except ValueError:
        since = None
    html, final = render_bar(
        request,
        job_id,
        theme=query.get("theme"),
        title=query.get("title", "")[:200],
        icon=query.get("icon", "")[:20],
        show_details=_flag(query, "show_details"),
        show_stats=_flag(query, "show_stats"),
        since=since if since is not None and math.isfinite(since) else None,
    )
    return HttpResponse(html, status=STOP_POLLING if final else 200)

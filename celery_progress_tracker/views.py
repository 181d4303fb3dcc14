"""The polling API: one job, the user's jobs, their active jobs, delete, cancel.

Every response is JSON (``serializers.job_to_dict`` for jobs,
``responses.json_error`` for errors). Methods, CSRF and caching headers are
handled by :func:`~celery_progress_tracker.decorators.api_view`; who may see
what by :mod:`~celery_progress_tracker.access`.
"""

from __future__ import annotations

import math
from typing import Any
from urllib.parse import parse_qsl

from django.contrib.auth.decorators import login_not_required
from django.http import HttpRequest, HttpResponse
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from celery_progress_tracker import lifecycle, rollups
from celery_progress_tracker.access import (
    Page,
    anonymous_may_read,
    job_to_act_on,
    not_authenticated,
    readable_job,
    readable_jobs,
    request_user,
)
from celery_progress_tracker.decorators import api_view
from celery_progress_tracker.exceptions import InvalidTransition
from celery_progress_tracker.models import SSEProgress, SSEProgressQuerySet
from celery_progress_tracker.params import BadParameter, ListParams, list_query, parse_list_params
from celery_progress_tracker.responses import (
    conditional_json,
    json_error,
    json_response,
    not_found,
    not_modified,
)
from celery_progress_tracker.serializers import job_etag, job_to_dict, list_etag, row_etag
from celery_progress_tracker.statements import JobRow


def _jobs() -> SSEProgressQuerySet:
    return SSEProgress.objects.all()


def _job_response(request: HttpRequest, row: JobRow) -> HttpResponse:
    now = timezone.now()
    etag = row_etag(row.state(), now)
    # An unchanged job (the common poll) answers 304 from its ETag's columns:
    # no model instance, no serialisation.
    response = not_modified(request, etag) or json_response(job_to_dict(row.job(), now))
    response["ETag"] = etag
    return response


def _list_response(request: HttpRequest, page: dict[str, Any]) -> HttpResponse:
    return conditional_json(request, page, list_etag(page))


@api_view("GET")
def job_detail(request: HttpRequest, job_id: str) -> HttpResponse:
    """One job, as the progress bar polls it; ``If-None-Match`` gives a 304."""
    row = readable_job(request, job_id)
    if isinstance(row, HttpResponse):
        return row
    return _job_response(request, row)


@api_view("DELETE")
def job_delete(request: HttpRequest, job_id: str) -> HttpResponse:
    """Delete a finished job (a running one answers 409)."""
    job = job_to_act_on(request, job_id)
    if isinstance(job, HttpResponse):
        return job
    if not lifecycle.delete_finished(job):
        if not _jobs().filter(pk=job.pk).exists():
            return not_found()
        return json_error("job_active", "The job is still running: cancel it first.")
    return json_response({"success": True, "job_id": job.job_id})


@api_view("POST")
def job_cancel(request: HttpRequest, job_id: str) -> HttpResponse:
    """Cancel a job: a pending one at once, a running one at its next progress call."""
    job = job_to_act_on(request, job_id)
    if isinstance(job, HttpResponse):
        return job
    finished = json_error("job_finished", "The job has already finished.")
    if job.is_stale():  # it reads as failed
        return finished
    try:
        if rollups.is_rollup(job):
            # Every unfinished member of the group, chord or chain.
            if not lifecycle.cancel_rollup(job, rollups.member_ids(job.job_id)):
                return finished
            job.refresh_from_db()
        else:
            job.request_cancel()
    except InvalidTransition:
        return finished
    except SSEProgress.DoesNotExist:
        return not_found()
    data = job_to_dict(job)
    response = json_response(data)  # not conditional: the client asked for a change
    response["ETag"] = job_etag(data)
    return response


def _page_url(request: HttpRequest, page: int) -> str:
    query = request.GET.copy()
    query["page"] = str(page)
    return f"{request.path}?{query.urlencode()}"


def _asks_for_job_ids(request: HttpRequest) -> bool:
    query = parse_qsl(request.META.get("QUERY_STRING", ""), keep_blank_values=True)
    return any(key == "job_id" for key, _value in query)


def _job_list(request: HttpRequest, *, active_only: bool) -> HttpResponse:
    try:
        params = parse_list_params(list_query(request))
    except BadParameter as exc:
        # Authentication is checked first (the documented order), here only when it
        # decides the answer: a valid request's user is found with its page.
        if not request_user(request).is_authenticated and not (
            _asks_for_job_ids(request) and anonymous_may_read()
        ):
            return not_authenticated()
        return json_error(exc.code, exc.message)
    page = readable_jobs(request, params, active_only=active_only)
    if isinstance(page, HttpResponse):
        return page
    now = timezone.now()
    results = [job_to_dict(job, now) for job in page.jobs]
    if params.job_ids is not None:
        # Many bars on one page poll once: every job asked for that the user may read.
        return _list_response(
            request, {"count": len(results), "next": None, "previous": None, "results": results}
        )
    return _paginated(request, params, page, results)


def _paginated(
    request: HttpRequest, params: ListParams, page: Page, results: list[dict[str, Any]]
) -> HttpResponse:
    last_page = max(1, math.ceil(page.total / params.page_size))
    if params.page > last_page:
        return not_found(f"There is no page {params.page}; the last page is {last_page}.")
    return _list_response(
        request,
        {
            "count": page.total,
            "next": _page_url(request, params.page + 1) if params.page < last_page else None,
            "previous": _page_url(request, params.page - 1) if params.page > 1 else None,
            "results": results,
        },
    )


@api_view("GET")
def job_list(request: HttpRequest) -> HttpResponse:
    """The user's jobs, newest first, paginated and filterable."""
    return _job_list(request, active_only=False)


@api_view("GET")
def active_job_list(request: HttpRequest) -> HttpResponse:
    """The user's pending and running jobs, newest first."""
    return _job_list(request, active_only=True)


@login_not_required
@csrf_exempt
@never_cache
def unknown_endpoint(request: HttpRequest, path: str = "") -> HttpResponse:
    """A JSON 404 for any other path under the API's prefix."""
    return not_found("No such endpoint.")

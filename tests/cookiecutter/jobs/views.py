"""Views that start jobs; ATOMIC_REQUESTS runs each in a transaction."""

from __future__ import annotations

import time

from django.db import connection
from django.http import HttpRequest, JsonResponse

from tests.cookiecutter.jobs.tasks import import_statement, orchestrate


def start_import(request: HttpRequest) -> JsonResponse:
    """Start an import, then keep the request's transaction open ``hold`` seconds."""
    result = import_statement.apply_async(
        (int(request.GET.get("lines", "20")), float(request.GET.get("delay", "0"))),
        task_id=request.GET.get("job_id"),
    )
    time.sleep(float(request.GET.get("hold", "0")))
    return JsonResponse({"job_id": result.id, "in_transaction": connection.in_atomic_block})


def start_failing(request: HttpRequest) -> JsonResponse:
    """An import that fails at line 4 of 10 (raised here when Celery runs eagerly)."""
    result = import_statement.delay(10, 0.0, 4)
    return JsonResponse({"job_id": result.id})


def start_orchestrate(request: HttpRequest) -> JsonResponse:
    """A plain task that starts imports (``how``: see ``orchestrate``)."""
    result = orchestrate.delay(2, request.POST.get("how", "apply_async"))
    return JsonResponse({"task_id": result.id})

"""Views that start jobs; ATOMIC_REQUESTS runs each in a transaction."""

from __future__ import annotations

import time

from django.db import connection, transaction
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


@transaction.non_atomic_requests  # Django refuses ATOMIC_REQUESTS on async views
async def start_import_async(request: HttpRequest) -> JsonResponse:
    """An ``async def`` view that starts an import: the job belongs to the request's user."""
    result = import_statement.delay(int(request.GET.get("lines", "5")), 0.0)
    send_task = bool(request.GET.get("send_task"))
    sent = import_statement.app.send_task(import_statement.name, (3, 0.0)) if send_task else None
    return JsonResponse({"job_id": result.id, "sent_id": sent.id if sent else None})


def start_orchestrate(request: HttpRequest) -> JsonResponse:
    """A plain task that starts imports (``how``: see ``orchestrate``)."""
    result = orchestrate.delay(2, request.POST.get("how", "apply_async"))
    return JsonResponse({"task_id": result.id})

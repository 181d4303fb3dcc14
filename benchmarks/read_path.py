"""2. The read path: polling throughput and latency under gunicorn, measured with wrk.

Endpoints, side by side at each table size: this package's job detail (a
logged-in user's running job), the same with ``If-None-Match`` (304), and
celery-progress's endpoint as shipped (anonymous) and behind ``login_required``.
"""

from __future__ import annotations

import json
import statistics
import uuid
from typing import Any

from django.utils import timezone

from benchmarks import web
from benchmarks.celery_app import app
from celery_progress_tracker.models import SSEProgress


def _celery_progress_task() -> str:
    """A task id whose state in the result backend is celery-progress's PROGRESS."""
    task_id = f"bench-cp-{timezone.now().timestamp()}"
    meta = {"pending": False, "current": 450, "total": 1000, "percent": 45.0,
            "description": "Traitement en cours..."}  # fmt: skip
    app.backend.store_result(task_id, meta, "PROGRESS")
    return task_id


def _check(base: str, path: str, headers: dict[str, str], status: int) -> dict[str, str]:
    got, response_headers, body = web.get(base, path, headers)
    if got != status:
        raise RuntimeError(f"GET {path} answered {got}, expected {status}: {body[:300]!r}")
    if status == 200:
        json.loads(body)
    return response_headers


def _medians(samples: list[dict[str, Any]]) -> dict[str, Any]:
    figures: dict[str, Any] = {"repetitions": len(samples)}
    for key in ("rps", "p50_ms", "p90_ms", "p99_ms"):
        figures[key] = statistics.median(s[key] for s in samples if s[key] is not None)
    figures["requests"] = sum(s["requests"] for s in samples)
    figures["bad_responses"] = sum(s["bad_responses"] for s in samples)
    figures["socket_errors"] = [s["socket_errors"] for s in samples if s["socket_errors"]]
    return figures


def measure(
    bases: dict[int, tuple[str, str]], session: web.Session, seconds: float, repeat: int
) -> dict[str, Any]:
    """wrk on every endpoint at every table size, ``repeat`` times; medians per endpoint.

    ``bases`` maps each table size to a web server and its database alias: each
    size has its own database and gunicorn, so the sizes are measured in turn
    within each repetition and a busy moment of the shared machine hits all of
    them alike.
    """
    job_id = str(uuid.uuid4())
    task_id = _celery_progress_task()
    cookie = {"Cookie": session.cookie}
    ours = f"/core/sse-progress/{job_id}/"
    endpoints: dict[int, dict[str, tuple[str, dict[str, str]]]] = {}
    results: dict[str, Any] = {}
    for size, (base, alias) in bases.items():
        if alias != "default":
            web.copy_login(session, alias)
        web.running_job(session.user, job_id, using=alias)
        web.fill_rows(size, using=alias)
        results[str(size)] = {"rows": SSEProgress.objects.using(alias).count()}
        etag = _check(base, ours, cookie, 200)["etag"]
        not_modified = {**cookie, "If-None-Match": etag}
        _check(base, ours, not_modified, 304)
        _check(base, f"/celery-progress/{task_id}/", {}, 200)
        _check(base, f"/celery-progress-secured/{task_id}/", cookie, 200)
        endpoints[size] = {
            "tracker": (ours, cookie),
            "tracker_304": (ours, not_modified),
            "celery_progress_anonymous": (f"/celery-progress/{task_id}/", {}),
            "celery_progress_secured": (f"/celery-progress-secured/{task_id}/", cookie),
        }
    pairs = [(size, name) for size in bases for name in endpoints[size]]
    runs: dict[tuple[int, str], list[dict[str, Any]]] = {pair: [] for pair in pairs}
    for rep in range(repeat):
        # A different pair goes first in each repetition.
        shift = rep * len(pairs) // max(repeat, 1)
        for size, name in pairs[shift:] + pairs[:shift]:
            path, headers = endpoints[size][name]
            runs[size, name].append(web.wrk(bases[size][0] + path, headers, seconds))
    for size, name in pairs:
        results[str(size)][name] = _medians(runs[size, name])
    return results

"""2. The read path: polling throughput and latency under gunicorn, measured with wrk.

Endpoints, side by side at each table size: this package's job detail (a
logged-in user's running job), the same with ``If-None-Match`` (304), its list
and active endpoints; celery-progress's endpoint as shipped (anonymous) and
behind ``login_required``; a constant ``JsonResponse`` (the ceiling: Django with
no database) and a bare primary-key read without authentication (the floor of
a poll that reads the database). At the smallest size, the detail and the list
are measured again under the other session engines (``cached_db`` in Redis,
``signed_cookies``), each served by its own gunicorn. The SQL queries of every
endpoint are counted once per engine with Django's test client.
"""

from __future__ import annotations

import json
import statistics
import uuid
from typing import Any

from django.db import connections
from django.test import Client, override_settings
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from benchmarks import web
from benchmarks.celery_app import app
from celery_progress_tracker.models import SSEProgress

ENGINE_PREFIX = "django.contrib.sessions.backends."


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
    rates = [s["rps"] for s in samples]
    figures["rps_min"], figures["rps_max"] = min(rates), max(rates)
    figures["requests"] = sum(s["requests"] for s in samples)
    figures["bad_responses"] = sum(s["bad_responses"] for s in samples)
    figures["socket_errors"] = [s["socket_errors"] for s in samples if s["socket_errors"]]
    return figures


def _paths(job_id: str, pk: int, task_id: str) -> dict[str, str]:
    ours = f"/core/sse-progress/{job_id}/"
    return {
        "tracker": ours,
        "tracker_304": ours,
        "tracker_list": "/core/sse-progress/",
        "tracker_active": "/core/sse-progress/active/",
        "celery_progress_anonymous": f"/celery-progress/{task_id}/",
        "celery_progress_secured": f"/celery-progress-secured/{task_id}/",
        "ceiling": "/ceiling/",
        "floor": f"/floor/{pk}/",
    }


#: Endpoints that need no session cookie.
ANONYMOUS = {"celery_progress_anonymous", "ceiling", "floor"}


def _endpoints(
    base: str, paths: dict[str, str], cookie: dict[str, str]
) -> dict[str, tuple[str, dict[str, str]]]:
    etag = _check(base, paths["tracker"], cookie, 200)["etag"]
    not_modified = {**cookie, "If-None-Match": etag}
    _check(base, paths["tracker"], not_modified, 304)
    endpoints: dict[str, tuple[str, dict[str, str]]] = {}
    for name, path in paths.items():
        headers = {} if name in ANONYMOUS else cookie
        if name == "tracker_304":
            headers = not_modified
        else:
            _check(base, path, headers, 200)
        endpoints[name] = (path, headers)
    return endpoints


def count_queries(paths: dict[str, str], sessions: dict[str, web.Session]) -> dict[str, Any]:
    """SQL queries per endpoint and session engine, counted on one request each."""
    counts: dict[str, Any] = {}
    connection = connections["default"]
    for engine, session in sessions.items():
        with override_settings(SESSION_ENGINE=ENGINE_PREFIX + engine):
            client = Client()
            name, value = session.cookie.split("=", 1)
            etag = ""
            row: dict[str, int] = {}
            for endpoint, path in paths.items():
                if endpoint in ANONYMOUS and engine != "db":
                    continue
                client.cookies.clear()
                if endpoint not in ANONYMOUS:
                    client.cookies[name] = value
                headers = {"HTTP_IF_NONE_MATCH": etag} if endpoint == "tracker_304" else {}
                client.get(path, **headers)  # a warm cache, as under load
                with CaptureQueriesContext(connection) as captured:
                    response = client.get(path, **headers)
                expected = 304 if endpoint == "tracker_304" else 200
                if response.status_code != expected:
                    raise RuntimeError(f"{engine} {path}: {response.status_code}")
                if endpoint == "tracker":
                    etag = response["ETag"]
                row[endpoint] = len(captured)
            counts[engine] = row
    return counts


def measure(
    bases: dict[int, tuple[str, str]],
    session: web.Session,
    seconds: float,
    repeat: int,
    engines: dict[str, tuple[str, web.Session]] | None = None,
) -> dict[str, Any]:
    """wrk on every endpoint at every table size, ``repeat`` times; medians per endpoint.

    ``bases`` maps each table size to a web server and its database alias: each
    size has its own database and gunicorn, so the sizes are measured in turn
    within each repetition and a busy moment of the shared machine hits all of
    them alike. ``engines`` maps other session engines to a web server using
    that engine (on the smallest size's database) and a session of it.
    """
    job_id = str(uuid.uuid4())
    task_id = _celery_progress_task()
    cookie = {"Cookie": session.cookie}
    endpoints: dict[str, dict[str, tuple[str, dict[str, str]]]] = {}
    servers: dict[str, str] = {}
    results: dict[str, Any] = {}
    small = min(bases)
    for size, (base, alias) in bases.items():
        if alias != "default":
            web.copy_login(session, alias)
        job = web.running_job(session.user, job_id, using=alias)
        web.fill_rows(size, using=alias)
        results[str(size)] = {"rows": SSEProgress.objects.using(alias).count()}
        paths = _paths(job_id, job.pk, task_id)
        endpoints[str(size)] = _endpoints(base, paths, cookie)
        servers[str(size)] = base
        if size == small:
            sessions = {"db": session, **{name: s for name, (_, s) in (engines or {}).items()}}
            results["queries"] = count_queries(paths, sessions)
            for name, (engine_base, engine_session) in (engines or {}).items():
                key = f"engine_{name}"
                engine_paths = {k: paths[k] for k in ("tracker", "tracker_304", "tracker_list")}
                engine_cookie = {"Cookie": engine_session.cookie}
                endpoints[key] = _endpoints(engine_base, engine_paths, engine_cookie)
                servers[key] = engine_base
    pairs = [(group, name) for group in endpoints for name in endpoints[group]]
    runs: dict[tuple[str, str], list[dict[str, Any]]] = {pair: [] for pair in pairs}
    for rep in range(repeat):
        # A different pair goes first in each repetition.
        shift = rep * len(pairs) // max(repeat, 1)
        for group, name in pairs[shift:] + pairs[:shift]:
            path, headers = endpoints[group][name]
            runs[group, name].append(web.wrk(servers[group] + path, headers, seconds))
    for group, name in pairs:
        results.setdefault(group, {})[name] = _medians(runs[group, name])
    return results

"""What the read-side benchmarks share: a logged-in user, a running job, HTTP and wrk."""

from __future__ import annotations

import http.client
import os
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from django.contrib.auth import get_user_model
from django.db import connections
from django.test import Client, override_settings
from django.utils import timezone

from celery_progress_tracker.models import SSEProgress, Status

FILLER_PREFIX = "fill-"


@dataclass
class Session:
    """A user and the session cookie a browser of theirs would send."""

    user: Any
    cookie: str


def login(username: str = "bench", engine: str = "db") -> Session:
    """Get or create a user and log it in with session ``engine`` (default: the database)."""
    user, _ = get_user_model().objects.get_or_create(username=username)
    with override_settings(SESSION_ENGINE=f"django.contrib.sessions.backends.{engine}"):
        client = Client()
        client.force_login(user)
    return Session(user, f"sessionid={client.cookies['sessionid'].value}")


def copy_login(session: Session, using: str) -> None:
    """Make ``session``'s cookie valid on database ``using`` too (same user, same session)."""
    from django.contrib.sessions.models import Session as SessionRow

    session.user.save(using=using, force_insert=True)
    key = session.cookie.split("=", 1)[1]
    SessionRow.objects.get(pk=key).save(using=using, force_insert=True)


def running_job(user: Any, job_id: str | None = None, using: str = "default") -> SSEProgress:
    """A job row as a running ``ProgressTask`` keeps it."""
    now = timezone.now()
    return SSEProgress.objects.using(using).create(
        job_id=job_id or str(uuid.uuid4()),
        user=user,
        task_type="bench",
        status=Status.IN_PROGRESS,
        total_items=1000,
        processed_items=450,
        current_message="Traitement en cours...",
        has_heartbeat=True,
        started_at=now,
        updated_at=now,
    )


def fill_rows(target: int, using: str = "default") -> None:
    """Add finished, owner-less rows until the table holds ``target`` rows."""
    rows = SSEProgress.objects.using(using)
    missing = target - rows.count()
    if missing <= 0:
        return
    start = rows.filter(job_id__startswith=FILLER_PREFIX).count()
    connection = connections[using]
    now = timezone.now()
    # Every column from the model (a column added later is filled with its default).
    fixed: dict[str, Any] = {"task_type": "filler", "status": "completed", "end_reason":
                             "succeeded", "total_items": 100, "processed_items": 100,
                             "created_at": now, "updated_at": now, "started_at": now,
                             "completed_at": now}  # fmt: skip
    columns, selects, params = [], [], []
    for field in SSEProgress._meta.concrete_fields:
        if field.primary_key:
            continue
        columns.append(connection.ops.quote_name(field.column))
        if field.name == "job_id":
            selects.append(f"'{FILLER_PREFIX}' || n")
            continue
        value = fixed[field.name] if field.name in fixed else field.get_default()
        selects.append("%s")
        params.append(field.get_db_prep_save(value, connection))
    table = SSEProgress._meta.db_table
    insert = f"INSERT INTO {table} ({', '.join(columns)}) SELECT {', '.join(selects)}"
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                f"{insert} FROM generate_series(%s::int, %s::int) AS n",
                [*params, start + 1, start + missing],
            )
            # What autovacuum does after a bulk insert, done now rather than during
            # the measurements: a production table of this size is vacuumed.
            cursor.execute(f"VACUUM ANALYZE {table}")
        else:
            cursor.execute(
                f"WITH RECURSIVE s(n) AS (SELECT %s UNION ALL SELECT n + 1 FROM s WHERE n < %s)"
                f" {insert} FROM s",
                [start + 1, start + missing, *params],
            )
            cursor.execute("ANALYZE")
            # Fold the inserted pages into the database file now, not during a measurement.
            cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
    # Likewise the page cache: written back before the measurement starts.
    os.sync()


def get(
    base: str, path: str, headers: dict[str, str] | None = None
) -> tuple[int, dict[str, str], bytes]:
    """One GET: status, headers (lower-case names) and body."""
    parts = urlsplit(base)
    conn = http.client.HTTPConnection(parts.hostname or "127.0.0.1", parts.port, timeout=30)
    try:
        conn.request("GET", path, headers=headers or {})
        response = conn.getresponse()
        body = response.read()
        return response.status, {k.lower(): v for k, v in response.getheaders()}, body
    finally:
        conn.close()


_UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def _ms(text: str) -> float:
    match = re.fullmatch(r"([\d.]+)(us|ms|s|m)", text)
    if not match:
        raise ValueError(f"unexpected wrk latency {text!r}")
    return float(match.group(1)) * _UNITS[match.group(2)]


def wrk(url: str, headers: dict[str, str], seconds: float, connections: int = 8,
        threads: int = 2) -> dict[str, Any]:  # fmt: skip
    """Run ``wrk --latency`` and parse requests/s, percentiles and errors."""
    binary = shutil.which("wrk")
    if binary is None:
        raise RuntimeError("wrk is not installed (apt-get install -y wrk)")
    cmd = [binary, f"-t{threads}", f"-c{connections}", f"-d{max(1, round(seconds))}s", "--latency",
           "--timeout", "10s"]  # fmt: skip
    for name, value in headers.items():
        cmd += ["-H", f"{name}: {value}"]
    out = subprocess.run([*cmd, url], capture_output=True, text=True, check=True).stdout
    result: dict[str, Any] = {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "requests": int(re.search(r"(\d+) requests in", out).group(1)),  # type: ignore[union-attr]
    }
    for pct in ("50", "90", "99"):
        match = re.search(rf"^\s+{pct}%\s+(\S+)", out, re.MULTILINE)
        result[f"p{pct}_ms"] = _ms(match.group(1)) if match else None
    bad = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    result["bad_responses"] = int(bad.group(1)) if bad else 0
    errors = re.search(r"Socket errors: (.*)", out)
    result["socket_errors"] = errors.group(1).strip() if errors else ""
    return result

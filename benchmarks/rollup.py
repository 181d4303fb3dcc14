"""Reading a roll-up (a group's one bar) at 10 and 1,000 members: queries and time.

``benchmarks.column`` runs it as one section of ``make bench``; alone,
``python -m benchmarks.rollup --backend postgres`` (or ``embedded``) creates a
database, measures and prints the table. Requests go through Django's test
client, in this process (no network, no gunicorn): what is measured is the
view, the members' query and the JSON, the cost that grows with the members.
"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from benchmarks import services

SIZES = (10, 1_000)


def _group(user: Any, members: int) -> str:
    """A group's roll-up row and ``members`` running members; returns the group's id."""
    from django.utils import timezone

    from celery_progress_tracker.models import Kind, SSEProgress, Status

    group_id, now = str(uuid.uuid4()), timezone.now()
    rows = [
        SSEProgress(
            job_id=str(uuid.uuid4()),
            user=user,
            task_type="bench",
            status=Status.IN_PROGRESS if n % 2 else Status.COMPLETED,
            total_items=100,
            processed_items=100 if n % 2 == 0 else 40,
            group_id=group_id,
            rollup_id=group_id,
            started_at=now,
            created_at=now,
            updated_at=now,
        )
        for n in range(members)
    ]
    rows.append(SSEProgress(job_id=group_id, user=user, task_type="bench", kind=Kind.GROUP))
    SSEProgress.objects.bulk_create(rows)
    return group_id


def measure(reads: int, sizes: tuple[int, ...] = SIZES) -> dict[str, Any]:
    """Per size: queries of one read (and of its members), ms per read, response size."""
    from django.db import connection
    from django.test import Client

    from benchmarks import web

    session = web.login("rollup-bench")
    client = Client(HTTP_COOKIE=session.cookie)
    results = []
    queries: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    for members in sizes:
        path = f"/core/sse-progress/{_group(session.user, members)}/"
        for _ in range(5):  # warm up: connections, caches
            client.get(path)
        queries.clear()
        with connection.execute_wrapper(record):
            response = client.get(path)
        assert response.status_code == 200, response.content[:200]
        start = time.perf_counter()
        for _ in range(reads):
            client.get(path)
        per_read = (time.perf_counter() - start) / reads * 1e3
        results.append(
            {
                "members": members,
                "reads": reads,
                "queries": len(queries),
                "member_queries": sum('"rollup_id" = ' in sql for sql in queries),
                "ms_per_read": per_read,
                "response_bytes": len(response.content),
            }
        )
    return {"vendor": connection.vendor, "sizes": results}


def table(result: dict[str, Any]) -> list[str]:
    """The section's Markdown table."""
    out = [
        "| members | reads | queries per read | of them over the members | ms per read"
        " | response bytes |",
        "|---|---|---|---|---|---|",
    ]
    for row in result["sizes"]:
        out.append(
            f"| {row['members']:,} | {row['reads']:,} | {row['queries']} | {row['member_queries']}"
            f" | {row['ms_per_read']:.2f} | {row['response_bytes']:,} |"
        )
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("postgres", "embedded"), default="postgres")
    parser.add_argument("--reads", type=int, default=200)
    args = parser.parse_args(argv)
    run_id = str(os.getpid())
    tmp = Path(tempfile.mkdtemp(prefix=f"cpt-bench-{run_id}-"))
    os.environ.update(
        {
            "BENCH_BACKEND": args.backend,
            "BENCH_RUN_ID": run_id,
            "BENCH_TMP": str(tmp),
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        }
    )
    dbname = f"bench_{run_id}"
    try:
        if args.backend == "postgres":
            services.pg_admin(f"CREATE DATABASE {dbname}")
            os.environ["BENCH_PG_NAME"] = dbname
        import django
        from django.core.management import call_command

        django.setup()
        call_command("migrate", verbosity=0)
        result = measure(args.reads)
        print(f"Roll-up reads ({result['vendor']}, {args.reads} reads per size)\n")
        print("\n".join(table(result)))
    finally:
        if args.backend == "postgres":
            from django.db import connections

            connections.close_all()
            services.pg_admin(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

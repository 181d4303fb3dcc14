"""Where a poll's time goes: Django's handler in-process, per endpoint, with cProfile.

``python -m benchmarks.profile_read --backend postgres`` sets up the same
database, user, session and running job as the read-path benchmark, then sends
requests through Django's test client (no network, no gunicorn): time per
request, queries per request, and the functions that cost the most for this
package's job detail. Used to explain the read-path figures in the notes.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import os
import pstats
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import services


def profile(
    requests: int,
    rows: int,
    endpoint: str,
    sort: str = "tottime",
    lines: int = 25,
    rounds: int = 1,
) -> str:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    from django.db import connection
    from django.test import Client

    from benchmarks import read_path, web

    session = web.login()
    job = web.running_job(session.user)
    web.fill_rows(rows)
    task_id = read_path._celery_progress_task()
    client = Client(HTTP_COOKIE=session.cookie)
    etag = client.get(f"/core/sse-progress/{job.job_id}/").headers["ETag"]
    endpoints = {
        name: (path, {"HTTP_IF_NONE_MATCH": etag} if name == "tracker_304" else {})
        for name, path in read_path._paths(job.job_id, job.pk, task_id).items()
    }
    queries: list[str] = []

    def record(execute: Any, sql: str, params: Any, many: bool, context: Any) -> Any:
        queries.append(sql)
        return execute(sql, params, many, context)

    out = [
        f"{requests} requests per endpoint and round, {rounds} alternating round(s), fastest"
        f" round; {rows:,} rows, {connection.vendor}",
        "",
    ]
    found: dict[str, tuple[int, float, list[str]]] = {}
    for name, (path, extra) in endpoints.items():
        for _ in range(20):  # warm up: connections, caches
            client.get(path, **extra)
        queries.clear()
        with connection.execute_wrapper(record):
            status = client.get(path, **extra).status_code
        found[name] = (status, float("inf"), list(queries))
    for _round in range(rounds):
        for name, (path, extra) in endpoints.items():
            start = time.perf_counter()
            for _ in range(requests):
                client.get(path, **extra)
            per_request = (time.perf_counter() - start) / requests * 1e6
            status, best, sqls = found[name]
            found[name] = (status, min(best, per_request), sqls)
    for name, (status, best, sqls) in found.items():
        out.append(
            f"{name:28} {status}  {best:8.0f} µs/request"
            f"  {len(sqls)} queries: {' | '.join(q[:70] for q in sqls)}"
        )
    profiler = cProfile.Profile()
    path, extra = endpoints[endpoint]
    profiler.enable()
    for _ in range(requests):
        client.get(path, **extra)
    profiler.disable()
    stream = io.StringIO()
    pstats.Stats(profiler, stream=stream).sort_stats(sort).print_stats(lines)
    out += ["", f"cProfile of {endpoint} (by {sort}):", stream.getvalue()]
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("postgres", "embedded"), default="postgres")
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--rows", type=int, default=1000)
    parser.add_argument("--profile", default="tracker", help="the endpoint to profile")
    parser.add_argument("--sort", default="tottime", help="pstats order: tottime, cumulative")
    parser.add_argument("--lines", type=int, default=25, help="functions listed")
    parser.add_argument("--rounds", type=int, default=1, help="alternating rounds (fastest kept)")
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
    dbname, redis = f"bench_{run_id}", None
    try:
        if args.backend == "postgres":
            services.pg_admin(f"CREATE DATABASE {dbname}")
            os.environ["BENCH_PG_NAME"] = dbname
            redis, url = services.start_redis(tmp)
            os.environ["BENCH_REDIS_URL"] = url
        print(profile(args.requests, args.rows, args.profile, args.sort, args.lines, args.rounds))
    finally:
        if redis is not None:
            redis.stop()
        if args.backend == "postgres":
            from django.db import connections

            connections.close_all()
            services.pg_admin(f"DROP DATABASE IF EXISTS {dbname} WITH (FORCE)")
    return 0


if __name__ == "__main__":
    sys.exit(main())

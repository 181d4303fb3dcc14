"""One column of the results: every benchmark on one backend, in one process.

``python -m benchmarks.column --backend postgres --output results.json`` creates
the run's services (a PostgreSQL database, a private Redis), migrates, starts
the workers and web processes each benchmark needs, and writes the figures as
JSON. ``benchmarks.run`` starts one per backend and writes the report.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import services

PROGRESS_TABLE = "celery_progress_tracker_sseprogress"
#: Gunicorn sync workers serving the polls.
WEB_WORKERS = 4


def _say(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')} {os.environ['BENCH_BACKEND']}] {message}", flush=True)


def _wait_worker(queue: str) -> None:
    from benchmarks import tasks

    services.wait_until(
        lambda: tasks.stats.apply_async(args=(False,), queue=queue).get(timeout=5) is not None,
        180,
        "the worker",
    )


def _pg_updates(dbname: str) -> int:
    rows = services.pg_admin(
        f"SELECT n_tup_upd FROM pg_stat_user_tables WHERE relname = '{PROGRESS_TABLE}'", dbname
    )
    return int(rows[0][0]) if rows else 0


def _wait_pg_updates(dbname: str, expected: int, timeout: float = 15.0) -> int:
    """``n_tup_upd`` once the statistics of the exited worker have been flushed."""
    deadline = time.monotonic() + timeout
    value = _pg_updates(dbname)
    while value < expected and time.monotonic() < deadline:
        time.sleep(0.5)
        value = _pg_updates(dbname)
    return value


def run(args: argparse.Namespace, log_dir: Path) -> dict[str, Any]:
    import django
    from django.core.management import call_command

    django.setup()
    call_command("migrate", verbosity=0)
    call_command("migrate", database="big", verbosity=0)

    from benchmarks import latency, many_jobs, read_path, rollup, web, write_path

    queue = f"cpt-bench-{os.environ['BENCH_RUN_ID']}-{args.backend}"
    redis_url = os.environ.get("BENCH_REDIS_URL") if args.backend == "postgres" else None
    results: dict[str, Any] = {
        "backend": args.backend,
        "web_workers": WEB_WORKERS,
        "wrk_seconds": args.wrk_seconds,
        "repeat": args.repeat,
        "read_repeat": args.read_repeat,
    }

    worker = services.start_worker("write-worker", {}, log_dir, queue=queue)
    try:
        _wait_worker(queue)
        _say("waiting for a quiet machine")
        results["quiet"] = services.wait_quiet()
        _say("write path")
        results["write"] = write_path.measure(
            queue, args.items, args.slow_items, args.repeat, redis_url
        )
    finally:
        worker.stop()
    if args.backend == "postgres":
        expected = results["write"]["db_updates_total"]
        results["write"]["pg_n_tup_upd"] = _wait_pg_updates(os.environ["BENCH_PG_NAME"], expected)

    if args.write_only:
        return results
    # The second web server's default database is the one with the large table.
    if args.backend == "postgres":
        big_db = {"BENCH_PG_NAME": os.environ["BENCH_PG_BIG_NAME"]}
    else:
        big_db = {"BENCH_SQLITE_NAME": os.environ["BENCH_SQLITE_BIG_NAME"]}
    gunicorn, base = services.start_gunicorn("gunicorn", {}, log_dir, WEB_WORKERS)
    big_gunicorn, big_base = services.start_gunicorn("gunicorn-big", big_db, log_dir, WEB_WORKERS)
    # The other session engines, at the small size: cached_db needs the run's Redis.
    engine_names = [
        name for name in args.engines.split(",") if name and (redis_url or name != "cached_db")
    ]
    engine_servers = {
        name: services.start_gunicorn(
            f"gunicorn-{name}", {"BENCH_SESSION_ENGINE": name}, log_dir, WEB_WORKERS
        )
        for name in engine_names
    }
    try:
        session = web.login()
        engines = {name: (url, web.login(engine=name)) for name, (_, url) in engine_servers.items()}
        _say("read path")
        bases = {1_000: (base, "default"), args.big_rows: (big_base, "big")}
        results["read"] = read_path.measure(
            bases, session, args.wrk_seconds, args.read_repeat, engines
        )
        big_gunicorn.stop()
        for server, _ in engine_servers.values():
            server.stop()
        _say("roll-up read")
        results["rollup"] = rollup.measure(reads=40 * args.read_repeat)
        worker = services.start_worker("latency-worker", {}, log_dir, queue=queue)
        try:
            _wait_worker(queue)
            _say("end-to-end latency")
            results["latency"] = latency.measure(base, session, queue, args.latency_calls)
        finally:
            worker.stop()
        if args.backend == "postgres":
            _say("many jobs")
            results["many"] = many_jobs.measure(
                base, session, {}, log_dir, os.environ["BENCH_PG_NAME"], queue,
                args.many_seconds, WEB_WORKERS, args.max_jobs,
            )  # fmt: skip
    finally:
        for server, _ in engine_servers.values():
            server.stop()
        big_gunicorn.stop()
        gunicorn.stop()
    return results


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--backend", choices=("postgres", "embedded"), required=True)
    parser.add_argument("--output", type=Path, required=True)
    parser.add_argument("--engines", default="cached_db,signed_cookies",
                        help="session engines measured besides db (comma-separated)")  # fmt: skip
    parser.add_argument("--items", type=int, default=100_000)
    parser.add_argument("--slow-items", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--read-repeat", type=int, default=5)
    parser.add_argument("--wrk-seconds", type=float, default=3.0)
    parser.add_argument("--big-rows", type=int, default=1_000_000)
    parser.add_argument("--latency-calls", type=int, default=60)
    parser.add_argument("--many-seconds", type=float, default=15.0)
    parser.add_argument("--max-jobs", type=int, default=None)
    parser.add_argument("--write-only", action="store_true")
    args = parser.parse_args(argv)

    run_id = f"{os.getpid()}"
    tmp = Path(tempfile.mkdtemp(prefix=f"cpt-bench-{run_id}-"))
    os.environ.update(
        {
            "BENCH_BACKEND": args.backend,
            "BENCH_RUN_ID": run_id,
            "BENCH_TMP": str(tmp),
            "DJANGO_SETTINGS_MODULE": "benchmarks.settings",
        }
    )
    redis = None
    dbnames = [f"bench_{run_id}", f"bench_{run_id}_big"]
    try:
        if args.backend == "postgres":
            for name in dbnames:
                services.pg_admin(f"CREATE DATABASE {name}")
            os.environ["BENCH_PG_NAME"], os.environ["BENCH_PG_BIG_NAME"] = dbnames
            redis, url = services.start_redis(tmp)
            os.environ["BENCH_REDIS_URL"] = url
        else:
            os.environ["BENCH_SQLITE_BIG_NAME"] = str(tmp / "bench-big.sqlite3")
        results = run(args, tmp)
    except Exception:
        print(f"benchmark failed; logs in {tmp}", file=sys.stderr)
        raise
    finally:
        if redis is not None:
            redis.stop()
        if args.backend == "postgres":
            from django.db import connections

            connections.close_all()
            for name in dbnames:
                services.pg_admin(f"DROP DATABASE IF EXISTS {name} WITH (FORCE)")
    args.output.write_text(json.dumps(results, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())

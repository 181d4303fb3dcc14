"""The machine, the versions and the figures, as the Markdown of ``docs/benchmarks.md``."""

from __future__ import annotations

import os
import platform
import re
import shutil
import sqlite3
import subprocess
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from benchmarks import services

NOTES = Path(__file__).with_name("notes.md")
COLUMNS = {"postgres": "PostgreSQL + Redis", "embedded": "SQLite WAL + embedded broker"}
NAMES = {
    "bare": "bare loop",
    "tracker": "`self.progress(1, msg)` (ProgressTask)",
    "celery_progress": "celery-progress `set_progress(i, total, msg)`",
    "seed": "original `update_progress(processed=1)`",
}
ENDPOINTS = {
    "tracker": "this package, job detail (200)",
    "tracker_304": "this package, `If-None-Match` (304)",
    "tracker_list": "this package, list",
    "tracker_active": "this package, active jobs",
    "celery_progress_anonymous": "celery-progress as shipped (no auth)",
    "celery_progress_secured": "celery-progress + `login_required`",
    "ceiling": "ceiling: constant `JsonResponse`",
    "floor": "floor: bare primary-key read, no auth",
}
ENGINES = {"db": "`db` (default)", "cached_db": "`cached_db` (Redis cache)",
           "signed_cookies": "`signed_cookies`"}  # fmt: skip
PACKAGES = (
    "celery-progress-tracker",
    "Django",
    "celery",
    "kombu",
    "celery-progress",
    "psycopg",
    "redis",
    "gunicorn",
)


def _first_line(cmd: list[str]) -> str:
    if shutil.which(cmd[0]) is None:
        return "not installed"
    out = subprocess.run(cmd, capture_output=True, text=True)
    return (out.stdout or out.stderr).strip().splitlines()[0]


def machine() -> dict[str, str]:
    cpuinfo = Path("/proc/cpuinfo").read_text() if Path("/proc/cpuinfo").exists() else ""
    model = re.search(r"model name\s*:\s*(.*)", cpuinfo)
    meminfo = Path("/proc/meminfo").read_text() if Path("/proc/meminfo").exists() else ""
    mem = re.search(r"MemTotal:\s*(\d+) kB", meminfo)
    return {
        "nproc": str(len(os.sched_getaffinity(0))),
        "cpu": model.group(1).strip() if model else platform.processor(),
        "memory": f"{int(mem.group(1)) / 1024 / 1024:.1f} GiB" if mem else "unknown",
        "os": f"{platform.system()} {platform.release()}",
        "load": "{:.2f} {:.2f} {:.2f}".format(*os.getloadavg()),
    }


def versions() -> dict[str, str]:
    found = {"Python": platform.python_version()}
    for name in PACKAGES:
        try:
            found[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            found[name] = "not installed"
    try:
        found["PostgreSQL"] = str(services.pg_admin("SHOW server_version")[0][0])
    except Exception as exc:
        found["PostgreSQL"] = f"unreachable ({type(exc).__name__})"
    redis = _first_line(["redis-server", "--version"])
    found["Redis"] = redis.split(" v=")[-1].split(" ")[0]
    found["SQLite"] = sqlite3.sqlite_version
    found["wrk"] = _first_line(["wrk", "--version"]).split(" ")[1]
    return found


def _num(value: Any, digits: int = 0) -> str:
    if value is None:
        return "—"
    return f"{value:,.{digits}f}"


def _us(value: float) -> str:
    return f"{value:,.2f}" if value < 100 else f"{value:,.0f}"


def _verdict(ok: bool) -> str:
    return "met" if ok else "**missed**"


def _ratio(key: str, row: dict[str, Any]) -> str:
    if key == "tracker":
        return "1x"
    if "overhead_ratio" in row:
        return f"{row['overhead_ratio']:,.0f}x"
    return "—"


def write_table(write: dict[str, Any], redis: bool) -> list[str]:
    backend = "Redis writes (SETEX+SET+PUBLISH)" if redis else "result files written"
    lines = [
        f"| contender | items x runs | µs per call (median) | µs per call min-max |"
        f" overhead µs (median) | overhead µs (fastest run) | overhead vs ProgressTask |"
        f" DB writes | {backend} |",
        "|---|---|---|---|---|---|---|---|---|",
    ]
    for key, label in NAMES.items():
        row = write["contenders"][key]
        runs = row.get("per_call_us_runs") or [row["per_call_us"]]
        cells = [
            label,
            f"{row['items']:,} x {row['repetitions']}",
            _us(row["per_call_us"]),
            f"{_us(min(runs))}-{_us(max(runs))}",
            _us(row["overhead_us"]),
            _us(row.get("overhead_best_us", row["overhead_us"])),
            _ratio(key, row),
            _num(row["db_writes"]),
            _num(row.get("redis_writes", row.get("backend_writes"))),
        ]
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def sizes(read: dict[str, Any]) -> dict[str, Any]:
    """The per-table-size part of the read results (other keys: engines, queries)."""
    return {key: row for key, row in read.items() if key.isdigit()}


def _spread(fig: dict[str, Any]) -> str:
    if "rps_min" not in fig:
        return "—"
    return f"{fig['rps_min']:,.0f}-{fig['rps_max']:,.0f}"


def read_table(read: dict[str, Any]) -> list[str]:
    lines = ["| endpoint | rows in table | req/s (median) | req/s min-max | vs secured"
             " celery-progress | p50 ms | p90 ms | p99 ms | SQL queries | errors |",
             "|---|---|---|---|---|---|---|---|---|---|"]  # fmt: skip
    queries = read.get("queries", {}).get("db", {})
    for size, row in sizes(read).items():
        secured = row["celery_progress_secured"]["rps"]
        for key, label in ENDPOINTS.items():
            if key not in row:
                continue
            fig = row[key]
            errors = fig["bad_responses"] + len(fig["socket_errors"])
            lines.append(
                f"| {label} | {int(size):,} | {_num(fig['rps'])} | {_spread(fig)} |"
                f" {fig['rps'] / secured:.2f}x | {_num(fig['p50_ms'], 1)} |"
                f" {_num(fig['p90_ms'], 1)} | {_num(fig['p99_ms'], 1)} |"
                f" {queries.get(key, '—')} | {errors} |"
            )
    return lines


def engine_table(read: dict[str, Any]) -> list[str]:
    """The detail, 304 and list polls under each session engine, at the smallest size."""
    small = sizes(read)[min(sizes(read), key=int)]
    groups = {"db": small, **{key[len("engine_"):]: row for key, row in read.items()
                              if key.startswith("engine_")}}  # fmt: skip
    queries = read.get("queries", {})
    lines = ["| session engine | endpoint | req/s (median) | req/s min-max | p99 ms |"
             " SQL queries |", "|---|---|---|---|---|---|"]  # fmt: skip
    for engine, row in groups.items():
        for key in ("tracker", "tracker_304", "tracker_list"):
            fig = row[key]
            lines.append(
                f"| {ENGINES.get(engine, engine)} | {ENDPOINTS[key]} | {_num(fig['rps'])} |"
                f" {_spread(fig)} | {_num(fig['p99_ms'], 1)} |"
                f" {queries.get(engine, {}).get(key, '—')} |"
            )
    return lines


def targets(columns: dict[str, Any]) -> list[str]:
    lines = ["| target | column | measured | verdict |", "|---|---|---|---|"]
    for column, res in columns.items():
        name = COLUMNS[column]
        rows = res["write"]["contenders"]
        tracker = rows["tracker"]
        best = tracker.get("overhead_best_us", tracker["overhead_us"])
        lines.append(
            f"| `self.progress()` overhead ≤ 0.3 µs per call (fastest run) | {name} |"
            f" {best:.2f} µs (median of the runs {tracker['overhead_us']:.2f} µs)"
            f" | {_verdict(best <= 0.3)} |"
        )
        ratio = rows["celery_progress"]["overhead_ratio"]
        lines.append(
            f"| ≥ 100x lower than celery-progress | {name} | {ratio:,.0f}x |"
            f" {_verdict(ratio >= 100)} |"
        )
        allowed = tracker["db_writes_allowed"]
        lines.append(
            f"| DB writes ≤ duration / flush interval + 3 | {name} | {tracker['db_writes_max']}"
            f" (allowed {allowed:.1f} for {tracker['task_seconds']:.3f} s) |"
            f" {_verdict(tracker['db_writes_max'] <= allowed)} |"
        )
        if "read" in res:
            lines += _read_targets(name, res["read"])
        if "latency" in res:
            lat = res["latency"]
            limit = lat["flush_interval_ms"] + 50
            lines.append(
                f"| DB writes ≤ duration / flush interval + 3 (the {lat['task_seconds']:.1f} s"
                f" latency job) | {name} | {lat['db_writes']} (allowed"
                f" {lat['db_writes_allowed']:.1f}) |"
                f" {_verdict(lat['db_writes'] <= lat['db_writes_allowed'])} |"
            )
            lines.append(
                f"| end-to-end p95 ≤ flush interval + 50 ms | {name} |"
                f" {lat['p95_ms']:.0f} ms (limit {limit:.0f}) |"
                f" {_verdict(lat['p95_ms'] <= limit)} |"
            )
        if "many" in res:
            many = res["many"]
            errors = many["poll_errors"] + many["wrong_final_counts"]
            lines.append(
                f"| many jobs: no error | {name} | {errors} errors | {_verdict(errors == 0)} |"
            )
    return lines


def _read_targets(name: str, read: dict[str, Any]) -> list[str]:
    lines = []
    by_size = sizes(read)
    small, big = by_size[min(by_size, key=int)], by_size[max(by_size, key=int)]
    for size, row in by_size.items():
        secured = row["celery_progress_secured"]["rps"]
        ours = row["tracker"]["rps"]
        lines.append(
            f"| detail poll ≥ 1.5x secured celery-progress ({int(size):,} rows) | {name} |"
            f" {ours:,.0f} vs {secured:,.0f} req/s ({ours / secured:.2f}x) |"
            f" {_verdict(ours >= 1.5 * secured)} |"
        )
        r200, r304 = row["tracker"], row["tracker_304"]
        lines.append(
            f"| 304 ≥ detail poll ({int(size):,} rows) | {name} | {r304['rps']:,.0f}"
            f" vs {r200['rps']:,.0f} req/s | {_verdict(r304['rps'] >= r200['rps'])} |"
        )
        for key in ("tracker_list", "tracker_active"):
            if key in row:
                rate = row[key]["rps"]
                lines.append(
                    f"| {ENDPOINTS[key]} ≥ 1.0x secured celery-progress ({int(size):,} rows) |"
                    f" {name} | {rate:,.0f} vs {secured:,.0f} req/s ({rate / secured:.2f}x) |"
                    f" {_verdict(rate >= secured)} |"
                )
    growth = big["tracker"]["p99_ms"] / small["tracker"]["p99_ms"]
    lines.append(
        f"| p99 at {max(map(int, by_size)):,} rows within 20 % of p99 at"
        f" {min(map(int, by_size)):,} | {name} | {small['tracker']['p99_ms']:.1f} →"
        f" {big['tracker']['p99_ms']:.1f} ms ({(growth - 1) * 100:+.0f} %) |"
        f" {_verdict(growth <= 1.2)} |"
    )
    queries = read.get("queries", {}).get("db", {})
    if queries:
        detail = (queries["tracker"], queries["tracker_304"])
        lists = (queries["tracker_list"], queries["tracker_active"])
        lines.append(
            f"| one query per detail poll (200 and 304), two per list | {name} |"
            f" {queries['tracker']}, {queries['tracker_304']}; {queries['tracker_list']},"
            f" {queries['tracker_active']} |"
            f" {_verdict(detail == (1, 1) and max(lists) <= 2)} |"
        )
    return lines


def render(columns: dict[str, Any], command: str, started: dict[str, str],
           ended: dict[str, str], found: dict[str, str], seconds: float) -> str:  # fmt: skip
    out = [
        "# Benchmarks",
        "",
        "celery-progress-tracker against celery-progress (the incumbent) and the original",
        "system's per-item write (`update_progress(processed=1)` on every item). Every figure",
        "below comes from the one run described here: all contenders measured side by side,",
        "interleaved, medians of several repetitions. This page is written by the run",
        "(`make bench`); the analysis at the end comes from `benchmarks/notes.md`.",
        "",
        "## The run",
        "",
        f"- Command: {command} ({seconds / 60:.1f} minutes).",
        f"- Machine: {started['nproc']} CPUs ({started['cpu']}), {started['memory']} of memory,"
        f" {started['os']}. Load average {started['load']} at the start, {ended['load']} at the end"
        " (the machine is shared: other processes ran during the run).",
        "- Versions: " + ", ".join(f"{k} {v}" for k, v in found.items()) + ".",
        "- Services: the machine's PostgreSQL, in a database created and dropped by the run;",
        "  a private `redis-server` started by the run (so that `INFO commandstats` counts only",
        "  the benchmark's commands); SQLite in WAL mode and the package's embedded broker in a",
        "  temporary folder.",
        "- Django's database connections are persistent (`CONN_MAX_AGE = 600`) in the worker and",
        "  in gunicorn, as production should have them; sessions are Django's default",
        "  (database-backed).",
        "",
        "## 1. Write path: one progress call per item, inside a real worker",
        "",
        "A `celery worker` process (prefork pool, one child) runs each contender; the task",
        "times its own loop. Overhead = time per call minus the bare loop's. Writes are",
        "counted, not estimated: database statements on the progress table by an",
        "`execute_wrapper` on every connection of the worker process (task and flusher",
        "threads); Redis `SETEX`+`SET`+`PUBLISH` from `INFO commandstats` deltas; files written",
        "by the embedded result backend. The bare loop's 2 result-backend writes are the task's",
        "own result (and, for the file backend, the counter task's): every contender pays them.",
        "",
    ]
    for column, res in columns.items():
        write = res["write"]
        tracker = write["contenders"]["tracker"]
        out += [f"### {COLUMNS[column]}", ""]
        if "quiet" in res:
            quiet = res["quiet"]
            out += [
                f"Before this part the run waited {quiet['waited']:.0f} s for the CPUs to be"
                f" at least 80 % idle over a second ({quiet['idle']:.0%} idle when it started).",
                "",
            ]
        out += [*write_table(write, "pg_n_tup_upd" in write), ""]
        line = (
            f"The ProgressTask run made {tracker['db_writes_max']} database writes at most"
            f" (median {_num(tracker['db_writes'])}: the start and the end, plus a flush when one"
            f" fell inside the loop) for a {tracker['task_seconds']:.3f} s task (median);"
            f" the flusher's own count, median: {_num(tracker['flusher_writes'])} flushes."
        )
        if "pg_n_tup_upd" in write:
            line += (
                f" Cross-check: the worker issued {write['db_updates_total']:,} UPDATEs in all;"
                f" PostgreSQL's `pg_stat_user_tables.n_tup_upd` grew by {write['pg_n_tup_upd']:,}."
            )
        out += [line, ""]
    out += ["## 2. Read path: polling under gunicorn", ""]
    for column, res in columns.items():
        if "read" not in res:
            continue
        out += [
            f"### {COLUMNS[column]}",
            "",
            f"Gunicorn, {res['web_workers']} sync workers, for each table size: each size has its"
            " own database and its own gunicorn, only one of them under load at a time. `wrk"
            f" -t2 -c8 --latency`, {res['wrk_seconds']:g} s per measurement; each of"
            f" {res['read_repeat']} repetitions measures every endpoint at every size in turn"
            " (starting at a different one each time), so a busy moment of the shared machine"
            " hits all of them alike; medians. Rows are added with `INSERT ... SELECT`"
            " (`generate_series` on PostgreSQL, a recursive CTE on SQLite). Authenticated"
            " requests carry a session cookie; the job is a running job of that user.",
            "",
            *read_table(res["read"]),
            "",
        ]
        if any(key.startswith("engine_") for key in res["read"]):
            out += [
                "Session engines, at the smallest table size: the same user's polls through a"
                " gunicorn whose `SESSION_ENGINE` is each engine in turn (`cached_db` keeps"
                " sessions in the run's Redis), measured in the same repetitions as above. SQL"
                " queries are counted with Django's test client, one warm request each.",
                "",
                *engine_table(res["read"]),
                "",
            ]
    out += ["## 3. End-to-end latency", ""]
    for column, res in columns.items():
        if "latency" in res:
            lat = res["latency"]
            out.append(
                f"- {COLUMNS[column]}: {lat['calls']} `self.progress()` calls at random moments"
                f" (50-350 ms apart) seen by an HTTP poller ({lat['polls']:,} polls):"
                f" p50 {lat['p50_ms']:.0f} ms, p95 {lat['p95_ms']:.0f} ms, max"
                f" {lat['max_ms']:.0f} ms, with the default flush interval of"
                f" {lat['flush_interval_ms']:.0f} ms. The job ran {lat['task_seconds']:.1f} s and"
                f" made {lat['db_writes']} database writes."
            )
    out += ["", "## 4. Many jobs at once, 100 pollers", ""]
    for column, res in columns.items():
        if "many" in res:
            m = res["many"]
            out += [
                f"- {COLUMNS[column]}: `max_connections` = {m['max_connections']}, minus"
                f" {m['superuser_reserved']} reserved, {m['in_use_at_start']} in use by others"
                f" at the start, {m['headroom']} of headroom for them, the web workers and this"
                " process; each job holds two connections (task + flusher thread, prefork,"
                f" one job per child): **{m['jobs']} jobs** at once, each making one"
                f" `self.progress()` call every 10 ms for {m['seconds_per_job']:g} s.",
                f"- {m['pollers']} pollers, each polling one job every {m['poll_interval_s']:g} s"
                f" (the bar's default): {m['polls']:,} polls, p50 {m['poll_p50_ms']:.0f} ms,"
                f" p99 {m['poll_p99_ms']:.0f} ms, {m['poll_errors']} errors;"
                f" {m['wrong_final_counts']} jobs with a wrong final count.",
                f"- Database writes: {m['db_updates']:,} UPDATEs of the progress table"
                f" (`n_tup_upd` delta) over {m['window_seconds']:.1f} s ="
                f" **{m['db_updates_per_second']:.0f} writes/s** for {m['items']:,} items"
                f" ({m['items'] / m['window_seconds']:,.0f} items/s).",
            ]
    from benchmarks import rollup

    out += ["", "## 5. Reading a roll-up (one bar for a group)", ""]
    for column, res in columns.items():
        if "rollup" in res:
            out += [f"### {COLUMNS[column]}", "", *rollup.table(res["rollup"]), ""]
    out += [
        "One request through Django's test client, in the benchmark's process: the view,",
        "the one query over the members (window sums beside the first listed members) and",
        "the JSON. `benchmarks.rollup` alone prints this section.",
        "",
    ]
    out += ["## Targets", "", *targets(columns), ""]
    if NOTES.exists():
        out += ["## What the figures say", "", NOTES.read_text().strip(), ""]
    return "\n".join(out)


def command_line() -> str:
    """The command that produced the report, as Markdown (``make bench`` when run by make)."""
    args = sys.argv[1:]
    if "--save-json" in args:  # where the raw figures were kept changes no figure
        index = args.index("--save-json")
        del args[index : index + 2]
    command = f"python -m benchmarks.run {' '.join(args)}".strip()
    if os.environ.get("MAKELEVEL"):
        return f"`make bench`, which runs `{command}`"
    return f"`{command}`"

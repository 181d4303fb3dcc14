"""The processes and services one benchmark run starts and stops.

PostgreSQL and Redis on this machine are shared with other users: a run
creates its own database (``bench_<pid>``) and drops it, and starts a private
``redis-server`` on a free port so that ``INFO commandstats`` counts only the
benchmark's commands.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent


def _cpu_times() -> tuple[int, int]:
    """(idle, total) jiffies of every CPU since boot, from ``/proc/stat``."""
    fields = [int(value) for value in Path("/proc/stat").read_text().split("\n")[0].split()[1:]]
    return fields[3] + fields[4], sum(fields)  # idle + iowait


def wait_quiet(idle: float = 0.8, timeout: float = 120.0) -> dict[str, float]:
    """Wait until the CPUs were at least ``idle`` idle over a whole second (or ``timeout``).

    A shared machine's other work (a database checkpoint, autovacuum, another
    user's processes) would otherwise land in a measurement of a few tens of
    milliseconds. Returns the seconds waited and the idle share of the last second.
    """
    start = time.monotonic()
    share = 0.0
    while True:
        idle_before, total_before = _cpu_times()
        time.sleep(1.0)
        idle_after, total_after = _cpu_times()
        share = (idle_after - idle_before) / max(1, total_after - total_before)
        if share >= idle or time.monotonic() - start >= timeout:
            return {"waited": time.monotonic() - start, "idle": share}


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_until(check: Any, timeout: float, what: str, interval: float = 0.1) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        try:
            value = check()
        except Exception:  # not up yet
            value = None
        if value:
            return value
        if time.monotonic() > deadline:
            raise RuntimeError(f"timed out after {timeout}s waiting for {what}")
        time.sleep(interval)


def pg_admin(sql: str, dbname: str = "postgres") -> list[tuple[Any, ...]]:
    """Run ``sql`` on the server with autocommit (CREATE/DROP DATABASE need it)."""
    import psycopg

    with psycopg.connect(
        host=os.environ.get("BENCH_PG_HOST", "127.0.0.1"),
        port=int(os.environ.get("BENCH_PG_PORT", "5432")),
        user=os.environ.get("BENCH_PG_USER", "postgres"),
        dbname=dbname,
        autocommit=True,
    ) as conn:
        cursor = conn.execute(sql)
        return list(cursor.fetchall()) if cursor.description else []


class Process:
    """A child process with its output in a log file; its process group is killed if it hangs."""

    def __init__(self, name: str, cmd: list[str], env: dict[str, str], log_dir: Path) -> None:
        self.name = name
        self.log = log_dir / f"{name}.log"
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            cmd,
            env={**os.environ, "PYTHONPATH": str(ROOT), **env},
            stdout=self._log_file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=ROOT,
        )

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise RuntimeError(f"{self.name} exited ({self.process.returncode}):\n{self.tail()}")

    def tail(self) -> str:
        self._log_file.flush()
        return self.log.read_text(errors="replace")[-3000:]

    def stop(self, timeout: float = 60.0) -> None:
        if self.process.poll() is None:
            # The main process only: it stops its children itself (a pool child
            # killed under it makes a Celery worker's shutdown hang).
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(timeout)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self._log_file.close()


def start_redis(log_dir: Path) -> tuple[Process, str]:
    """A private ``redis-server`` (no persistence) and its URL."""
    binary = shutil.which("redis-server")
    if binary is None:
        raise RuntimeError("redis-server is not installed (apt-get install redis-server)")
    port = free_port()
    cmd = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
           "--appendonly", "no", "--dir", str(log_dir)]  # fmt: skip
    proc = Process("redis", cmd, {}, log_dir)
    wait_until(lambda: socket.create_connection(("127.0.0.1", port), 1).close() or True, 20,
               "redis-server")  # fmt: skip
    return proc, f"redis://127.0.0.1:{port}/0"


def redis_commandstats(url: str) -> dict[str, int]:
    """``INFO commandstats`` as ``{command: calls}``."""
    import redis

    client = redis.Redis.from_url(url)
    try:
        info = client.info("commandstats")
    finally:
        client.close()
    return {name.removeprefix("cmdstat_"): int(stat["calls"]) for name, stat in info.items()}


def start_worker(name: str, env: dict[str, str], log_dir: Path, *, pool: str = "prefork",
                 concurrency: int = 1, queue: str) -> Process:  # fmt: skip
    cmd = [sys.executable, "-m", "celery", "-A", "benchmarks.celery_app", "worker",
           "-P", pool, "-c", str(concurrency), "-Q", queue, "-n", f"{name}@localhost",
           "--without-gossip", "--without-mingle", "--without-heartbeat",
           "-l", "WARNING"]  # fmt: skip
    return Process(name, cmd, env, log_dir)


def start_gunicorn(
    name: str, env: dict[str, str], log_dir: Path, workers: int
) -> tuple[Process, str]:
    """Gunicorn with ``workers`` sync workers on a free port; returns it and its base URL."""
    port = free_port()
    cmd = [sys.executable, "-m", "gunicorn", "benchmarks.wsgi:application",
           "--workers", str(workers), "--worker-class", "sync", "--bind", f"127.0.0.1:{port}",
           "--backlog", "2048", "--log-level", "warning"]  # fmt: skip
    proc = Process(name, cmd, env, log_dir)
    base = f"http://127.0.0.1:{port}"

    def up() -> bool:
        proc.check_alive()
        with urllib.request.urlopen(f"{base}/ready/", timeout=2) as response:
            return bool(response.status == 200)

    wait_until(up, 60, "gunicorn")
    return proc, base

#!/usr/bin/env python
"""Run the demo: migrate, create the demo user, start a web server and a Celery worker.

    python example/run_demo.py [--port 8000] [--data-dir DIR]

Ctrl-C stops both processes. Everything the demo writes (SQLite database,
broker messages, e-mails, reports, the two processes' logs) goes to
``--data-dir`` (default ``example/.tmp``), so ``rm -rf example/.tmp`` starts
afresh. The terminal stays quiet: the URL and the login are printed last.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType

EXAMPLE_DIR = Path(__file__).resolve().parent
# DEMO_NODE_MODULES: an npm install of them elsewhere (the settings read it too).
NODE_MODULES = Path(os.environ.get("DEMO_NODE_MODULES", EXAMPLE_DIR / "node_modules"))
#: The theme switcher's CSS frameworks (npm package -> the file the demo serves).
FRAMEWORKS = {
    "bootstrap@5": NODE_MODULES / "bootstrap" / "dist" / "css" / "bootstrap.min.css",
    "fomantic-ui-css": NODE_MODULES / "fomantic-ui-css" / "semantic.min.css",
}

#: Seconds a process gets to stop after SIGTERM before it is killed.
STOP_TIMEOUT = 10.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="the web server's (default: 8000)")
    parser.add_argument("--data-dir", type=Path, default=EXAMPLE_DIR / ".tmp")
    parser.add_argument("--pool", default="threads", help="Celery worker pool (default: threads)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--no-npm",
        action="store_true",
        help="do not install Bootstrap's and Fomantic-UI's CSS with npm (the theme "
        "switcher then offers the default theme only)",
    )
    return parser.parse_args()


def install_frameworks() -> None:
    """Bootstrap's and Fomantic-UI's CSS for the theme switcher (optional)."""
    missing = [package for package, css in FRAMEWORKS.items() if not css.is_file()]
    if not missing:
        return
    npm = shutil.which("npm")
    if npm is None:
        print("npm not found: the theme switcher offers the default theme only.", flush=True)
        return
    print(f"Installing {' and '.join(missing)} with npm...", flush=True)
    result = subprocess.run(
        [npm, "install", "--no-save", "--no-audit", "--no-fund", "--loglevel=error",
         "--prefix", str(NODE_MODULES.parent), *missing],
        check=False, stdout=subprocess.DEVNULL,
    )  # fmt: skip
    if result.returncode:
        print("npm failed: the theme switcher offers the default theme only.", flush=True)


def port_is_free(host: str, port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind((host, port))
        except OSError:
            return False
    return True


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=EXAMPLE_DIR, env=env, check=True, stdout=subprocess.DEVNULL,
    )  # fmt: skip


def wait_for_line(log: Path, text: str, process: subprocess.Popen[bytes], timeout: float) -> bool:
    """Wait until ``text`` is in the log (the worker says "ready."); False on timeout."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline and process.poll() is None:
        if log.is_file() and text in log.read_text(errors="replace"):
            return True
        time.sleep(0.2)
    return False


def tail(log: Path, lines: int = 30) -> str:
    return "\n".join(log.read_text(errors="replace").splitlines()[-lines:]) if log.is_file() else ""


def banner(url: str, logs: Path) -> str:
    rule = "=" * 64
    return (
        f"\n{rule}\n"
        f"  Demo running at {url}\n"
        f"  Log in as demo, password demo.\n"
        f"  Ctrl-C stops it. Logs: {logs}\n"
        f"{rule}\n"
    )


def wait_for_http(url: str, process: subprocess.Popen[bytes], timeout: float = 60.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"the web server exited with code {process.returncode}")
        try:
            with urllib.request.urlopen(url, timeout=2):
                return
        except (urllib.error.URLError, OSError):
            time.sleep(0.2)
    raise SystemExit(f"the web server did not answer at {url} within {timeout:.0f}s")


def stop(process: subprocess.Popen[bytes]) -> None:
    """SIGTERM, then SIGKILL to the whole process group (pool children too)."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            process.wait(STOP_TIMEOUT)
    # Each child leads its own group: this also reaches worker pool processes.
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(process.pid, signal.SIGKILL)
    process.wait()


def main() -> int:
    args = parse_args()
    if not port_is_free(args.host, args.port):
        print(
            f"Port {args.port} is in use: choose another with make demo PORT=8001 "
            f"(or python example/run_demo.py --port 8001).",
            flush=True,
        )
        return 2
    data_dir = args.data_dir.resolve()
    logs = data_dir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "project.settings",
        "DEMO_DATA_DIR": str(data_dir),
        "PYTHONPATH": os.pathsep.join(
            filter(None, [str(EXAMPLE_DIR), os.environ.get("PYTHONPATH")])
        ),
        "PYTHONUNBUFFERED": "1",
    }
    if not args.no_npm:
        install_frameworks()
    print("Preparing the database...", flush=True)
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "demo_user")

    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    # New sessions: Ctrl-C reaches only this launcher, which stops both in order.
    # Their output (the worker's banner, a line per request) goes to log files.
    log_files = {name: logs / f"{name}.log" for name in ("worker", "web")}
    with log_files["worker"].open("wb") as worker_log, log_files["web"].open("wb") as web_log:
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "project", "worker", "-P", args.pool,
             "-c", str(args.concurrency), "-l", "INFO", "--without-gossip", "--without-mingle"],
            cwd=EXAMPLE_DIR, env=env, start_new_session=True,
            stdout=worker_log, stderr=subprocess.STDOUT,
        )  # fmt: skip
        # --insecure: runserver serves the static files with DEBUG off.
        web = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", "--insecure",
             f"{args.host}:{args.port}"],
            cwd=EXAMPLE_DIR, env=env, start_new_session=True,
            stdout=web_log, stderr=subprocess.STDOUT,
        )  # fmt: skip
    processes = {"worker": worker, "web": web}
    print(f"Starting: worker pid {worker.pid}, web pid {web.pid}", flush=True)
    code = 0
    try:
        url = f"http://{args.host}:{args.port}/"
        wait_for_http(url + "accounts/login/", web)
        if not wait_for_line(log_files["worker"], " ready.", worker, timeout=60):
            print(f"The worker is slow to start: see {log_files['worker']}", flush=True)
        print(banner(url, logs), flush=True)
        while not stopping:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(f"the {name} process exited with code {process.returncode}:", flush=True)
                    print(tail(log_files[name]), flush=True)
                    stopping, code = True, 1
            time.sleep(0.2)
    except SystemExit as exc:
        print(exc, flush=True)
        print(tail(log_files["web"]), flush=True)
        code = 1
    finally:
        print("Stopping the web server and the worker...", flush=True)
        for process in (web, worker):
            stop(process)
    print("Stopped.", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())

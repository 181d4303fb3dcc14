#!/usr/bin/env python
"""Run the demo: migrate, create the demo user, start a web server and a Celery worker.

    python example/run_demo.py [--port 8000] [--data-dir DIR]

Ctrl-C stops both processes. Everything the demo writes (SQLite database,
broker messages, e-mails, reports) goes to ``--data-dir`` (default
``example/.tmp``), so ``rm -rf example/.tmp`` starts afresh.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import shutil
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import FrameType

EXAMPLE_DIR = Path(__file__).resolve().parent
FOMANTIC = EXAMPLE_DIR / "node_modules" / "fomantic-ui-css" / "semantic.min.css"

#: Seconds a process gets to stop after SIGTERM before it is killed.
STOP_TIMEOUT = 10.0


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000)
    parser.add_argument("--data-dir", type=Path, default=EXAMPLE_DIR / ".tmp")
    parser.add_argument("--pool", default="threads", help="Celery worker pool (default: threads)")
    parser.add_argument("--concurrency", type=int, default=4)
    parser.add_argument(
        "--no-npm", action="store_true", help="do not install Fomantic-UI's CSS with npm"
    )
    return parser.parse_args()


def install_fomantic() -> None:
    # Optional: the pages fall back to the demo's own stylesheet.
    if FOMANTIC.is_file():
        return
    npm = shutil.which("npm")
    if npm is None:
        print("npm not found: the pages use the demo's plain stylesheet.", flush=True)
        return
    print("Installing Fomantic-UI's CSS with npm...", flush=True)
    result = subprocess.run(
        [npm, "install", "--no-save", "--no-audit", "--no-fund", "--prefix", str(EXAMPLE_DIR),
         "fomantic-ui-css"],
        check=False,
    )  # fmt: skip
    if result.returncode:
        print("npm failed: the pages use the demo's plain stylesheet.", flush=True)


def manage(env: dict[str, str], *args: str) -> None:
    subprocess.run([sys.executable, "manage.py", *args], cwd=EXAMPLE_DIR, env=env, check=True)


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
    data_dir = args.data_dir.resolve()
    data_dir.mkdir(parents=True, exist_ok=True)
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
        install_fomantic()
    manage(env, "migrate", "--noinput", "-v", "0")
    manage(env, "demo_user")

    stopping = False

    def on_signal(signum: int, frame: FrameType | None) -> None:
        nonlocal stopping
        stopping = True

    signal.signal(signal.SIGINT, on_signal)
    signal.signal(signal.SIGTERM, on_signal)

    # New sessions: Ctrl-C reaches only this launcher, which stops both in order.
    worker = subprocess.Popen(
        [sys.executable, "-m", "celery", "-A", "project", "worker", "-P", args.pool,
         "-c", str(args.concurrency), "-l", "INFO", "--without-gossip", "--without-mingle"],
        cwd=EXAMPLE_DIR, env=env, start_new_session=True,
    )  # fmt: skip
    web = subprocess.Popen(
        [sys.executable, "manage.py", "runserver", "--noreload", f"{args.host}:{args.port}"],
        cwd=EXAMPLE_DIR, env=env, start_new_session=True,
    )  # fmt: skip
    processes = {"worker": worker, "web": web}
    print(f"worker pid {worker.pid}, web pid {web.pid}", flush=True)
    code = 0
    try:
        url = f"http://{args.host}:{args.port}/"
        wait_for_http(url + "accounts/login/", web)
        print(
            f"\n  Demo running at {url}  (user demo, password demo)\n  Ctrl-C stops it.\n",
            flush=True,
        )
        while not stopping:
            for name, process in processes.items():
                if process.poll() is not None:
                    print(f"the {name} process exited with code {process.returncode}", flush=True)
                    stopping, code = True, 1
            time.sleep(0.2)
    except SystemExit as exc:
        print(exc, flush=True)
        code = 1
    finally:
        print("Stopping the web server and the worker...", flush=True)
        for process in (web, worker):
            stop(process)
    print("Stopped.", flush=True)
    return code


if __name__ == "__main__":
    sys.exit(main())

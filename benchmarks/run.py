"""``make bench``: every benchmark on PostgreSQL + Redis and on the embedded default.

Runs one ``benchmarks.column`` process per backend, one after the other (they
would compete for the CPUs), prints the report and writes it to ``--output``.
``--quick`` is the CI smoke run: tiny sizes, proves that everything still runs.
"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

from benchmarks import report

ROOT = Path(__file__).resolve().parent.parent
BACKENDS = ("postgres", "embedded")
#: Sizes of the full run (under ten minutes on two CPUs) and of the smoke run.
FULL = {"items": 100_000, "slow-items": 10_000, "repeat": 3, "read-repeat": 5, "wrk-seconds": 3,
        "big-rows": 1_000_000, "latency-calls": 60, "many-seconds": 15,
        "engines": "cached_db,signed_cookies"}  # fmt: skip
QUICK = {"items": 2_000, "slow-items": 50, "repeat": 1, "read-repeat": 1, "wrk-seconds": 1,
         "big-rows": 2_000, "latency-calls": 5, "many-seconds": 2, "max-jobs": 3,
         "engines": "signed_cookies"}  # fmt: skip


def start_column(backend: str, sizes: dict[str, Any], output: Path) -> subprocess.Popen[bytes]:
    cmd = [sys.executable, "-m", "benchmarks.column", "--backend", backend, "--output",
           str(output)]  # fmt: skip
    for name, value in sizes.items():
        cmd += [f"--{name}", str(value)]
    print(f"== {backend}: {' '.join(cmd[1:])}", flush=True)
    return subprocess.Popen(cmd, cwd=ROOT)


def run_columns(backends: list[str], sizes: dict[str, Any], parallel: bool) -> dict[str, Any]:
    """Each backend's figures; one after the other unless ``parallel`` (the smoke run)."""
    with tempfile.TemporaryDirectory(prefix="cpt-bench-") as folder:
        outputs = {backend: Path(folder) / f"{backend}.json" for backend in backends}
        running: list[subprocess.Popen[bytes]] = []
        for backend in backends:
            running.append(start_column(backend, sizes, outputs[backend]))
            if not parallel:
                running[-1].wait()
        failed = [proc.args for proc in running if proc.wait() != 0]
        if failed:
            raise SystemExit(f"benchmark failed: {failed}")
        return {backend: json.loads(path.read_text()) for backend, path in outputs.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="the CI smoke run")
    parser.add_argument("--output", type=Path, help="write the report there (Markdown)")
    parser.add_argument("--backends", default=",".join(BACKENDS))
    parser.add_argument("--save-json", type=Path, help="also save the run's raw figures")
    parser.add_argument("--from-json", type=Path, help="render a saved run, measure nothing")
    for name, value in FULL.items():
        parser.add_argument(f"--{name}", type=type(value), default=None)
    args = parser.parse_args(argv)
    sizes = dict(QUICK if args.quick else FULL)
    for name in FULL:
        value = getattr(args, name.replace("-", "_"))
        if value is not None:
            sizes[name] = value

    missing = [tool for tool in ("wrk", "redis-server") if shutil.which(tool) is None]
    if missing and not args.from_json:
        parser.error(f"not installed: {', '.join(missing)} (apt-get install -y wrk redis-server)")
    if args.from_json:
        # Render a saved run again (e.g. after editing notes.md): same figures.
        run = json.loads(args.from_json.read_text())
    else:
        started, start = report.machine(), time.monotonic()
        # The smoke run proves that everything runs, not how fast: its columns run at once.
        columns = run_columns(args.backends.split(","), sizes, parallel=args.quick)
        run = {"columns": columns, "command": report.command_line(), "started": started,
               "ended": report.machine(), "versions": report.versions(),
               "seconds": time.monotonic() - start}  # fmt: skip
    if args.save_json:
        args.save_json.write_text(json.dumps(run, indent=1))
    text = report.render(run["columns"], run["command"], run["started"], run["ended"],
                         run["versions"], run["seconds"])  # fmt: skip
    print(text)
    if args.output:
        args.output.write_text(text)
    return 0


if __name__ == "__main__":
    sys.exit(main())

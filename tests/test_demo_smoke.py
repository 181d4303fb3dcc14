"""The one-command demo, end to end: launcher, web server, worker, every scenario.

Starts ``example/run_demo.py`` as documented (on a free port, in a temporary
folder, on the embedded default), logs in over HTTP, starts each scenario,
follows every job through the polling API until it is final, then stops the
launcher with SIGINT and checks that no process is left behind.
"""

from __future__ import annotations

import json
import os
import re
import signal
import socket
import subprocess
import sys
import urllib.error
import urllib.parse
import urllib.request
from http.cookiejar import CookieJar
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import wait_for

pytestmark = pytest.mark.slow

ROOT = Path(__file__).resolve().parent.parent
RUN_DEMO = ROOT / "example" / "run_demo.py"

#: Each scenario and the status its job must end in.
EXPECTED = {
    "email": "completed",
    "edi": "completed",
    "report": "completed",
    "export": "completed",
    "failing": "failed",
    "long": "cancelled",
}
FINAL = ("completed", "failed", "cancelled")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class Session:
    """A logged-in HTTP client: cookies, CSRF token, JSON."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.cookies = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.cookies))

    def request(
        self, method: str, path: str, data: dict[str, str] | None = None, **headers: str
    ) -> tuple[int, bytes, str]:
        body = urllib.parse.urlencode(data).encode() if data is not None else None
        if method != "GET":
            headers["X-CSRFToken"] = self.cookie("csrftoken")
        req = urllib.request.Request(self.base + path, body, headers, method=method)
        try:
            with self.opener.open(req, timeout=30) as response:
                return response.status, response.read(), response.url
        except urllib.error.HTTPError as error:
            return error.code, error.read(), error.url

    def cookie(self, name: str) -> str:
        return next((c.value or "" for c in self.cookies if c.name == name), "")

    def json(self, method: str, path: str) -> tuple[int, Any]:
        status, body, _ = self.request(method, path, Accept="application/json")
        return status, json.loads(body)

    def login(self, username: str, password: str) -> None:
        self.request("GET", "/accounts/login/")
        status, _, url = self.request(
            "POST",
            "/accounts/login/",
            {
                "username": username,
                "password": password,
                "csrfmiddlewaretoken": self.cookie("csrftoken"),
            },
        )
        assert status == 200 and not url.endswith("/accounts/login/"), "login failed"
        assert self.cookie("sessionid")


def processes_in_groups(groups: set[int]) -> list[int]:
    """Live (non-zombie) processes whose process group is one of ``groups``."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            text = stat.read_text()
        except OSError:
            continue
        # Fields after the command name (which may hold spaces) in parentheses.
        fields = text.rsplit(")", 1)[1].split()
        state, pgrp = fields[0], int(fields[2])
        if pgrp in groups and state != "Z":
            found.append(int(stat.parent.name))
    return found


@pytest.fixture
def demo(tmp_path: Path, request: pytest.FixtureRequest) -> Any:
    """The launcher, started as ``make demo`` does, on the embedded default.

    Indirect parameters: ``{"item_delay": "0.05"}`` slows the jobs down.
    """
    options = getattr(request, "param", {})
    env = {
        key: value
        for key, value in os.environ.items()
        # The demo's own default, whatever leg of CI this runs in.
        if key not in ("DATABASE_URL", "CELERY_BROKER_URL", "CELERY_RESULT_BACKEND")
        and not key.startswith(("DJANGO_", "CPT_"))
    }
    env["DEMO_ITEM_DELAY"] = options.get("item_delay", "0.01")
    # The theme switcher's CSS, from the browser tests' npm install (no npm run here).
    env["DEMO_NODE_MODULES"] = str(ROOT / ".tmp" / "node_modules")
    port = free_port()
    log_path = tmp_path / "demo.log"
    with log_path.open("wb") as log:
        process = subprocess.Popen(
            [sys.executable, str(RUN_DEMO), "--port", str(port),
             "--data-dir", str(tmp_path / "data"), "--no-npm"],
            stdout=log, stderr=subprocess.STDOUT, env=env, cwd=tmp_path,
        )  # fmt: skip

    def output() -> str:
        return log_path.read_text(errors="replace")

    def started() -> bool:
        if process.poll() is not None:
            raise AssertionError(f"the launcher exited early:\n{output()[-5000:]}")
        return "Demo running at" in output()

    try:
        wait_for(started, timeout=180, interval=0.2)
        pids = re.search(r"worker pid (\d+), web pid (\d+)", output())
        assert pids, output()
        yield {
            "port": port,
            "env": env,
            "base": f"http://127.0.0.1:{port}",
            "data": tmp_path / "data",
            "process": process,
            "children": {int(pids[1]), int(pids[2])},
            "output": output,
        }
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(60)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()


def test_every_scenario_ends_as_expected_and_ctrl_c_stops_everything(demo: Any) -> None:
    client = Session(demo["base"])
    client.login("demo", "demo")

    jobs = {}
    for name in EXPECTED:
        status, body = client.json("POST", f"/start/{name}/")
        assert status == 200 and body["success"] is True, body
        jobs[name] = body["job_id"]

    def job(name: str) -> dict[str, Any]:
        status, body = client.json("GET", f"/core/sse-progress/{jobs[name]}/")
        assert status == 200, body
        return body  # type: ignore[no-any-return]

    # The long job is cancelled from the page's button once it runs.
    wait_for(lambda: job("long")["processed_items"] > 0, timeout=180, interval=0.2)
    status, body = client.json("POST", f"/core/sse-progress/{jobs['long']}/cancel/")
    assert status == 200 and body["cancel_requested"] is True, body

    final = {}
    for name in EXPECTED:
        final[name] = wait_for(
            lambda name=name: (data := job(name))["status"] in FINAL and data,
            timeout=240,
            interval=0.3,
        )
    assert {name: data["status"] for name, data in final.items()} == EXPECTED, demo["output"]()

    for name in ("email", "edi", "report", "export"):
        data = final[name]
        assert data["progress_percentage"] == 100
        assert data["processed_items"] + data["failed_items"] == data["total_items"] > 0
    # Every tenth of the 60 addresses is invalid; the EDI file has malformed lines.
    assert (final["email"]["processed_items"], final["email"]["failed_items"]) == (54, 6)
    assert len(list((demo["data"] / "mail").glob("*.log"))) > 0
    assert final["edi"]["failed_items"] > 0
    assert final["edi"]["metadata"]["rejected"]
    assert re.fullmatch(r"Statement line \d+ matches no open invoice", final["failing"]["error"])
    assert 0 < final["long"]["processed_items"] < final["long"]["total_items"]

    # The report is a real CSV, downloadable by its owner only.
    status, body, _ = client.request("GET", f"/jobs/{jobs['report']}/download/")
    assert status == 200
    header, *rows = body.decode().splitlines()
    assert header == "month,region,amount" and len(rows) == final["report"]["metadata"]["rows"]
    stranger = Session(demo["base"])
    status, _, url = stranger.request("GET", f"/jobs/{jobs['report']}/download/")
    assert url.split("?")[0].endswith("/accounts/login/")

    # "My jobs" lists the history; the pages speak French on request.
    status, body, _ = client.request("GET", "/jobs/")
    assert status == 200 and all(job_id.encode() in body for job_id in jobs.values())
    status, body, _ = client.request("GET", "/", **{"Accept-Language": "fr"})
    assert status == 200 and "Démarrer".encode() in body

    process = demo["process"]
    process.send_signal(signal.SIGINT)
    assert process.wait(60) == 0, demo["output"]()
    assert "Stopped." in demo["output"]()
    # Both children led their own process group: nothing of them is left.
    wait_for(lambda: not processes_in_groups(demo["children"]), timeout=30)


def test_the_terminal_stays_quiet_and_ends_with_the_url_and_the_login(demo: Any) -> None:
    client = Session(demo["base"])
    client.login("demo", "demo")
    status, body = client.json("POST", "/start/failing/")
    assert status == 200, body
    job_id = body["job_id"]
    wait_for(
        lambda: client.json("GET", f"/core/sse-progress/{job_id}/")[1]["status"] == "failed",
        timeout=180,
        interval=0.2,
    )
    # Unknown pages get the demo's own page, not Django's debug page.
    status, page, _ = client.request("GET", "/no-such-page/")
    assert status == 404 and b"demo.css" in page and b"Page not found" in page
    assert b"Django" not in page

    lines = [line.strip() for line in demo["output"]().splitlines() if line.strip()]
    assert lines[-4:-1] == [
        f"Demo running at {demo['base']}/",
        "Log in as demo, password demo.",
        f"Ctrl-C stops it. Logs: {demo['data'] / 'logs'}",
    ], lines
    assert lines[-1] == lines[-5] == "=" * 64
    # The worker's banner, its task lines, a failed task's traceback and a line
    # per poll went to the log files, not to the terminal.
    text = "\n".join(lines)
    for noise in ("celery@", "Traceback", "GET /", "succeeded in", "Starting development"):
        assert noise not in text, noise
    worker_log = (demo["data"] / "logs" / "worker.log").read_text()
    assert " ready." in worker_log and "JobError: Statement line" in worker_log

    # A second demo on the same port says so, and which option to use.
    second = subprocess.run(
        [sys.executable, str(RUN_DEMO), "--port", str(demo["port"]), "--no-npm",
         "--data-dir", str(demo["data"])],
        capture_output=True, text=True, env=demo["env"], timeout=60,
    )  # fmt: skip
    assert second.returncode == 2
    assert f"Port {demo['port']} is in use" in second.stdout
    assert "make demo PORT=" in second.stdout

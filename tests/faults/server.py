"""A real gunicorn serving the test project, and HTTP clients with a user's session."""

from __future__ import annotations

import http.client
import json
import os
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.conf import settings
from django.db import connection
from django.test import Client
from django.utils.crypto import get_random_string

ROOT = Path(__file__).resolve().parents[2]

#: A CSRF token valid as cookie and header alike (Django accepts any 32 characters).
CSRF_TOKEN = get_random_string(32)


class GunicornServer:
    """``gunicorn`` with sync workers on a free loopback port, on the test database."""

    def __init__(
        self, workers: int = 4, settings_module: str = "tests.faults.server_settings"
    ) -> None:
        self.log = Path(os.environ["CPT_TMP"]) / f"gunicorn-{time.monotonic_ns()}.log"
        env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": settings_module,
            "CPT_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
        }
        cmd = [
            sys.executable, "-m", "gunicorn", "--bind", "127.0.0.1:0",
            "--workers", str(workers), "--timeout", "60", "--log-level", "info",
            "--error-logfile", "-", "django.core.wsgi:get_wsgi_application()",
        ]  # fmt: skip
        self._log_file = self.log.open("wb")
        self.process = subprocess.Popen(
            cmd, env=env, cwd=ROOT, stdout=self._log_file, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        self.port = self._wait_port()
        self._wait_ready()

    def _wait_port(self, timeout: float = 60.0) -> int:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise AssertionError(f"gunicorn exited:\n{self.output()}")
            found = re.search(r"Listening at: http://127\.0\.0\.1:(\d+)", self.output())
            if found:
                return int(found.group(1))
            time.sleep(0.1)
        raise AssertionError(f"gunicorn did not start:\n{self.output()}")

    def _wait_ready(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            try:
                if HttpClient(self.port).request("GET", "/core/sse-progress/").status == 401:
                    return
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"gunicorn does not answer:\n{self.output()}")
            time.sleep(0.2)

    def output(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""

    def errors(self) -> list[str]:
        """Lines gunicorn or Django logged at ERROR level (a 500 logs one)."""
        lines = self.output().splitlines()
        return [line for line in lines if "ERROR" in line or "Traceback" in line]

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(10)
        self._log_file.close()


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    raw: bytes

    def json(self) -> Any:
        assert self.headers.get("content-type") == "application/json", (self.status, self.raw[:200])
        return json.loads(self.raw)


def session_cookie(user: Any) -> str:
    """A ``Cookie`` header value that logs ``user`` in (and carries the CSRF cookie)."""
    cookie = f"csrftoken={CSRF_TOKEN}"
    if user is not None:
        client = Client()
        client.force_login(user)
        name = settings.SESSION_COOKIE_NAME
        cookie += f"; {name}={client.cookies[name].value}"
    return cookie


class HttpClient:
    """Plain ``http.client`` requests: the bytes a browser or a script would send."""

    def __init__(self, port: int, cookie: str = "") -> None:
        self.port = port
        self.cookie = cookie

    def request(
        self,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        csrf: bool = True,
    ) -> Answer:
        all_headers = {"Host": f"127.0.0.1:{self.port}"}
        if self.cookie:
            all_headers["Cookie"] = self.cookie
        if csrf:
            all_headers["X-CSRFToken"] = CSRF_TOKEN
        all_headers.update(headers or {})
        conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
        try:
            conn.request(method, path, body=body, headers=all_headers)
            response = conn.getresponse()
            raw = response.read()
            head = {name.lower(): value for name, value in response.getheaders()}
            return Answer(response.status, head, raw)
        finally:
            conn.close()

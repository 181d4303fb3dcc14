"""``USE_TZ = False`` (``tests/naive_time``), in a pytest process of its own.

The child gets a run id and a folder of its own, so its test database and queue
do not meet this process's.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.core


def test_the_package_with_use_tz_off() -> None:
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("PYTEST_", "DJANGO_")) and k != "CPT_TMP"
    }
    env["CPT_USE_TZ"] = "0"
    env["CPT_RUN_ID"] = f"{os.environ.get('CPT_RUN_ID', os.getpid())}tz"
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "tests/naive_time"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert "7 passed" in output and "skipped" not in output, output
    assert "PASSED tests/naive_time/test_naive_time.py::test_the_run_has_naive_local_time" in output

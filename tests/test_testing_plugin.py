"""The pytest plugin, used from a project's own tests (``tests/plugin_project``)."""

from __future__ import annotations

import os
import subprocess
import sys

from tests.conftest import ROOT

PROJECT = ROOT / "tests" / "plugin_project"


def test_a_project_tests_its_jobs_with_the_plugin() -> None:
    # A pytest process of its own, in the project's folder, as its developers run it.
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))}
    done = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-rA", "-W", "error"],
        cwd=PROJECT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    for name in (
        "test_eager_run_records_sent_and_bad_addresses",
        "test_eager_failure_leaves_a_failed_row",
        "test_on_a_real_worker",
        "test_a_mismatch_says_what_differs",
    ):
        assert f"PASSED test_newsletter.py::{name}" in output, output
    assert "4 passed" in output, output

"""The pytest plugin, used from a project's own tests (``tests/plugin_project``)."""

from __future__ import annotations

from tests.conftest import ROOT
from tests.harness import run_pytest

PROJECT = ROOT / "tests" / "plugin_project"


def test_a_project_tests_its_jobs_with_the_plugin() -> None:
    # A pytest process of its own, in the project's folder, as its developers run it.
    output = run_pytest(["-W", "error"], PROJECT)
    for name in (
        "test_eager_run_records_sent_and_bad_addresses",
        "test_eager_failure_leaves_a_failed_row",
        "test_on_a_real_worker",
        "test_a_mismatch_says_what_differs",
    ):
        assert f"PASSED test_newsletter.py::{name}" in output, output
    assert "4 passed" in output, output

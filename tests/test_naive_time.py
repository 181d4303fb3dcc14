"""``USE_TZ = False`` (``tests/naive_time``), in a pytest process of its own.

The child gets a run id and a folder of its own, so its test database and queue
do not meet this process's.
"""

from __future__ import annotations

import os

import pytest

from tests.conftest import ROOT
from tests.harness import run_pytest

pytestmark = pytest.mark.core


def test_the_package_with_use_tz_off() -> None:
    run_id = f"{os.environ.get('CPT_RUN_ID', os.getpid())}tz"
    output = run_pytest(
        ["tests/naive_time"], ROOT, timeout=600, CPT_USE_TZ="0", CPT_RUN_ID=run_id, CPT_TMP=""
    )
    assert "7 passed" in output, output
    assert "PASSED tests/naive_time/test_naive_time.py::test_the_run_has_naive_local_time" in output

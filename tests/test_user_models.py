"""User models built on ``AbstractBaseUser``: a project per model (``tests/usermodels``).

``AUTH_USER_MODEL`` is fixed for a process, so each model gets a pytest process
of its own, on this run's database and broker (``DATABASE_URL``,
``CELERY_BROKER_URL``) under names of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys

import pytest

from tests.conftest import ROOT

pytestmark = pytest.mark.core


@pytest.mark.parametrize(
    ("model", "passed"),
    [("accounts.UuidUser", 17), ("accounts.PlainUser", 12)],
    ids=["uuid-key-nullable-active", "no-active-column"],
)
def test_polls_and_jobs_with_the_projects_own_user_model(model: str, passed: int) -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("PYTEST_", "DJANGO_"))}
    env["CPT_USER_MODEL"] = model
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "-q",
            "-rA",
            "--confcutdir=tests/usermodels",
            "--ds=tests.usermodels.settings",
            "tests/usermodels",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    assert f"{passed} passed" in output and "skipped" not in output, output
    assert "PASSED tests/usermodels/test_polls.py::test_the_model_is_the_one_asked_for" in output

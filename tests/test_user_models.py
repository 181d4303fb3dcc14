"""User models built on ``AbstractBaseUser``: a project per model (``tests/usermodels``).

``AUTH_USER_MODEL`` is fixed for a process, so each model gets a pytest process
of its own, on this run's database and broker (``DATABASE_URL``,
``CELERY_BROKER_URL``) under names of its own.
"""

from __future__ import annotations

import pytest

from tests.conftest import ROOT
from tests.harness import run_pytest

pytestmark = pytest.mark.core


@pytest.mark.parametrize(
    ("model", "passed"),
    [("accounts.UuidUser", 17), ("accounts.PlainUser", 12)],
    ids=["uuid-key-nullable-active", "no-active-column"],
)
def test_polls_and_jobs_with_the_projects_own_user_model(model: str, passed: int) -> None:
    args = ["--confcutdir=tests/usermodels", "--ds=tests.usermodels.settings", "tests/usermodels"]
    output = run_pytest(args, ROOT, CPT_USER_MODEL=model)
    assert f"{passed} passed" in output, output
    assert "PASSED tests/usermodels/test_polls.py::test_the_model_is_the_one_asked_for" in output

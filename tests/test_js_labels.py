"""The script's built-in texts are the server catalogue's, so pages loading it by hand agree."""

from __future__ import annotations

import json
import shutil
import subprocess

import pytest
from django.utils import translation

from celery_progress_tracker.labels import bar_labels
from tests.harness import missing_prerequisite
from tests.test_js_syntax import SCRIPT

pytestmark = pytest.mark.browser


def script_labels() -> dict[str, dict[str, str]]:
    node = shutil.which("node")
    if node is None:
        missing_prerequisite("node is needed: run .ci/steps/browser-setup.sh")
    code = f"console.log(JSON.stringify(require({json.dumps(str(SCRIPT))}).LABELS))"
    result = subprocess.run([node, "-e", code], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout)  # type: ignore[no-any-return]


@pytest.mark.parametrize("language", ["en", "fr"])
def test_built_in_labels_are_the_catalogues(language: str) -> None:
    builtin = script_labels()[language]
    with translation.override(language):
        catalogue = bar_labels()
    assert {key: builtin[key] for key in catalogue} == catalogue
    # Only the debug lines and "?" are the script's alone.
    assert set(builtin) - set(catalogue) == {"unknown", "logStart", "logData", "logStop"}

"""progress_polling.js is plain ES2017: no build step, parsed as such by acorn."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from tests.harness import missing_prerequisite

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = (
    ROOT / "celery_progress_tracker" / "static" / "celery_progress_tracker" / "progress_polling.js"
)
ACORN = ROOT / ".tmp" / "node_modules" / "acorn"

pytestmark = pytest.mark.browser


def test_script_parses_as_es2017_script() -> None:
    node = shutil.which("node")
    if node is None or not ACORN.exists():
        missing_prerequisite("node and acorn are needed: run .ci/steps/browser-setup.sh")
    check = (
        f"const acorn = require({json.dumps(str(ACORN))});"
        f"const source = require('fs').readFileSync({json.dumps(str(SCRIPT))}, 'utf8');"
        "acorn.parse(source, {ecmaVersion: 2017, sourceType: 'script'});"
    )
    result = subprocess.run([node, "-e", check], capture_output=True, text=True, timeout=60)
    assert result.returncode == 0, result.stderr


def test_server_text_never_goes_through_html_sinks() -> None:
    source = SCRIPT.read_text()
    for sink in ("innerHTML", "outerHTML", "insertAdjacentHTML", "document.write", "eval("):
        assert sink not in source

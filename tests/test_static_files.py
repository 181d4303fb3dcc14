"""The bar's static files: small, and the stylesheet touches nothing but the bar."""

from __future__ import annotations

import gzip
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
STATIC = ROOT / "celery_progress_tracker" / "static" / "celery_progress_tracker"

#: The script and the stylesheet, gzipped, together (12 KB).
BUDGET = 12 * 1024


def test_script_and_stylesheet_stay_under_12_kb_gzipped() -> None:
    sizes = {
        name: len(gzip.compress((STATIC / name).read_bytes(), compresslevel=9))
        for name in ("progress_polling.js", "progress_polling.css")
    }
    assert sum(sizes.values()) < BUDGET, sizes


def test_every_rule_of_the_stylesheet_is_scoped_to_the_default_theme() -> None:
    css = re.sub(r"/\*.*?\*/", "", (STATIC / "progress_polling.css").read_text(), flags=re.S)
    css = re.sub(r"@keyframes [\w-]+ \{[^{}]*\{[^{}]*\}\s*\}", "", css)
    selectors = re.findall(r"([^{}]+)\{", css)
    assert len(selectors) > 20
    for group in selectors:
        if group.strip().startswith("@media"):
            continue
        for selector in group.split(","):
            assert selector.strip().startswith(".progress-polling--default"), selector
    assert "@keyframes progress-polling-" in (STATIC / "progress_polling.css").read_text()

"""The template snippets of the README and the documentation, as the browser tests run them.

Every ``html+django`` block that loads the bar (``{% progress_polling_js %}`` or
``{% progress_fragment %}``) is run as written, unless an HTML comment
``<!-- not run: why -->`` stands just before it.
"""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SOURCES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
FENCE = re.compile(r"(<!-- not run: [^>]*-->\n)?```html\+django[^\n]*\n(.*?)```", re.S)
LOADS_THE_BAR = ("{% progress_polling_js", "{% progress_fragment")


def snippets() -> dict[str, str]:
    """``"docs/page.md#n" -> template source`` for every snippet to run."""
    found = {}
    for source in SOURCES:
        for number, match in enumerate(FENCE.finditer(source.read_text()), start=1):
            skipped, body = match.groups()
            if not skipped and any(tag in body for tag in LOADS_THE_BAR):
                found[f"{source.relative_to(ROOT)}#{number}"] = body
    return found

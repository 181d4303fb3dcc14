"""The documentation and the example's catalogue keep up with the code."""

from __future__ import annotations

import ast
import gettext
import re
from pathlib import Path

import pytest

from celery_progress_tracker.conf import DEFAULTS, PREFIX

ROOT = Path(__file__).resolve().parent.parent
DOCS = ROOT / "docs"
CATALOGUE = ROOT / "example" / "demo" / "locale" / "fr" / "LC_MESSAGES"


@pytest.mark.parametrize("name", sorted(DEFAULTS))
def test_every_setting_is_documented_with_its_default(name: str) -> None:
    text = (DOCS / "settings.md").read_text()
    section = re.search(rf"^### `{PREFIX}{name}`\n\n(.*?)(?=^#)", text + "\n#", re.S | re.M)
    assert section, f"docs/settings.md has no section for {PREFIX}{name}"
    assert section[1].startswith(f"Default: `{DEFAULTS[name]!r}`".replace("'", '"'))
    assert f"| [`{PREFIX}{name}`]" in text


def test_every_management_command_is_documented() -> None:
    commands = ROOT / "celery_progress_tracker" / "management" / "commands"
    docs = "".join(page.read_text() for page in DOCS.glob("*.md"))
    names = [path.stem for path in commands.glob("progress_*.py")]
    assert names
    for name in names:
        assert f"manage.py {name}" in docs or f"python manage.py {name}" in docs, name


def po_entries(path: Path) -> dict[str, str]:
    """``msgid -> msgstr`` of a ``.po`` file (no plurals or contexts: the demo has none)."""
    entries: dict[str, str] = {}
    text = path.read_text(encoding="utf-8")
    for block in text.split("\n\n"):
        lines = [line for line in block.splitlines() if not line.startswith("#")]
        parts: dict[str, str] = {}
        key = ""
        for line in lines:
            if line.startswith(("msgid ", "msgstr ")):
                key, _, line = line.partition(" ")
                parts[key] = ""
            parts[key] += ast.literal_eval(line)
        if parts.get("msgid"):
            entries[parts["msgid"]] = parts["msgstr"]
    return entries


def test_the_french_catalogue_is_complete_and_compiled() -> None:
    entries = po_entries(CATALOGUE / "django.po")
    assert len(entries) > 40
    assert all(entries.values()), [msgid for msgid, msgstr in entries.items() if not msgstr]
    with (CATALOGUE / "django.mo").open("rb") as file:
        compiled = gettext.GNUTranslations(file)
    stale = {msgid for msgid, msgstr in entries.items() if compiled.gettext(msgid) != msgstr}
    assert not stale, f"run compilemessages in example/demo: {sorted(stale)[:5]}"

"""Honest packaging metadata: nothing points to a place that does not exist; the demo is lean."""

from __future__ import annotations

import re
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    tomllib = pytest.importorskip("tomli")

ROOT = Path(__file__).resolve().parent.parent
PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())
README = (ROOT / "README.md").read_text()


def test_no_project_url_points_to_a_place_that_does_not_exist() -> None:
    # The project has no public home yet: no URL at all rather than a made-up one.
    assert "urls" not in PYPROJECT["project"]
    assert "repo_url" not in (ROOT / "mkdocs.yml").read_text()
    for page in [ROOT / "README.md", *(ROOT / "docs").glob("*.md")]:
        assert "github.com/celery-progress-tracker" not in page.read_text(), page.name


def test_readme_links_work_on_a_package_index_page() -> None:
    """A package index shows the README alone: only absolute links, no relative images."""
    targets = re.findall(r"\]\(([^)\s]+)", README) + re.findall(r'src="([^"]+)"', README)
    assert all(target.startswith("https://") for target in targets), targets


def test_readme_says_how_to_install_before_the_package_is_published() -> None:
    install = README.split("## Install", 1)[1].split("\n## ", 1)[0]
    assert "not on PyPI yet" in install
    assert "pip install /path/to/celery-progress-tracker" in install
    assert "pip wheel" in install and "dist/celery_progress_tracker-" in install


def test_make_demo_installs_the_package_alone_and_takes_a_port() -> None:
    assert PYPROJECT["project"]["optional-dependencies"]["demo"] == []
    makefile = (ROOT / "Makefile").read_text()
    demo = re.search(r"^demo: (.*)\n\t(.*)$", makefile, re.M)
    assert demo, makefile
    assert demo[1].startswith("$(BIN)/.installed-demo")
    assert "--port $(PORT)" in demo[2]
    assert "PORT ?= 8000" in makefile
    assert "make demo PORT=8001" in README


def test_readme_starts_with_the_demo_and_the_test_command() -> None:
    title, first_block = README.split("```bash\n", 1)
    assert title.strip() == "# celery-progress-tracker"
    commands = [line.split("#")[0].strip() for line in first_block.split("```")[0].splitlines()]
    assert commands == ["make demo", "make test"]

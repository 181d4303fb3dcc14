"""The README's and the documentation's template snippets work as written, in Chromium.

Each snippet is rendered as a view would render it (see ``views.docs_snippet``),
with a real job for the logged-in user; a snippet with a button gets it clicked.
A bar must then reach "completed", with no script error on the page (the
fixture fails the test on any), such as "ProgressPolling is not defined".
"""

from __future__ import annotations

from typing import Any
from urllib.parse import quote

import pytest

from tests import tasks
from tests.browser.conftest import TIMEOUT_MS, Browser, require
from tests.browser.snippets import snippets
from tests.browser.views import NODE_MODULES

pytestmark = [pytest.mark.browser, pytest.mark.urls("tests.browser.urls")]

SNIPPETS = snippets()


def test_the_readme_and_every_bar_page_have_snippets_that_run() -> None:
    pages = {name.split("#")[0] for name in SNIPPETS}
    assert {
        "README.md",
        "docs/javascript.md",
        "docs/quickstart.md",
        "docs/recipes.md",
        "docs/htmx.md",
        "docs/theme-default.md",
        "docs/theme-bootstrap5.md",
        "docs/theme-semantic.md",
        "docs/theme-custom.md",
    } <= pages, pages


@pytest.mark.parametrize("name", SNIPPETS)
def test_snippet_runs_as_written(browser: Browser, worker: Any, user: Any, name: str) -> None:
    if "{% progress_fragment" in SNIPPETS[name]:
        require(NODE_MODULES / "htmx.org" / "dist" / "htmx.min.js", "htmx")
    # Long enough to be running when the page loads (restore() draws running jobs).
    job = tasks.count.apply_async((30, 0.1), progress_owner=user)
    browser.goto(f"/browser/snippet/?snippet={quote(name)}&job_id={job.id}")
    buttons = browser.page.locator("button:visible")
    if buttons.count():
        buttons.first.click()
    browser.page.wait_for_selector("[data-status='completed']", timeout=TIMEOUT_MS)
    assert not [line for line in browser.console if "Error" in line], browser.console

"""The demo in a real headless Chromium: buttons, live bars, cancel, download, French.

Uses the launcher of ``test_demo_smoke`` (the one ``make demo`` runs). Chromium is
required on CI (``CI`` is set there): a missing browser fails instead of skipping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, require
from tests.test_demo_smoke import demo  # noqa: F401  (the launcher fixture)

pytestmark = [pytest.mark.browser, pytest.mark.slow]

#: Generous: other test runs share the machine's two cores.
TIMEOUT_MS = 90_000


@pytest.fixture
def page(demo: Any) -> Any:  # noqa: F811
    require(CHROMIUM, "Chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 1200, "height": 1000})
        page.set_default_timeout(TIMEOUT_MS)
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(demo["base"] + "/")  # redirected to the login page
        page.fill("#id_username", "demo")
        page.fill("#id_password", "demo")
        page.click("button[type=submit]")
        page.wait_for_url(demo["base"] + "/")
        yield page
        browser.close()


def status_of(page: Any, scenario: str, status: str) -> Any:
    """Wait until the scenario's bar shows ``status``; return the bar's element."""
    return page.wait_for_selector(f'#bar-{scenario} [data-status="{status}"]')


def test_each_button_draws_a_bar_that_follows_its_job_to_the_end(page: Any) -> None:
    for scenario in ("report", "failing", "long"):
        page.click(f"#scenario-{scenario} button.start")

    status_of(page, "long", "in_progress")
    page.click("#scenario-long button.cancel")
    cancelled = status_of(page, "long", "cancelled")
    report = status_of(page, "report", "completed")
    failed = status_of(page, "failing", "failed")

    assert "100%" in report.inner_text()
    assert "matches no open invoice" in failed.inner_text()
    assert "Cancelled" in cancelled.inner_text()
    # The finished report offers its file.
    link = page.wait_for_selector("#scenario-report a.download:not([hidden])")
    with page.expect_download() as download:
        link.click()
    assert Path(download.value.path()).read_text().startswith("month,region,amount")
    assert page.errors == []


def test_my_jobs_shows_running_bars_and_the_history_in_french(page: Any) -> None:
    page.select_option("select[name=language]", "fr")
    page.wait_for_selector("text=Démarrer")
    page.click("#scenario-long button.start")
    status_of(page, "long", "in_progress")
    job_id = page.get_attribute("#scenario-long", "data-job-id")

    page.click("text=Mes traitements")
    running = page.wait_for_selector('.active-job [data-status="in_progress"]')
    assert "Reconstruction des archives" in running.inner_text()
    assert "En cours" in running.inner_text()

    # Cancelled from elsewhere (the package's endpoint): the bar on this page follows.
    status = page.evaluate(
        """async (jobId) => {
            const token = document.querySelector('meta[name="csrf-token"]').content;
            const response = await fetch(`/core/sse-progress/${jobId}/cancel/`,
                {method: "POST", headers: {"X-CSRFToken": token}});
            return response.status;
        }""",
        job_id,
    )
    assert status == 200
    page.wait_for_selector('.active-job [data-status="cancelled"]')
    assert "Annulé" in page.inner_text(".active-job")

    page.reload()
    history = page.wait_for_selector("#history").inner_text()
    assert "Reconstruction des archives" in history and job_id in history
    assert "Aucun traitement en cours." in page.inner_text("body")
    assert page.errors == []

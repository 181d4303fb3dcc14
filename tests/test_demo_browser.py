"""The demo in a real headless Chromium: buttons, live bars, cancel, download, French,
running jobs kept across reloads and tabs, the theme switcher, small screens.

Uses the launcher of ``test_demo_smoke`` (the one ``make demo`` runs). Chromium is
required on CI (``CI`` is set there): a missing browser fails instead of skipping.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.browser.conftest import CHROMIUM, CHROMIUM_ARGS, require
from tests.browser.views import NODE_MODULES
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
        # A context of its own: a second tab shares the login.
        context = browser.new_context(viewport={"width": 1200, "height": 1000})
        page = context.new_page()
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


def shows_the_running_job(page: Any, job_id: str) -> None:
    """The card of the long job shows its bar and Cancel, never Start."""
    status_of(page, "long", "in_progress")
    assert page.get_attribute("#scenario-long", "data-job-id") == job_id
    assert page.get_attribute("#bar-long .progress-polling", "data-job-id") == job_id
    assert page.locator("#scenario-long button.start").is_hidden()
    assert page.locator("#scenario-long button.cancel").is_visible()
    # The other scenarios can be started.
    page.wait_for_selector("#scenario-report button.start:enabled")


@pytest.mark.parametrize("demo", [{"item_delay": "0.05"}], indirect=True)
def test_a_running_job_keeps_its_bar_after_a_reload_the_back_button_and_in_a_second_tab(
    page: Any,
    demo: Any,  # noqa: F811
) -> None:
    page.click("#scenario-long button.start")
    status_of(page, "long", "in_progress")
    job_id = page.get_attribute("#scenario-long", "data-job-id")

    page.reload()
    shows_the_running_job(page, job_id)
    page.click("text=My jobs")
    page.wait_for_selector('.active-job [data-status="in_progress"]')
    page.go_back()
    shows_the_running_job(page, job_id)
    second = page.context.new_page()
    second.goto(demo["base"] + "/")
    shows_the_running_job(second, job_id)

    second.click("#scenario-long button.cancel")
    status_of(second, "long", "cancelled")
    status_of(page, "long", "cancelled")
    # Once the job is over, the card offers Start again.
    page.wait_for_selector("#scenario-long button.start:visible:enabled")
    assert page.errors == []


def test_the_theme_switcher_shows_each_theme_on_every_screen(page: Any) -> None:
    require(NODE_MODULES / "bootstrap" / "dist" / "css" / "bootstrap.min.css", "Bootstrap")
    require(NODE_MODULES / "fomantic-ui-css" / "semantic.min.css", "Fomantic-UI")
    stylesheets = {
        "default": "link[data-progress-polling]",
        "bootstrap5": "link[href$='bootstrap.min.css']",
        "semantic": "link[href$='semantic.min.css']",
    }
    for theme, stylesheet in stylesheets.items():
        page.select_option("#demo-theme", theme)
        page.wait_for_selector(f'body[data-theme="{theme}"]')
        assert page.locator(stylesheet).count() == 1
        page.click("#scenario-report button.start")
        root = status_of(page, "report", "completed")
        assert f"progress-polling--{theme}" in (root.get_attribute("class") or "")
        for width in (375, 1200):
            page.set_viewport_size({"width": width, "height": 1000})
            assert page.evaluate("document.documentElement.scrollWidth <= innerWidth"), width
        page.wait_for_selector("#scenario-report button.start:visible:enabled")
    assert page.errors == []


def test_login_and_404_pages_are_styled_and_fit_a_phone(demo: Any) -> None:  # noqa: F811
    require(CHROMIUM, "Chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        page = browser.new_page(viewport={"width": 375, "height": 800})
        page.set_default_timeout(TIMEOUT_MS)
        page.goto(demo["base"] + "/accounts/login/")
        panel = page.evaluate(
            """() => { const style = getComputedStyle(document.querySelector('#login'));
                const field = getComputedStyle(document.querySelector('#id_username'));
                return [style.backgroundColor, style.borderTopLeftRadius,
                        field.borderTopLeftRadius, field.width]; }"""
        )
        assert panel[:3] == ["rgb(255, 255, 255)", "10px", "6px"], panel
        assert float(panel[3].removesuffix("px")) > 250
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        response = page.goto(demo["base"] + "/no-such-page/")
        assert response is not None and response.status == 404
        assert page.inner_text("#not-found h1") == "Page not found"
        assert page.evaluate("document.documentElement.scrollWidth <= innerWidth")
        browser.close()


def test_staff_cancel_a_running_job_from_the_admin_and_bars_notify_when_hidden(
    page: Any,
) -> None:
    page.click("#scenario-long button.start")
    status_of(page, "long", "in_progress")
    job_id = page.get_attribute("#scenario-long", "data-job-id")
    # The demo's bars ask for a notification when their job ends in a hidden tab.
    assert page.evaluate(
        "document.querySelector('#bar-long').progressPolling.options.notifyWhenHidden"
    )

    page.click("text=Jobs in the admin")
    row = f"#result_list tr:has(a:text-is('{job_id}'))"
    page.wait_for_selector(f"{row} .progress-polling[data-status='in_progress']")
    page.check(f"{row} input.action-select")
    page.select_option("select[name='action']", "cancel_jobs")
    page.click("button[name='index']")
    assert "Cancel requested for 1 job." in page.inner_text(".messagelist")
    # The worker stops the job at its next step; the admin's bar follows.
    page.wait_for_selector(f"{row} .progress-polling[data-status='cancelled']")
    page.go_back()
    page.go_back()
    page.wait_for_selector("#scenario-long button.start:visible:enabled")
    assert page.errors == []

"""The three themes in Chromium: every state at 1280 and 375 px, and the server's twin markup.

Each theme runs on a page with its framework's real CSS (from the local npm
install): the default theme on a page with no CSS at all, ``bootstrap5`` with
Bootstrap 5, ``semantic`` with Fomantic-UI. These tests also take the
screenshots of ``docs/images/`` (``CPT_UPDATE_SCREENSHOTS=1`` rewrites them).
"""

from __future__ import annotations

from typing import Any

import pytest

from celery_progress_tracker.models import SSEProgress
from tests import tasks
from tests.browser.conftest import TIMEOUT_MS, Browser, require, screenshot
from tests.browser.views import NODE_MODULES

pytestmark = [pytest.mark.browser, pytest.mark.urls("tests.browser.urls")]

#: Each theme and the page CSS it is shown with.
THEMES = {
    "default": ("none", None),
    "bootstrap5": ("bootstrap5", NODE_MODULES / "bootstrap" / "dist" / "css" / "bootstrap.min.css"),
    "semantic": ("semantic", NODE_MODULES / "fomantic-ui-css" / "semantic.min.css"),
}
STATES = ("running", "completed", "failed", "cancelled")

#: The visible elements under a node, in order: tag, classes, the text of leaves.
STRUCTURE = """(root) => {
    const out = [];
    const walk = (node) => {
        for (const child of node.children) {
            if (child.hidden || child.style.display === 'none') continue;
            const text = child.children.length
                ? '' : child.textContent.replace(/\\s+/g, ' ').trim();
            out.push([child.tagName, [...child.classList].sort().join(' '), text]);
            walk(child);
        }
    };
    walk(root);
    return out;
}"""

#: Whether the page scrolls sideways; whether statistics overflow, overlap or run together.
LAYOUT = """() => {
    const visible = (node) => !node.hidden && node.style.display !== 'none';
    const stats = [...document.querySelectorAll('.progress-polling-stat')].filter(visible);
    const texts = [];
    let overflowing = 0;
    stats.forEach((stat, index) => {
        for (const part of stat.children) {
            if (part.scrollWidth > part.clientWidth + 1) overflowing++;
            const range = document.createRange();
            range.selectNodeContents(part);
            texts.push([index, range.getBoundingClientRect()]);
        }
    });
    // Texts of two statistics on the same line need a visible gap between them.
    let touching = 0;
    texts.forEach(([i, a], n) => texts.slice(n + 1).forEach(([j, b]) => {
        const sameLine = a.top < b.bottom && b.top < a.bottom;
        const gap = Math.max(b.left - a.right, a.left - b.right);
        if (i !== j && sameLine && gap < 4) touching++;
    }));
    return {
        scrollWidth: document.documentElement.scrollWidth,
        innerWidth: window.innerWidth,
        stats: stats.length,
        overflowing,
        touching,
        outside: texts.filter(([, box]) => box.left < 0 || box.right > window.innerWidth).length,
    };
}"""


def start_every_state(browser: Browser, user: Any, theme: str | None = None) -> dict[str, str]:
    """A bar in each state (the solo worker runs the jobs one after the other)."""
    jobs = {
        "completed": tasks.count.apply_async((3, 0.01, "Imported 1,200 rows"), progress_owner=user),
        "failed": tasks.fail_after.apply_async((5,), progress_owner=user),
        "cancelled": tasks.until_cancelled.apply_async((60.0,), progress_owner=user),
        "running": tasks.count.apply_async((40, 0.15), progress_owner=user),
    }
    options: dict[str, Any] = {"pollInterval": 200, "icon": "📦"}
    if theme:
        options["theme"] = theme
    for state, result in jobs.items():
        browser.start_bar(state, result.id, title=f"Import ({state})", **options)
    browser.wait_for_status("#completed", "completed")
    browser.wait_for_status("#failed", "failed")
    browser.wait_for_status("#cancelled", "in_progress")
    SSEProgress.objects.get(job_id=jobs["cancelled"].id).request_cancel()
    browser.wait_for_status("#cancelled", "cancelled")
    browser.page.wait_for_function(
        "() => Number(document.querySelector('#running [role=progressbar]')"
        ".getAttribute('aria-valuenow')) >= 25",
        timeout=TIMEOUT_MS,
    )
    browser.page.locator("#running .progress-polling-eta").wait_for(state="visible")
    return {state: result.id for state, result in jobs.items()}


def fragment_structure(browser: Browser, job_id: str, theme: str, title: str) -> Any:
    """The server's fragment for the job, parsed by the browser, as STRUCTURE sees it."""
    return browser.page.evaluate(
        f"""async ([url]) => {{
            const response = await fetch(url);
            const template = document.createElement('template');
            template.innerHTML = await response.text();
            return [response.status, ({STRUCTURE})(template.content)];
        }}""",
        [f"/core/sse-progress/{job_id}/fragment/?theme={theme}&icon=📦&title={title}"],
    )


@pytest.mark.parametrize("theme", THEMES)
def test_every_state_at_1280_and_375_px_and_the_server_draws_the_same(
    browser: Browser, worker: Any, user: Any, theme: str
) -> None:
    css, stylesheet = THEMES[theme]
    if stylesheet is not None:
        require(stylesheet, f"{theme}'s CSS")
    browser.page.set_viewport_size({"width": 1280, "height": 900})
    # No theme named: "auto" finds the page's framework (none: the default theme).
    browser.goto(f"/browser/harness/?css={css}")
    jobs = start_every_state(browser, user)

    for state in STATES:
        root = browser.page.locator(f"#{state} .progress-polling")
        assert f"progress-polling--{theme}" in (root.get_attribute("class") or "")
        screenshot(browser, f"#{state}", f"{theme}-{state}.png")
    bar = browser.page.locator("#running .progress-polling-bar")
    box = bar.bounding_box()
    assert box is not None and box["width"] > 600 and 8 <= box["height"] <= 40, box
    if theme == "default":
        # The package's stylesheet came by itself, and colours the bar by status.
        assert browser.page.locator("link[data-progress-polling]").count() == 1
        colours = browser.page.evaluate(
            """() => ['running', 'completed', 'failed'].map((id) => getComputedStyle(
                document.querySelector('#' + id + ' .progress-polling-fill')).backgroundColor)"""
        )
        assert colours == ["rgb(29, 100, 200)", "rgb(27, 127, 59)", "rgb(196, 43, 43)"]

    # The server's fragment is the same markup as the script's, state for state.
    for state in ("completed", "failed", "cancelled"):
        status, structure = fragment_structure(browser, jobs[state], theme, f"Import ({state})")
        assert status == 286
        drawn = browser.page.evaluate(STRUCTURE, browser.page.locator(f"#{state}").element_handle())
        assert structure == drawn, state

    # Small screens: no sideways scroll, statistics side by side or wrapped, never overlapping.
    for width in (375, 320):
        browser.page.set_viewport_size({"width": width, "height": 900})
        layout = browser.page.evaluate(LAYOUT)
        assert layout["scrollWidth"] <= layout["innerWidth"] == width, layout
        assert layout["stats"] >= 12, layout
        assert layout["overflowing"] == layout["touching"] == layout["outside"] == 0, layout
    browser.page.set_viewport_size({"width": 375, "height": 900})
    screenshot(browser, "#bars", f"{theme}-375.png")
    browser.wait_for_status("#running", "completed")


def test_the_default_theme_follows_dark_mode_and_reduced_motion(
    browser: Browser, worker: Any, user: Any
) -> None:
    browser.page.emulate_media(color_scheme="dark", reduced_motion="reduce")
    browser.goto("/browser/harness/?css=none")
    result = tasks.count.apply_async((30, 0.1), progress_owner=user)
    browser.start_bar("job", result.id, pollInterval=200)
    browser.wait_for_status("#job", "in_progress")
    fill = browser.page.evaluate(
        """() => {
            const fill = document.querySelector('#job .progress-polling-fill');
            const style = getComputedStyle(fill);
            return [style.backgroundColor, style.animationName, style.transitionDuration];
        }"""
    )
    assert fill == ["rgb(59, 130, 246)", "none", "0s"]
    # The custom properties restyle it.
    browser.page.add_style_tag(
        content=".progress-polling--default { --progress-polling-accent: rgb(1, 2, 3); }"
    )
    node = "document.querySelector('#job .progress-polling-fill')"
    assert browser.page.evaluate(f"getComputedStyle({node}).backgroundColor") == "rgb(1, 2, 3)"
    browser.wait_for_status("#job", "completed")


def test_a_theme_of_your_own_replaces_the_drawing_not_the_polling(
    browser: Browser, worker: Any, user: Any
) -> None:
    browser.goto("/browser/harness/?css=none")
    result = tasks.count.apply_async((5, 0.05, "a <b>message</b>"), progress_owner=user)
    browser.page.evaluate(
        """() => {
            // A theme: a function (container, view) called at every change.
            ProgressPolling.themes.line = (container, view) => {
                container.textContent =
                    `${view.title}: ${view.label} ${view.percent}% ${view.message}`;
                container.dataset.status = view.status;
            };
        }"""
    )
    browser.start_bar("job", result.id, pollInterval=200, theme="line", title="Import")
    browser.page.wait_for_selector("#job[data-status='completed']")
    assert browser.page.inner_text("#job") == "Import: Completed 100% a <b>message</b>"
    assert browser.events("job")[-1][0] == "complete"
    # An unknown theme is a clear error.
    error = browser.page.evaluate(
        """() => { try { new ProgressPolling('bars', 'x', {theme: 'tailwind'}); }
                  catch (e) { return e.message; } }"""
    )
    assert error == 'ProgressPolling: unknown theme "tailwind"'


def test_titles_numbers_and_labels_follow_the_page(
    browser: Browser, worker: Any, user: Any
) -> None:
    """A French page: French words, French digit grouping; titles from the task or its name."""
    from tests.browser import tasks as browser_tasks

    browser.goto("/browser/harness/?css=none&lang=fr")
    titled = browser_tasks.titled.apply_async((1200,), progress_owner=user)
    named = browser_tasks.crunch_numbers.apply_async((3,), progress_owner=user)
    browser.start_bar("titled", titled.id, pollInterval=200)
    browser.start_bar("named", named.id, pollInterval=200)
    browser.wait_for_status("#titled", "completed")
    browser.wait_for_status("#named", "completed")
    assert browser.page.inner_text("#titled .progress-polling-title") == "Crunch the numbers"
    assert browser.page.inner_text("#named .progress-polling-title") == "Crunch numbers"
    assert browser.page.inner_text("#titled .progress-polling-status") == "Terminé"
    total = browser.page.inner_text("#titled .progress-polling-total .progress-polling-value")
    assert total.replace("\u202f", " ").replace("\xa0", " ") == "1 200"
    assert browser.page.inner_text("#titled .progress-polling-processed .progress-polling-caption")
    # locale wins over the page's language.
    browser.start_bar("english", titled.id, pollInterval=200, locale="en")
    browser.wait_for_status("#english", "completed")
    assert browser.page.inner_text("#english .progress-polling-counts") == "1,200 / 1,200"

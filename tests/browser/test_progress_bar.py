"""progress_polling.js in a real headless Chromium, against a live server and a real worker."""

from __future__ import annotations

import itertools
import re
import uuid
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from celery_progress_tracker.models import SSEProgress
from tests import tasks
from tests.browser.conftest import (
    TIMEOUT_MS,
    Browser,
    open_page,
    require,
)
from tests.browser.views import NODE_MODULES
from tests.conftest import wait_status
from tests.tcp_proxy import TcpProxy

pytestmark = [pytest.mark.browser, pytest.mark.urls("tests.browser.urls")]

API = re.compile(r"/core/sse-progress/")
XSS = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script> & "quotes"'


def progress_events(browser: Browser, element_id: str) -> list[list[Any]]:
    return [event for event in browser.events(element_id) if event[0] == "progress"]


def count_of(events: list[list[Any]], kind: str) -> int:
    return sum(1 for event in events if event[0] == kind)


def bar_text(browser: Browser, selector: str) -> str:
    return str(browser.page.locator(selector).inner_text())


def test_seed_page_button_runs_the_bar_to_green(browser: Browser, worker: Any) -> None:
    """The original README's page (jQuery, inline script) works unchanged."""
    require(NODE_MODULES / "jquery" / "dist" / "jquery.min.js", "jQuery")
    browser.goto("/browser/seed/?items=40")
    browser.page.click("#btnLancer")
    browser.wait_for_status("#jauge", "in_progress")
    bar = browser.page.locator("#jauge [role=progressbar]")
    browser.page.wait_for_function(
        "() => Number(document.querySelector('#jauge [role=progressbar]')"
        ".getAttribute('aria-valuenow')) >= 30",
        timeout=TIMEOUT_MS,
    )
    assert "active" in (bar.get_attribute("class") or "")
    eta = browser.page.locator("#jauge .progress-polling-eta")
    eta.wait_for(state="visible")
    assert re.fullmatch(r"Temps restant : \d+ s", eta.inner_text()), eta.inner_text()
    assert "blue" in (
        browser.page.locator("#jauge .progress-polling-status").get_attribute("class") or ""
    )

    browser.wait_for_status("#jauge", "completed")
    assert bar.get_attribute("aria-valuenow") == "100"
    assert bar.get_attribute("aria-valuemin") == "0"
    assert bar.get_attribute("aria-valuemax") == "100"
    status = browser.page.locator("#jauge .progress-polling-status")
    assert "green" in (status.get_attribute("class") or "")
    assert "active" not in (bar.get_attribute("class") or "")
    assert browser.page.locator("#jauge .progress-polling-processed .value").inner_text() == "40"
    assert browser.page.locator("#jauge .progress-polling-remaining .value").inner_text() == "0"
    assert browser.page.locator("#jauge .progress-polling-message").inner_text() == "item 40"
    assert not eta.is_visible()

    events = browser.page.evaluate(
        "window.events.map((e) => [e[0], e[1] && e[1].status, e[1] && e[1].progress_percentage])"
    )
    assert count_of(events, "start") == 1
    assert count_of(events, "complete") == 1
    assert count_of(events, "error") == 0
    percentages = [event[2] for event in events if event[0] == "progress"]
    assert percentages == sorted(percentages), "the bar never goes backwards"
    assert any(0 < value < 100 for value in percentages), percentages
    assert percentages[-1] == 100
    # The button comes back, as the README's onComplete asks.
    browser.page.wait_for_selector("#btnLancer", state="visible")
    # debug: true logs the README's lines (the page is in French).
    assert any(
        line.startswith("[Polling] Démarrage du polling pour job ") for line in browser.console
    )
    assert any(line.startswith("[Polling] Données reçues:") for line in browser.console)
    assert "[Polling] Arrêt du polling" in browser.console


def test_running_then_completed_bar_in_english(browser: Browser, worker: Any, user: Any) -> None:
    browser.goto("/browser/harness/")
    result = tasks.count.apply_async((40, 0.1), progress_owner=user)
    browser.start_bar("job", result.id, title="Newsletter", icon="📨", pollInterval=200)
    browser.page.wait_for_function(
        "() => Number(document.querySelector('#job [role=progressbar]')"
        ".getAttribute('aria-valuenow')) >= 25",
        timeout=TIMEOUT_MS,
    )
    eta = browser.page.locator("#job .progress-polling-eta")
    eta.wait_for(state="visible")
    assert re.fullmatch(r"Time left: \d+ s", eta.inner_text()), eta.inner_text()
    # The status reads as in the admin and in tables: Status's label.
    assert browser.page.locator("#job .progress-polling-status").inner_text() == "In progress"
    browser.wait_for_status("#job", "completed")
    assert browser.page.locator("#job .progress-polling-status").inner_text() == "Completed"
    for name, value in (("total", "40"), ("processed", "40"), ("remaining", "0")):
        stat = browser.page.locator(f"#job .progress-polling-{name}")
        assert stat.locator(".value").text_content() == value
        assert stat.locator(".label").text_content() == name.capitalize()
    assert not browser.page.locator("#job .progress-polling-failed").is_visible()
    assert count_of(browser.events("job"), "complete") == 1


def test_failed_job_turns_red_with_its_error(browser: Browser, worker: Any, user: Any) -> None:
    browser.goto("/browser/harness/")
    result = tasks.fail_after.apply_async((5,), progress_owner=user)
    browser.start_bar("job", result.id, title="EDI import", icon="📥", pollInterval=200)
    browser.wait_for_status("#job", "failed")
    status = browser.page.locator("#job .progress-polling-status")
    assert "red" in (status.get_attribute("class") or "")
    assert status.inner_text() == "Failed"
    error = browser.page.locator("#job .progress-polling-error")
    assert error.is_visible()
    shown = f"The job failed (reference {result.id[:8]})."
    assert error.inner_text() == shown
    # A failed job keeps the percentage it reached.
    assert browser.page.locator("#job [role=progressbar]").get_attribute("aria-valuenow") == "50"
    events = browser.events("job")
    assert events[-1] == ["error", "failed", shown]
    assert count_of(events, "complete") == 0


def test_server_text_is_shown_as_text_never_as_html(
    browser: Browser, worker: Any, user: Any
) -> None:
    browser.goto("/browser/harness/")
    result = tasks.count.apply_async((3, 0.05, XSS), progress_owner=user)
    browser.start_bar("job", result.id, title=XSS, icon=XSS, pollInterval=200)
    browser.wait_for_status("#job", "completed")
    assert browser.page.locator("#job .progress-polling-message").inner_text() == XSS
    assert browser.page.locator("#job .progress-polling-title").inner_text() == XSS
    assert browser.page.evaluate("window.pwned") is None
    # No payload element exists at all (an inserted <img onerror> would also run).
    assert browser.page.locator("#job img, #job script").count() == 0
    # (The tag's settings are a JSON data block, which never runs.)
    code = "img, script:not([src]):not([type='application/json'])"
    assert browser.page.locator(code).count() == 0


def test_connection_lost_is_shown_then_recovers_by_itself(
    browser: Browser, worker: Any, user: Any
) -> None:
    browser.goto("/browser/harness/")
    result = tasks.count.apply_async((40, 0.1), progress_owner=user)
    browser.start_bar("job", result.id, pollInterval=200, maxBackoff=1000)
    browser.wait_for_status("#job", "in_progress")
    browser.page.route(API, lambda route: route.abort("connectionrefused"))
    lost = browser.page.locator("#job .progress-polling-connection")
    lost.wait_for(state="visible")
    assert lost.inner_text() == "Connection lost, retrying…"
    browser.page.unroute(API)
    browser.wait_for_status("#job", "completed")
    assert not lost.is_visible()
    events = browser.events("job")
    assert count_of(events, "complete") == 1
    assert count_of(events, "error") == 0


def test_connection_cut_by_a_real_proxy_then_restored(
    chromium: Any, live_server: Any, worker: Any, user: Any
) -> None:
    """The same outage on a real TCP path: connections reset, then refused, then back."""
    from tests.browser.conftest import session_key_for

    target = urlsplit(live_server.url)
    with TcpProxy(target.hostname or "localhost", target.port or 80) as proxy:
        browser = open_page(chromium, f"http://localhost:{proxy.port}", session_key_for(user))
        browser.goto("/browser/harness/")
        result = tasks.count.apply_async((40, 0.1), progress_owner=user)
        browser.start_bar("job", result.id, pollInterval=200, maxBackoff=1000)
        browser.wait_for_status("#job", "in_progress")
        proxy.cut()
        lost = browser.page.locator("#job .progress-polling-connection")
        lost.wait_for(state="visible")
        proxy.restore()
        browser.wait_for_status("#job", "completed")
        assert not lost.is_visible()
        events = browser.events("job")
        assert count_of(events, "complete") == 1
        assert count_of(events, "error") == 0
        assert proxy.refused + proxy.accepted > 0
        assert not browser.page_errors


def test_ten_bars_share_one_request_per_interval(browser: Browser, worker: Any, user: Any) -> None:
    browser.goto("/browser/harness/")
    job_ids = [tasks.count.apply_async((4, 0.05), progress_owner=user).id for _ in range(10)]
    in_flight = {"now": 0, "most": 0}

    def started(request: Any) -> None:
        if API.search(request.url):
            in_flight["now"] += 1
            in_flight["most"] = max(in_flight["most"], in_flight["now"])

    def ended(request: Any) -> None:
        if API.search(request.url):
            in_flight["now"] -= 1

    browser.page.on("request", started)
    browser.page.on("requestfinished", ended)
    browser.page.on("requestfailed", ended)
    browser.page.evaluate(
        """(ids) => ids.forEach((id, n) => {
            const host = document.createElement('div');
            host.id = 'bar' + n;
            document.getElementById('bars').appendChild(host);
            new ProgressPolling(host.id, id, {pollInterval: 300});
        })""",
        job_ids,
    )
    for n in range(10):
        browser.wait_for_status(f"#bar{n}", "completed")

    asked: list[set[str]] = []
    for url in browser.api_requests:
        parts = urlsplit(url)
        if parts.path == "/core/sse-progress/":
            asked.append(set(parse_qs(parts.query)["job_id"]))
        else:
            asked.append({parts.path.rstrip("/").rsplit("/", 1)[1]})
    assert asked[0] == set(job_ids), "the first request asks for every bar at once"
    assert len(asked) >= 2
    for before, after in itertools.pairwise(asked):
        assert after <= before, "finished bars leave the shared request, none polls alone"
    assert in_flight["most"] == 1, "never two requests at the same time"


def test_stop_really_stops_and_start_resumes(browser: Browser, worker: Any, user: Any) -> None:
    browser.goto("/browser/harness/")
    result = tasks.count.apply_async((30, 0.1), progress_owner=user)
    browser.start_bar("job", result.id, pollInterval=200)
    browser.wait_for_status("#job", "in_progress")
    browser.page.evaluate("window.bars.job.stop()")
    sent = len(browser.api_requests)
    # The job runs to its end while the bar is stopped: many intervals pass.
    wait_status(result.id, "completed", timeout=60)
    browser.page.evaluate("1")  # let pending request events arrive
    assert len(browser.api_requests) <= sent + 1, "at most the request already in flight"
    assert (
        browser.page.locator("#job .progress-polling").get_attribute("data-status") == "in_progress"
    )
    assert count_of(browser.events("job"), "complete") == 0

    browser.page.evaluate("window.bars.job.start()")
    browser.wait_for_status("#job", "completed")
    browser.page.evaluate("window.bars.job.start()")  # no effect once the job is over
    assert count_of(browser.events("job"), "complete") == 1


def test_hidden_page_pauses_and_resumes_at_once_when_visible(
    browser: Browser, worker: Any, user: Any
) -> None:
    browser.goto("/browser/harness/")
    browser.page.evaluate(
        """() => Object.defineProperty(document, 'hidden', {
            configurable: true, get: () => window.pageHidden === true})"""
    )
    result = tasks.count.apply_async((30, 0.1), progress_owner=user)
    browser.start_bar("job", result.id, pollInterval=200)
    browser.wait_for_status("#job", "in_progress")
    browser.page.evaluate(
        "() => { window.pageHidden = true; document.dispatchEvent(new Event('visibilitychange')); }"
    )
    sent = len(browser.api_requests)
    wait_status(result.id, "completed", timeout=60)
    browser.page.evaluate("1")
    assert len(browser.api_requests) <= sent + 1
    assert (
        browser.page.locator("#job .progress-polling").get_attribute("data-status") == "in_progress"
    )

    browser.page.evaluate(
        "() => { window.pageHidden = false;"
        " document.dispatchEvent(new Event('visibilitychange')); }"
    )
    browser.wait_for_status("#job", "completed")
    assert count_of(browser.events("job"), "complete") == 1


def test_template_tag_page_works_under_a_strict_csp(
    browser: Browser, worker: Any, user: Any
) -> None:
    browser.page.add_init_script(
        """window.violations = [];
        document.addEventListener('securitypolicyviolation',
            (e) => window.violations.push([e.effectiveDirective, e.blockedURI]));"""
    )
    result = tasks.count.apply_async((10, 0.05, "ligne traitée"), progress_owner=user)
    browser.goto(f"/browser/tag/?job_id={result.id}&title=Import%20<b>EDI</b>")
    browser.wait_for_status("#tagged", "completed")
    # The page is in French: the built-in French labels are used.
    assert browser.page.locator("#tagged .progress-polling-status").inner_text() == "Terminé"
    assert (
        browser.page.locator("#tagged .progress-polling-title").inner_text() == "Import <b>EDI</b>"
    )
    assert browser.page.locator("#tagged .progress-polling-icon").inner_text().strip() == "📦"
    assert browser.page.locator(".progress-polling-container").count() == 1
    # The CSP is enforced (the page's one inline script is blocked) and the bar
    # needed nothing it forbids.
    assert browser.page.evaluate("window.inlineRan") is None
    violations = browser.page.evaluate("window.violations")
    assert violations == [["script-src-elem", "inline"]], violations
    assert all(
        url.startswith(browser.base_url + "/core/sse-progress/") for url in browser.api_requests
    )


def test_the_default_theme_and_its_stylesheet_under_a_strict_csp(
    browser: Browser, worker: Any, user: Any
) -> None:
    """No framework on the page: the default theme's stylesheet is linked, nothing is refused."""
    browser.page.add_init_script(
        """window.violations = [];
        document.addEventListener('securitypolicyviolation',
            (e) => window.violations.push([e.effectiveDirective, e.blockedURI]));"""
    )
    result = tasks.count.apply_async((10, 0.05), progress_owner=user)
    browser.goto(f"/browser/tag/?job_id={result.id}&css=bare")
    browser.wait_for_status("#tagged", "completed")
    assert "progress-polling--default" in (
        browser.page.get_attribute("#tagged .progress-polling", "class") or ""
    )
    height = browser.page.evaluate(
        "getComputedStyle(document.querySelector('#tagged .progress-polling-bar')).height"
    )
    assert height == "20px", "the stylesheet applies"
    assert browser.page.evaluate("window.violations") == [["script-src-elem", "inline"]]


def test_a_job_created_after_the_bar_started_is_waited_for(
    browser: Browser, worker: Any, user: Any
) -> None:
    """The original manual flow: the task itself creates the row, a little later."""
    browser.goto("/browser/harness/")
    job_id = str(uuid.uuid4())
    browser.start_bar("job", job_id, pollInterval=200, notFoundGrace=60_000)
    browser.page.wait_for_selector("#job .progress-polling-message >> text=Waiting for the job")
    tasks.seed_manual_task.delay(job_id, user.pk, items=20, delay=0.05)
    browser.wait_for_status("#job", "completed")
    events = browser.events("job")
    assert count_of(events, "error") == 0
    assert count_of(events, "complete") == 1


def test_an_unknown_job_is_an_error_after_the_grace_period(browser: Browser) -> None:
    browser.goto("/browser/harness/")
    browser.start_bar("job", str(uuid.uuid4()), pollInterval=200, notFoundGrace=1000)
    browser.wait_for_status("#job", "error")
    assert browser.events("job") == [["error", "not_found", "This job does not exist."]]
    assert (
        browser.page.locator("#job .progress-polling-error").inner_text()
        == "This job does not exist."
    )


def test_anonymous_page_gets_unauthorized_and_stops(
    chromium: Any, live_server: Any, user: Any, transactional_db: None
) -> None:
    job = SSEProgress.objects.create(job_id=str(uuid.uuid4()), user=user, total_items=10)
    browser = open_page(chromium, live_server.url, None)
    browser.goto("/browser/harness/")
    browser.start_bar("job", job.job_id, pollInterval=200)
    browser.wait_for_status("#job", "error")
    events = browser.events("job")
    assert [event[:2] for event in events] == [["error", "unauthorized"]]
    sent = len(browser.api_requests)
    assert sent == 1, "a refused request is not retried"


def test_pages_work_without_fomantic(browser: Browser, worker: Any, user: Any) -> None:
    """The bar is readable unstyled: the CSS request may fail, the bar still runs."""
    browser.page.route(re.compile(r"fomantic-ui-css"), lambda route: route.abort())
    browser.goto("/browser/harness/")
    result = tasks.count.apply_async((3, 0.05), progress_owner=user)
    browser.start_bar("job", result.id, pollInterval=200)
    browser.wait_for_status("#job", "completed")
    assert "100%" in bar_text(browser, "#job")
    assert browser.page.locator("#job .progress-polling-message").inner_text() == "item 3"


def test_unknown_total_is_indeterminate_and_unchanged_polls_get_304(
    browser: Browser, worker: Any, user: Any
) -> None:
    statuses: list[int] = []
    conditional: list[str] = []

    def on_response(response: Any) -> None:
        if API.search(response.url):
            statuses.append(response.status)
            if response.request.headers.get("if-none-match"):
                conditional.append(response.request.headers["if-none-match"])

    browser.page.on("response", on_response)
    browser.goto("/browser/harness/")
    result = tasks.sleep_then.apply_async((1, 3.0, 1), progress_owner=user)
    browser.start_bar("job", result.id, pollInterval=200)
    browser.page.wait_for_selector("#job .progress-polling-message >> text=before the sleep")
    bar = browser.page.locator("#job [role=progressbar]")
    assert "indeterminate" in (bar.get_attribute("class") or "")
    assert bar.get_attribute("aria-valuenow") is None
    assert browser.page.locator("#job .progress-polling-total .value").inner_text() == "?"
    browser.wait_for_status("#job", "completed")
    assert 304 in statuses, statuses
    assert conditional and all(tag.startswith('W/"') for tag in conditional)
    # The 304s changed nothing: every callback came from a real answer.
    progress = progress_events(browser, "job")
    assert len(progress) == statuses.count(200)
    assert browser.page.locator("#job .progress-polling-processed .value").inner_text() == "2"
    # A new bar for the same job is drawn in full, not answered "not modified".
    browser.start_bar("again", result.id, pollInterval=200)
    browser.wait_for_status("#again", "completed")
    assert count_of(browser.events("again"), "complete") == 1


def test_auto_hide_and_hidden_sections(browser: Browser, worker: Any, user: Any) -> None:
    browser.goto("/browser/harness/")
    result = tasks.count.apply_async((3, 0.05), progress_owner=user)
    browser.start_bar(
        "job",
        result.id,
        pollInterval=200,
        showDetails=False,
        showStats=False,
        autoHideOnComplete=True,
        autoHideDelay=300,
    )
    # "attached", not visible: on a slow machine the bar may already be hidden.
    browser.page.wait_for_selector(
        "#job .progress-polling[data-status='completed']", state="attached"
    )
    # Hidden by the options, whether or not the whole bar is hidden yet.
    for section in ("stats", "message"):
        node = browser.page.locator(f"#job .progress-polling-{section}")
        assert node.get_attribute("hidden") is not None, section
    assert browser.page.locator("#job .progress-polling-status").get_attribute("hidden") is None
    browser.page.locator("#job .progress-polling").wait_for(state="hidden")
    assert count_of(browser.events("job"), "complete") == 1


def test_gives_up_after_max_network_failures_with_custom_labels(browser: Browser) -> None:
    browser.goto("/browser/harness/")
    browser.page.route(API, lambda route: route.abort("connectionrefused"))
    browser.start_bar(
        "job",
        str(uuid.uuid4()),
        pollInterval=100,
        maxBackoff=200,
        maxNetworkFailures=3,
        labels={"connectionLost": "Réseau coupé", "tooManyFailures": "Abandon"},
    )
    browser.wait_for_status("#job", "error")
    assert browser.events("job") == [["error", "network", "Abandon"]]
    assert len(browser.api_requests) == 3
    assert browser.page.locator("#job .progress-polling-connection").text_content() == (
        "Réseau coupé"
    )
    assert not browser.page.locator("#job .progress-polling-connection").is_visible()


def test_init_all_starts_new_elements_once_and_bad_arguments_are_clear(
    browser: Browser,
) -> None:
    browser.goto("/browser/harness/")
    started = browser.page.evaluate(
        """() => {
            const host = document.getElementById('bars');
            host.insertAdjacentElement('beforeend', Object.assign(document.createElement('div'), {
                id: 'late'}));
            const late = document.getElementById('late');
            late.setAttribute('data-progress-job-id', 'not-yet');
            late.setAttribute('data-progress-poll-interval', '200');
            late.setAttribute('data-progress-title', 'Later');
            const slow = new ProgressPolling(document.createElement('div'), 'x',
                                             {pollInterval: 20000});
            slow.stop();
            return [ProgressPolling.initAll(host).length, ProgressPolling.initAll(host).length,
                    late.progressPolling.options.pollInterval, slow.options.maxBackoff];
        }"""
    )
    assert started == [1, 0, 200, 20000]
    assert browser.page.locator("#late .progress-polling-title").inner_text() == "Later"
    browser.page.wait_for_selector("#late .progress-polling-message >> text=Waiting for the job")
    errors = browser.page.evaluate(
        """() => [
            () => new ProgressPolling('missing', 'job'),
            () => new ProgressPolling('bars', ''),
            () => new ProgressPolling('bars', 'job', {pollInterval: 'fast'}),
        ].map((make) => { try { make(); return null; } catch (e) { return e.message; } })"""
    )
    assert errors == [
        'ProgressPolling: no element with id "missing"',
        "ProgressPolling: jobId is empty",
        "ProgressPolling: option pollInterval must be a number >= 50, got fast",
    ]


def test_cancelled_job_turns_grey_and_reports_it(browser: Browser, worker: Any, user: Any) -> None:
    browser.goto("/browser/harness/")
    result = tasks.until_cancelled.apply_async((60.0,), progress_owner=user)
    browser.start_bar("job", result.id, pollInterval=200)
    browser.wait_for_status("#job", "in_progress")
    SSEProgress.objects.get(job_id=result.id).request_cancel()
    browser.wait_for_status("#job", "cancelled")
    status = browser.page.locator("#job .progress-polling-status")
    assert status.inner_text() == "Cancelled"
    assert "grey" in (status.get_attribute("class") or "")
    events = browser.events("job")
    assert events[-1][:2] == ["error", "cancelled"]
    assert count_of(events, "complete") == 0

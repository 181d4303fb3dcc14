"""The bar drawn on the server (htmx fragments), its labels and its template tag."""

from __future__ import annotations

import html
import re
import time
from datetime import timedelta
from typing import Any
from urllib.parse import quote, urlencode

import hypothesis
import pytest
from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractUser
from django.template import Context, Template
from django.test import Client, RequestFactory
from django.utils import timezone, translation
from hypothesis import strategies as st

from celery_progress_tracker import fragments
from celery_progress_tracker.labels import bar_labels, status_label
from celery_progress_tracker.models import SSEProgress, Status
from tests.api_support import make_job

pytestmark = [pytest.mark.django_db, pytest.mark.core]

XSS = '<img src=x onerror="window.pwned=1"><script>window.pwned=2</script>'


def fragment_url(job_id: str, **query: str) -> str:
    url = f"/core/sse-progress/{job_id}/fragment/"
    if query:
        url += "?" + "&".join(f"{key}={value}" for key, value in query.items())
    return url


@pytest.fixture
def alice() -> AbstractUser:
    return get_user_model().objects.create_user("alice")


@pytest.fixture
def client_alice(alice: AbstractUser) -> Client:
    client = Client()
    client.force_login(alice)
    return client


def running(user: Any, job_id: str = "job-1", **fields: Any) -> SSEProgress:
    values = {
        "status": "in_progress",
        "total_items": 1200,
        "processed_items": 540,
        "current_message": "Row 540",
        "started_at": timezone.now() - timedelta(seconds=9),
        **fields,
    }
    return make_job(job_id, user, **values)


def text(response: Any) -> str:
    """The fragment's visible text, whitespace collapsed."""
    content = re.sub(r"<[^>]+>", " ", response.content.decode())
    return " ".join(html.unescape(content).split())


def test_a_running_job_is_drawn_and_polling_goes_on(client_alice: Client, alice: Any) -> None:
    running(alice)
    response = client_alice.get(fragment_url("job-1"))
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/html")
    assert "no-cache" in response["Cache-Control"]
    page = response.content.decode()
    assert 'class="progress-polling progress-polling--default"' in page
    assert 'data-status="in_progress"' in page
    assert 'aria-valuenow="45"' in page and 'style="width: 45%"' in page
    assert "45%" in text(response)
    assert "540 / 1,200" in text(response)
    assert re.search(r"Time left: \d+ s", text(response))
    assert "Row 540" in text(response)
    assert "In progress" in text(response)


@pytest.mark.parametrize(
    ("status", "expected"),
    [("completed", "Completed"), ("failed", "Failed"), ("cancelled", "Cancelled")],
)
def test_a_final_job_answers_286_so_htmx_stops(
    client_alice: Client, alice: Any, status: str, expected: str
) -> None:
    failed = status == "failed"
    running(
        alice,
        status=status,
        error="RuntimeError: boom" if failed else "",
        public_error="Line 4 is empty" if failed else "",
    )
    response = client_alice.get(fragment_url("job-1"))
    assert response.status_code == fragments.STOP_POLLING == 286
    assert f'data-status="{status}"' in response.content.decode()
    assert expected in text(response)
    if failed:  # the job's user reads the public text, not the exception
        assert "Line 4 is empty" in text(response)
        assert "RuntimeError" not in text(response)


def test_server_text_is_escaped(client_alice: Client, alice: Any) -> None:
    running(alice, current_message=XSS, status="failed", error=XSS, public_error=XSS)
    response = client_alice.get(fragment_url("job-1", title="%3Cb%3Ex%3C/b%3E"))
    page = response.content.decode()
    assert "<img" not in page and "<script" not in page and "<b>" not in page
    assert text(response).count(XSS) == 2
    assert "<b>x</b>" in text(response)


def test_another_users_job_is_not_found_and_an_anonymous_poll_is_told_to_log_in(
    alice: Any,
) -> None:
    running(alice)
    bob = get_user_model().objects.create_user("bob")
    client = Client()
    client.force_login(bob)
    response = client.get(fragment_url("job-1"))
    assert response.status_code == 286
    assert "This job does not exist." in text(response)
    assert 'data-status="error"' in response.content.decode()
    assert "Row 540" not in text(response)

    response = Client().get(fragment_url("job-1"))
    assert response.status_code == 286
    assert "Your session has expired" in text(response)


def test_an_unknown_job_is_waited_for_a_while_after_the_page_was_drawn(
    client_alice: Client,
) -> None:
    now = time.time()
    response = client_alice.get(fragment_url("not-yet", since=f"{now:.3f}"))
    assert response.status_code == 200
    assert "Waiting for the job to start…" in text(response)
    long_ago = now - fragments.NOT_FOUND_GRACE - 1
    response = client_alice.get(fragment_url("not-yet", since=f"{long_ago:.3f}"))
    assert response.status_code == 286
    for bad in ("nan", "inf", "yesterday"):
        assert client_alice.get(fragment_url("not-yet", since=bad)).status_code == 286


@pytest.mark.parametrize(
    ("theme", "classes"),
    [
        ("bootstrap5", ["card card-body", "progress-bar bg-primary progress-bar-striped"]),
        ("semantic", ["ui segment", "ui progress blue active", "ui small label blue"]),
        ("nonsense", ["progress-polling--default"]),
    ],
)
def test_each_theme_has_its_markup(
    client_alice: Client, alice: Any, theme: str, classes: list[str]
) -> None:
    running(alice)
    page = client_alice.get(fragment_url("job-1", theme=theme)).content.decode()
    for expected in classes:
        assert expected in page, expected


def test_the_setting_chooses_the_theme(client_alice: Client, alice: Any, settings: Any) -> None:
    running(alice)
    settings.PROGRESS_TRACKER_THEME = "semantic"
    assert "ui segment" in client_alice.get(fragment_url("job-1")).content.decode()
    settings.PROGRESS_TRACKER_THEME = "auto"  # the script picks; the server draws "default"
    assert "progress-polling--default" in client_alice.get(fragment_url("job-1")).content.decode()


def test_sections_can_be_hidden(client_alice: Client, alice: Any) -> None:
    running(alice)
    page = client_alice.get(fragment_url("job-1", show_details="0", show_stats="0"))
    assert "progress-polling-stats" not in page.content.decode()
    assert "Row 540" not in text(page)


def test_french_labels_and_numbers(client_alice: Client, alice: Any) -> None:
    running(alice)
    response = client_alice.get(fragment_url("job-1"), headers={"accept-language": "fr"})
    shown = text(response).replace("\xa0", " ").replace("\u202f", " ")
    assert "En cours" in shown
    assert "540 / 1 200" in shown
    assert re.search(r"Temps restant : \d+ s", shown)
    assert "Traités" in shown and "Restants" in shown


def test_other_methods_get_the_apis_json_405(client_alice: Client, alice: Any) -> None:
    running(alice)
    response = client_alice.post(fragment_url("job-1"))
    assert response.status_code == 405
    assert response["Allow"] == "GET, HEAD"
    assert response.json()["error"] == "method_not_allowed"
    assert client_alice.head(fragment_url("job-1")).status_code == 200


TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",)), max_size=300)


@hypothesis.settings(
    max_examples=80,
    deadline=None,
    suppress_health_check=[hypothesis.HealthCheck.function_scoped_fixture],
)
@hypothesis.given(
    job_id=st.one_of(st.just("job-1"), TEXT.filter(lambda text: text.strip("/") != "")),
    query=st.dictionaries(
        st.sampled_from(["theme", "title", "icon", "since", "show_details", "show_stats", "x"]),
        TEXT,
    ),
)
def test_hostile_input_never_breaks_the_fragment(
    client_alice: Client, alice: Any, job_id: str, query: dict[str, str]
) -> None:
    if not SSEProgress.objects.filter(job_id="job-1").exists():
        running(alice, "job-1", current_message=XSS)
    url = f"/core/sse-progress/{quote(job_id, safe='')}/fragment/?{urlencode(query)}"
    response = client_alice.get(url)
    assert response.status_code in (200, 286, 404), response.status_code
    page = response.content.decode()
    assert "<script" not in page and "<img" not in page


def test_the_title_is_the_tasks_progress_title_else_a_readable_name(
    client_alice: Client, alice: Any
) -> None:
    from tests.browser import tasks

    running(alice, "a", task_type=tasks.titled.name)
    running(alice, "b", task_type=tasks.crunch_numbers.name)
    running(alice, "c", task_type="email_sending")
    assert "Crunch the numbers" in text(client_alice.get(fragment_url("a")))
    assert "Crunch numbers" in text(client_alice.get(fragment_url("b")))
    assert "Email sending" in text(client_alice.get(fragment_url("c")))
    assert "Import EDI" in text(client_alice.get(fragment_url("c", title="Import%20EDI")))


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("reports.tasks.crunch_numbers", "Crunch numbers"),
        ("email_sending", "Email sending"),
        ("EDI-import", "Edi import"),
        ("", ""),
    ],
)
def test_humanise(name: str, expected: str) -> None:
    assert fragments.humanise(name) == expected


@pytest.mark.parametrize(
    ("seconds", "expected"),
    [(0, "0 s"), (59.4, "59 s"), (125, "2 min 5 s"), (3 * 3600 + 120, "3 h 2 min")],
)
def test_durations(seconds: float, expected: str) -> None:
    assert fragments.format_seconds(seconds) == expected


@pytest.mark.parametrize("language", ["en", "fr"])
def test_status_labels_are_the_admins_words(
    client_alice: Client, alice: Any, language: str
) -> None:
    """The bar, a project's table (``get_status_display``) and the admin say the same."""
    for status in Status.values:
        running(alice, f"job-{status}", status=status)
    admin = get_user_model().objects.create_superuser("admin")
    client = Client()
    client.force_login(admin)
    changelist = client.get(
        "/admin/celery_progress_tracker/sseprogress/", headers={"accept-language": language}
    ).content.decode()
    with translation.override(language):
        labels = bar_labels()
        for status in Status.values:
            job = SSEProgress.objects.get(job_id=f"job-{status}")
            words = str(job.get_status_display())
            assert labels[status] == status_label(status) == words[0].upper() + words[1:]
            assert f'<td class="field-status">{words}</td>' in changelist
    french = ["En attente", "En cours", "Terminé", "Échoué", "Annulé"]
    fr = dict(zip(Status.values, french, strict=True))
    if language == "fr":
        assert {status: labels[status] for status in Status.values} == fr


def test_the_fragment_tag_writes_an_htmx_poller(alice: Any) -> None:
    running(alice)
    request = RequestFactory().get("/")
    request.user = alice
    page = Template(
        "{% load progress_tracker %}"
        "{% progress_fragment 'job-1' theme='bootstrap5' title='Import' poll_interval=250"
        " element_id='bar' css_class='wide' show_stats=False %}"
    ).render(Context({"request": request}))
    assert page.startswith('<div id="bar" class="progress-polling-container wide" hx-get="')
    url = html.unescape(re.search(r'hx-get="([^"]+)"', page)[1])  # type: ignore[index]
    assert url.startswith("/core/sse-progress/job-1/fragment/?theme=bootstrap5&since=")
    assert "&title=Import" in url and "&show_stats=0" in url
    assert 'hx-trigger="every 250ms" hx-swap="innerHTML"' in page
    assert "progress-polling--bootstrap5" in page and "Row 540" not in page


def test_the_fragment_tag_does_not_poll_a_final_job_and_skips_an_empty_one(alice: Any) -> None:
    running(alice, status="completed")
    request = RequestFactory().get("/")
    request.user = alice
    template = Template("{% load progress_tracker %}{% progress_fragment job_id %}")
    page = template.render(Context({"request": request, "job_id": "job-1"}))
    assert 'data-status="completed"' in page and "hx-get" not in page
    assert template.render(Context({"request": request, "job_id": ""})).strip() == ""

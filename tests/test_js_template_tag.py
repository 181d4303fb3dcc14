"""The ``progress_tracker`` template tags: the markup progress_polling.js starts from."""

from __future__ import annotations

import json
import re
from typing import Any

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.test import RequestFactory
from django.urls import include, path
from django.utils import translation

LOAD = "{% load progress_tracker %}"


def render(source: str, **context: Any) -> str:
    return Template(LOAD + source).render(Context(context))


def test_bar_carries_the_job_and_the_options_as_data_attributes() -> None:
    html = render(
        '{% progress_bar job_id title="Import" icon="📊" show_details=False poll_interval=250'
        " auto_hide=True auto_hide_delay=1000 not_found_grace=5000 max_network_failures=3"
        ' labels="fr" debug=True element_id="jauge" css_class="wide" %}',
        job_id="abc-123",
    )
    assert html.startswith('<div id="jauge" class="progress-polling-container wide"')
    for attribute in (
        'data-progress-job-id="abc-123"',
        'data-progress-api-base="/core/sse-progress/"',
        'data-progress-title="Import"',
        'data-progress-icon="📊"',
        'data-progress-show-details="false"',
        'data-progress-show-stats="true"',
        'data-progress-poll-interval="250"',
        'data-progress-auto-hide="true"',
        'data-progress-auto-hide-delay="1000"',
        'data-progress-not-found-grace="5000"',
        'data-progress-max-network-failures="3"',
        'data-progress-labels="fr"',
        'data-progress-debug="true"',
    ):
        assert attribute in html
    assert "<script" not in html


def test_values_are_escaped() -> None:
    html = render("{% progress_bar job_id title=title %}", job_id='a"b', title="<b>x</b>")
    assert 'data-progress-job-id="a&quot;b"' in html
    assert 'data-progress-title="&lt;b&gt;x&lt;/b&gt;"' in html
    assert "<b>" not in html


@pytest.mark.parametrize("job_id", ["", None, "   "])
def test_empty_job_renders_nothing(job_id: Any) -> None:
    assert render("{% progress_bar job_id %}", job_id=job_id).strip() == ""


@pytest.mark.parametrize(
    ("option", "value"),
    [("poll_interval", "'fast'"), ("poll_interval", "10"), ("max_network_failures", "0")],
)
def test_bad_numbers_are_clear_errors(option: str, value: str) -> None:
    with pytest.raises(TemplateSyntaxError, match=f"progress_bar: {option} must be a number"):
        render(f'{{% progress_bar "job" {option}={value} %}}')


def test_unknown_option_is_a_syntax_error() -> None:
    with pytest.raises(TemplateSyntaxError, match="colour"):
        render('{% progress_bar "job" colour="red" %}')


def test_script_tag_is_external_and_not_deferred_so_inline_code_can_follow() -> None:
    html = render("{% progress_polling_js %}").strip()
    assert html.endswith(
        '\n<script src="/static/celery_progress_tracker/progress_polling.js"></script>'
    )
    assert (
        render("{% progress_polling_js defer=True %}")
        .strip()
        .endswith(
            '<script src="/static/celery_progress_tracker/progress_polling.js" defer></script>'
        )
    )


def config_of(html: str) -> dict[str, Any]:
    found = re.search(
        r'<script id="progress-polling-config" type="application/json">(.*?)</script>', html
    )
    assert found, html
    return json.loads(found[1])  # type: ignore[no-any-return]


def test_script_settings_carry_the_theme_the_stylesheet_and_the_catalogue(
    settings: Any,
) -> None:
    settings.PROGRESS_TRACKER_THEME = "bootstrap5"
    with translation.override("fr"):
        config = config_of(render("{% progress_polling_js %}"))
    assert config["theme"] == "bootstrap5"
    assert config["css"] == "/static/celery_progress_tracker/progress_polling.css"
    assert config["lang"] == "fr"
    # The admin's words: Status's labels, with a capital.
    assert config["labels"]["in_progress"] == "En cours"
    assert config["labels"]["failed"] == "Échoué"
    assert config["labels"]["eta"] == "Temps restant : {time}"
    assert config_of(render("{% progress_polling_js theme='semantic' %}"))["theme"] == "semantic"


def test_script_settings_name_the_titles_tasks_declare() -> None:
    from tests.browser import tasks

    config = config_of(render("{% progress_polling_js %}"))
    assert config["titles"][tasks.titled.name] == "Crunch the numbers"
    assert tasks.crunch_numbers.name not in config["titles"]


def test_settings_cannot_break_out_of_the_data_block() -> None:
    html = render("{% progress_polling_js %}")
    assert html.count("</script>") == 2


@pytest.mark.parametrize(
    "tag", ["progress_polling_js", "progress_bar 'j'", "progress_fragment 'j'"]
)
def test_an_unknown_theme_is_a_clear_error(tag: str) -> None:
    with pytest.raises(TemplateSyntaxError, match="theme must be one of auto, default"):
        render(f"{{% {tag} theme='tailwind' %}}", request=RequestFactory().get("/"))


def test_bar_takes_a_theme_and_a_locale() -> None:
    html = render("{% progress_bar 'j' theme='bootstrap5' locale='de-CH' %}")
    assert 'data-progress-theme="bootstrap5"' in html
    assert 'data-progress-locale="de-CH"' in html


def test_stylesheet_tag() -> None:
    assert render("{% progress_polling_css %}").strip() == (
        '<link rel="stylesheet" href="/static/celery_progress_tracker/progress_polling.css"'
        " data-progress-polling>"
    )


urlpatterns_seed_style = [
    path("jobs/", include(("celery_progress_tracker.urls", "core"), namespace="core")),
]
urlpatterns_other_prefix = [path("api/progress/", include("celery_progress_tracker.urls"))]


@pytest.mark.parametrize(
    ("urlconf", "expected"),
    [
        ("urlpatterns_seed_style", "/jobs/sse-progress/"),
        ("urlpatterns_other_prefix", "/api/progress/sse-progress/"),
    ],
)
def test_api_base_follows_where_the_urls_are_mounted(
    urlconf: str, expected: str, settings: Any
) -> None:
    settings.ROOT_URLCONF = type("urls", (), {"urlpatterns": globals()[urlconf]})
    request = RequestFactory().get("/")
    html = render("{% progress_bar 'j' %}", request=request)
    assert f'data-progress-api-base="{expected}"' in html


def test_api_base_falls_back_to_the_original_prefix(settings: Any) -> None:
    settings.ROOT_URLCONF = type("urls", (), {"urlpatterns": []})
    assert 'data-progress-api-base="/core/sse-progress/"' in render("{% progress_bar 'j' %}")


def test_api_base_can_be_given() -> None:
    html = render("{% progress_bar 'j' api_base_url='/x/jobs/' %}")
    assert 'data-progress-api-base="/x/jobs/"' in html


def test_status_and_title_filters_for_tables() -> None:
    from tests.browser import tasks

    with translation.override("fr"):
        assert render("{{ s|progress_status }}", s="in_progress") == "En cours"
        assert render("{{ s|progress_status }}", s="custom") == "custom"
    assert render("{{ t|progress_title }}", t=tasks.titled.name) == "Crunch the numbers"
    assert render("{{ t|progress_title }}", t="reports.tasks.crunch_numbers") == "Crunch numbers"


@pytest.mark.django_db
def test_error_filter_shows_what_the_api_shows() -> None:
    from celery_progress_tracker.models import SSEProgress

    job = SSEProgress.objects.create(
        job_id="0badf00d-1", status="failed", end_reason="error", error="KeyError: 'db-7'"
    )
    with translation.override("en"):  # an earlier request may have left another active
        assert render("{{ j|progress_error }}", j=job) == "The job failed (reference 0badf00d)."
    job.public_error = "Line 3 is empty"
    assert render("{{ j|progress_error }}", j=job) == "Line 3 is empty"

"""The ``progress_tracker`` template tags: the markup progress_polling.js starts from."""

from __future__ import annotations

from typing import Any

import pytest
from django.template import Context, Template, TemplateSyntaxError
from django.test import RequestFactory
from django.urls import include, path

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


def test_script_tag_is_deferred_and_external() -> None:
    html = render("{% progress_polling_js %}").strip()
    assert (
        html == '<script src="/static/celery_progress_tracker/progress_polling.js" defer></script>'
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

"""``{% progress_bar %}`` and ``{% progress_polling_js %}``: the bar without inline script.

``{% progress_bar job_id %}`` renders an empty ``<div>`` whose ``data-progress-*``
attributes carry the job id and the options; ``progress_polling.js`` (loaded by
``{% progress_polling_js %}``) starts a bar in every such element when the page
loads, so the page works under a ``script-src 'self'`` Content-Security-Policy.
"""

from __future__ import annotations

from typing import Any

from django import template
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse

register = template.Library()

#: The path of the script among the static files.
SCRIPT_PATH = "celery_progress_tracker/progress_polling.js"

#: Where the API is when its URLs cannot be reversed (the original system's prefix).
FALLBACK_API_BASE = "/core/sse-progress/"

#: The list URL's name, whose path is the base the script adds ``<job_id>/`` to.
LIST_URL_NAME = "sse_progress_list"

#: Namespaces the API may be included under: the app's own, and the original
#: system's ``include(("...urls", "core"), namespace="core")``.
NAMESPACES = ("celery_progress_tracker", "core")


def api_base(context: template.Context) -> str:
    """The polling API's base URL, as reversed for the current request's namespace."""
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    current_app = (match.namespace if match is not None else "") or None
    for namespace in NAMESPACES:
        try:
            return reverse(f"{namespace}:{LIST_URL_NAME}", current_app=current_app)
        except NoReverseMatch:
            continue
    return FALLBACK_API_BASE


def _number(name: str, value: Any, minimum: float) -> str:
    try:
        number = float(value)
    except (TypeError, ValueError):
        raise template.TemplateSyntaxError(
            f"progress_bar: {name} must be a number, got {value!r}"
        ) from None
    if isinstance(value, bool) or not number >= minimum:
        raise template.TemplateSyntaxError(
            f"progress_bar: {name} must be a number >= {minimum:g}, got {value!r}"
        )
    return f"{number:g}"


def _flag(value: Any) -> str:
    return "true" if value else "false"


@register.inclusion_tag("celery_progress_tracker/progress_bar.html", takes_context=True)
def progress_bar(
    context: template.Context,
    job_id: Any,
    title: str = "",
    icon: str = "",
    show_details: bool = True,
    show_stats: bool = True,
    poll_interval: float | str | None = None,
    auto_hide: bool = False,
    auto_hide_delay: float | str | None = None,
    not_found_grace: float | str | None = None,
    max_network_failures: int | str | None = None,
    labels: str = "",
    debug: bool = False,
    api_base_url: str = "",
    element_id: str = "",
    css_class: str = "",
) -> dict[str, Any]:
    """A live progress bar for ``job_id``, started by ``progress_polling.js``.

    Renders nothing when ``job_id`` is empty, so a page can use it before a
    job exists. The keyword arguments are the script's options in snake case
    (``auto_hide`` is ``autoHideOnComplete``; ``labels`` is a language code).

    Raises:
        TemplateSyntaxError: a numeric option is not a number in range.
    """
    job = "" if job_id is None else str(job_id).strip()
    if not job:
        return {"attributes": None}
    attributes: list[tuple[str, str]] = [
        ("job-id", job),
        ("api-base", api_base_url or api_base(context)),
        ("show-details", _flag(show_details)),
        ("show-stats", _flag(show_stats)),
    ]
    if title:
        attributes.append(("title", str(title)))
    if icon:
        attributes.append(("icon", str(icon)))
    if auto_hide:
        attributes.append(("auto-hide", "true"))
    if debug:
        attributes.append(("debug", "true"))
    if labels:
        attributes.append(("labels", str(labels)))
    numbers = {
        "poll-interval": (poll_interval, 50),
        "auto-hide-delay": (auto_hide_delay, 0),
        "not-found-grace": (not_found_grace, 0),
        "max-network-failures": (max_network_failures, 1),
    }
    for name, (value, minimum) in numbers.items():
        if value is not None and value != "":
            attributes.append((name, _number(name.replace("-", "_"), value, minimum)))
    return {"attributes": attributes, "element_id": element_id, "css_class": css_class}


@register.inclusion_tag("celery_progress_tracker/progress_polling_js.html")
def progress_polling_js() -> dict[str, str]:
    """The ``<script src=... defer>`` tag that loads ``progress_polling.js``."""
    return {"src": static(SCRIPT_PATH)}

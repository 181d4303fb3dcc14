"""The bar's template tags: the script, its stylesheet, bars, and htmx fragments.

``{% progress_polling_js %}`` loads ``progress_polling.js`` with its settings
(the theme, and the bar's texts from the package's catalogue in the active
language). ``{% progress_bar job_id %}`` renders an empty ``<div>`` whose
``data-progress-*`` attributes carry the job id and the options; the script
starts a bar in every such element when the page loads, so the page works under
a ``script-src 'self'`` Content-Security-Policy. ``{% progress_fragment job_id %}``
draws the bar on the server and lets htmx poll it (no script of ours at all).
"""

from __future__ import annotations

import time
from typing import Any
from urllib.parse import urlencode

from django import template
from django.templatetags.static import static
from django.urls import NoReverseMatch, reverse
from django.utils.translation import get_language

from celery_progress_tracker import fragments
from celery_progress_tracker.conf import THEMES, settings
from celery_progress_tracker.labels import bar_labels, status_label

register = template.Library()

#: The paths of the script and of the default theme's stylesheet among the static files.
SCRIPT_PATH = "celery_progress_tracker/progress_polling.js"
STYLESHEET_PATH = "celery_progress_tracker/progress_polling.css"

#: Where the API is when its URLs cannot be reversed (the original system's prefix).
FALLBACK_API_BASE = "/core/sse-progress/"

#: The list URL's name, whose path is the base the script adds ``<job_id>/`` to.
LIST_URL_NAME = "sse_progress_list"

#: The htmx fragment's URL name.
FRAGMENT_URL_NAME = "sse_progress_fragment"

#: Namespaces the API may be included under: the app's own, and the original
#: system's ``include(("...urls", "core"), namespace="core")``.
NAMESPACES = ("celery_progress_tracker", "core")


def _reverse(context: template.Context, name: str, *args: str) -> str | None:
    request = context.get("request")
    match = getattr(request, "resolver_match", None)
    current_app = (match.namespace if match is not None else "") or None
    for namespace in NAMESPACES:
        try:
            return reverse(f"{namespace}:{name}", args=args, current_app=current_app)
        except NoReverseMatch:
            continue
    return None


def api_base(context: template.Context) -> str:
    """The polling API's base URL, as reversed for the current request's namespace."""
    return _reverse(context, LIST_URL_NAME) or FALLBACK_API_BASE


def _theme(value: Any) -> str:
    theme = str(value or "")
    if theme and theme != "auto" and theme not in THEMES:
        raise template.TemplateSyntaxError(
            f"theme must be one of auto, {', '.join(THEMES)}; got {theme!r}"
        )
    return theme


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
    theme: str = "",
    locale: str = "",
) -> dict[str, Any]:
    """A live progress bar for ``job_id``, started by ``progress_polling.js``.

    Renders nothing when ``job_id`` is empty, so a page can use it before a
    job exists. The keyword arguments are the script's options in snake case
    (``auto_hide`` is ``autoHideOnComplete``; ``labels`` is a language code).

    Raises:
        TemplateSyntaxError: a numeric option is not a number in range, or an
            unknown theme.
    """
    theme = _theme(theme)
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
    if theme:
        attributes.append(("theme", theme))
    if locale:
        attributes.append(("locale", str(locale)))
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
def progress_polling_js(theme: str = "", defer: bool = False) -> dict[str, Any]:
    """The ``<script>`` that loads ``progress_polling.js``, after its settings.

    The settings are a JSON data block (not run, so CSP-safe): the theme (the
    argument, else ``PROGRESS_TRACKER_THEME``), the stylesheet of the default
    theme, the bar's texts in the active language and the titles of the tasks
    that declare ``progress_title``. The script is not deferred, so inline
    scripts after the tag can use ``ProgressPolling`` at once; ``defer=True``
    defers it (for pages that only use ``{% progress_bar %}``).

    Raises:
        TemplateSyntaxError: an unknown theme.
    """
    config = {
        "lang": get_language() or "",
        "theme": _theme(theme) or settings.THEME,
        "css": static(STYLESHEET_PATH),
        "labels": bar_labels(),
        "titles": fragments.task_titles(),
    }
    return {"src": static(SCRIPT_PATH), "config": config, "defer": defer}


@register.inclusion_tag("celery_progress_tracker/progress_polling_css.html")
def progress_polling_css() -> dict[str, str]:
    """A ``<link>`` to the default theme's stylesheet.

    The script adds it by itself when it draws a default-themed bar; use the tag
    for server-drawn bars (``{% progress_fragment %}``) or to load it early.
    """
    return {"href": static(STYLESHEET_PATH)}


@register.inclusion_tag("celery_progress_tracker/progress_fragment.html", takes_context=True)
def progress_fragment(
    context: template.Context,
    job_id: Any,
    theme: str = "",
    title: str = "",
    icon: str = "",
    show_details: bool = True,
    show_stats: bool = True,
    poll_interval: float | str = 500,
    element_id: str = "",
    css_class: str = "",
) -> dict[str, Any]:
    """The bar of ``job_id`` drawn on the server, polled by htmx until it is final.

    Renders the bar as it is now, inside an element with ``hx-get`` (the
    fragment URL) and ``hx-trigger="every <poll_interval>ms"``; the fragment
    answers 286 once the job is final, which stops htmx. A job already final
    renders without any ``hx-*`` attribute. Needs htmx on the page, and the
    ``request`` context processor (the bar shows the request's user's job).

    Raises:
        TemplateSyntaxError: a bad ``poll_interval`` or an unknown theme.
    """
    job = "" if job_id is None else str(job_id).strip()
    if not job:
        return {"html": None}
    theme = fragments.theme_name(_theme(theme))
    interval = _number("poll_interval", poll_interval, 50)
    request = context.get("request")
    since = time.time()
    if request is None:
        raise template.TemplateSyntaxError(
            "progress_fragment needs the request in the context: add "
            "django.template.context_processors.request"
        )
    html, final = fragments.render_bar(
        request,
        job,
        theme=theme,
        title=str(title),
        icon=str(icon),
        show_details=bool(show_details),
        show_stats=bool(show_stats),
        since=since,
    )
    query = {"theme": theme, "since": f"{since:.3f}"}
    if title:
        query["title"] = str(title)
    if icon:
        query["icon"] = str(icon)
    if not show_details:
        query["show_details"] = "0"
    if not show_stats:
        query["show_stats"] = "0"
    url = _reverse(context, FRAGMENT_URL_NAME, job) or f"{FALLBACK_API_BASE}{job}/fragment/"
    return {
        "html": html,
        "url": None if final else f"{url}?{urlencode(query)}",
        "interval": interval,
        "element_id": element_id,
        "css_class": css_class,
    }


@register.filter
def progress_status(status: Any) -> str:
    """A job's status in the bar's words (``{{ job.status|progress_status }}``: "In progress").

    The same words as the bar and the admin, for a project's own tables.
    """
    return status_label(str(status))


@register.filter
def progress_title(task_type: Any) -> str:
    """A job's title as the bar shows it (``{{ job.task_type|progress_title }}``).

    The ``progress_title`` of the task that runs such jobs, else the task type
    made readable ("reports.tasks.crunch_numbers" -> "Crunch numbers").
    """
    return fragments.job_title(str(task_type))


@register.filter
def progress_error(job: Any) -> str:
    """What a job's user is shown of its failure (``{{ job|progress_error }}``).

    The same text as the API's ``error``: a ``JobError``'s message, else a
    generic sentence with a reference (the full text with
    ``PROGRESS_TRACKER_VERBATIM_ERRORS``); empty unless the job failed.
    """
    from django.utils import timezone

    from celery_progress_tracker.serializers import reported_status

    return reported_status(job, timezone.now())[2]

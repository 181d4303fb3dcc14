"""Pages and helpers the browser tests load (test-only, never shipped)."""

from __future__ import annotations

import json
from pathlib import Path

from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.template import engines
from django.views.decorators.http import require_POST

from celery_progress_tracker.models import SSEProgress
from tests import tasks
from tests.browser.snippets import snippets

ROOT = Path(__file__).resolve().parents[2]

#: The npm install of browser-setup.sh; pages work without it (unstyled).
NODE_MODULES = ROOT / ".tmp" / "node_modules"

#: Tasks a page may launch, by the name it posts.
LAUNCHABLE = {"count": tasks.count, "fail_after": tasks.fail_after}


def harness(request: HttpRequest) -> HttpResponse:
    """An empty page with the script loaded: tests create bars with ``page.evaluate``.

    ``?css=`` picks the page's framework (``semantic``, the default, ``bootstrap5``
    or ``none``), ``?theme=`` the tag's theme, ``?lang=`` the page's language.
    """
    return render(
        request,
        "browser/harness.html",
        {
            "lang": request.GET.get("lang", "en"),
            "css": request.GET.get("css", "semantic"),
            "theme": request.GET.get("theme", ""),
        },
    )


def seed_page(request: HttpRequest) -> HttpResponse:
    """The original system's page, written as its README shows (jQuery, inline script)."""
    return render(request, "browser/seed.html", {"items": request.GET.get("items", "30")})


@require_POST
def launch(request: HttpRequest) -> JsonResponse:
    """Start a task for the logged-in user, as the original system's views do."""
    body = json.loads(request.body or b"{}")
    task = LAUNCHABLE[str(body.get("task", "count"))]
    result = task.delay(*body.get("args", [30, 0.1]))
    return JsonResponse({"success": True, "job_id": result.id})


def tag_page(request: HttpRequest) -> HttpResponse:
    """The template tags, under a strict Content-Security-Policy (no inline script)."""
    response = render(
        request,
        "browser/tag.html",
        {
            "job_id": request.GET.get("job_id", ""),
            "title": request.GET.get("title", "Import"),
            "css": request.GET.get("css", "semantic"),
        },
    )
    # Scripts and styles from this origin only: no inline script, no style attribute.
    response["Content-Security-Policy"] = (
        "script-src 'self'; style-src 'self'; object-src 'none'; base-uri 'none'"
    )
    return response


def htmx_page(request: HttpRequest) -> HttpResponse:
    """Bars drawn on the server and polled by htmx: no script of the package on the page.

    ``?job_id=`` (repeatable) the jobs, drawn in ``#fragment0``, ``#fragment1``...;
    ``?theme=`` the theme, ``?css=`` the
    page's framework, ``?lang=`` the page's language.
    """
    return render(
        request,
        "browser/htmx.html",
        {
            "jobs": [
                (f"fragment{n}", job_id) for n, job_id in enumerate(request.GET.getlist("job_id"))
            ],
            "theme": request.GET.get("theme", ""),
            "css": request.GET.get("css", "none"),
            "lang": request.GET.get("lang", "en"),
        },
    )


def docs_snippet(request: HttpRequest) -> HttpResponse:
    """A snippet of the docs (``?snippet=docs/page.md#2``), rendered as a view would.

    The context holds what the snippets use: ``job_id`` (``?job_id=``), ``job``,
    ``active_jobs``, ``finished_jobs``, ``title``, ``icon``. A POST starts a job
    and answers ``{"success": true, "job_id": ...}``, as the snippets' views do.
    """
    if request.method == "POST":
        result = tasks.count.apply_async((10, 0.1), progress_owner=request.user)
        return JsonResponse({"success": True, "job_id": result.id})
    source = snippets()[request.GET["snippet"]]
    job_id = request.GET.get("job_id", "")
    job = SSEProgress.objects.filter(job_id=job_id).first()
    context = {
        "job_id": job_id,
        "job": job,
        "active_jobs": [job] if job else [],
        "finished_jobs": [],
        "title": "Import",
        "icon": "📦",
    }
    body = engines["django"].from_string(source).render(context, request)
    if "{% extends" in source:
        return HttpResponse(body)
    # htmx, which the fragment snippets expect "on the page, as your site does".
    htmx = '<script src="/browser/assets/htmx.org/dist/htmx.min.js"></script>'
    head = htmx if "{% progress_fragment" in source else ""
    return HttpResponse(
        f'<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">{head}</head>'
        f"<body>{body}</body></html>"
    )

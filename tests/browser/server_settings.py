"""Settings of the gunicorn server the browser tests load pages from (many bars).

The fault suite's server settings, with the browser tests' pages and assets, and
the package's static files served by Django itself (``DEBUG`` is off).
"""

from __future__ import annotations

from tests.faults.server_settings import *  # noqa: F403

ROOT_URLCONF = "tests.browser.urls"
SERVE_STATIC = True

"""The shop's test configuration: the package's plugin, on the shop's Celery app."""

from typing import Any

import pytest

pytest_plugins = ["celery_progress_tracker.testing"]


@pytest.fixture(scope="session")
def progress_celery_app() -> Any:
    from shop.celery import app

    return app

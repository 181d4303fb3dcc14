"""The shop's test configuration: the package's plugin, nothing else.

Its fixtures use the current Celery app, the shop's (``shop/__init__.py`` loads it);
a project whose app is elsewhere overrides the ``progress_celery_app`` fixture.
"""

pytest_plugins = ["celery_progress_tracker.testing"]

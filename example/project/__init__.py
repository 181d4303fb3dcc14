"""The example project: a Django site whose long jobs show live progress bars."""

from project.celery import app as celery_app

__all__ = ["celery_app"]

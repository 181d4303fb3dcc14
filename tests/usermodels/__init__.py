"""A project whose user model is not Django's: see ``settings.py``."""

from tests.usermodels.celery_app import app

__all__ = ["app"]

# cookiecutter-django: this makes sure the app is always imported when Django
# starts, so that shared_task binds to it.
from tests.cookiecutter.config.celery_app import app as celery_app

__all__ = ("celery_app",)

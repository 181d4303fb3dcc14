# The usual Celery-with-Django layout: the app is loaded with Django, so that
# shared tasks use it (and the plugin's fixtures find it as the current app).
from shop.celery import app as celery_app

__all__ = ["celery_app"]

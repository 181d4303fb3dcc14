"""A small shop that sends newsletters with a ProgressTask."""

import os
import tempfile
from pathlib import Path

TMP = Path(tempfile.mkdtemp(prefix="cpt-shop-"))

SECRET_KEY = "shop-tests-only"
USE_TZ = True
ROOT_URLCONF = "shop.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "celery_progress_tracker",
]
MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "celery_progress_tracker.middleware.ProgressOwnerMiddleware",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(TMP / "db.sqlite3"),
        "TEST": {"NAME": str(TMP / "test.sqlite3")},
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;", "timeout": 20},
    }
}
# The worker of the tests runs in the test process: the in-memory broker does.
CELERY_BROKER_URL = "memory://"
CELERY_RESULT_BACKEND = "cache+memory://"
CELERY_TASK_DEFAULT_QUEUE = f"shop-{os.getpid()}"

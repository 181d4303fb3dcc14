"""A project with a user model of its own, built on ``AbstractBaseUser``.

``CPT_USER_MODEL`` chooses it (``tests/test_user_models.py`` runs this project once
per model):

- ``accounts.UuidUser``: a UUID primary key, an e-mail login, a nullable
  ``is_active`` and no ``is_staff`` (the site has no admin);
- ``accounts.PlainUser``: an integer key and no ``is_active`` column at all
  (``AbstractBaseUser.is_active`` is always ``True``).

The database and the broker come from ``DATABASE_URL`` and ``CELERY_BROKER_URL``
as in the main suite, with names of their own per run.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from celery_progress_tracker.embedded import embedded_celery_settings
from tests.settings import database_from_url

USER_MODEL = os.environ.get("CPT_USER_MODEL", "accounts.UuidUser")
LABEL = USER_MODEL.rsplit(".", 1)[-1].lower()
RUN_ID = os.environ.setdefault("CPT_RUN_ID", f"{os.getpid()}")
TMP = Path(tempfile.mkdtemp(prefix=f"cpt-um-{RUN_ID}-{LABEL}-"))

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.usermodels.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "celery_progress_tracker",
    "tests.usermodels.accounts",
]
AUTH_USER_MODEL = USER_MODEL
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "celery_progress_tracker.middleware.ProgressOwnerMiddleware",
]

if os.environ.get("DATABASE_URL"):
    default_db = database_from_url(os.environ["DATABASE_URL"])
    default_db["TEST"] = {"NAME": f"test_cpt_um_{RUN_ID}_{LABEL}"}
else:
    default_db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(TMP / "um.sqlite3"),
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;", "timeout": 20},
        "TEST": {"NAME": str(TMP / "test-um.sqlite3")},
    }
DATABASES = {"default": default_db}

QUEUE = f"cpt-um-{RUN_ID}-{LABEL}"
if os.environ.get("CELERY_BROKER_URL"):
    CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
    CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/0")
else:
    globals().update(embedded_celery_settings(TMP / "celery"))
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = QUEUE
CELERY_TASK_DEFAULT_EXCHANGE = QUEUE
CELERY_TASK_DEFAULT_ROUTING_KEY = QUEUE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

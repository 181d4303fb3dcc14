"""Settings as cookiecutter-django generates them, reduced to what the package meets."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from celery_progress_tracker.embedded import embedded_celery_settings
from tests.settings import database_from_url

RUN_ID = os.environ.setdefault("CPT_RUN_ID", f"{os.getpid()}")
TMP = Path(os.environ.setdefault("CPT_TMP", tempfile.mkdtemp(prefix=f"cpt-cc-{RUN_ID}-")))

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
USE_TZ = True
TIME_ZONE = "UTC"
LANGUAGE_CODE = "en-us"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.cookiecutter.config.urls"
ASGI_APPLICATION = "tests.cookiecutter.config.asgi.application"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "/static/"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "django.contrib.admin",
    "celery_progress_tracker",
    "tests.cookiecutter.users",
    "tests.cookiecutter.jobs",
]

AUTH_USER_MODEL = "users.User"
# cookiecutter-django: ModelBackend, then allauth's (stood in for by users/backends.py).
AUTHENTICATION_BACKENDS = [
    "django.contrib.auth.backends.ModelBackend",
    "tests.cookiecutter.users.backends.AuthenticationBackend",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "celery_progress_tracker.middleware.ProgressOwnerMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]

# cookiecutter-django: DATABASES = {"default": env.db("DATABASE_URL")}, then this.
if os.environ.get("DATABASE_URL"):
    default_db = database_from_url(os.environ["DATABASE_URL"])
    default_db["TEST"] = {"NAME": f"test_cpt_cc_{RUN_ID}"}
else:
    # Django's SQLite defaults (deferred transactions), plus what two processes need.
    default_db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(TMP / "cc.sqlite3"),
        "OPTIONS": {"init_command": "PRAGMA journal_mode=WAL;", "timeout": 20},
        "TEST": {"NAME": str(TMP / "test-cc.sqlite3")},
    }
if os.environ.get("CPT_TEST_DB_NAME"):  # a worker or server process started by a test
    default_db["NAME"] = os.environ["CPT_TEST_DB_NAME"]
default_db["ATOMIC_REQUESTS"] = True
DATABASES = {"default": default_db}

# Celery, with the CELERY_ namespace (config/celery_app.py).
QUEUE = f"cpt-cc-{RUN_ID}"
if os.environ.get("CELERY_BROKER_URL"):
    CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
    CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/0")
else:
    globals().update(embedded_celery_settings(TMP / "celery-cc"))
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_ACCEPT_CONTENT = ["json"]
CELERY_TASK_SERIALIZER = "json"
CELERY_RESULT_SERIALIZER = "json"
CELERY_RESULT_EXTENDED = True
CELERY_RESULT_BACKEND_ALWAYS_RETRY = True
CELERY_TASK_TIME_LIMIT = 5 * 60
CELERY_TASK_SOFT_TIME_LIMIT = 60
CELERY_WORKER_SEND_TASK_EVENTS = True
CELERY_TASK_SEND_SENT_EVENT = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_TASK_DEFAULT_QUEUE = QUEUE
CELERY_TASK_DEFAULT_EXCHANGE = QUEUE
CELERY_TASK_DEFAULT_ROUTING_KEY = QUEUE
CELERY_WORKER_LOST_WAIT = 2.0
# config/settings/local.py sets these two; the tests switch them on per test.
CELERY_TASK_ALWAYS_EAGER = False
CELERY_TASK_EAGER_PROPAGATES = False

# Worker processes started by a test get faster timings through these.
for _name in ("FLUSH_INTERVAL", "HEARTBEAT_INTERVAL", "STALE_AFTER"):
    if os.environ.get(f"CPT_{_name}"):
        globals()[f"PROGRESS_TRACKER_{_name}"] = float(os.environ[f"CPT_{_name}"])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"celery_progress_tracker": {"handlers": ["console"], "level": "INFO"}},
}

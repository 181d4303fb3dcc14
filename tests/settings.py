"""Minimal settings for the test suite.

The database comes from ``DATABASE_URL`` (default: a SQLite file) and the broker
from ``CELERY_BROKER_URL`` (default: the server-less ``filesystem://``
transport). Every run gets its own queue and test database names through
``CPT_RUN_ID``, so runs can share the machine's services.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from celery_progress_tracker.embedded import embedded_celery_settings

RUN_ID = os.environ.setdefault("CPT_RUN_ID", f"{os.getpid()}")
TMP = Path(os.environ.setdefault("CPT_TMP", tempfile.mkdtemp(prefix=f"cpt-{RUN_ID}-")))

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
# CPT_USE_TZ=0: naive local time (tests/naive_time, run by tests/test_naive_time.py).
USE_TZ = os.environ.get("CPT_USE_TZ", "1") == "1"
TIME_ZONE = "Europe/Paris"
LANGUAGE_CODE = "en"
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "tests.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
STATIC_URL = "/static/"

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "rest_framework.authtoken",  # the DRF adapter's tests
    "celery_progress_tracker",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "celery_progress_tracker.middleware.ProgressOwnerMiddleware",
]

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [Path(__file__).parent / "templates"],
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


def database_from_url(url: str) -> dict[str, object]:
    parts = urlsplit(url)
    if parts.scheme in ("postgres", "postgresql"):
        return {
            "ENGINE": "django.db.backends.postgresql",
            "NAME": unquote(parts.path.lstrip("/")) or "postgres",
            "USER": unquote(parts.username or "postgres"),
            "PASSWORD": unquote(parts.password or ""),
            "HOST": parts.hostname or "127.0.0.1",
            "PORT": parts.port or 5432,
            "TEST": {"NAME": f"test_cpt_{RUN_ID}"},
        }
    if parts.scheme == "sqlite":
        raise ValueError("use the default (no DATABASE_URL) for SQLite")
    raise ValueError(f"unsupported DATABASE_URL scheme {parts.scheme!r}")


if os.environ.get("DATABASE_URL"):
    default_db = database_from_url(os.environ["DATABASE_URL"])
else:
    default_db = {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": str(TMP / "db.sqlite3"),
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
        "TEST": {"NAME": str(TMP / "test.sqlite3")},
    }
# A worker process started by a test connects to the test database.
if os.environ.get("CPT_TEST_DB_NAME"):
    default_db["NAME"] = os.environ["CPT_TEST_DB_NAME"]
# A second alias on the same database, for PROGRESS_TRACKER_DATABASE_ALIAS tests.
DATABASES = {"default": default_db, "progress": {**default_db, "TEST": {"MIRROR": "default"}}}

QUEUE = f"cpt-{RUN_ID}"
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
if os.environ.get("CELERY_BROKER_URL"):
    CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
    CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND", "redis://127.0.0.1:6379/0")
else:
    globals().update(embedded_celery_settings(TMP / "celery"))
CELERY_TASK_DEFAULT_QUEUE = QUEUE
CELERY_TASK_DEFAULT_EXCHANGE = QUEUE
CELERY_TASK_DEFAULT_ROUTING_KEY = QUEUE
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_LOST_WAIT = 2.0
CELERY_TASK_SEND_SENT_EVENT = False
CELERY_RESULT_EXPIRES = 3600

# E-mail (the job_finished recipe): Django 6.1 warns when no mailer is configured;
# the test environment turns each one into the locmem backend (mail.outbox).
MAILERS = {"default": {"BACKEND": "django.core.mail.backends.locmem.EmailBackend"}}

# Worker processes started by a test get faster heartbeats through these.
for _name in ("FLUSH_INTERVAL", "HEARTBEAT_INTERVAL", "STALE_AFTER"):
    if os.environ.get(f"CPT_{_name}"):
        globals()[f"PROGRESS_TRACKER_{_name}"] = float(os.environ[f"CPT_{_name}"])

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"celery_progress_tracker": {"handlers": ["console"], "level": "WARNING"}},
}

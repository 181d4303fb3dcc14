"""Settings of the example project.

By default everything lives in one folder (``DEMO_DATA_DIR``, default
``example/.tmp``): a SQLite database in WAL mode and the package's server-less
broker, so the demo needs no server. ``DATABASE_URL`` (PostgreSQL) and
``CELERY_BROKER_URL`` (Redis or RabbitMQ) switch to real services.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import unquote, urlsplit

from django.utils.translation import gettext_lazy as _

from celery_progress_tracker.embedded import embedded_celery_settings

BASE_DIR = Path(__file__).resolve().parent.parent
DATA_DIR = Path(os.environ.get("DEMO_DATA_DIR", BASE_DIR / ".tmp")).resolve()
DATA_DIR.mkdir(parents=True, exist_ok=True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "example-only-not-secret")
# Off by default, so that unknown pages get the demo's own 404 page (the launcher
# runs ``runserver --insecure``, which serves the static files all the same).
DEBUG = os.environ.get("DJANGO_DEBUG", "0") == "1"
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "[::1]"]

INSTALLED_APPS = [
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "celery_progress_tracker",
    "demo",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.locale.LocaleMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    # After AuthenticationMiddleware: jobs published in a request belong to its user.
    "celery_progress_tracker.middleware.ProgressOwnerMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "project.urls"
WSGI_APPLICATION = "project.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.i18n",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "demo.context_processors.themes",
            ]
        },
    }
]


def database_from_url(url: str) -> dict[str, object]:
    """A ``DATABASES`` entry for a ``postgres://user:password@host:port/name`` URL."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql"):
        raise ValueError(f"DATABASE_URL: only postgres:// is supported, not {parts.scheme!r}")
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": unquote(parts.path.lstrip("/")) or "postgres",
        "USER": unquote(parts.username or "postgres"),
        "PASSWORD": unquote(parts.password or ""),
        "HOST": parts.hostname or "127.0.0.1",
        "PORT": parts.port or 5432,
        # Persistent connections: a poll then costs no connection setup.
        "CONN_MAX_AGE": 60,
        "CONN_HEALTH_CHECKS": True,
    }


if os.environ.get("DATABASE_URL"):
    DATABASES = {"default": database_from_url(os.environ["DATABASE_URL"])}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": DATA_DIR / "db.sqlite3",
            # The web process and the worker write the same file: WAL lets
            # readers go on while one writes, IMMEDIATE takes the write lock at
            # the start of a transaction, and the timeout waits for it.
            "OPTIONS": {
                "init_command": "PRAGMA journal_mode=WAL;",
                "transaction_mode": "IMMEDIATE",
                "timeout": 20,
            },
        }
    }

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# Celery: the server-less broker unless CELERY_BROKER_URL names a real one.
if os.environ.get("CELERY_BROKER_URL"):
    CELERY_BROKER_URL = os.environ["CELERY_BROKER_URL"]
    CELERY_RESULT_BACKEND = os.environ.get("CELERY_RESULT_BACKEND")
else:
    globals().update(embedded_celery_settings(DATA_DIR / "celery"))
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_TASK_DEFAULT_QUEUE = os.environ.get("DEMO_QUEUE", "demo")
CELERY_WORKER_HIJACK_ROOT_LOGGER = False

LANGUAGE_CODE = "en"
LANGUAGES = [("en", _("English")), ("fr", _("French"))]
LOCALE_PATHS = [BASE_DIR / "demo" / "locale"]
TIME_ZONE = "Europe/Paris"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = DATA_DIR / "static"
# The CSS frameworks the theme switcher offers besides the bar's own theme, when
# ``npm install`` put them there (the launcher does): Bootstrap 5 and
# Fomantic-UI. Without npm, the switcher offers the default theme only.
NODE_MODULES = Path(os.environ.get("DEMO_NODE_MODULES", BASE_DIR / "node_modules"))
FRAMEWORK_CSS = {
    "bootstrap5": ("bootstrap", NODE_MODULES / "bootstrap" / "dist" / "css", "bootstrap.min.css"),
    "semantic": ("fomantic", NODE_MODULES / "fomantic-ui-css", "semantic.min.css"),
}
STATICFILES_DIRS = [
    (prefix, folder) for prefix, folder, name in FRAMEWORK_CSS.values() if (folder / name).is_file()
]

MEDIA_ROOT = DATA_DIR / "media"

# Real e-mails through Django's mail API, written as files you can open.
EMAIL_BACKEND = "django.core.mail.backends.filebased.EmailBackend"
EMAIL_FILE_PATH = DATA_DIR / "mail"
DEFAULT_FROM_EMAIL = "newsletter@example.com"

LOGIN_URL = "login"
LOGIN_REDIRECT_URL = "demo:home"
LOGOUT_REDIRECT_URL = "login"

# Seconds each scenario spends per item, so that the bars have time to move.
DEMO_ITEM_DELAY = float(os.environ.get("DEMO_ITEM_DELAY", "0.05"))

# The package's settings (every PROGRESS_TRACKER_* setting is in docs/settings.md).
PROGRESS_TRACKER_FLUSH_INTERVAL = 0.25

# Quiet: warnings and errors only (the launcher writes them to DATA_DIR/logs/);
# runserver's line per request would be one per poll.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {
        "celery_progress_tracker": {"handlers": ["console"], "level": "WARNING"},
        "django.server": {"handlers": ["console"], "level": "WARNING", "propagate": False},
    },
}

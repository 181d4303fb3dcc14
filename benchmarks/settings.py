"""Django settings of the benchmark project (web processes and workers alike).

Everything that differs between runs comes from the environment, which
``benchmarks.services`` sets for every process it starts:

- ``BENCH_BACKEND``: ``postgres`` (PostgreSQL + Redis) or ``embedded`` (SQLite
  in WAL mode + the server-less broker, the package's zero-setup default).
- ``BENCH_PG_NAME``, ``BENCH_SQLITE_NAME``: the database of this run (a
  PostgreSQL database is created and dropped by the run: the server is shared);
  ``BENCH_PG_BIG_NAME``, ``BENCH_SQLITE_BIG_NAME``: the second one, with the
  large table of the read path.
- ``BENCH_REDIS_URL``: the Redis of this run (broker and result backend).
- ``BENCH_TMP``: a folder of this run (SQLite file, embedded broker folders).
- ``BENCH_RUN_ID``: makes queue names unique.

Database connections are persistent (``CONN_MAX_AGE``), as a production
deployment should have them: Django's default of 0 opens a connection per
request and dominates the cost of a poll.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from celery_progress_tracker.embedded import embedded_celery_settings

BACKEND = os.environ.get("BENCH_BACKEND", "embedded")
RUN_ID = os.environ.get("BENCH_RUN_ID", str(os.getpid()))
TMP = Path(os.environ.get("BENCH_TMP") or tempfile.mkdtemp(prefix=f"cpt-bench-{RUN_ID}-"))

SECRET_KEY = "benchmarks-only-not-secret"
DEBUG = False
USE_TZ = True
ALLOWED_HOSTS = ["*"]
ROOT_URLCONF = "benchmarks.urls"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
WSGI_APPLICATION = "benchmarks.wsgi.application"

INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "celery_progress_tracker",
]

MIDDLEWARE = [
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "celery_progress_tracker.middleware.ProgressOwnerMiddleware",
]

# Persistent connections: see the module docstring.
CONN_MAX_AGE = 600


def _postgres(name: str) -> dict[str, object]:
    return {
        "ENGINE": "django.db.backends.postgresql",
        "NAME": name,
        "USER": os.environ.get("BENCH_PG_USER", "postgres"),
        "HOST": os.environ.get("BENCH_PG_HOST", "127.0.0.1"),
        "PORT": int(os.environ.get("BENCH_PG_PORT", "5432")),
        "CONN_MAX_AGE": CONN_MAX_AGE,
    }


def _sqlite(path: str) -> dict[str, object]:
    return {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": path,
        "CONN_MAX_AGE": CONN_MAX_AGE,
        "OPTIONS": {
            "init_command": "PRAGMA journal_mode=WAL;",
            "transaction_mode": "IMMEDIATE",
            "timeout": 20,
        },
    }


# ``big``: the database with the large table of the read path, served by a
# second gunicorn (whose ``default`` it is), so both sizes can be measured in turn.
if BACKEND == "postgres":
    DATABASES = {"default": _postgres(os.environ.get("BENCH_PG_NAME", f"bench_{RUN_ID}"))}
    if os.environ.get("BENCH_PG_BIG_NAME"):
        DATABASES["big"] = _postgres(os.environ["BENCH_PG_BIG_NAME"])
    CELERY_BROKER_URL = os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1:6379/0")
    CELERY_RESULT_BACKEND = CELERY_BROKER_URL
else:
    DATABASES = {
        "default": _sqlite(os.environ.get("BENCH_SQLITE_NAME", str(TMP / "bench.sqlite3")))
    }
    if os.environ.get("BENCH_SQLITE_BIG_NAME"):
        DATABASES["big"] = _sqlite(os.environ["BENCH_SQLITE_BIG_NAME"])
    globals().update(embedded_celery_settings(TMP / "celery"))
    # The same file backend, with a counter of its writes (see benchmarks.counting).
    CELERY_RESULT_BACKEND = "benchmarks.counting:CountingFilesystemBackend+file://" + str(
        TMP / "celery" / "results"
    )

# The session engine under measurement (``BENCH_SESSION_ENGINE``: db, cached_db,
# signed_cookies); cached_db keeps sessions in the run's Redis.
SESSION_ENGINE = "django.contrib.sessions.backends." + os.environ.get("BENCH_SESSION_ENGINE", "db")
if os.environ.get("BENCH_REDIS_URL"):
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": os.environ["BENCH_REDIS_URL"].rsplit("/", 1)[0] + "/1",
        }
    }

# The read path polls one fixed job for minutes: it must not turn stale (a
# stale job reads as failed, which changes its ETag) while no worker runs it.
PROGRESS_TRACKER_STALE_AFTER = 3600.0

QUEUE = f"cpt-bench-{RUN_ID}"
CELERY_TASK_DEFAULT_QUEUE = QUEUE
CELERY_TASK_DEFAULT_EXCHANGE = QUEUE
CELERY_TASK_DEFAULT_ROUTING_KEY = QUEUE
CELERY_BROKER_CONNECTION_RETRY_ON_STARTUP = True
CELERY_WORKER_HIJACK_ROOT_LOGGER = False
CELERY_WORKER_PREFETCH_MULTIPLIER = 1
CELERY_TASK_ACKS_LATE = False
CELERY_RESULT_EXPIRES = 3600

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"celery_progress_tracker": {"handlers": ["console"], "level": "WARNING"}},
}

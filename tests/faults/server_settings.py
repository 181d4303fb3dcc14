"""Settings of the gunicorn server the fault suite sends real HTTP to.

The test settings, plus what ``docs/production.md`` recommends (persistent
database connections) and the staff rule the authorisation matrix expects.
"""

from __future__ import annotations

from tests.settings import *  # noqa: F403
from tests.settings import DATABASES, LOGGING

DATABASES["default"]["CONN_MAX_AGE"] = 60
DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
PROGRESS_TRACKER_STAFF_SEES_ALL = True

# A 500 logs "Internal Server Error" with its traceback: the tests look for it.
LOGGING["handlers"]["stderr"] = {"class": "logging.StreamHandler"}
LOGGING["loggers"]["django.request"] = {"handlers": ["stderr"], "level": "ERROR"}

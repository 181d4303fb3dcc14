"""The bar's texts in the active language, from the package's gettext catalogue.

One source for the three places a job's status is read: the bar (the template
tag hands these to ``progress_polling.js``; the htmx fragments use them), the
project's own tables (``job.get_status_display``) and the admin. Statuses are
``Status``'s own labels, so none of them can say "Erreur" while another says
"échoué". The keys are those of ``ProgressPolling.LABELS`` in the script.
"""

from __future__ import annotations

from django.utils.text import capfirst
from django.utils.translation import gettext as _

from celery_progress_tracker.models import Status


def status_label(status: str) -> str:
    """A status as the bar shows it: ``Status``'s label with a capital ("In progress")."""
    try:
        return str(capfirst(Status(status).label))
    except ValueError:  # a status this version does not know
        return status


def bar_labels() -> dict[str, str]:
    """Every text the bar shows, translated into the active language."""
    labels = {value: status_label(value) for value in Status.values}
    labels.update(
        {
            "title": _("Progress"),
            "error": _("Error"),
            "total": _("Total"),
            "processed": _("Processed"),
            "remaining": _("Remaining"),
            # The statistic (items that failed), not the status.
            "failedItems": _("Failed"),
            "waiting": _("Waiting for the job to start…"),
            "connectionLost": _("Connection lost, retrying…"),
            "notFound": _("This job does not exist."),
            "unauthorized": _("Your session has expired: please log in again."),
            "forbidden": _("You are not allowed to see this job."),
            "httpError": _("The server refused the request"),
            "tooManyFailures": _("The server cannot be reached."),
            "jobFailed": _("The job failed."),
            # {time} is a duration such as "2 min 5 s".
            "eta": _("Time left: {time}"),
            "parts": _("{done} of {total} parts done"),
        }
    )
    return labels

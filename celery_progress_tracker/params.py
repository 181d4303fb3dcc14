"""Query parameters of the list endpoints, checked before any of them reaches the database.

A bad value raises :class:`BadParameter`, which the views answer with a 400.
Unknown parameters are ignored (cache busters such as ``?_=1700000000``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from urllib.parse import parse_qsl

from django.core.exceptions import TooManyFieldsSent
from django.http import HttpRequest, QueryDict

from celery_progress_tracker.conf import settings
from celery_progress_tracker.models import SSEProgress, Status

#: Most ``job_id`` values one list request may ask for (a repeated one counts once).
MAX_JOB_IDS = 100

_POSITIVE_INT = re.compile(r"[1-9][0-9]*")

#: Digits of the longest number read as one; a longer page is past any list's
#: last page, a longer page size above any maximum.
_MAX_DIGITS = 18


class BadParameter(Exception):
    """A query parameter the API cannot use; ``code`` is the JSON error code."""

    def __init__(self, message: str, code: str = "invalid_parameter") -> None:
        super().__init__(message)
        self.code = code
        self.message = message


def is_storable(text: str, max_length: int) -> bool:
    """Whether ``text`` could be a value of a column of ``max_length``.

    Checked before querying: PostgreSQL rejects NUL characters, and a value
    longer than the column can match nothing anyway.
    """
    if not text or len(text) > max_length or "\x00" in text:
        return False
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:  # a lone surrogate
        return False
    return True


def _max_length(field_name: str) -> int:
    return int(getattr(SSEProgress._meta.get_field(field_name), "max_length", 0) or 0)


def is_valid_job_id(job_id: str) -> bool:
    """Whether ``job_id`` could name a job (non-empty, short enough, no NUL)."""
    return is_storable(job_id, _max_length("job_id"))


@dataclass(frozen=True)
class ListParams:
    """What a list request asks for, checked."""

    page: int = 1
    page_size: int = 20
    statuses: tuple[str, ...] = ()
    task_types: tuple[str, ...] = ()
    #: ``None`` without ``job_id`` parameters; else the ids worth looking up.
    job_ids: tuple[str, ...] | None = None


def _positive_int(query: QueryDict, name: str, default: int) -> int | None:
    """The parameter's value; ``None`` for a positive integer too long to be one that matters."""
    values = query.getlist(name)
    if not values:
        return default
    if len(values) > 1:
        raise BadParameter(f"{name} is given more than once.")
    if not _POSITIVE_INT.fullmatch(values[0]):
        raise BadParameter(f"{name} must be a positive integer.")
    return int(values[0]) if len(values[0]) <= _MAX_DIGITS else None


def list_query(request: HttpRequest) -> QueryDict:
    """The query string of a list request, as Django reads it.

    Raises:
        BadParameter: ``too_many_job_ids`` for a query with more fields than
            Django reads (``DATA_UPLOAD_MAX_NUMBER_FIELDS``) and more than
            ``MAX_JOB_IDS`` job ids among them: the client is told to ask for
            fewer ids, as for 101 of them. Django's own refusal stands for
            other queries with too many fields.
    """
    try:
        return request.GET
    except TooManyFieldsSent:
        # The server has already bounded the query string's length.
        query = request.META.get("QUERY_STRING", "")
        fields = parse_qsl(query, keep_blank_values=True)
        job_ids = {value for key, value in fields if key == "job_id"}
        if len(job_ids) > MAX_JOB_IDS:
            raise _too_many_job_ids(len(job_ids)) from None
        raise


def _too_many_job_ids(count: int) -> BadParameter:
    return BadParameter(
        f"At most {MAX_JOB_IDS} job_id values per request; got {count}.", code="too_many_job_ids"
    )


def parse_list_params(query: QueryDict) -> ListParams:
    """Check the query string of a list request.

    Raises:
        BadParameter: a page or page size that is not a positive integer, a
            page size above ``MAX_PAGE_SIZE``, an unknown status, an unusable
            task type, or more than ``MAX_JOB_IDS`` job ids; ``not_found`` for a
            page number longer than any list's last page (the view answers the
            other pages past the last).
    """
    page = _positive_int(query, "page", 1)
    max_page_size = settings.MAX_PAGE_SIZE
    page_size = _positive_int(query, "page_size", min(settings.PAGE_SIZE, max_page_size))
    if page_size is None or page_size > max_page_size:
        raise BadParameter(f"page_size must be at most {max_page_size}.")

    statuses = tuple(dict.fromkeys(query.getlist("status")))
    known = set(Status.values)
    for status in statuses:
        if status not in known:
            raise BadParameter(
                f"status must be one of {', '.join(Status.values)}; got {status[:50]!r}."
            )

    task_type_length = _max_length("task_type")
    task_types = tuple(dict.fromkeys(query.getlist("task_type")))
    for task_type in task_types:
        if not is_storable(task_type, task_type_length):
            raise BadParameter(
                f"task_type must be 1 to {task_type_length} characters, without NUL."
            )

    job_ids: tuple[str, ...] | None = None
    if "job_id" in query:
        requested = list(dict.fromkeys(query.getlist("job_id")))
        if len(requested) > MAX_JOB_IDS:
            raise _too_many_job_ids(len(requested))
        # An id no job can have matches nothing: drop it rather than send it to the database.
        job_ids = tuple(job_id for job_id in requested if is_valid_job_id(job_id))
    elif page is None:
        number = query["page"]
        shown = number if len(number) <= 40 else f"{number[:40]}…"
        raise BadParameter(f"There is no page {shown}; no list has that many.", code="not_found")

    return ListParams(
        page=1 if page is None else page,  # ignored by a job_id lookup
        page_size=page_size,
        statuses=statuses,
        task_types=task_types,
        job_ids=job_ids,
    )

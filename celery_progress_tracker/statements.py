"""The SQL of the polling API's hot paths, built once per database and reused.

A detail poll with a database session is one statement: the session row, the
job and its owner's ``password`` and ``is_active``. A list is the page with its
total (a window count) and, beside it, the same two owner columns. The columns
are taken from the models, so a field added to ``SSEProgress`` is read (and
reaches ``serializers.job_to_dict``) with no change here; the ORM compiles
nothing per poll: rows become instances through the converters the ORM itself
would apply.

Whether a statement may answer for ``django.contrib.auth`` is decided by
:mod:`celery_progress_tracker.access`; this module only reads.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import Any

from django.conf import settings as django_settings
from django.contrib.auth import get_user_model
from django.contrib.sessions.models import Session
from django.db import connections
from django.db.models import Count, Field, Model, QuerySet, Window
from django.db.models.functions import RowNumber

from celery_progress_tracker.conf import settings as cpt_settings
from celery_progress_tracker.models import SSEProgress
from celery_progress_tracker.serializers import ETAG_FIELDS, EtagColumns, ReportedJob

Converter = Callable[[Any, Any, Any], Any]


@dataclass(frozen=True)
class RowReader:
    """Turns the job columns of a result row into an ``SSEProgress``, as the ORM would."""

    alias: str
    #: Where the job's columns start in a result row.
    offset: int
    attnames: tuple[str, ...]
    #: (position among the job's columns, converters, expression) where converting is needed.
    converters: tuple[tuple[int, tuple[Converter, ...], Any], ...]
    #: (name, position in a result row, converters, expression) of each of ``ETAG_FIELDS``.
    etag_fields: tuple[tuple[str, int, tuple[Converter, ...], Any], ...]

    def job(self, values: Sequence[Any]) -> SSEProgress:
        row = list(values[self.offset : self.offset + len(self.attnames)])
        connection = connections[self.alias]
        for position, converters, expression in self.converters:
            value = row[position]
            for convert in converters:
                value = convert(value, expression, connection)
            row[position] = value
        return SSEProgress.from_db(self.alias, list(self.attnames), row)

    def etag_columns(self, values: Sequence[Any]) -> EtagColumns:
        """The columns of the job's ETag, converted as the ORM would, and nothing else."""
        connection = connections[self.alias]
        found: dict[str, Any] = {}
        for name, position, converters, expression in self.etag_fields:
            value = values[position]
            for convert in converters:
                value = convert(value, expression, connection)
            found[name] = value
        return EtagColumns(found)

    def row_or_none(self, values: Sequence[Any]) -> JobRow | None:
        """The job's row, or ``None`` when an outer join found none (its primary key is null)."""
        if values[self.offset + self.attnames.index(SSEProgress._meta.pk.attname)] is None:
            return None
        return JobRow(self, values)


class JobRow:
    """A job as the detail statement read it: its ETag's columns now, the instance if asked.

    An unchanged job's poll (a 304) needs only the ETag: it builds no model
    instance. ``JobRow.of(job)`` wraps a job read by the ORM.
    """

    __slots__ = ("_columns", "_job", "_reader", "_values")

    def __init__(self, reader: RowReader, values: Sequence[Any]) -> None:
        self._reader: RowReader | None = reader
        self._values = values
        self._columns: EtagColumns | None = reader.etag_columns(values)
        self._job: SSEProgress | None = None

    @classmethod
    def of(cls, job: SSEProgress) -> JobRow:
        row = cls.__new__(cls)
        row._reader, row._values, row._columns, row._job = None, (), None, job
        return row

    @property
    def user_id(self) -> Any:
        return self.job().user_id if self._columns is None else self._columns.user_id

    def state(self) -> ReportedJob:
        """What the ETag is made of: the columns, or the job for a roll-up (its members count)."""
        if self._columns is None or self._columns.kind:
            return self.job()
        return self._columns

    def job(self) -> SSEProgress:
        if self._job is None:
            assert self._reader is not None
            self._job = self._reader.job(self._values)
        return self._job


@dataclass(frozen=True)
class OwnerColumns:
    """Where the owner's ``password`` and ``is_active`` come from (``None``: no column).

    Without an ``is_active`` column the statements read ``1`` in its place.
    """

    password: str
    is_active: str | None


@dataclass(frozen=True)
class DetailStatement:
    """``session_data, password, is_active, <job columns>`` for one job.

    With ``with_session`` the database session row is read too; without it
    (a session kept elsewhere: the cache, a cookie) ``session_data`` is null.
    """

    sql: str
    reader: RowReader
    with_session: bool

    def run(self, session_key: str, job_id: str, now: datetime) -> tuple[Any, ...] | None:
        """The one result row, or ``None`` when the session (or, without it, the job) is missing.

        A database session that has expired is missing, as ``SessionStore.load()`` has it.
        """
        connection = connections[self.reader.alias]
        if self.with_session:
            params: tuple[Any, ...] = (
                job_id,
                session_key,
                connection.ops.adapt_datetimefield_value(now),
            )
        else:
            params = (job_id,)
        with connection.cursor() as cursor:
            cursor.execute(self.sql, params)
            row = cursor.fetchone()
        return None if row is None else tuple(row)


def _quoter(alias: str) -> Callable[[str], str]:
    quote: Callable[[str], str] = connections[alias].ops.quote_name
    return quote


def _reader(alias: str, fields: Sequence[Field[Any, Any]], offset: int) -> RowReader:
    connection = connections[alias]
    converters = []
    for position, field in enumerate(fields):
        expression = field.get_col(SSEProgress._meta.db_table)
        found = tuple(
            connection.ops.get_db_converters(expression) + expression.get_db_converters(connection)
        )
        if found:
            converters.append((position, found, expression))
    attnames = tuple(field.attname for field in fields)
    by_position: dict[int, tuple[tuple[Converter, ...], Any]] = {
        position: (found, expression) for position, found, expression in converters
    }
    etag_fields = [
        (name, offset + attnames.index(name), *by_position.get(attnames.index(name), ((), None)))
        for name in ETAG_FIELDS
    ]
    return RowReader(alias, offset, attnames, tuple(converters), tuple(etag_fields))


def owner_columns(user_model: type[Model]) -> OwnerColumns | None:
    """The owner columns ``get_user`` looks at, or ``None`` if the model has no password."""
    opts = user_model._meta
    concrete = {field.name: field for field in opts.concrete_fields}
    if "password" not in concrete:
        return None
    is_active = concrete.get("is_active")
    active_column = None if is_active is None else is_active.column
    return OwnerColumns(str(concrete["password"].column), active_column)


def _owner_select(alias: str, owner: OwnerColumns, table: str) -> str:
    q = _quoter(alias)
    password = f"{table}.{q(owner.password)}"
    # No column: every user is active, as AbstractBaseUser.is_active has it.
    is_active = "1" if owner.is_active is None else f"{table}.{q(owner.is_active)}"
    return f"{password}, {is_active}"


_cache: dict[tuple[Any, ...], DetailStatement] = {}
_lock = threading.Lock()


def detail_statement(
    alias: str, owner: OwnerColumns, *, with_session: bool = True
) -> DetailStatement:
    """The detail poll's statement for database ``alias`` (built on first use)."""
    user_model = get_user_model()
    key = (alias, connections[alias].vendor, user_model, owner, with_session)
    statement = _cache.get(key)
    if statement is None:
        with _lock:
            built = _build_detail(alias, user_model, owner, with_session)
            statement = _cache.setdefault(key, built)
    return statement


def _column(model: type[Model], name: str) -> str:
    field = model._meta.get_field(name)
    assert isinstance(field, Field) and field.column
    return field.column


def _build_detail(
    alias: str, user_model: type[Model], owner: OwnerColumns, with_session: bool
) -> DetailStatement:
    q = _quoter(alias)
    fields = list(SSEProgress._meta.concrete_fields)
    job_columns = ", ".join(f"j.{q(str(field.column))}" for field in fields)
    owner_join = (
        f" LEFT OUTER JOIN {q(user_model._meta.db_table)} u"
        f" ON u.{q(_column(user_model, user_model._meta.pk.name))}"
        f" = j.{q(_column(SSEProgress, 'user'))}"
    )
    if not with_session:
        sql = (
            f"SELECT NULL, {_owner_select(alias, owner, 'u')}, {job_columns}"
            f" FROM {q(SSEProgress._meta.db_table)} j{owner_join}"
            f" WHERE j.{q(_column(SSEProgress, 'job_id'))} = %s"
        )
        return DetailStatement(sql, _reader(alias, fields, offset=3), with_session)
    sql = (
        f"SELECT s.{q(_column(Session, 'session_data'))},"
        f" {_owner_select(alias, owner, 'u')}, {job_columns}"
        f" FROM {q(Session._meta.db_table)} s"
        f" LEFT OUTER JOIN {q(SSEProgress._meta.db_table)} j"
        f" ON j.{q(_column(SSEProgress, 'job_id'))} = %s{owner_join}"
        f" WHERE s.{q(_column(Session, 'session_key'))} = %s"
        f" AND s.{q(_column(Session, 'expire_date'))} > %s"
    )
    return DetailStatement(sql, _reader(alias, fields, offset=3), with_session)


@dataclass(frozen=True)
class OwnedPage:
    """One page of a user's jobs, the total, and the owner's columns (``None`` if no user)."""

    owner: tuple[Any, Any] | None
    jobs: list[SSEProgress]
    total: int | None


@dataclass(frozen=True)
class PageValues:
    """What changes between two list requests of the same shape."""

    user_pk: Any
    now: datetime
    task_types: tuple[str, ...] = ()
    job_ids: tuple[str, ...] = ()


#: Builds the rows of a list for ``values``: filtered, ordered, sliced, the user's only.
PageQuery = Callable[[PageValues], QuerySet[SSEProgress]]

TOTAL = "cpt_total"
POSITION = "cpt_position"

# Stand-ins compiled into a list statement, found again among its parameters.
_SENTINEL_PK = -918_273_645
_SENTINEL_NOW = datetime(1901, 2, 3, 4, 5, 6, 789012, tzinfo=timezone.utc)


def _sentinel_now() -> datetime:
    """The stand-in for "now", naive when ``USE_TZ`` is off (as ``timezone.now()`` is)."""
    return _SENTINEL_NOW if django_settings.USE_TZ else _SENTINEL_NOW.replace(tzinfo=None)


def _sentinels(task_types: int, job_ids: int) -> PageValues:
    return PageValues(
        _SENTINEL_PK,
        _sentinel_now(),
        tuple(f"cpt\x1fslot-task-type-{index}" for index in range(task_types)),
        tuple(f"cpt\x1fslot-job-id-{index}" for index in range(job_ids)),
    )


def _adapt(model: type[Model], name: str, value: Any, alias: str) -> Any:
    field = model._meta.get_field(name)
    assert isinstance(field, Field)
    return field.get_db_prep_value(field.get_prep_value(value), connections[alias], prepared=True)


@dataclass(frozen=True)
class PageStatement:
    """A list's statement, compiled once per shape, and where each request's values go."""

    sql: str
    #: Per parameter: a constant, or the name of what to put there.
    params: tuple[tuple[str, Any], ...]
    reader: RowReader

    def parameters(self, values: PageValues) -> list[Any]:
        alias = self.reader.alias
        stale_before = values.now - timedelta(seconds=cpt_settings.STALE_AFTER)
        found: list[Any] = []
        for kind, value in self.params:
            if kind == "const":
                found.append(value)
            elif kind == "user":
                found.append(_adapt(SSEProgress, "user", values.user_pk, alias))
            elif kind == "stale_before":
                found.append(_adapt(SSEProgress, "updated_at", stale_before, alias))
            elif kind == "task_type":
                found.append(values.task_types[value])
            else:
                found.append(values.job_ids[value])
        return found


def _compile_page(
    query: PageQuery, alias: str, owner: OwnerColumns, values: PageValues
) -> tuple[str, list[Any]]:
    q = _quoter(alias)
    fields = list(SSEProgress._meta.concrete_fields)
    jobs = query(values)
    ordering: list[Any] = list(jobs.query.order_by)
    low, high = jobs.query.low_mark, jobs.query.high_mark
    jobs.query.clear_limits()
    page = jobs.annotate(
        **{TOTAL: Window(Count("*")), POSITION: Window(RowNumber(), order_by=ordering)}
    ).values_list(*(field.attname for field in fields), TOTAL, POSITION)
    page.query.set_limits(low, high)
    inner_sql, inner_params = page.query.get_compiler(using=alias).as_sql()
    user_model = get_user_model()
    sql = (
        f"SELECT {_owner_select(alias, owner, 'u')}, p.*"
        f" FROM {q(user_model._meta.db_table)} u LEFT OUTER JOIN ({inner_sql}) p ON 1 = 1"
        f" WHERE u.{q(_column(user_model, user_model._meta.pk.name))} = %s"
        f" ORDER BY p.{q(POSITION)}"
    )
    return sql, [*inner_params, _adapt(SSEProgress, "user", values.user_pk, alias)]


_pages: dict[tuple[Any, ...], PageStatement] = {}
#: Shapes kept at most (page numbers, filters): the oldest are dropped beyond it.
MAX_PAGE_STATEMENTS = 256


def page_statement(
    query: PageQuery, alias: str, owner: OwnerColumns, shape: tuple[Any, ...], values: PageValues
) -> PageStatement | None:
    """The list statement for ``shape`` (built from ``query`` on first use), or ``None``.

    ``None`` when the user model's key cannot stand in for a sentinel (not an
    integer): the caller then compiles ``query`` for this request alone.
    """
    if not isinstance(values.user_pk, int):
        return None
    user_model = get_user_model()
    key = (
        alias,
        connections[alias].vendor,
        user_model,
        owner,
        cpt_settings.STALE_AFTER,
        django_settings.USE_TZ,
        shape,
    )
    statement = _pages.get(key)
    if statement is not None:
        return statement
    sentinels = _sentinels(len(values.task_types), len(values.job_ids))
    sql, params = _compile_page(query, alias, owner, sentinels)
    slots: dict[str, tuple[str, Any]] = {
        repr(_adapt(SSEProgress, "user", _SENTINEL_PK, alias)): ("user", None)
    }
    stale_before = _sentinel_now() - timedelta(seconds=cpt_settings.STALE_AFTER)
    slots[repr(_adapt(SSEProgress, "updated_at", stale_before, alias))] = ("stale_before", None)
    for index, text in enumerate(sentinels.task_types):
        slots[repr(text)] = ("task_type", index)
    for index, text in enumerate(sentinels.job_ids):
        slots[repr(text)] = ("job_id", index)
    mapped = tuple(slots.get(repr(param), ("const", param)) for param in params)
    fields = list(SSEProgress._meta.concrete_fields)
    statement = PageStatement(sql, mapped, _reader(alias, fields, offset=2))
    with _lock:
        if len(_pages) >= MAX_PAGE_STATEMENTS:
            _pages.pop(next(iter(_pages)))
        _pages[key] = statement
    return statement


def owned_page(
    query: PageQuery, alias: str, owner: OwnerColumns, shape: tuple[Any, ...], values: PageValues
) -> OwnedPage:
    """The page ``query`` selects for ``values``, with its total and the owner's columns.

    One statement: the user's row, left-joined to the page, so the owner's
    columns come back even when the page is empty. ``total`` is ``None`` when
    the page is empty (no job, or a page past the last). ``shape`` names what
    ``query`` builds apart from ``values``: requests of one shape share one
    compiled statement.
    """
    statement = page_statement(query, alias, owner, shape, values)
    if statement is None:
        sql, params = _compile_page(query, alias, owner, values)
        reader = _reader(alias, list(SSEProgress._meta.concrete_fields), offset=2)
    else:
        sql, params, reader = statement.sql, statement.parameters(values), statement.reader
    with connections[alias].cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not rows:
        return OwnedPage(None, [], None)
    found = [reader.job(row) for row in rows if row[-1] is not None]
    total = rows[0][-2]
    return OwnedPage((rows[0][0], rows[0][1]), found, None if total is None else int(total))


@dataclass(frozen=True)
class SessionStatement:
    """A database session's data, as ``SessionStore.load()`` reads it (unexpired only)."""

    sql: str
    alias: str

    def run(self, session_key: str, now: datetime) -> str | None:
        connection = connections[self.alias]
        with connection.cursor() as cursor:
            cursor.execute(self.sql, (session_key, connection.ops.adapt_datetimefield_value(now)))
            row = cursor.fetchone()
        return None if row is None else str(row[0])


def session_statement(alias: str) -> SessionStatement:
    q = _quoter(alias)
    return SessionStatement(
        f"SELECT {q(_column(Session, 'session_data'))} FROM {q(Session._meta.db_table)}"
        f" WHERE {q(_column(Session, 'session_key'))} = %s"
        f" AND {q(_column(Session, 'expire_date'))} > %s",
        alias,
    )

"""What ``manage.py progress_watch`` does: follow jobs from a shell until they end.

:class:`JobWatch` chooses the jobs and reads them as the API reports them
(:func:`~celery_progress_tracker.serializers.job_to_dict`: a running job whose
worker went silent reads as failed, rates and ETAs are the API's). Two drawings:
:class:`RichScreen` (live bars, with the optional ``rich`` package, on a
terminal) and :class:`PlainLines` (one line per change, for logs and pipes, or
when ``rich`` is not installed).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from typing import Any, Protocol, TextIO

from django.contrib.auth import get_user_model
from django.core.exceptions import ValidationError
from django.http import HttpRequest
from django.utils import timezone

from celery_progress_tracker.access import can_read
from celery_progress_tracker.models import FINAL_STATUSES, SSEProgress, SSEProgressQuerySet
from celery_progress_tracker.serializers import job_to_dict

#: What a job that disappeared while watched reads as (deleted by a user or a purge).
GONE = "deleted"

#: Exit statuses: all watched jobs completed; one failed, was cancelled or deleted.
EXIT_OK = 0
EXIT_FAILED = 1


def find_user(value: str) -> Any:
    """The user named ``value`` (its ``USERNAME_FIELD``), or of primary key ``value``.

    Raises:
        LookupError: no such user.
    """
    model = get_user_model()
    try:
        return model._default_manager.get_by_natural_key(value)
    except model.DoesNotExist:
        pass
    try:
        pk = model._meta.pk.to_python(value)  # an integer, a UUID, ... as the model's key is
    except (ValidationError, TypeError, ValueError):
        pk = None
    found = None if pk is None else model._default_manager.filter(pk=pk).first()
    if found is None:
        raise LookupError(f"no user {value!r}")
    return found


def request_as(user: Any) -> HttpRequest:
    """A request made by ``user``, for the API's access rules (``PERMISSION`` takes one)."""
    request = HttpRequest()
    request.user = user
    request.method = "GET"
    return request


class JobWatch:
    """The watched jobs: given ids, or the active ones, as one user may read them.

    Args:
        job_ids: the jobs to follow (unknown or unreadable ids are reported by
            :meth:`missing`).
        active: follow the active jobs too, including ones that start meanwhile.
        user: read as this user, by the API's rules (``None``: every job).
        task_type: only jobs of this type.
    """

    def __init__(
        self,
        job_ids: Sequence[str] = (),
        *,
        active: bool = False,
        user: Any = None,
        task_type: str | None = None,
    ) -> None:
        self.job_ids = list(dict.fromkeys(job_ids))
        self.active = active
        self.user = user
        self.task_type = task_type
        self._request = request_as(user) if user is not None else None
        #: The last state read of every job watched so far, by job id.
        self.states: dict[str, dict[str, Any]] = {}

    def _jobs(self) -> SSEProgressQuerySet:
        jobs = SSEProgress.objects.all()
        if self.task_type:
            jobs = jobs.filter(task_type=self.task_type)
        return jobs

    def _readable(self, job: SSEProgress) -> bool:
        return self._request is None or can_read(self._request, self.user, job)

    def missing(self) -> list[str]:
        """The given ids with no job this watch may read (a 404 in the API)."""
        found = {job.job_id: job for job in self._jobs().filter(job_id__in=self.job_ids)}
        return [
            job_id
            for job_id in self.job_ids
            if job_id not in found or not self._readable(found[job_id])
        ]

    def poll(self) -> list[dict[str, Any]]:
        """Read the watched jobs now, in the order they were first seen."""
        now = timezone.now()  # naive when USE_TZ is off, as the rows are
        ids = set(self.job_ids) | set(self.states)
        jobs = self._jobs()
        query = jobs.filter(job_id__in=ids)
        if self.active:
            # Lists show the user's own jobs, as the API's list endpoints do.
            listed = jobs.active() if self.user is None else jobs.active().for_user(self.user)
            query = query | listed
        seen = set()
        for job in query.order_by("created_at", "pk"):
            seen.add(job.job_id)
            if self._readable(job):
                state = job_to_dict(job, now)
                if self.user is None and job.error:
                    # An operator reads the failure in full; a user, as the API shows it.
                    state["error"] = job.error
                self.states[job.job_id] = state
        for job_id in ids - seen:
            if job_id in self.states:
                self.states[job_id] = {**self.states[job_id], "status": GONE}
        return list(self.states.values())

    def finished(self) -> bool:
        """Whether every watched job has ended (nothing watched counts as ended)."""
        return all(is_over(state) for state in self.states.values())

    def exit_status(self) -> int:
        """``EXIT_OK`` if every watched job completed, else ``EXIT_FAILED``."""
        failed = any(state["status"] != "completed" for state in self.states.values())
        return EXIT_FAILED if failed else EXIT_OK


def is_over(state: dict[str, Any]) -> bool:
    return state["status"] in FINAL_STATUSES or state["status"] == GONE


def counts(state: dict[str, Any]) -> str:
    done = state["processed_items"] + state["failed_items"]
    text = f"{done}/{state['total_items']}" if state["total_items"] else f"{done}/?"
    return f"{text} ({state['failed_items']} failed)" if state["failed_items"] else text


def rate(state: dict[str, Any]) -> str:
    value = state.get("items_per_second")
    return f"{value:.1f}/s" if value else "-"


def eta(state: dict[str, Any]) -> str:
    seconds = state.get("eta_seconds")
    if seconds is None:
        return "-"
    minutes, secs = divmod(round(seconds), 60)
    hours, minutes = divmod(minutes, 60)
    return f"{hours}:{minutes:02}:{secs:02}"


def describe(state: dict[str, Any]) -> str:
    """One plain line: id, type, status, percentage, counts, rate, ETA, message or error."""
    text = state["error"] if state.get("error") else state.get("current_message") or ""
    return (
        f"{state['job_id']} {state.get('task_type') or '-'} {state['status']}"
        f" {state.get('progress_percentage', 0)}% {counts(state)}"
        f" rate {rate(state)} eta {eta(state)}" + (f" | {text}" if text else "")
    )


class Screen(Protocol):
    """A drawing of the watched jobs."""

    def update(self, states: list[dict[str, Any]]) -> None: ...

    def close(self, states: list[dict[str, Any]]) -> None: ...


class PlainLines:
    """A line per job each time what it shows changes: for logs, pipes and CI."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.last: dict[str, str] = {}

    def update(self, states: list[dict[str, Any]]) -> None:
        for state in states:
            # The rate and ETA move on every read: only a change of the rest is news.
            key = describe({**state, "items_per_second": None, "eta_seconds": None})
            if self.last.get(state["job_id"]) != key:
                self.last[state["job_id"]] = key
                self.out.write(describe(state) + "\n")
        self.out.flush()

    def close(self, states: list[dict[str, Any]]) -> None:
        self.update(states)


class RichScreen:
    """Live bars drawn with ``rich`` on a terminal; the final state stays on screen."""

    def __init__(self, out: TextIO, *, no_color: bool = False) -> None:
        from rich.console import Console
        from rich.progress import BarColumn, Progress, TextColumn
        from rich.table import Column

        self.console = Console(file=out, no_color=no_color, highlight=False)
        self.progress = Progress(
            TextColumn("{task.description}"),
            # On a narrow terminal the message shrinks, never the bar.
            BarColumn(bar_width=30, table_column=Column(width=30, no_wrap=True)),
            TextColumn("{task.fields[percent]:>4}"),
            TextColumn("{task.fields[status]}"),
            TextColumn("{task.fields[counts]}"),
            TextColumn("{task.fields[rate]}"),
            TextColumn("ETA {task.fields[eta]}"),
            TextColumn(
                "{task.fields[text]}",
                markup=False,
                table_column=Column(no_wrap=True, overflow="ellipsis", min_width=0),
            ),
            console=self.console,
            auto_refresh=False,
            expand=False,
        )
        self.bars: dict[str, Any] = {}
        self.progress.start()

    def update(self, states: list[dict[str, Any]]) -> None:
        for state in states:
            done = state["processed_items"] + state["failed_items"]
            total = state["total_items"] or None
            status = state["status"]
            colour = {"completed": "green", "failed": "red", "cancelled": "yellow"}.get(
                status, "blue"
            )
            fields: dict[str, Any] = {
                "percent": f"{state.get('progress_percentage', 0)}%",
                "status": f"[{colour}]{status}[/]",
                "counts": counts(state),
                "rate": rate(state),
                "eta": eta(state),
                "text": (state.get("error") or state.get("current_message") or "")[:60],
            }
            if state["job_id"] not in self.bars:
                label = f"{state.get('task_type') or 'job'} {state['job_id'][:8]}"
                self.bars[state["job_id"]] = self.progress.add_task(label, total=total, **fields)
            self.progress.update(
                self.bars[state["job_id"]],
                completed=done if total or status != "completed" else 1,
                total=total if total or status != "completed" else 1,
                **fields,
            )
        self.progress.refresh()

    def close(self, states: list[dict[str, Any]]) -> None:
        self.update(states)
        self.progress.stop()


def rich_available() -> bool:
    try:
        import rich  # noqa: F401
    except ImportError:
        return False
    return True


def run(watch: JobWatch, screen: Screen, interval: float, sleep: Any = time.sleep) -> int:
    """Poll and draw until every watched job has ended; return the exit status."""
    try:
        while True:
            states = watch.poll()
            if watch.finished():
                screen.close(states)
                return watch.exit_status()
            screen.update(states)
            sleep(interval)
    except BaseException:
        screen.close(list(watch.states.values()))
        raise

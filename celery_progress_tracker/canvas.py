"""Canvases at publish: a row for every member, and the roll-up each member counts in.

A group's members are published one by one, each with the group's id in its
``group`` header. A chain's later steps and a chord's callback are published
only when what comes before them ends, yet their ids are known from the start
(the canvas was frozen): the first message carries them in its body
(``embed["chain"]``, ``embed["chord"]``). From that message we create the
``pending`` row of every later member at once, and write into each member's
signature the header that its own publish will carry (the same run token,
owner and roll-up), so that publish finds its row ready.

Which roll-up a member counts in (``rollup_id``) is decided once, at the
canvas's first message, and travels in the headers: see ``docs/canvases.md``.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from celery_progress_tracker.models import Kind
from celery_progress_tracker.ownership import HEADER

#: Celery's own tasks that hold other signatures.
GROUP_TASK = "celery.group"
CHAIN_TASK = "celery.chain"
CHORD_TASK = "celery.chord"


def _as_list(value: Any) -> list[Any]:
    return list(value) if isinstance(value, (list, tuple)) else []


def leaves(sig: Any) -> Iterator[Mapping[str, Any]]:
    """The task signatures of ``sig`` (a signature or its dict), in order, nested ones included."""
    if not isinstance(sig, Mapping):
        return
    task = sig.get("task")
    kwargs = sig.get("kwargs") or {}
    if task == CHORD_TASK:
        yield from leaves(kwargs.get("header"))
        yield from leaves(kwargs.get("body"))
    elif task in (GROUP_TASK, CHAIN_TASK):
        for member in _as_list(kwargs.get("tasks")):
            yield from leaves(member)
    else:
        yield sig


def _options(sig: Mapping[str, Any]) -> dict[str, Any]:
    options = sig.get("options")
    return options if isinstance(options, dict) else {}


def task_id_of(sig: Mapping[str, Any]) -> str:
    return str(_options(sig).get("task_id") or "")


@dataclass
class Plan:
    """What one publish means for its canvas."""

    #: The roll-up this message's job counts in ("" for none).
    rollup_id: str = ""
    #: The kind of that roll-up's row.
    rollup_kind: str = Kind.TASK
    #: Signatures of the members published later (chain steps, chord callback).
    later: list[Mapping[str, Any]] = field(default_factory=list)


def plan(job_id: str, headers: Mapping[str, Any], body: Any, options: Mapping[str, Any]) -> Plan:
    """The roll-up of the job ``job_id`` being published, and its members published later.

    The rule, first match wins: a roll-up already named in the job's header
    (a later step of a canvas planned before, a replacement); a chain (this
    message carries later steps): the chain's roll-up is its last step (the
    chain's result id), or the group that last step belongs to; a group or a
    chord's header: the group id.
    """
    embed = body[2] if isinstance(body, (list, tuple)) and len(body) > 2 else {}
    embed = embed if isinstance(embed, Mapping) else {}
    chain = [step for step in _as_list(embed.get("chain")) if isinstance(step, Mapping)]
    chord = embed.get("chord")
    later = [leaf for step in reversed(chain) for leaf in leaves(step)]
    if isinstance(chord, Mapping):
        later += list(leaves(chord))
    result = Plan(later=[leaf for leaf in later if task_id_of(leaf)])
    if options.get("rollup"):
        result.rollup_id = str(options["rollup"])
    elif chain:
        last = chain[0]  # Celery keeps the remaining steps in reverse order
        last_leaves = [leaf for leaf in leaves(last) if task_id_of(leaf)]
        group_id = str(_options(last).get("group_id") or "")
        if group_id:
            result.rollup_id, result.rollup_kind = group_id, Kind.GROUP
        elif last_leaves:
            result.rollup_id, result.rollup_kind = task_id_of(last_leaves[-1]), Kind.CHAIN
    elif headers.get("group"):
        result.rollup_id = str(headers["group"])
        result.rollup_kind = Kind.CHORD if isinstance(chord, Mapping) else Kind.GROUP
    if result.rollup_id == job_id and result.rollup_kind != Kind.CHAIN:
        result.rollup_id = ""  # a job is no member of itself
    return result


def annotate(sig: Mapping[str, Any], job: dict[str, Any]) -> dict[str, Any]:
    """Merge ``job`` into the header ``sig`` will be published with; return the merged header."""
    options = sig.get("options")
    if not isinstance(options, dict):
        options = {}
        if isinstance(sig, dict):
            sig["options"] = options
    headers = dict(options.get("headers") or {})
    merged = {**(headers.get(HEADER) or {}), **job}
    headers[HEADER] = merged
    options["headers"] = headers
    return merged


def total_of(sig: Mapping[str, Any], default: int) -> int:
    """The ``progress_total`` a signature will be published with (its task's default if none)."""
    options = _options(sig)
    header = (options.get("headers") or {}).get(HEADER) or {}
    for value in (options.get("progress_total"), header.get("total")):
        if type(value) is int and value >= 0:
            return value
    return default


def member_rows(
    later: list[Mapping[str, Any]],
    *,
    rollup_id: str,
    rollup_kind: str,
    owner: Any,
    has_owner: bool,
    root_id: str,
    task_type: str,
) -> list[Any]:
    """The rows to create now for members published later, plus the roll-up's own row.

    Each member's signature gets the header its publish will carry (run
    token, owner, roll-up); a member that has one already was planned by an
    earlier message and is skipped.
    """
    from celery import current_app

    from celery_progress_tracker.models import SSEProgress
    from celery_progress_tracker.task import ProgressTask, new_run_token
    from celery_progress_tracker.validation import clean_task_type

    rows: list[SSEProgress] = []
    for leaf in later:
        task = current_app.tasks.get(str(leaf.get("task")))
        header = (_options(leaf).get("headers") or {}).get(HEADER) or {}
        if not isinstance(task, ProgressTask) or header.get("token"):
            continue
        job: dict[str, Any] = {"token": new_run_token(), "rollup": rollup_id}
        if has_owner:
            job["owner"] = owner
        merged = annotate(leaf, job)
        job_id = task_id_of(leaf)
        chain_end = rollup_kind == Kind.CHAIN and job_id == rollup_id
        rows.append(
            SSEProgress(
                job_id=job_id,
                user_id=owner,
                task_type=clean_task_type(
                    merged.get("task_type") or task.progress_task_type or task.name
                ),
                total_items=total_of(leaf, task.progress_total),
                run_token=merged["token"],
                root_id=root_id,
                group_id=str(_options(leaf).get("group_id") or ""),
                rollup_id=rollup_id,
                kind=Kind.CHAIN if chain_end else Kind.TASK,
            )
        )
    if rollup_id and rollup_kind in (Kind.GROUP, Kind.CHORD):
        rows.append(
            SSEProgress(
                job_id=rollup_id,
                user_id=owner,
                task_type=task_type,
                kind=rollup_kind,
                root_id=root_id,
            )
        )
    return rows

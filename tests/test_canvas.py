"""``canvas``: which roll-up a published message counts in, and its later members."""

from __future__ import annotations

from typing import Any

import pytest

from celery_progress_tracker import canvas
from celery_progress_tracker.ownership import HEADER

pytestmark = pytest.mark.core


def task(task_id: str, **options: Any) -> dict[str, Any]:
    return {"task": "tests.count", "options": {"task_id": task_id, **options}}


def group(*tasks: Any, **options: Any) -> dict[str, Any]:
    return {"task": "celery.group", "kwargs": {"tasks": list(tasks)}, "options": options}


def chord(header: Any, body: Any) -> dict[str, Any]:
    return {"task": "celery.chord", "kwargs": {"header": header, "body": body}, "options": {}}


def body(chain: list[Any] | None = None, chord: Any = None) -> tuple[Any, ...]:
    return ((), {}, {"chain": chain, "chord": chord})


def test_leaves_walk_nested_canvases_in_order() -> None:
    nested = chord(
        group(task("a"), {"task": "celery.chain", "kwargs": {"tasks": [task("b")]}}), task("c")
    )
    assert [canvas.task_id_of(leaf) for leaf in canvas.leaves(nested)] == ["a", "b", "c"]
    assert list(canvas.leaves("not a signature")) == []


def test_a_chain_s_roll_up_is_its_last_step() -> None:
    # Celery keeps the remaining steps last first.
    plan = canvas.plan("a", {}, body(chain=[task("c"), task("b")]), {})
    assert (plan.rollup_id, plan.rollup_kind) == ("c", "chain")
    assert [canvas.task_id_of(leaf) for leaf in plan.later] == ["b", "c"]


def test_a_chain_ending_in_a_group_member_counts_in_that_group() -> None:
    plan = canvas.plan("a", {}, body(chain=[task("b", group_id="g")]), {})
    assert (plan.rollup_id, plan.rollup_kind) == ("g", "group")


def test_a_group_member_counts_in_its_group_and_a_chord_s_in_its_chord() -> None:
    assert canvas.plan("a", {"group": "g"}, body(), {}).rollup_kind == "group"
    plan = canvas.plan("a", {"group": "g"}, body(chord=task("cb")), {})
    assert (plan.rollup_id, plan.rollup_kind) == ("g", "chord")
    assert [canvas.task_id_of(leaf) for leaf in plan.later] == ["cb"]


def test_a_roll_up_named_in_the_header_wins_and_a_lone_task_has_none() -> None:
    assert canvas.plan("a", {"group": "g"}, body(), {"rollup": "r"}).rollup_id == "r"
    assert canvas.plan("a", {}, "no embed", {}).rollup_id == ""
    assert canvas.plan("g", {"group": "g"}, body(), {}).rollup_id == ""  # never its own member


def test_annotate_merges_into_the_header_even_without_options() -> None:
    sig: dict[str, Any] = {"task": "tests.count"}
    assert canvas.annotate(sig, {"token": "t"}) == {"token": "t"}
    canvas.annotate(sig, {"rollup": "r"})
    assert sig["options"]["headers"][HEADER] == {"token": "t", "rollup": "r"}


def test_total_of_takes_the_signature_s_progress_total_else_the_default() -> None:
    assert canvas.total_of(task("a", progress_total=7), 3) == 7
    assert canvas.total_of(task("a", headers={HEADER: {"total": 9}}), 3) == 9
    assert canvas.total_of(task("a", progress_total=-1), 3) == 3

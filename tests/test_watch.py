"""``manage.py progress_watch``: plain lines, access rules, and live bars in a real terminal."""

from __future__ import annotations

import contextlib
import io
import os
import pty
import re
import select
import shutil
import subprocess
import sys
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F
from django.test import override_settings

from celery_progress_tracker.models import SSEProgress
from celery_progress_tracker.watch import JobWatch, PlainLines, run
from tests import tasks
from tests.conftest import ROOT, wait_for, wait_status
from tests.harness import missing_prerequisite


def watch(*args: str) -> tuple[int, str]:
    """Run the command in this process (output is not a terminal): exit status, output."""
    out = io.StringIO()
    try:
        call_command("progress_watch", *args, "--interval", "0.05", stdout=out)
    except SystemExit as exc:
        return int(exc.code or 0), out.getvalue()
    return 0, out.getvalue()


def finished_job(job_id: str, end: str, user: Any = None, **fields: Any) -> SSEProgress:
    job = SSEProgress.objects.create(job_id=job_id, user=user, total_items=4, **fields)
    job.mark_as_started()
    job.update_progress(processed=3, failed=1, message="last item")
    getattr(job, end)()
    # Ended as soon as started: no rate to show, however slow the machine.
    SSEProgress.objects.filter(pk=job.pk).update(started_at=F("completed_at"))
    return job


@pytest.mark.core
@pytest.mark.django_db
def test_plain_lines_and_exit_status() -> None:
    finished_job("ok-1", "mark_as_completed", task_type="report")
    finished_job("bad-1", "mark_as_failed")
    status, out = watch("ok-1")
    assert status == 0
    assert out.splitlines() == [
        "ok-1 report completed 100% 4/4 (1 failed) rate - eta - | last item"
    ]
    status, out = watch("ok-1", "bad-1")
    assert status == 1
    assert "bad-1 - failed 99% 4/4 (1 failed)" in out
    assert "\x1b[" not in out  # no terminal codes in a pipe


@pytest.mark.core
@pytest.mark.django_db
def test_usage_errors() -> None:
    with pytest.raises(CommandError, match="give job ids, or --active"):
        call_command("progress_watch")
    with pytest.raises(CommandError, match="no such job: nope"):
        call_command("progress_watch", "nope")
    with pytest.raises(CommandError, match="no user 'ghost'"):
        call_command("progress_watch", "--active", "--user", "ghost")
    assert watch("--active") == (0, "No active jobs.\n")


@pytest.mark.core
@pytest.mark.django_db
def test_user_reads_by_the_api_rules(django_user_model: Any) -> None:
    alice = django_user_model.objects.create_user("alice")
    boss = django_user_model.objects.create_user("boss", is_staff=True)
    finished_job("alice-1", "mark_as_completed", user=alice, task_type="import")
    finished_job("system-1", "mark_as_completed")
    assert watch("alice-1", "--user", "alice")[0] == 0
    assert watch("alice-1", "--user", str(alice.pk))[0] == 0
    with pytest.raises(CommandError, match="no such job: alice-1"):
        call_command("progress_watch", "alice-1", "--user", "boss")
    with pytest.raises(CommandError, match="no such job: system-1"):
        call_command("progress_watch", "system-1", "--user", "alice")
    # A failure reads in full for an operator, as the API shows it for a user.
    finished_job("alice-2", "mark_as_failed", user=alice)
    SSEProgress.objects.filter(job_id="alice-2").update(error="KeyError: 'secret'")
    status, out = watch("alice-2")
    assert status == 1 and "KeyError: 'secret'" in out
    status, out = watch("alice-2", "--user", "alice")
    assert status == 1 and "secret" not in out and "alice-2 - failed" in out
    with override_settings(PROGRESS_TRACKER_STAFF_SEES_ALL=True):
        assert watch("alice-1", "--user", "boss")[0] == 0
    with override_settings(PROGRESS_TRACKER_ANONYMOUS_OWNERLESS=True):
        assert watch("system-1", "--user", "alice")[0] == 0
    with override_settings(PROGRESS_TRACKER_PERMISSION=lambda request, job: request.user == boss):
        assert watch("system-1", "--user", "boss")[0] == 0
        with pytest.raises(CommandError, match="no such job: alice-1"):
            call_command("progress_watch", "alice-1", "--user", "alice")


@pytest.mark.core
@pytest.mark.django_db
def test_active_follows_the_users_own_running_jobs_by_type(django_user_model: Any) -> None:
    alice = django_user_model.objects.create_user("alice")
    SSEProgress.objects.create(job_id="other-type", user=alice, task_type="mail")
    SSEProgress.objects.create(job_id="not-hers", task_type="import")
    job = SSEProgress.objects.create(job_id="hers", user=alice, task_type="import")
    job.mark_as_started()
    job.mark_as_cancelled()  # ended already: not active
    assert watch("--active", "--user", "alice", "--task-type", "import") == (0, "No active jobs.\n")


@pytest.mark.core
@pytest.mark.django_db
def test_active_follows_jobs_that_start_meanwhile_until_all_end() -> None:
    first = SSEProgress.objects.create(job_id="beat-1", task_type="nightly", total_items=2)
    first.mark_as_started()
    SSEProgress.objects.create(job_id="other-type", task_type="mail").mark_as_started()
    steps = iter(["second starts", "first ends", "second fails"])
    second = SSEProgress(job_id="beat-2", task_type="nightly")

    def meanwhile(seconds: float) -> None:
        step = next(steps)
        if step == "second starts":
            second.save()
            second.mark_as_started()
        elif step == "first ends":
            first.update_progress(processed=2)
            first.mark_as_completed()
        else:
            second.mark_as_failed("disk full")

    out = io.StringIO()
    status = run(JobWatch(active=True, task_type="nightly"), PlainLines(out), 1.0, sleep=meanwhile)
    assert status == 1
    # (Rates and times left depend on the machine's speed: not compared.)
    lines = [re.sub(r" rate \S+ eta \S+", "", line) for line in out.getvalue().splitlines()]
    assert lines == [
        "beat-1 nightly in_progress 0% 0/2",
        "beat-2 nightly in_progress 0% 0/?",
        "beat-1 nightly completed 100% 2/2",
        "beat-2 nightly failed 0% 0/? | disk full",
    ]


@pytest.mark.core
@pytest.mark.django_db
def test_a_job_deleted_while_watched_ends_the_watch_as_a_failure() -> None:
    SSEProgress.objects.create(job_id="gone-1", task_type="report")
    job_watch = JobWatch(["gone-1"])
    assert [state["status"] for state in job_watch.poll()] == ["pending"]
    assert not job_watch.finished()
    SSEProgress.objects.filter(job_id="gone-1").delete()
    assert [state["status"] for state in job_watch.poll()] == ["deleted"]
    assert job_watch.finished() and job_watch.exit_status() == 1


@pytest.mark.core
@pytest.mark.django_db
def test_ctrl_c_draws_the_last_state_and_exits_130(monkeypatch: pytest.MonkeyPatch) -> None:
    SSEProgress.objects.create(job_id="slow-1", task_type="report", total_items=10)
    out = io.StringIO()

    def interrupt(seconds: float) -> None:
        raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        run(JobWatch(["slow-1"]), PlainLines(out), 1.0, sleep=interrupt)
    assert out.getvalue() == "slow-1 report pending 0% 0/10 rate - eta -\n"

    def interrupted_run(*args: Any, **kwargs: Any) -> int:
        raise KeyboardInterrupt

    monkeypatch.setattr("celery_progress_tracker.watch.run", interrupted_run)
    assert watch("slow-1")[0] == 130
    with pytest.raises(CommandError, match="--interval must be positive"):
        call_command("progress_watch", "slow-1", "--interval", "0")


# -- a real terminal, a real worker ------------------------------------------------------


def command_env() -> dict[str, str]:
    """The environment of a ``progress_watch`` process reading this test's database."""
    # Not the size of the terminal pytest runs in (something in this process sets
    # COLUMNS): the command measures its own terminal.
    inherited = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    return {
        **inherited,
        "PYTHONPATH": str(ROOT),
        "DJANGO_SETTINGS_MODULE": "tests.settings",
        "CPT_TEST_DB_NAME": str(connection.settings_dict["NAME"]),
    }


def save_terminal_picture(ansi: str) -> None:
    """The terminal as an SVG for the docs (``docs/images/watch-terminal.svg``).

    Written when missing or with ``CPT_UPDATE_SCREENSHOTS=1``, else into the run's
    temporary folder (a test run leaves the checkout clean).
    """
    from rich.console import Console
    from rich.text import Text

    target = ROOT / "docs" / "images" / "watch-terminal.svg"
    if target.exists() and not os.environ.get("CPT_UPDATE_SCREENSHOTS"):
        target = Path(os.environ["CPT_TMP"]) / target.name
    console = Console(record=True, width=120, file=io.StringIO(), force_terminal=True)
    # The bars only: not the command line typed (it names this machine's paths).
    lines = [line for line in ansi.splitlines() if "tests.gated" in line]
    console.print(Text.from_ansi("\n".join(lines)))
    console.save_svg(str(target), title="python manage.py progress_watch")
    assert target.stat().st_size > 0


@pytest.fixture
def gate(tmp_path: Path) -> Iterator[Path]:
    """A file the ``tests.gated`` task waits for; opened at the end whatever happened."""
    path = tmp_path / "gate"
    yield path
    path.touch()


class Tmux:
    """A tmux server of this test's own (its own socket), one window of 160 x 30."""

    def __init__(self) -> None:
        self.socket = f"cpt-{uuid.uuid4().hex[:10]}"

    def __call__(self, *args: str) -> str:
        # The server's environment is the panes' too: the command's, not pytest's.
        return subprocess.run(
            ["tmux", "-L", self.socket, *args],
            capture_output=True,
            text=True,
            check=True,
            env=command_env(),
        ).stdout

    def screen(self) -> str:
        self.last = self("capture-pane", "-p", "-t", "watch")
        return self.last

    def wait_for(self, *words: str) -> str:
        """Wait until the screen shows every one of ``words``; return the screen."""
        try:
            return str(wait_for(lambda: all(w in (s := self.screen()) for w in words) and s, 60))
        except AssertionError:
            raise AssertionError(f"the screen never showed {words}:\n{self.last}") from None


@pytest.fixture
def tmux() -> Iterator[Tmux]:
    if shutil.which("tmux") is None:
        missing_prerequisite("tmux is missing: run .ci/steps/terminal-setup.sh")
    server = Tmux()
    yield server
    subprocess.run(["tmux", "-L", server.socket, "kill-server"], capture_output=True)


def test_live_bars_in_a_terminal_until_the_jobs_end(worker: Any, tmux: Tmux, gate: Path) -> None:
    first = tasks.gated.apply_async((10, str(gate)))
    second = tasks.gated.apply_async((6, str(gate)), {"fail": True})
    wait_status(first.id, "in_progress")
    tmux("new-session", "-d", "-s", "watch", "-x", "160", "-y", "30", "sh")
    # Typed at the shell's prompt, as an operator would.
    command = f"{sys.executable} -m django progress_watch {first.id} {second.id} --interval 0.2"
    tmux("send-keys", "-t", "watch", f"{command}; echo EXIT=$?", "Enter")
    # Live: the running job's bar at 50 %, the queued one pending.
    screen = tmux.wait_for("in_progress", "pending", "━")
    assert f"gated {first.id[:8]}" in screen and f"gated {second.id[:8]}" in screen
    assert "50%" in screen and "5/10" in screen and "waiting at the gate" in screen
    assert "━" in screen  # rich's bar, not plain lines
    assert not re.search(r"EXIT=\d", screen)  # still watching
    gate.touch()
    screen = str(wait_for(lambda: re.search(r"EXIT=\d", s := tmux.screen()) and s, 60))
    assert "EXIT=1" in screen  # the second job failed
    save_terminal_picture(tmux("capture-pane", "-p", "-e", "-t", "watch"))
    assert "completed" in screen and "10/10" in screen
    assert "failed" in screen and "failed after the gate" in screen.replace("\n", " ")


def test_plain_fallback_on_a_terminal_without_rich(worker: Any, gate: Path) -> None:
    job = tasks.gated.apply_async((4, str(gate)))
    wait_status(job.id, "in_progress")
    # A real terminal (a pty), with ``rich`` made unimportable in the command's process.
    code = (
        "import sys; sys.modules['rich'] = None;"
        " from django.core.management import execute_from_command_line;"
        f" execute_from_command_line(['manage.py', 'progress_watch', '{job.id}',"
        " '--interval', '0.2'])"
    )
    leader, follower = pty.openpty()
    process = subprocess.Popen(
        [sys.executable, "-c", code],
        env=command_env(),
        stdin=follower,
        stdout=follower,
        stderr=follower,
        cwd=ROOT,
    )
    os.close(follower)
    seen = b""

    def read_some() -> bytes:
        nonlocal seen
        if select.select([leader], [], [], 0.1)[0]:
            with contextlib.suppress(OSError):  # the process ended, the terminal closed
                seen += os.read(leader, 4096)
        return seen

    try:
        wait_for(lambda: b"waiting at the gate" in read_some(), 60)
        gate.touch()
        wait_for(lambda: b"through the gate" in read_some(), 60)
        assert process.wait(60) == 0
        read_some()
    finally:
        if process.poll() is None:
            process.kill()
        os.close(leader)
    lines = seen.decode().replace("\r\n", "\n").splitlines()
    assert lines[0].startswith(f"{job.id} tests.gated in_progress 50% 2/4 rate")
    assert lines[-1].startswith(f"{job.id} tests.gated completed 100% 4/4 rate")
    assert "\x1b[" not in seen.decode()

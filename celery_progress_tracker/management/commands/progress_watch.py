"""``manage.py progress_watch``: live progress of jobs in a terminal, until they end."""

from __future__ import annotations

import sys
from typing import Any, TextIO, cast

from django.core.management.base import BaseCommand, CommandError, CommandParser

from celery_progress_tracker import watch


class Command(BaseCommand):
    help = (
        "Follow jobs until they end: live bars on a terminal (with the 'watch' extra),"
        " plain lines otherwise. Exits 0 when every job completed, 1 when one failed,"
        " was cancelled or deleted."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("job_ids", nargs="*", metavar="JOB_ID", help="jobs to follow")
        parser.add_argument(
            "--active",
            action="store_true",
            help="follow the active jobs (and those that start while watching)",
        )
        parser.add_argument(
            "--user",
            help="read as this user (username or id), by the API's access rules",
        )
        parser.add_argument("--task-type", help="only jobs of this task type")
        parser.add_argument(
            "--interval", type=float, default=1.0, help="seconds between reads (default 1)"
        )
        parser.add_argument(
            "--plain",
            action="store_true",
            help="plain lines even on a terminal (the default when output is not one)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not options["job_ids"] and not options["active"]:
            raise CommandError("give job ids, or --active", returncode=2)
        if options["interval"] <= 0:
            raise CommandError("--interval must be positive", returncode=2)
        user = None
        if options["user"]:
            try:
                user = watch.find_user(options["user"])
            except LookupError as exc:
                raise CommandError(str(exc), returncode=2) from None
        job_watch = watch.JobWatch(
            options["job_ids"],
            active=options["active"],
            user=user,
            task_type=options["task_type"],
        )
        missing = job_watch.missing()
        if missing:
            raise CommandError(f"no such job: {', '.join(missing)}", returncode=2)
        job_watch.poll()
        if not job_watch.states:
            self.stdout.write("No active jobs.")
            return
        out = cast(TextIO, self.stdout._out)  # the stream itself, for rich
        if out.isatty() and not options["plain"] and watch.rich_available():
            screen: watch.Screen = watch.RichScreen(out, no_color=options["no_color"])
        else:
            screen = watch.PlainLines(out)
        try:
            status = watch.run(job_watch, screen, options["interval"])
        except KeyboardInterrupt:
            status = 130
        if status:
            sys.exit(status)

"""``manage.py demo_user``: create (or reset) the demo's login."""

from typing import Any

from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand, CommandParser


class Command(BaseCommand):
    help = "Create the demo user (or reset its password)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--username", default="demo")
        parser.add_argument("--password", default="demo")

    def handle(self, *args: Any, username: str, password: str, **options: Any) -> None:
        user, created = get_user_model().objects.get_or_create(username=username)
        user.set_password(password)
        user.is_staff = user.is_superuser = True  # so the admin shows the rows too
        user.save()
        verb = "created" if created else "reset"
        self.stdout.write(f"demo user {verb}: {username} / {password}")

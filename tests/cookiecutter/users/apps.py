from __future__ import annotations

from django.apps import AppConfig


class UsersConfig(AppConfig):
    name = "tests.cookiecutter.users"
    label = "users"
    default_auto_field = "django.db.models.BigAutoField"

from __future__ import annotations

from django.apps import AppConfig


class JobsConfig(AppConfig):
    name = "tests.cookiecutter.jobs"
    label = "jobs"

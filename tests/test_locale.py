"""The package's server strings come in French too."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from django.utils import translation

import celery_progress_tracker
from celery_progress_tracker.models import SSEProgress, Status

pytestmark = pytest.mark.core

LOCALE = Path(celery_progress_tracker.__file__).parent / "locale" / "fr" / "LC_MESSAGES"


def test_french_catalogue_is_complete_and_compiled() -> None:
    po = (LOCALE / "django.po").read_text()
    untranslated = re.findall(r'msgid "(.+)"\nmsgstr ""\n', po)
    assert untranslated == []
    assert (LOCALE / "django.mo").stat().st_mtime >= (LOCALE / "django.po").stat().st_mtime - 1


def test_statuses_and_field_names_in_french() -> None:
    with translation.override("fr"):
        assert str(Status.IN_PROGRESS.label) == "en cours"
        assert str(Status.COMPLETED.label) == "terminé"
        assert str(SSEProgress._meta.get_field("processed_items").verbose_name) == (
            "éléments traités"
        )
    with translation.override("en"):
        assert str(Status.IN_PROGRESS.label) == "in progress"


def test_admin_words_in_french() -> None:
    from celery_progress_tracker.models import SystemJob

    with translation.override("fr"):
        assert str(SystemJob._meta.verbose_name_plural) == "jobs système"
        assert translation.ngettext(
            "Cancel requested for %(count)d job.", "Cancel requested for %(count)d jobs.", 2
        ) == ("Annulation demandée pour %(count)d jobs.")

"""A UUID key and an ``is_active`` that may be NULL: ``ModelBackend`` refuses NULL as False."""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.test import Client

from celery_progress_tracker import access
from tests.api_support import BASE, assert_error, detail_url, make_job

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("is_active", [None, False])
@pytest.mark.parametrize("shortcut", [True, False], ids=["shortcut", "normal-path"])
def test_an_inactive_owner_is_anonymous(
    client: Client, monkeypatch: pytest.MonkeyPatch, is_active: Any, shortcut: bool
) -> None:
    user = get_user_model().objects.create_user("ann@example.com", password="x")
    make_job("mine", user)
    client.force_login(user)
    assert client.get(detail_url("mine")).status_code == 200
    get_user_model().objects.filter(pk=user.pk).update(is_active=is_active)
    if not shortcut:
        monkeypatch.setattr(access, "_shortcut_columns", lambda request: None)
    for url in (detail_url("mine"), BASE, f"{BASE}active/", f"{BASE}?job_id=mine"):
        assert_error(client.get(url), 401, "not_authenticated")


def test_the_key_is_a_uuid() -> None:
    user = get_user_model().objects.create_user("ann@example.com", password="x")
    job = make_job("mine", user)
    job.refresh_from_db()
    assert job.user_id == user.pk and str(user.pk).count("-") == 4

"""``sessioncache``: what the session shortcut keeps between polls, and what it never keeps."""

from __future__ import annotations

import secrets
from typing import Any

import pytest
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
from django.test import Client, override_settings

from celery_progress_tracker import sessioncache
from tests.api_support import make_job

pytestmark = [pytest.mark.core]


@pytest.fixture(autouse=True)
def _empty() -> Any:
    sessioncache.forget()
    yield
    sessioncache.forget()


def _encoded(data: dict[str, Any]) -> str:
    return SessionStore().encode(data)


def test_flat_data_is_decoded_once_and_every_caller_gets_its_own_copy(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    text = _encoded({"_auth_user_id": "7", "n": 3, "flag": True, "none": None})
    store = SessionStore()
    first = sessioncache.decode(store, text)
    calls: list[str] = []
    monkeypatch.setattr(SessionStore, "decode", lambda self, data: calls.append(data) or {})
    first["_auth_user_id"] = "changed by a view"
    second = sessioncache.decode(store, text)
    assert second == {"_auth_user_id": "7", "n": 3, "flag": True, "none": None}
    assert second is not first and calls == []


def test_nested_data_is_decoded_every_time() -> None:
    text = _encoded({"_auth_user_id": "7", "cart": [1, 2]})
    store = SessionStore()
    decoded = sessioncache.decode(store, text)
    decoded["cart"].append(3)  # a view may change what the session holds in place
    assert sessioncache.decode(store, text)["cart"] == [1, 2]


def test_long_data_is_decoded_every_time() -> None:
    store = SessionStore()
    note = secrets.token_hex(1000)  # does not compress
    text = _encoded({"_auth_user_id": "7", "note": note})
    assert len(text) > sessioncache.MAX_LENGTH
    assert sessioncache.decode(store, text)["note"] == note
    assert sessioncache._sessions == {}


def test_corrupted_data_is_never_kept() -> None:
    store = SessionStore()
    assert sessioncache.decode(store, "not-signed") == {}
    assert sessioncache._sessions == {}


def test_a_new_secret_key_forgets_what_was_kept() -> None:
    text = _encoded({"_auth_user_id": "7"})
    store = SessionStore()
    assert sessioncache.decode(store, text) == {"_auth_user_id": "7"}
    before = sessioncache.auth_hash("pbkdf2_sha256$x")
    with override_settings(SECRET_KEY="another-secret-key-of-fifty-characters-or-more-0123"):
        # Signed with the old key: no longer valid, as SessionBase.decode has it.
        assert sessioncache.decode(store, text) == {}
        assert sessioncache.auth_hash("pbkdf2_sha256$x") != before
    assert sessioncache.auth_hash("pbkdf2_sha256$x") == before


def test_the_kept_sessions_are_bounded(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(sessioncache, "MAX_SESSIONS", 3)
    store = SessionStore()
    texts = [_encoded({"_auth_user_id": str(number)}) for number in range(5)]
    for text in texts:
        sessioncache.decode(store, text)
    assert [data for _cls, data in sessioncache._sessions] == texts[2:]


@pytest.mark.django_db
def test_a_changed_password_ends_the_kept_login(client: Client) -> None:
    user = get_user_model().objects.create_user("alice", password="first-password")
    client.force_login(user)
    make_job("mine", user)
    assert client.get("/core/sse-progress/mine/").status_code == 200
    assert client.get("/core/sse-progress/mine/").status_code == 200  # answered from the cache
    user.set_password("second-password")
    user.save()
    answer = client.get("/core/sse-progress/mine/")
    assert answer.status_code == 401 and answer.json()["error"] == "not_authenticated"

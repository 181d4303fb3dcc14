"""What the session shortcut keeps between polls: decoded sessions and auth hashes.

A bar polls every second with the same session cookie, so the same signed
session text and the same password hash come back on every poll. Verifying
the signature and decompressing the text (``SessionBase.decode``), and the
HMAC of ``get_session_auth_hash``, are pure functions of that text and of
``SECRET_KEY``: their results are kept here, a bounded number of them, and
forgotten whenever Django announces a change of settings.

Only short, flat session data (strings, numbers, booleans, ``None``) is
kept, and every caller gets its own copy, so nothing a view does to
``request.session`` reaches the next request.
"""

from __future__ import annotations

import functools
import threading
from typing import Any

from django.contrib.sessions.backends.base import SessionBase
from django.utils.crypto import salted_hmac

#: ``AbstractBaseUser.get_session_auth_hash``'s salt.
AUTH_HASH_SALT = "django.contrib.auth.models.AbstractBaseUser.get_session_auth_hash"

#: Decoded sessions kept at most; beyond it the oldest are dropped.
MAX_SESSIONS = 4096
#: Longer session text (a login's is a few hundred characters) is decoded every time,
#: so that what is kept stays within a few megabytes.
MAX_LENGTH = 1024

_FLAT = (str, int, float, bool, type(None))

_sessions: dict[tuple[type[SessionBase], str], dict[str, Any]] = {}
_lock = threading.Lock()


def decode(session: SessionBase, data: str) -> dict[str, Any]:
    """``session.decode(data)``, remembered for flat data; always a new dict."""
    key = (type(session), data)
    found = _sessions.get(key)
    if found is not None:
        return dict(found)
    decoded: dict[str, Any] = session.decode(data)
    if (
        decoded
        and len(data) <= MAX_LENGTH
        and all(type(value) in _FLAT for value in decoded.values())
    ):
        with _lock:
            if len(_sessions) >= MAX_SESSIONS:
                del _sessions[next(iter(_sessions))]
            _sessions[key] = dict(decoded)
    return decoded


@functools.lru_cache(maxsize=1024)
def auth_hash(password: str) -> str:
    """What ``AbstractBaseUser.get_session_auth_hash()`` returns for ``password``."""
    return salted_hmac(AUTH_HASH_SALT, password, algorithm="sha256").hexdigest()


def forget(**kwargs: Any) -> None:
    """Drop everything kept (a ``setting_changed`` receiver: ``SECRET_KEY`` may have changed)."""
    with _lock:
        _sessions.clear()
    auth_hash.cache_clear()

"""Stands in for django-allauth's ``AuthenticationBackend`` (not installed here).

Like allauth's, it subclasses ``ModelBackend`` and changes how people log in
(by e-mail), not how a session finds its user. allauth logs a user in through
it after a sign-up, an e-mail confirmation or a social login.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth import get_user_model
from django.contrib.auth.backends import ModelBackend


class AuthenticationBackend(ModelBackend):
    def authenticate(  # type: ignore[override]
        self, request: Any, email: str | None = None, password: str | None = None, **kwargs: Any
    ) -> Any:
        user = get_user_model()._default_manager.filter(email__iexact=email or "").first()
        if user and password and user.check_password(password) and self.user_can_authenticate(user):
            return user
        return None

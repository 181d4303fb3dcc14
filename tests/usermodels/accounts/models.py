"""Two user models built on ``AbstractBaseUser``, as Django's "custom user" docs show."""

from __future__ import annotations

import uuid
from typing import Any, ClassVar

from django.contrib.auth.base_user import AbstractBaseUser, BaseUserManager
from django.db import models


class EmailUserManager(BaseUserManager[Any]):
    def create_user(self, email: str, password: str | None = None, **fields: Any) -> Any:
        user = self.model(email=self.normalize_email(email), **fields)
        user.set_password(password)
        user.save(using=self._db)
        return user


class UuidUser(AbstractBaseUser):
    """A UUID key, an e-mail login, ``is_active`` that may be NULL, no ``is_staff``."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    email = models.EmailField(unique=True)
    is_active = models.BooleanField(null=True, default=True)  # type: ignore[assignment]

    USERNAME_FIELD = "email"
    objects: ClassVar[EmailUserManager] = EmailUserManager()


class PlainUser(AbstractBaseUser):
    """An integer key and no ``is_active`` column: every user is active."""

    email = models.EmailField(unique=True)

    USERNAME_FIELD = "email"
    objects: ClassVar[EmailUserManager] = EmailUserManager()

"""Checks and clean-ups applied to every value before it reaches a row.

A value is checked where it enters (the manual API, ``self.progress()``, the
enqueue options), so a bad one raises at the call, naming the argument, and a
write can never fail later because of it.
"""

from __future__ import annotations

import json
from typing import Any

#: Largest count a row can hold (the columns are 32-bit on every database).
MAX_COUNT = 2**31 - 1

#: What replaces the end of a text that is longer than its column.
ELLIPSIS = "…"


def check_count(name: str, value: object) -> int:
    """Return ``value`` if it is a usable count, else raise naming ``name``.

    Raises:
        TypeError: ``value`` is not an ``int`` (``bool`` is refused too).
        ValueError: ``value`` is negative or larger than a column can hold.
    """
    if type(value) is not int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise TypeError(f"{name} must be an int, not {type(value).__name__}: {value!r}")
        value = int(value)
    if value < 0:
        raise ValueError(f"{name} must be >= 0, got {value}")
    if value > MAX_COUNT:
        raise ValueError(f"{name} must be <= {MAX_COUNT}, got {value}")
    return value


def clean_text(name: str, value: object, max_length: int) -> str:
    """Return ``value`` fit for a text column of ``max_length`` characters.

    The documented rule: NUL characters are removed (PostgreSQL cannot store
    them); a text longer than the column is cut to ``max_length - 1``
    characters followed by ``…``. ``None`` gives an empty string.

    Raises:
        TypeError: ``value`` is neither a ``str`` nor ``None``.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}: {value!r:.80}")
    if "\x00" in value:
        value = value.replace("\x00", "")
    if len(value) > max_length:
        value = value[: max_length - 1] + ELLIPSIS
    return value


def check_metadata(value: object) -> dict[str, Any]:
    """Return ``value`` if it is a JSON-serialisable ``dict``, else raise.

    Raises:
        TypeError: ``value`` is not a dict, or holds something JSON cannot
            represent (a ``datetime``, an object, NaN...).
    """
    if not isinstance(value, dict):
        raise TypeError(f"metadata must be a dict, not {type(value).__name__}")
    try:
        text = json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metadata must be JSON-serialisable: {exc}") from None
    if "\\u0000" in text:
        raise ValueError("metadata must not contain NUL characters")
    return value

"""Checks and clean-ups applied to every value before it reaches a row.

A value is checked where it enters (the manual API, ``self.progress()``, the
enqueue options), so a bad one raises at the call, naming the argument, and a
write can never fail later because of it. Texts are cleaned rather than
refused: NUL characters are dropped, lone surrogates (what ``os.listdir``
returns for a file name that is not UTF-8) become U+FFFD, and a text longer
than its column is cut. Column lengths live here, once; the model uses them.
"""

from __future__ import annotations

import json
from typing import Any

#: Largest count a row can hold (the columns are 32-bit on every database).
MAX_COUNT = 2**31 - 1

#: Column lengths of the row's texts (the model's ``max_length``).
JOB_ID_LENGTH = 255
TASK_TYPE_LENGTH = 100
MESSAGE_LENGTH = 1000
ERROR_LENGTH = 1000

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


def storable(text: str) -> str:
    """``text`` with what no database can store replaced: NUL dropped, lone surrogates → U+FFFD.

    PostgreSQL refuses both (in text and ``jsonb``); SQLite would store a text
    that cannot be read back as UTF-8.
    """
    if text.isascii():
        return text.replace("\x00", "") if "\x00" in text else text
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        # A surrogate pair split over two code points is joined; a lone one is replaced.
        text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    return text.replace("\x00", "") if "\x00" in text else text


def clean_text(name: str, value: object, max_length: int) -> str:
    """Return ``value`` fit for a text column of ``max_length`` characters.

    The documented rule: NUL characters are removed and lone surrogates replaced
    by U+FFFD (see :func:`storable`); a text longer than the column is cut to
    ``max_length - 1`` characters followed by ``…``. ``None`` gives an empty string.

    Raises:
        TypeError: ``value`` is neither a ``str`` nor ``None``.
    """
    if value is None:
        return ""
    if not isinstance(value, str):
        raise TypeError(f"{name} must be a str, not {type(value).__name__}: {value!r:.80}")
    value = storable(value)
    if len(value) > max_length:
        value = value[: max_length - 1] + ELLIPSIS
    return value


def clean_message(value: object, name: str = "message") -> str:
    """A progress message fit for ``current_message``."""
    return clean_text(name, value, MESSAGE_LENGTH)


def clean_error(value: object, name: str = "error") -> str:
    """An error text fit for ``error``."""
    return clean_text(name, value, ERROR_LENGTH)


def clean_task_type(value: object, name: str = "task_type") -> str:
    """A task type fit for ``task_type``."""
    return clean_text(name, value, TASK_TYPE_LENGTH)


def _storable_json(value: Any) -> Any:
    if isinstance(value, str):
        return storable(value)
    if isinstance(value, dict):
        return {
            (storable(key) if isinstance(key, str) else key): _storable_json(item)
            for key, item in value.items()
        }
    if isinstance(value, (list, tuple)):
        return [_storable_json(item) for item in value]
    return value


def _holds_nul(value: Any) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_holds_nul(key) or _holds_nul(item) for key, item in value.items())
    if isinstance(value, (list, tuple)):
        return any(_holds_nul(item) for item in value)
    return False


def check_metadata(value: object) -> dict[str, Any]:
    """Return ``value``, a JSON-serialisable ``dict``, with its texts made storable.

    Keys and string values holding lone surrogates are cleaned (a copy is
    returned; the caller's dict is left alone), as :func:`storable` says.

    Raises:
        TypeError: ``value`` is not a dict, or holds something JSON cannot
            represent (a ``datetime``, an object, NaN...).
        ValueError: ``value`` holds a NUL character.
    """
    if not isinstance(value, dict):
        raise TypeError(f"metadata must be a dict, not {type(value).__name__}")
    try:
        text = json.dumps(value, allow_nan=False, ensure_ascii=False)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"metadata must be JSON-serialisable: {exc}") from None
    if "\\u0000" in text and _holds_nul(value):
        raise ValueError("metadata must not contain NUL characters")
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        cleaned: dict[str, Any] = _storable_json(value)
        return cleaned
    return value

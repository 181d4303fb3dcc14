"""What every value goes through before it reaches a row."""

from __future__ import annotations

import pytest

from celery_progress_tracker.validation import (
    MAX_COUNT,
    MESSAGE_LENGTH,
    check_count,
    check_metadata,
    clean_message,
    clean_text,
    storable,
)

pytestmark = pytest.mark.core

LATIN1_NAME = b"r\xe9sum\xe9.csv".decode("utf-8", "surrogateescape")  # what os.listdir gives


def test_lone_surrogates_become_replacement_characters() -> None:
    assert LATIN1_NAME == "r\udce9sum\udce9.csv"
    assert storable(LATIN1_NAME) == "r\ufffdsum\ufffd.csv"
    storable(LATIN1_NAME).encode("utf-8")  # now encodable


def test_a_split_surrogate_pair_is_joined() -> None:
    assert storable("\ud83d\ude00 ok") == "😀 ok"


def test_nul_is_dropped_and_plain_text_left_alone() -> None:
    assert storable("a\x00b") == "ab"
    assert storable("é\x00") == "é"
    text = "déjà vu"
    assert storable(text) is text


def test_clean_text_cuts_to_the_column_after_cleaning() -> None:
    long = "\udce9" * (MESSAGE_LENGTH + 5)
    cleaned = clean_message(long)
    assert len(cleaned) == MESSAGE_LENGTH
    assert cleaned.endswith("…")
    assert set(cleaned[:-1]) == {"\ufffd"}
    assert clean_text("x", None, 10) == ""
    with pytest.raises(TypeError, match="x must be a str"):
        clean_text("x", b"bytes", 10)


def test_metadata_keys_and_values_are_cleaned_in_a_copy() -> None:
    original = {LATIN1_NAME: [LATIN1_NAME, {"k": LATIN1_NAME}], "n": 1}
    cleaned = check_metadata(original)
    assert cleaned == {
        "r\ufffdsum\ufffd.csv": ["r\ufffdsum\ufffd.csv", {"k": "r\ufffdsum\ufffd.csv"}],
        "n": 1,
    }
    assert LATIN1_NAME in original  # the caller's dict is untouched
    plain = {"campaign": "été"}
    assert check_metadata(plain) is plain


@pytest.mark.parametrize(
    ("value", "error", "needle"),
    [
        ([], TypeError, "must be a dict"),
        ({"when": object()}, TypeError, "JSON-serialisable"),
        ({"x": float("nan")}, TypeError, "JSON-serialisable"),
        ({"x": "a\x00b"}, ValueError, "NUL"),
        ({"a\x00": 1}, ValueError, "NUL"),
    ],
)
def test_metadata_refusals(value: object, error: type, needle: str) -> None:
    with pytest.raises(error, match=needle):
        check_metadata(value)


def test_a_backslash_u0000_text_is_not_a_nul() -> None:
    value = {"path": "C:\\u0000"}
    assert check_metadata(value) is value


@pytest.mark.parametrize(
    ("value", "error"),
    [(-1, ValueError), (MAX_COUNT + 1, ValueError), (True, TypeError), (1.0, TypeError)],
)
def test_check_count_refusals(value: object, error: type) -> None:
    with pytest.raises(error, match="n must be"):
        check_count("n", value)

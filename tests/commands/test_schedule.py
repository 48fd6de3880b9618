"""Parsing what users type for a brief schedule (commands/schedule.py): clear errors, defaults."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from commands.errors import InvalidInput
from commands.schedule import parse_day, parse_every, parse_time, parse_time_zone


def test_every() -> None:
    assert [parse_every(v) for v in ("daily", " Weekly ", "OFF")] == ["daily", "weekly", "off"]
    with pytest.raises(InvalidInput, match="every='monthly' is not a schedule"):
        parse_every("monthly")


def test_day() -> None:
    assert parse_day("monday", "weekly") == 0
    assert parse_day("Sun", "weekly") == 6
    assert parse_day(None, "weekly") == 0  # weekly without a day: Monday
    assert parse_day(None, "daily") is None
    for bad in ("t", "funday", "s"):  # `t` and `s` are two days each
        with pytest.raises(InvalidInput, match="not a day of the week"):
            parse_day(bad, "weekly")
    with pytest.raises(InvalidInput, match="A daily brief takes no day"):
        parse_day("monday", "daily")


def test_time() -> None:
    assert parse_time("08:00") == dt.time(8, 0)
    assert parse_time("7:05") == dt.time(7, 5)
    assert parse_time(None) == dt.time(8, 0)
    for bad in ("24:00", "08:60", "8am", "0800", "", "08:00:00"):
        with pytest.raises(InvalidInput, match="is not a time of day"):
            parse_time(bad) if bad else parse_time(" ")


def test_time_zone() -> None:
    assert parse_time_zone("Europe/Berlin") == "Europe/Berlin"
    assert parse_time_zone("europe/berlin") == "Europe/Berlin"
    assert parse_time_zone("UTC") == "UTC"
    for bad in ("Mars/Olympus", "../etc/passwd", "", "CEST+2"):
        with pytest.raises(InvalidInput, match="time zone"):
            parse_time_zone(bad)
    with pytest.raises(InvalidInput) as long_zone:
        parse_time_zone("Europe/" + "x" * 5000)
    assert len(long_zone.value.user_text()) < 200  # the echo of a huge value is cut


@given(st.text(max_size=80))
@settings(max_examples=300, deadline=None)
def test_any_typed_text_is_a_value_or_a_clear_refusal(text: str) -> None:
    """Hostile text (surrogates, NULs, paths, huge numbers) never escapes as anything but InvalidInput."""
    for parse in (parse_every, lambda t: parse_day(t, "weekly"), parse_time, parse_time_zone):
        try:
            parse(text)
        except InvalidInput as exc:
            assert len(exc.user_text()) < 300

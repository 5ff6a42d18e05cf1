"""Tests for quiet hours and for recognising opt-out and opt-in replies."""

from __future__ import annotations

from datetime import datetime, time, timezone
from zoneinfo import ZoneInfo

import pytest

from customers.opt_out import is_opt_in, is_opt_out
from customers.quiet_hours import QUIET_END, QUIET_START, may_send_at, next_send_time

UTC = timezone.utc
NY = "America/New_York"
LA = "America/Los_Angeles"


def utc(*args: int) -> datetime:
    """Build a UTC instant; stating instants in UTC keeps DST mistakes out of the fixtures."""
    return datetime(*args, tzinfo=UTC)


# --------------------------------------------------------------------------- quiet hours


def test_the_sending_window_is_eight_in_the_morning_to_nine_at_night() -> None:
    assert (QUIET_END, QUIET_START) == (time(8), time(21))


@pytest.mark.parametrize(
    ("at", "tz", "allowed"),
    [
        # Summer (EDT, UTC-4 / PDT, UTC-7).
        (utc(2026, 6, 10, 11, 59), NY, False),  # 07:59
        (utc(2026, 6, 10, 12, 0), NY, True),  # 08:00: the first allowed minute
        (utc(2026, 6, 11, 0, 59), NY, True),  # 20:59
        (utc(2026, 6, 11, 1, 0), NY, False),  # 21:00: quiet hours begin
        (utc(2026, 6, 10, 4, 0), NY, False),  # midnight
        # The customer's zone decides, not the server's: 12:00 UTC is 08:00 in New York, 05:00 in LA.
        (utc(2026, 6, 10, 12, 0), LA, False),
        (utc(2026, 6, 10, 15, 0), LA, True),
        (utc(2026, 6, 11, 3, 59), LA, True),  # 20:59 PDT
        (utc(2026, 6, 11, 4, 0), LA, False),  # 21:00 PDT
        # An aware datetime in another zone is judged by the same instant.
        (datetime(2026, 6, 10, 5, 30, tzinfo=ZoneInfo(LA)), NY, True),  # 08:30 in New York
        # Spring-forward Sunday 2026-03-08: 08:00 is on daylight time.
        (utc(2026, 3, 8, 11, 59), NY, False),  # 07:59 EDT (it would be 06:59 EST)
        (utc(2026, 3, 8, 12, 0), NY, True),  # 08:00 EDT
        (utc(2026, 3, 8, 14, 59), LA, False),  # 07:59 PDT
        (utc(2026, 3, 8, 15, 0), LA, True),  # 08:00 PDT
        (utc(2026, 3, 9, 0, 59), NY, True),  # 20:59 EDT
        (utc(2026, 3, 9, 1, 0), NY, False),  # 21:00 EDT
        # Fall-back Sunday 2026-11-01: 08:00 is on standard time.
        (utc(2026, 11, 1, 12, 30), NY, False),  # 07:30 EST (it would be 08:30 EDT)
        (utc(2026, 11, 1, 13, 0), NY, True),  # 08:00 EST
        (utc(2026, 11, 1, 15, 30), LA, False),  # 07:30 PST
        (utc(2026, 11, 1, 16, 0), LA, True),  # 08:00 PST
        (utc(2026, 11, 2, 1, 59), NY, True),  # 20:59 EST
        (utc(2026, 11, 2, 2, 0), NY, False),  # 21:00 EST
        # Both passes through the repeated 01:00-02:00 are quiet.
        (utc(2026, 11, 1, 5, 30), NY, False),
        (utc(2026, 11, 1, 6, 30), NY, False),
    ],
)
def test_messages_go_out_only_in_the_customers_daytime(at: datetime, tz: str, allowed: bool) -> None:
    assert may_send_at(at, tz) is allowed


@pytest.mark.parametrize(
    ("at", "tz", "expected"),
    [
        # Allowed: the same instant.
        (utc(2026, 6, 10, 16, 0), NY, utc(2026, 6, 10, 16, 0)),
        # Early morning: 08:00 the same day.
        (utc(2026, 6, 10, 10, 0), NY, utc(2026, 6, 10, 12, 0)),
        # Late evening: 08:00 the next day.
        (utc(2026, 6, 11, 2, 0), NY, utc(2026, 6, 11, 12, 0)),
        (utc(2026, 6, 11, 1, 0), NY, utc(2026, 6, 11, 12, 0)),  # exactly 21:00
        # Saturday night before spring-forward: Sunday 08:00 EDT, one hour earlier in UTC than Saturday's 08:00.
        (utc(2026, 3, 8, 3, 0), NY, utc(2026, 3, 8, 12, 0)),
        (utc(2026, 3, 8, 6, 30), NY, utc(2026, 3, 8, 12, 0)),  # 01:30 EST, just before the jump
        (utc(2026, 3, 8, 7, 30), NY, utc(2026, 3, 8, 12, 0)),  # 03:30 EDT, just after it
        (utc(2026, 3, 8, 6, 0), LA, utc(2026, 3, 8, 15, 0)),
        (utc(2026, 3, 8, 10, 30), LA, utc(2026, 3, 8, 15, 0)),  # 03:30 PDT
        # Saturday night before fall-back: Sunday 08:00 EST, one hour later in UTC.
        (utc(2026, 11, 1, 2, 0), NY, utc(2026, 11, 1, 13, 0)),
        (utc(2026, 11, 1, 5, 30), NY, utc(2026, 11, 1, 13, 0)),  # first 01:30 (EDT)
        (utc(2026, 11, 1, 6, 30), NY, utc(2026, 11, 1, 13, 0)),  # second 01:30 (EST)
        (utc(2026, 11, 1, 5, 0), LA, utc(2026, 11, 1, 16, 0)),
        (utc(2026, 11, 1, 9, 30), LA, utc(2026, 11, 1, 16, 0)),  # second 01:30 (PST)
        # Sunday evening after each change: Monday 08:00 on the new offset.
        (utc(2026, 3, 9, 2, 0), NY, utc(2026, 3, 9, 12, 0)),
        (utc(2026, 11, 2, 3, 0), NY, utc(2026, 11, 2, 13, 0)),
        (utc(2026, 3, 9, 5, 0), LA, utc(2026, 3, 9, 15, 0)),
        (utc(2026, 11, 2, 6, 0), LA, utc(2026, 11, 2, 16, 0)),
    ],
)
def test_a_held_message_goes_out_at_the_next_eight_oclock(at: datetime, tz: str, expected: datetime) -> None:
    send_at = next_send_time(at, tz)
    assert send_at == expected
    assert send_at.tzinfo is UTC
    assert may_send_at(send_at, tz)


def test_the_next_send_time_is_eight_on_the_customers_wall_clock() -> None:
    for at, tz in ((utc(2026, 3, 8, 3, 0), NY), (utc(2026, 11, 1, 9, 30), LA)):
        local = next_send_time(at, tz).astimezone(ZoneInfo(tz))
        assert (local.hour, local.minute) == (8, 0)


def test_a_window_start_skipped_by_the_clock_opens_when_the_clock_jumps() -> None:
    # No US zone skips 08:00, but Santiago springs forward at local midnight; the logic is the same,
    # so check it with a zone where 00:00 does not exist: Chile on 2026-09-06 goes 00:00 -> 01:00.
    from customers.quiet_hours import _first_instant_at_or_after

    zone = ZoneInfo("America/Santiago")
    jump = _first_instant_at_or_after(zone, datetime(2026, 9, 6, 0, 30))
    assert jump.astimezone(UTC) == utc(2026, 9, 6, 4, 0)
    assert jump.astimezone(zone).replace(tzinfo=None) == datetime(2026, 9, 6, 1, 0)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: may_send_at(datetime(2026, 6, 10, 12), NY), "must be timezone-aware"),
        (lambda: next_send_time(utc(2026, 6, 10), "Eastern"), "Unknown time zone"),
        (lambda: next_send_time(utc(2026, 6, 10), ""), "Unknown time zone"),
    ],
)
def test_bad_quiet_hours_inputs_raise_value_error(call: object, message: str) -> None:
    with pytest.raises(ValueError, match=message):
        call()  # type: ignore[operator]


# --------------------------------------------------------------------------- opt-out

KEYWORDS = ["STOP", "STOPALL", "UNSUBSCRIBE", "CANCEL", "END", "QUIT", "REVOKE", "OPTOUT", "OPT OUT"]


@pytest.mark.parametrize(
    "text",
    [
        *KEYWORDS,
        *(k.lower() for k in KEYWORDS),
        *(k.title() for k in KEYWORDS),
        "stop.",
        "STOP!!!",
        "  Stop  ",
        "'stop'",
        "Stop 🛑",
        "Opt-Out",
        "opt_out",
        "Stop All",
        "Cancel?",
        "End.",
        "\u201cSTOP\u201d",
    ],
)
def test_a_message_that_is_exactly_a_keyword_opts_out(text: str) -> None:
    assert is_opt_out(text)


@pytest.mark.parametrize(
    "text",
    [
        "Stop please",
        "please stop",
        "STOP IT",
        "stop stop stop",
        "Stop now!",
        "Unsubscribe me please",
        "ok stop",
        "Not interested. STOP",
        "Bought elsewhere, thanks. Unsubscribe",
        "please stop texting me",
        "Stop texting me",
        "STOP MESSAGING ME",
        "stop sending me these",
        "Can you stop texting me?",
        "stop the texts please",
        "don't text me anymore",
        "Dont text me anymore",
        "Don\u2019t text me again",
        "Please do not contact me",
        "remove me from your list",
        "Please remove me from your mailing list.",
        "take me off this list",
        "Can you take me off your list?",
        "take me off this. not interested",
        "pls remove me",
        "get me off this thing",
        "Take my number off your list",
        "Delete my number",
        "I want to be removed from your list",
        "I'd like to be removed",
        "I want you to remove me from your list",
        "no more texts",
        "No more messages please",
        "Leave me alone!!",
        "I don't want any more texts",
        "I want to unsubscribe",
        "How do I opt out?",
        "Already bought a car. Please stop texting me.",
    ],
)
def test_a_clear_plain_language_request_opts_out(text: str) -> None:
    assert is_opt_out(text)


@pytest.mark.parametrize(
    "text",
    [
        "I can't stop thinking about the RAV4",
        "what time do you end today?",
        "Can I cancel my appointment and reschedule?",
        "I need to cancel my appointment",
        "Does the warranty end at 60k miles?",
        "I'll stop by Saturday",
        "Can I stop by after work?",
        "Don't stop sending me deals!",
        "Stop it, you're too funny",
        "If you don't text me back I'll buy elsewhere",
        "Don't text me before 10am please",
        "no more texts after 9pm please",
        "Please don't call me, text me instead",
        "I want to be removed from the waitlist for the RAV4",
        "take me off the appointment for tomorrow",
        "remove me from the 10am slot and put me at 2",
        "can you take me off the cosigner part of the loan",
        "Take my number: 555-0100",
        "Yes",
        "Not interested right now",
        "The stop light on the dash is on",
        "",
        "   ",
        "!!!",
    ],
)
def test_ordinary_conversation_is_not_an_opt_out(text: str) -> None:
    assert not is_opt_out(text)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("START", True),
        ("start", True),
        ("Unstop", True),
        ("YES", True),
        ("yes!", True),
        (" Yes. ", True),
        ("Yes I'm still interested in the RAV4", False),
        ("start my car remotely?", False),
        ("STOP", False),
        ("", False),
    ],
)
def test_only_a_bare_start_unstop_or_yes_opts_back_in(text: str, expected: bool) -> None:
    assert is_opt_in(text) is expected


@pytest.mark.parametrize(
    "text, expected",
    [
        ("ALTO", True),
        ("Basta!", True),
        ("parar", True),
        ("No me manden más mensajes", True),
        ("no me manden mas mensajes por favor", True),
        ("no me escriban mas", True),
        ("Dejen de escribirme", True),
        ("quiero darme de baja", True),
        ("no quiero recibir mas mensajes", True),
        ("por favor dejen de escribirme", True),
        ("porfa no me manden mas mensajes", True),
        ("ya no quiero mas mensajes", True),
        # A timing wish, and ordinary Spanish conversation, are not opt-outs.
        ("no me escriban antes de las 9", False),
        ("no me manden mensajes en la noche", False),
        ("alto el precio, no?", False),
        ("para cuando tienen la rav4?", False),
        ("no me gusta el color", False),
        ("hola, tienen la rav4 hibrida?", False),
    ],
)
def test_spanish_opt_out_wording(text: str, expected: bool) -> None:
    assert is_opt_out(text) is expected

"""First-response templates, pure: placeholders, the reply promise in the rooftop's time zone, validation."""

from datetime import datetime, timezone

import pytest

from leads.response_templates import (
    DEFAULT_EMAIL_BODY, DEFAULT_EMAIL_SUBJECT, DEFAULT_SMS_BODY, ResponseContext, render, reply_promise,
    template_errors, when_phrase,
)
from leads.routing import BusinessHours, next_open

NY = "America/New_York"
UTC = timezone.utc
SHOWROOM = BusinessHours.from_dict({d: [["09:00", "20:00"]] for d in ("mon", "tue", "wed", "thu", "fri", "sat")})


def _context(now: datetime, **changes) -> ResponseContext:
    open_now = changes.pop("store_open", None)
    from leads.routing import is_open

    store_open = is_open(SHOWROOM, NY, now) if open_now is None else open_now
    values = dict(customer_first_name="Pat", vehicle="2025 Toyota RAV4 XLE", salesperson="Maria Alvarez",
                  rooftop="Lakeside Toyota", rooftop_phone="+16175550100", response_minutes=15,
                  store_open=store_open, next_open_at=None if store_open else next_open(SHOWROOM, NY, now),
                  time_zone=NY, now=now)
    values.update(changes)
    return ResponseContext(**values)


@pytest.mark.parametrize(("now", "expected"), [
    # Tuesday 10:00: open.
    (datetime(2026, 11, 24, 15, 0, tzinfo=UTC), "Maria Alvarez will be in touch within 15 minutes."),
    # Tuesday 20:30: closed, opens tomorrow.
    (datetime(2026, 11, 25, 1, 30, tzinfo=UTC),
     "Our showroom is closed right now. Maria Alvarez will reply tomorrow at 9:00 AM."),
    # Tuesday 07:00: opens later today.
    (datetime(2026, 11, 24, 12, 0, tzinfo=UTC),
     "Our showroom is closed right now. Maria Alvarez will reply today at 9:00 AM."),
    # Saturday 20:30: closed on Sunday, so Monday.
    (datetime(2026, 11, 29, 1, 30, tzinfo=UTC),
     "Our showroom is closed right now. Maria Alvarez will reply Monday at 9:00 AM."),
    # Saturday night before the fall-back change: Monday 09:00 is still 09:00 on the wall clock.
    (datetime(2026, 11, 1, 2, 0, tzinfo=UTC),
     "Our showroom is closed right now. Maria Alvarez will reply Monday at 9:00 AM."),
    # Saturday night before spring-forward.
    (datetime(2026, 3, 8, 3, 0, tzinfo=UTC),
     "Our showroom is closed right now. Maria Alvarez will reply Monday at 9:00 AM."),
])
def test_the_reply_promise_reads_the_rooftops_wall_clock(now: datetime, expected: str) -> None:
    assert reply_promise(_context(now)) == expected


def test_a_long_closure_names_the_date() -> None:
    hours = BusinessHours.from_dict({"mon": [["09:00", "17:00"]], "closed_dates": ["2026-11-30", "2026-12-07"]})
    now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    assert when_phrase(next_open(hours, NY, now), now=now, time_zone=NY) == "on December 14 at 9:00 AM"


def test_a_zero_minute_rule_promises_a_reply_right_away_and_the_pool_speaks_for_the_team() -> None:
    now = datetime(2026, 11, 24, 15, 0, tzinfo=UTC)
    assert reply_promise(_context(now, response_minutes=0)) == "Maria Alvarez will be in touch right away."
    rendered = render("{reply_promise}", _context(now, salesperson="our team"))
    assert rendered == "Our team will be in touch within 15 minutes."
    closed = render("{reply_promise}", _context(datetime(2026, 11, 25, 1, 30, tzinfo=UTC), salesperson="our team"))
    assert closed == "Our showroom is closed right now. Our team will reply tomorrow at 9:00 AM."


def test_the_defaults_name_the_vehicle_and_the_salesperson() -> None:
    context = _context(datetime(2026, 11, 24, 15, 0, tzinfo=UTC))
    for template in (DEFAULT_EMAIL_SUBJECT, DEFAULT_EMAIL_BODY, DEFAULT_SMS_BODY):
        assert template_errors(template, channel="email") == []
        assert "2025 Toyota RAV4 XLE" in render(template, context)
    assert "Maria Alvarez" in render(DEFAULT_SMS_BODY, context)
    assert render(DEFAULT_SMS_BODY, context).endswith("Reply STOP to opt out.")


def test_missing_names_read_naturally() -> None:
    context = _context(datetime(2026, 11, 24, 15, 0, tzinfo=UTC), customer_first_name="", vehicle="")
    assert render("Hi {customer_first_name}, about the {vehicle}", context) == "Hi there, about the vehicle you asked about"


@pytest.mark.parametrize(("text", "message"), [
    ("", "cannot be empty"),
    ("Hi {first_name}", "Unknown placeholder {first_name}"),
    ("Hi {vehicle.__class__}", "Unknown placeholder {vehicle.__class__}"),
    ("Hi {vehicle!r}", "without a format or conversion"),
    ("Hi {vehicle:>20}", "without a format or conversion"),
    ("Hi {vehicle", "Braces must come in pairs"),
    ("x" * 601, "under 600 characters"),
])
def test_a_bad_sms_template_is_explained(text: str, message: str) -> None:
    errors = template_errors(text, channel="sms")
    assert any(message in error for error in errors), errors


def test_literal_braces_are_allowed_when_doubled() -> None:
    assert template_errors("Use code {{SPRING}} at {rooftop}", channel="sms") == []
